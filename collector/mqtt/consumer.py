"""The MQTT consumer: phone messages in, committed punches, PUBACKs and receipts out.

Threads: paho's network thread only parses packets and puts messages on a queue (it never
touches the database); one ingest thread takes small batches off the queue, has them
decided and stored in one transaction (by a Pipeline in a child process by default, see
`ingestproc`, or in the thread itself), and only after the commit sends each PUBACK
(`manual_ack=True`) and each receipt. A crash between commit and PUBACK makes the broker
redeliver; the redelivery is a duplicate by its dedupe key, so nothing is stored twice.

The session survives restarts: a fixed client id with MQTT 5 `clean_start=False` and a
session expiry (3.1.1: `clean_session=False`), QoS 1 subscriptions. paho reconnects with
a capped exponential backoff; a retained `online`/`offline` status (with a last will)
tells operators whether the consumer is connected.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from collector.metrics import (
    BAD_INPUT,
    MQTT_ACK_LATENCY,
    MQTT_BACKLOG,
    MQTT_RECEIPTS_FAILED,
    MQTT_RESPONSE_TOPICS_REFUSED,
)
from collector.mqtt.client import RETRY_MAX_S, new_client, publish_replies
from collector.mqtt.handling import Inbound
from collector.mqtt.ingestproc import IngestProcess
from collector.mqtt.options import MqttOptions, fix_policy_of
from collector.mqtt.pipeline import BatchResult, Pipeline
from collector.mqtt.wakeup import one_wakeup
from collector.runtime import Store, utcnow
from rules.geofence import FixPolicy
from rules.vocabulary import SourceKind

log = logging.getLogger(__name__)


@dataclass
class Counters:
    """What the consumer has done since it started."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    ignored: int = 0
    batches: int = 0
    acked: int = 0


class MqttConsumer:
    """Consumes phone punches from the broker into the store (a service Worker)."""

    name = "mqtt-consumer"

    def __init__(
        self,
        store: Store,
        options: MqttOptions,
        *,
        fix_policy: FixPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.options = options
        self.clock = clock
        s = store.settings
        self.fix_policy = fix_policy or fix_policy_of(s)
        self._pipeline: Pipeline | IngestProcess = (
            IngestProcess(s, options, self.fix_policy)
            if options.ingest_process
            else Pipeline(store, options, self.fix_policy)
        )
        self.counters = Counters()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # set once the broker confirmed the subscriptions
        self._queue: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._client = self._make_client()

    @property
    def ingest_pid(self) -> int | None:
        """The process that decides and stores (None when that is done in this one)."""
        return self._pipeline.pid if isinstance(self._pipeline, IngestProcess) else None

    # -- the network side (paho's thread) ---------------------------------------------

    def _make_client(self) -> mqtt.Client:
        o = self.options
        client = new_client(o, o.client_id, persistent=True)
        client.will_set(o.topics.status(o.client_id), b"offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = lambda *_: self.subscribed.set()
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s refused the connection: %s", self.options.where, reason)
            return
        self._generation += 1
        v5 = self.options.protocol == "5"
        subs: list[tuple[str, Any]] = [
            (t, SubscribeOptions(qos=1) if v5 else 1) for t in self.options.subscriptions()
        ]
        client.subscribe(subs)
        client.publish(
            self.options.topics.status(self.options.client_id), b"online", qos=1, retain=True
        )
        self.connected.set()
        log.info(
            "connected to MQTT broker %s (session present: %s)",
            self.options.where,
            flags.session_present,
        )

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stopping.is_set():
            log.warning(
                "disconnected from MQTT broker %s: %s; reconnecting", self.options.where, reason
            )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        response = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        self._queue.put(
            Inbound(
                topic=msg.topic,
                payload=bytes(msg.payload),
                mid=msg.mid,
                qos=msg.qos,
                retain=bool(msg.retain),
                response_topic=response,
                correlation=correlation,
                generation=self._generation,
                received=time.monotonic(),
            )
        )

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Connect (retrying in the background) and start the ingest thread."""
        o = self.options
        props = None
        if o.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = o.session_expiry_s
            # How many unacknowledged messages the broker may send us: room for batches.
            props.ReceiveMaximum = min(65535, max(100, o.batch_size * 4))
        self._pipeline.start()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mqtt-ingest", daemon=True)
        self._thread.start()
        if o.protocol == "5":
            self._client.connect_async(
                o.host, o.port, o.keepalive_s, clean_start=False, properties=props
            )
        else:
            self._client.connect_async(o.host, o.port, o.keepalive_s)
        self._client.loop_start()
        log.info("MQTT consumer %s starting against %s", o.client_id, o.where)

    def stop(self) -> None:
        """Finish the batch in hand, say offline, disconnect."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._pipeline.stop()
        info = self._client.publish(
            self.options.topics.status(self.options.client_id), b"offline", qos=1, retain=True
        )
        if self.connected.is_set():
            # Not connected any more: the last will says it instead.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()

    # -- the ingest side (one thread) -------------------------------------------------

    def _take(self) -> list[Inbound]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.options.batch_wait_s
        while len(batch) < self.options.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _run(self) -> None:
        # On stop, the batch in hand is finished; messages still queued are unacked, so
        # the broker hands them over again next time (a stop under load stays quick).
        while not self._stopping.is_set():
            batch = self._take()
            if not batch:
                continue
            result = self._store(batch)
            if result is None:
                return
            # Committed: from here on nothing sends the batch back to be stored again.
            try:
                with one_wakeup(self._client):
                    self._acknowledge(batch, result)
            except Exception:
                # Unacked messages come again after a reconnect, as duplicates.
                log.exception("acknowledging %d stored phone messages failed", len(batch))

    def _store(self, batch: list[Inbound]) -> BatchResult | None:
        """Commit `batch`, retrying while that fails; None if stopped before it could."""
        delay = 0.5
        while True:
            try:
                return self._pipeline.run(batch, self.clock())
            except Exception:
                # The database is unreachable: nothing was acked, so retry the batch;
                # on shutdown the broker keeps the unacked messages for next time.
                log.exception("storing %d phone messages failed; retrying", len(batch))
                if self._stopping.wait(delay):
                    return None
                delay = min(delay * 2, RETRY_MAX_S)

    def _acknowledge(self, batch: list[Inbound], result: BatchResult) -> None:
        c = self.counters
        c.batches += 1
        c.received += len(batch)
        c.inserted += result.inserted
        c.duplicates += result.duplicates
        c.quarantined += result.quarantined
        c.ignored += result.ignored
        # Receipts of the in-process path are sent here; the ingest process sent its own.
        failed = result.receipts_failed
        failed += publish_replies(self._client, result.replies, self.options.receipt_qos)
        if failed:
            MQTT_RECEIPTS_FAILED.inc(failed)
        if result.response_topics_refused:
            MQTT_RESPONSE_TOPICS_REFUSED.inc(result.response_topics_refused)
        if result.quarantined:
            BAD_INPUT.inc(result.quarantined, source=SourceKind.MOBILE.value)
        arrived = []
        for msg in batch:
            # A message from an earlier connection is redelivered by the broker anyway.
            if msg.qos > 0 and msg.generation == self._generation:
                self._client.ack(msg.mid, msg.qos)
                c.acked += 1
                arrived.append(msg.received)
        now = time.monotonic()
        MQTT_ACK_LATENCY.observe_many(now - received for received in arrived)
        MQTT_BACKLOG.set(self._queue.qsize())
