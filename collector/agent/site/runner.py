"""The agent's loop: a reading thread fills the buffer, the main thread contacts and forwards.

Forwarding sends the oldest batch and deletes it only when the centre's receipt names its
id; on any failure the batch stays and is sent again as it was. Between batches the agent
keeps contacting the centre (health out, configuration in), so a long backlog after an
outage does not hide it. A refused credential (revoked) ends the run with `EXIT_REFUSED`;
systemd is told not to restart on it (deploy/punchgate-agent.service).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime
from importlib import metadata

from collector.agent.site.buffer import Buffer
from collector.agent.site.central import AgentRefused, Central, CentralUnavailable
from collector.agent.site.reading import TerminalReader
from collector.agent.wire import AgentConfig, Health
from collector.settings import Settings

log = logging.getLogger(__name__)
EXIT_REFUSED = 4
CONFIG = "config"  # the last configuration, kept so a restart during an outage still reads


def agent_version() -> str:
    """The installed punchgate version."""
    try:
        return metadata.version("punchgate")
    except metadata.PackageNotFoundError:
        return "unknown"


class Agent:
    """One site agent: its buffer, its link to the centre and its terminals."""

    def __init__(self, buffer: Buffer, central: Central, settings: Settings) -> None:
        self.buffer = buffer
        self.central = central
        self.settings = settings
        self.hostname = socket.gethostname()
        self.version = agent_version()
        self.readers: dict[str, TerminalReader] = {}
        self._lock = threading.Lock()
        self.config: AgentConfig | None = None
        kept = buffer.get(CONFIG)
        if kept is not None:
            self._apply(AgentConfig.model_validate(kept))
        self._next_contact = 0.0
        self._reachable: bool | None = None
        self._warned: str | None = None

    # --- configuration ---

    def _apply(self, config: AgentConfig) -> None:
        """Take a configuration: readers for new terminals, kept state for unchanged ones."""
        if self.config is not None and config.config_version == self.config.config_version:
            return
        with self._lock:
            readers: dict[str, TerminalReader] = {}
            for terminal in config.terminals:
                old = self.readers.get(terminal.code)
                interval = float(terminal.options.get("interval_s", config.poll_interval_s))
                if old is not None and old.config == terminal and old.interval_s == interval:
                    readers[terminal.code] = old
                    continue
                readers[terminal.code] = TerminalReader(
                    terminal,
                    self.buffer,
                    interval,
                    timeout_s=self.settings.zk_timeout_s,
                    skew_threshold_s=self.settings.zk_clock_skew_threshold_s,
                    retry_base_s=self.settings.zk_retry_base_s,
                    retry_max_s=self.settings.zk_retry_max_s,
                )
            self.readers = readers
        if self.config is not None:
            log.info("configuration %s: %d terminals", config.config_version, len(config.terminals))
        self.config = config

    def health(self) -> Health:
        """What the agent reports on each contact."""
        warning = self.buffer.warning()
        if warning != self._warned:
            if warning:
                log.warning("%s", warning)
            self._warned = warning
        with self._lock:
            terminals = [r.health for r in self.readers.values() if r.health is not None]
        return Health(
            version=self.version,
            hostname=self.hostname,
            clock=datetime.now(UTC),
            buffer_depth=self.buffer.depth(),
            buffer_capacity=self.buffer.max_rows,
            oldest_buffered_at=self.buffer.oldest(),
            warning=warning,
            terminals=terminals,
        )

    # --- the loops ---

    def run(self, stop: threading.Event) -> int:
        """Read and forward until `stop`; the exit status (EXIT_REFUSED when revoked)."""
        reading = threading.Thread(target=self._read_loop, args=(stop,), name="agent-read")
        reading.start()
        try:
            while not stop.is_set():
                try:
                    self.contact_if_due()
                    self.forward(stop)
                    self._reached(True)
                except CentralUnavailable as exc:
                    self._reached(False, str(exc))
                    stop.wait(min(30.0, self._forward_interval() * 5))
                    continue
                stop.wait(self._forward_interval())
        except AgentRefused as exc:
            log.error("the central service refused this agent (revoked?): %s", exc)
            return EXIT_REFUSED
        finally:
            stop.set()
            reading.join()
            self.buffer.close()
        return 0

    def _forward_interval(self) -> float:
        return self.config.forward_interval_s if self.config else 5.0

    def _reached(self, ok: bool, error: str = "") -> None:
        if ok and self._reachable is False:
            log.info("central service reachable again")
        elif not ok and self._reachable is not False:
            log.warning("central service unreachable: %s", error)
        self._reachable = ok

    def contact_if_due(self) -> None:
        """Report health and take the configuration back when the contact interval has passed."""
        if time.monotonic() < self._next_contact:
            return
        config = self.central.contact(self.health())
        self.buffer.put(CONFIG, config.model_dump(mode="json"))
        self._apply(config)
        self._next_contact = time.monotonic() + config.contact_interval_s

    def forward(self, stop: threading.Event) -> int:
        """Send batches, oldest first, until the buffer is empty; returns punches acknowledged."""
        sent = 0
        size = self.config.batch_size if self.config else 1000
        while not stop.is_set():
            pending = self.buffer.next_batch(size)
            if pending is None:
                break
            receipt = self.central.forward(pending.batch_id, pending.items)
            sent += self.buffer.acknowledge(receipt.batch_id)
            self.contact_if_due()
        return sent

    def _read_loop(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                with self._lock:
                    readers = list(self.readers.values())
                now = time.monotonic()
                for reader in readers:
                    if stop.is_set():
                        break
                    if reader.due(now):
                        reader.poll()
                stop.wait(0.2)
        except Exception:  # a bug must not leave the agent forwarding with reading dead
            log.exception("the reading thread failed; stopping the agent")
            stop.set()
        finally:
            self.buffer.close()
