"""The consumer's Pipeline in a process of its own.

paho's network thread (reading, acknowledging) and deciding plus storing are both
Python; in one process the GIL makes them take turns, which capped ingest at a quarter
of the rate a bare paho subscriber receives. Here the network side stays in the
consumer's process and each batch is decided and committed in a child process on the
other core, which also publishes the receipts over a connection of its own; the
consumer acknowledges only after the child reports the commit. If the child dies, the
batch in hand was not acknowledged: a new child is started and the batch is sent again
(a batch the dead child had committed comes back as duplicates, never twice).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from collector.mqtt.handling import Inbound
from collector.mqtt.options import MqttOptions
from collector.mqtt.pipeline import BatchResult
from collector.settings import Settings
from rules.geofence import FixPolicy

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
STOP_WAIT_S = 10.0
# What goes to the child per message: only what deciding needs (mid, QoS and the
# connection stay with the consumer, which acknowledges).
Wire = tuple[str, bytes, bool, str | None, bytes | None]


class IngestProcessError(RuntimeError):
    """The ingest process died or could not store a batch (nothing was acknowledged)."""


class IngestProcess:
    """A child process running the Pipeline; `run` has the Pipeline's contract."""

    def __init__(self, settings: Settings, options: MqttOptions, fix_policy: FixPolicy) -> None:
        self.settings = settings
        self.options = options
        self.fix_policy = fix_policy
        # spawn: the consumer's process has threads (paho, uvicorn), so no fork.
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The child's process id (None before start)."""
        return None if self._proc is None else int(self._proc.pid)

    def start(self) -> None:
        """Start the child and wait until it is ready (a failure is retried by `run`)."""
        with self._lock:
            try:
                self._start()
            except IngestProcessError:
                log.warning("MQTT ingest process did not start; retrying with the first batch")

    def _start(self) -> None:
        mine, theirs = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=child_main,
            args=(theirs, self.settings, self.options, self.fix_policy),
            name="punchgate-mqtt-ingest",
            daemon=True,
        )
        proc.start()
        theirs.close()  # so that recv() sees EOF when the child dies
        problem = None
        try:
            if mine.poll(START_TIMEOUT_S):
                mine.recv()  # "ready"
            else:
                problem = "did not start in time"
        except (EOFError, OSError):
            problem = "exited while starting"
        if problem is not None:
            mine.close()
            proc.kill()
            proc.join(5)
            raise IngestProcessError(f"the ingest process {problem}")
        self._proc, self._conn = proc, mine
        log.info("MQTT ingest process %s started", proc.pid)

    def run(self, batch: list[Inbound], now: datetime) -> BatchResult:
        """Decide and commit `batch` in the child; raises (nothing acknowledged) on failure."""
        with self._lock:
            if self._conn is None or not self._proc.is_alive():
                self._restart()
            conn = self._conn
            assert conn is not None
            wire: list[Wire] = [
                (m.topic, m.payload, m.retain, m.response_topic, m.correlation) for m in batch
            ]
            try:
                conn.send((wire, now))
                reply = conn.recv()
            except (EOFError, OSError) as exc:
                self._discard()
                raise IngestProcessError(f"the ingest process died: {exc!r}") from None
        if isinstance(reply, str):
            raise IngestProcessError(reply)
        result: BatchResult = reply
        return result

    def _restart(self) -> None:
        if self._proc is not None:
            log.warning("MQTT ingest process %s ended (%s); starting another",
                        self._proc.pid, self._proc.exitcode)  # fmt: skip
        self._discard()
        self._start()

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        self._proc = self._conn = None

    def stop(self) -> None:
        """Ask the child to finish and wait for it."""
        if not self._lock.acquire(timeout=STOP_WAIT_S):
            # A batch is still in the child (a database that does not answer): end it.
            # That batch was not acknowledged, so the broker hands it over again.
            proc = self._proc
            if proc is not None:
                log.warning("MQTT ingest process %s did not finish its batch; killed", proc.pid)
                proc.kill()
            return
        try:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.send(None)
            if self._proc is not None:
                self._proc.join(10)
            self._discard()
        finally:
            self._lock.release()


def child_main(
    conn: Connection, settings: Settings, options: MqttOptions, fix_policy: FixPolicy
) -> None:
    """The child: open the store, then decide and commit batches until told to stop."""
    from collector.logs import setup_logging
    from collector.mqtt.client import ReceiptSender
    from collector.mqtt.pipeline import Pipeline
    from collector.runtime import open_store

    # Ctrl-C reaches every process of the terminal's group; the consumer stops this child
    # in order (None down the pipe), so the child must not die of it mid-batch first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(settings)
    settings = settings.model_copy(update={"db_pool_size": 2, "db_max_overflow": 2})
    store = open_store(settings, migrate=False, apply=False)
    pipeline = Pipeline(store, options, fix_policy)
    pipeline.start()
    # Receipts leave from here: publishing them cost the consumer's process a sixth of
    # its time per message, and that process is the one a bare subscriber is held to.
    sender = ReceiptSender(options, f"{options.client_id}-receipts")
    sender.start()
    conn.send("ready")
    try:
        while True:
            try:
                while not conn.poll(1.0):  # idle: keep the receipt connection alive
                    sender.pump()
                job = conn.recv()
            except EOFError:  # the consumer is gone; its unacked messages will come again
                return
            if job is None:
                return
            wire, now = job
            batch = [
                Inbound(topic, payload, 0, 1, retain, response, correlation)
                for topic, payload, retain, response, correlation in wire
            ]
            reply: BatchResult | str
            try:
                result = pipeline.run(batch, now)
            except Exception as exc:  # not committed: the consumer sends the batch again
                log.exception("storing %d phone messages failed", len(batch))
                reply = f"storing {len(batch)} phone messages failed: {exc!r}"[:1000]
            else:
                # Committed: receipts that cannot go out are counted, never a failure.
                result.receipts_failed += sender.send(result.replies)
                result.replies = []
                reply = result
            try:
                conn.send(reply)
            except OSError:  # the consumer is gone; it acknowledged nothing of this batch
                return
    finally:
        sender.stop()
        store.close()
