"""One poller per terminal (ZK, Hikvision, Dahua, BioTime): interval, backoff, availability."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Protocol

from collector.metrics import POLL_DURATION, POLL_FAILURES
from collector.poller.biotimedevices import BioTimeDevice
from collector.poller.biotimesync import sync_biotime
from collector.poller.dahuadevices import DahuaDevice
from collector.poller.dahuasync import sync_dahua
from collector.poller.hikdevices import HikDevice
from collector.poller.hiksync import sync_hik
from collector.poller.sync import SyncOutcome, sync_terminal, to_batch
from collector.poller.terminals import (
    STATUS_OFFLINE,
    STATUS_UNAUTHORIZED,
    Terminal,
    mark_status,
    seen,
)
from collector.runtime import Store, utcnow
from collector.store.ingest import ingest
from devices.biotime.client import BioTimeClient
from devices.dahua.client import DahuaClient
from devices.errors import DeviceAuthError, DeviceError, DeviceUnreachable
from devices.hikvision.client import ISAPIClient
from devices.zk.driver import ZKSession
from rules.vocabulary import PunchFlag

log = logging.getLogger(__name__)


class StopSignal(Protocol):
    """What ends a live session: a `threading.Event`, or the poller worker's lease-aware stop."""

    def is_set(self) -> bool:
        """The session must end."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout`, woken early by a stop; True if stopped."""
        ...


