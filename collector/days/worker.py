"""The background worker that keeps attendance days current while the service runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from collector.days.context import Context
from collector.days.dirty import close_days, process_dirty
from collector.threadworker import ThreadWorker

log = logging.getLogger(__name__)


class DaysWorker(ThreadWorker):
    """Consumes dirty days in batches and runs the "close the day" pass periodically."""

    name = "attendance-days"

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        may_close: Callable[[], bool] | None = None,
        interval_s: float = 5.0,
        close_every_s: float = 60.0,
        lookback_days: int = 7,
        batch: int = 2000,
        max_batches: int = 25,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock
        # Several collectors: only the holder of the days-close lease runs the close pass
        # (the dirty queue itself is shared through SKIP LOCKED claims).
        self.may_close = may_close or (lambda: True)
        self.interval_s = interval_s
        self.close_every_s = close_every_s
        self.lookback_days = lookback_days
        self.batch = batch
        self.max_batches = max_batches
        self.ctx = Context()
        self._last_close = float("-inf")
        self.cycles = 0  # completed cycles, for tests and health
        self.failing = False

    def run_once(self) -> int:
        """One cycle: the close pass when due, then every dirty day; returns days written."""
        now = self.clock()
        if time.monotonic() - self._last_close >= self.close_every_s and self.may_close():
            marked = close_days(self.engine, now=now, lookback_days=self.lookback_days)
            self._last_close = time.monotonic()
            if marked:
                log.debug("close pass marked %d days", marked)
        # A bounded number of batches per cycle keeps stop() prompt behind a large backlog.
        result = process_dirty(
            self.engine, now=now, batch=self.batch, ctx=self.ctx, max_batches=self.max_batches
        )
        self.cycles += 1
        return result.written

    def _run(self) -> None:
        while not self._stop.is_set():
            written = 0
            try:
                written = self.run_once()
                if self.failing:
                    log.info("attendance days recomputation recovered")
                    self.failing = False
                if written:
                    log.info("recomputed %d attendance days", written)
            except Exception:  # keep the loop alive; log the first failure of a run only
                if not self.failing:
                    log.exception("attendance days recomputation failed")
                self.failing = True
            # A full cycle means more is queued: go again at once.
            busy = written >= self.batch * self.max_batches
            self._stop.wait(0 if busy else self.interval_s)
