"""Retention: old coordinates give way to the decision; old dismissed quarantine and sent events go.

Location privacy: the punch stays (time, person, site, decision); what goes is where
exactly the phone was: latitude, longitude, accuracy and the exact distance become a
distance band, and the raw payload (which repeats the coordinates) is dropped.
Quarantined phone messages of the same age lose their raw text too, keeping the reason.

Quarantine housekeeping: an item HR dismissed is deleted once it has been dismissed
longer than its own retention period (the audit log keeps who dismissed it and why).
Open and reprocessed items are never deleted here.

Outbox housekeeping: a message delivered (or skipped by its target) longer ago than the
outbox retention is deleted with its delivery log; failed and rejected ones are kept,
since HR still has to act on them (replay makes them pending again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, delete, or_, select, update

from collector.store.models import OutboxAttempt, OutboxMessage, Punch, Quarantine
from collector.threadworker import ThreadWorker
from rules.vocabulary import SourceKind

log = logging.getLogger(__name__)

BANDS = ((50.0, "0-50 m"), (150.0, "50-150 m"), (500.0, "150-500 m"), (2000.0, "500-2000 m"))
REDACTED = "[location redacted after retention period]"
CHUNK = 5000


def distance_band(distance_m: float | None) -> str | None:
    """The coarse band HR keeps once the exact distance is gone."""
    if distance_m is None:
        return None
    for limit, label in BANDS:
        if distance_m <= limit:
            return label
    return "over 2000 m"


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """How many records lost their coordinates in one run."""

    punches: int
    quarantined: int


def scrub_locations(engine: Engine, *, now: datetime, days: int) -> RetentionResult:
    """Replace coordinates older than `days` with the decision; safe to run repeatedly."""
    cutoff = now - timedelta(days=days)
    punches = 0
    while True:  # chunks keep each transaction short on a big table
        with engine.begin() as conn:
            rows = conn.execute(
                select(Punch.id, Punch.distance_m)
                .where(
                    Punch.occurred_at < cutoff,
                    or_(
                        Punch.lat.is_not(None),
                        Punch.lon.is_not(None),
                        Punch.accuracy_m.is_not(None),
                    ),
                )
                .limit(CHUNK)
            ).all()
            if rows:
                conn.execute(
                    update(Punch)
                    .where(Punch.id == bindparam("pid"))
                    .values(
                        lat=None,
                        lon=None,
                        accuracy_m=None,
                        distance_m=None,
                        distance_band=bindparam("band"),
                        raw=None,
                    ),
                    [{"pid": pid, "band": distance_band(dist)} for pid, dist in rows],
                )
        punches += len(rows)
        if len(rows) < CHUNK:
            break
    with engine.begin() as conn:
        quarantined = conn.execute(
            update(Quarantine)
            .where(
                and_(
                    Quarantine.source_kind == SourceKind.MOBILE.value,
                    Quarantine.received_at < cutoff,
                    Quarantine.raw != REDACTED,
                )
            )
            .values(raw=REDACTED)
        ).rowcount
    if punches or quarantined:
        log.info(
            "retention: coordinates removed from %d punches, %d quarantined", punches, quarantined
        )
    return RetentionResult(punches=punches, quarantined=max(quarantined or 0, 0))


def purge_dismissed(engine: Engine, *, now: datetime, days: int) -> int:
    """Delete quarantine items dismissed more than `days` ago; returns how many."""
    cutoff = now - timedelta(days=days)
    purged = 0
    while True:  # chunks keep each transaction short after a large bulk dismissal
        with engine.begin() as conn:
            ids = list(
                conn.scalars(
                    select(Quarantine.id)
                    .where(Quarantine.status == "dismissed", Quarantine.resolved_at < cutoff)
                    .limit(CHUNK)
                )
            )
            if ids:
                conn.execute(delete(Quarantine).where(Quarantine.id.in_(ids)))
        purged += len(ids)
        if len(ids) < CHUNK:
            break
    if purged:
        log.info("retention: %d dismissed quarantine items deleted", purged)
    return purged


def purge_outbox(engine: Engine, *, now: datetime, days: int) -> int:
    """Delete outbox messages delivered or skipped more than `days` ago; returns how many."""
    cutoff = now - timedelta(days=days)
    finished = or_(
        and_(OutboxMessage.status == "delivered", OutboxMessage.delivered_at < cutoff),
        and_(OutboxMessage.status == "skipped", OutboxMessage.created_at < cutoff),
    )
    purged = 0
    while True:  # oldest first by primary key: old finished rows sit at the low ids
        with engine.begin() as conn:
            ids = list(
                conn.scalars(
                    select(OutboxMessage.id).where(finished).order_by(OutboxMessage.id).limit(CHUNK)
                )
            )
            if ids:
                conn.execute(delete(OutboxAttempt).where(OutboxAttempt.message_id.in_(ids)))
                conn.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        purged += len(ids)
        if len(ids) < CHUNK:
            break
    if purged:
        log.info("retention: %d delivered outbox messages deleted", purged)
    return purged


class RetentionWorker(ThreadWorker):
    """Runs the location, dismissed-quarantine and outbox retention once a day in the service."""

    name = "retention"
    join_timeout_s = 10.0

    def __init__(
        self,
        engine: Engine,
        *,
        days: int,
        clock: Callable[[], datetime],
        dismissed_days: int | None = None,
        outbox_days: int | None = None,
        interval_s: float = 86400,
        may_run: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.engine, self.days, self.clock, self.interval_s = engine, days, clock, interval_s
        self.dismissed_days, self.outbox_days = dismissed_days, outbox_days
        # Several collectors: only the holder of the retention lease runs it.
        self.may_run = may_run or (lambda: True)
        self.runs = 0  # completed runs, for tests

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.may_run():
                # Another process holds the lease; look again soon in case it dies.
                self._stop.wait(min(self.interval_s, 10.0))
                continue
            try:
                now = self.clock()
                log.info("retention: running")
                scrub_locations(self.engine, now=now, days=self.days)
                if self.dismissed_days is not None:
                    purge_dismissed(self.engine, now=now, days=self.dismissed_days)
                if self.outbox_days is not None:
                    purge_outbox(self.engine, now=now, days=self.outbox_days)
                self.runs += 1
            except Exception:  # the next run retries; a failed run loses nothing
                log.exception("retention failed")
            self._stop.wait(self.interval_s)