class TerminalPoller:
    """Polls one terminal; logs once when it goes down and once when it comes back."""

    def __init__(
        self,
        store: Store,
        terminal: Terminal | HikDevice | DahuaDevice | BioTimeDevice,
        *,
        rng: random.Random | None = None,
    ):
        self.store = store
        self.terminal = terminal
        self.settings = store.settings
        self.interval = terminal.interval(self.settings)
        self.rng = rng or random.Random()
        self.failures = 0
        self.available: bool | None = None  # None until the first poll
        self.last_error: str | None = None
        self.polls = 0
        # Spread the first polls of many terminals over the interval.
        self.next_due = time.monotonic() + self.rng.uniform(0, min(self.interval, 1.0))
        self._lock = threading.Lock()  # one connection per terminal at a time
        self._skewed = False

    @property
    def busy(self) -> bool:
        """A poll or live session is running."""
        return self._lock.locked()

    def poll(self) -> SyncOutcome | None:
        """One poll: connect, sync, disconnect; failures are recorded, never raised."""
        with self._lock:
            started = time.monotonic()
            try:
                outcome = self._sync(full_info=self.polls % self.settings.zk_info_every == 0)
            except DeviceError as exc:
                POLL_FAILURES.inc(device=self.terminal.code)
                self._failed(exc)
                return None
            POLL_DURATION.observe(time.monotonic() - started, device=self.terminal.code)
            self.polls += 1
            self._skewed = outcome.clock_flagged
            self._succeeded()
            self.next_due = time.monotonic() + self.interval
            return outcome

    def _sync(self, *, full_info: bool) -> SyncOutcome:
        terminal = self.terminal
        if isinstance(terminal, HikDevice):
            with ISAPIClient(terminal.target(self.settings)) as client:
                return sync_hik(self.store, terminal, client, full_info=full_info)
        if isinstance(terminal, DahuaDevice):
            with DahuaClient(terminal.target(self.settings)) as client:
                return sync_dahua(self.store, terminal, client, full_info=full_info)
        if isinstance(terminal, BioTimeDevice):
            with BioTimeClient(terminal.target(self.settings)) as api:
                return sync_biotime(self.store, terminal, api, full_info=full_info)
        with ZKSession(terminal.target(self.settings)) as session:
            return sync_terminal(self.store, terminal, session, full_info=full_info)

    def backoff(self) -> float:
        """Seconds before the next retry: capped exponential with jitter."""
        cap = self.settings.zk_retry_max_s
        delay = min(cap, self.settings.zk_retry_base_s * 2 ** max(self.failures - 1, 0))
        return self.rng.uniform(delay / 2, delay)

    def _failed(self, exc: DeviceError) -> None:
        self.failures += 1
        reason = str(exc) or type(exc).__name__
        status = STATUS_UNAUTHORIZED if isinstance(exc, DeviceAuthError) else STATUS_OFFLINE
        self.next_due = time.monotonic() + self.backoff()
        if self.available is not False:
            log.warning("terminal %s is down: %s", self.terminal.code, reason)
        self.available = False
        self.last_error = reason
        try:
            mark_status(self.store.engine, self.terminal.code, status=status, last_error=reason)
        except Exception:  # the store being away must not kill the poller thread
            log.exception("could not record the status of terminal %s", self.terminal.code)

    def _succeeded(self) -> None:
        if self.available is False:
            log.info("terminal %s is back", self.terminal.code)
        self.available = True
        self.failures = 0
        self.last_error = None

    def run_live(self, stop: StopSignal) -> None:
        """Hold a realtime connection until `stop`, alternating event windows and log reads.

        A terminal sends events only while they are registered, and a command reply cannot
        share the link with events, so a punch made between a log read and the registration
        would be heard by no one. Each short event window is therefore followed by an
        incremental read (one chunk when nothing is new), which catches such punches and
        anything else the link missed: every punch reaches the store within about one window.
        """
        terminal = self.terminal
        if isinstance(terminal, DahuaDevice):
            self._run_dahua_live(terminal, stop)
            return
        assert isinstance(terminal, Terminal), "Hikvision and BioTime hold no live session"
        window_s = float(terminal.options.get("live_window_s", 1.0))
        while not stop.is_set():
            try:
                with self._lock, ZKSession(terminal.target(self.settings)) as session:
                    while not stop.is_set():
                        full = self.polls % self.settings.zk_info_every == 0
                        outcome = sync_terminal(self.store, terminal, session, full_info=full)
                        self.polls += 1
                        self._skewed = outcome.clock_flagged
                        self._succeeded()
                        self._listen(session, stop, time.monotonic() + window_s)
            except DeviceError as exc:
                self._failed(exc)
                stop.wait(self.backoff())
            except Exception:
                # The store is away (or a bug in one sync). The log position moves only in
                # the commit that stores the records it covers, so whatever did or did not
                # commit, the next sync reads from the right place (a live punch stored just
                # before a status update failed comes back as a duplicate). Retry after a
                # backoff instead of letting the live thread die, which would silence this
                # terminal until the service restarts.
                log.exception("live session of terminal %s failed", self.terminal.code)
                self.failures += 1
                stop.wait(self.backoff())

    def _run_dahua_live(self, device: DahuaDevice, stop: StopSignal) -> None:
        """Hold the controller's event stream; read after the cursor at every (re)connect and event.

        The stream only says that something happened: the records themselves always come
        from the cursor-based read, so a record made while the stream was down (or one the
        stream never announced) is read at the next connect or event, and at least every
        interval, and nothing is stored by two paths.
        """
        heartbeat = int(device.options.get("heartbeat_s", 5))
        target = device.target(self.settings)
        while not stop.is_set():
            try:
                with (
                    DahuaClient(target) as pull,
                    DahuaClient(target) as listen,
                    listen.attach(heartbeat=heartbeat) as events,
                ):
                    # Subscribed first, then read: a record made between the two is both
                    # read now and announced, never neither.
                    self._live_read(device, pull)  # whatever came while disconnected
                    last_read = time.monotonic()
                    for event in events():
                        if stop.is_set():
                            return
                        due = time.monotonic() - last_read >= self.interval
                        if (event is not None and event.code == "AccessControl") or due:
                            self._live_read(device, pull)
                            last_read = time.monotonic()
                raise DeviceUnreachable("the event stream ended")
            except DeviceError as exc:
                self._failed(exc)
                stop.wait(self.backoff())
            except Exception:
                # As for ZK: a store outage or a bug in one read must not end the thread;
                # the cursor moves only with the records it covers, so retrying is safe.
                log.exception("live session of controller %s failed", device.code)
                self.failures += 1
                stop.wait(self.backoff())

    def _live_read(self, device: DahuaDevice, client: DahuaClient) -> None:
        with self._lock:
            full = self.polls % self.settings.zk_info_every == 0
            outcome = sync_dahua(self.store, device, client, full_info=full)
            self.polls += 1
            self._skewed = outcome.clock_flagged
            self._succeeded()

    def _listen(self, session: ZKSession, stop: StopSignal, deadline: float) -> None:
        terminal = self.terminal
        assert isinstance(terminal, Terminal)

        def done() -> bool:
            return stop.is_set() or time.monotonic() >= deadline

        flags = int(PunchFlag.CLOCK_SKEW) if self._skewed else 0
        for item in session.live(wait_s=0.5, should_stop=done):
            if item is None:
                continue
            now = utcnow()
            with self.store.engine.begin() as conn:
                ingest(conn, to_batch([item], terminal, flags), now=now, policy=self.store.policy)
            mark_status(self.store.engine, self.terminal.code, **seen(now))
