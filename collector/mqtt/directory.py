"""What the consumer must know about people and places, cached and refreshed from the store.

Employees, OwnTracks identities and site fences are reloaded every `refresh_s` seconds and
on a miss (so a new employee is recognised at once). The employee's previous phone fix is
kept in memory after the first look-up, so spoofing checks cost a query only on a miss or
for fixes delivered out of order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, select, text

from collector.mqtt.fences import SiteFence, site_fence
from collector.store.models import Employee, Leave, Punch, Site
from rules.geofence import PreviousFix
from rules.leavetypes import LEAVE_TYPES
from rules.vocabulary import SourceKind

log = logging.getLogger(__name__)

MISS_RELOAD_S = 2.0  # at most one reload per this many seconds when codes are unknown
# Leave types on which phone punches are accepted anywhere (business trip, field work).
ANYWHERE = {t.code: t for t in LEAVE_TYPES.values() if t.punch_anywhere}


@dataclass(frozen=True, slots=True)
class Person:
    """An employee as the consumer needs them."""

    code: str
    timezone: str  # their site's zone, for punches that match no site


class Directory:
    """Cached employees, identities, fences and last fixes."""

    def __init__(
        self, engine: Engine, *, identity_key: str, default_tz: str, refresh_s: float = 30.0
    ) -> None:
        self.engine = engine
        self.identity_key = identity_key
        self.default_tz = default_tz
        self.refresh_s = refresh_s
        self.people: dict[str, Person] = {}
        self.owntracks: dict[str, str] = {}
        self.sites: list[SiteFence] = []
        self._loaded = -1e18
        self._last_miss_reload = -1e18
        self._bad_sites: set[str] = set()
        self.last_fix: dict[str, PreviousFix | None] = {}
        self.first_inside: dict[tuple[str, str, date], datetime] = {}
        # (code, local date) → why punches are accepted anywhere that day; cleared on refresh
        self.away: dict[tuple[str, date], str | None] = {}

    def refresh(self, *, force: bool = False) -> None:
        """Reload employees and sites when stale (or when forced)."""
        clock = time.monotonic()
        if not force and clock - self._loaded < self.refresh_s:
            return
        with self.engine.connect() as conn:
            sites = conn.execute(select(Site)).all()
            emps = conn.execute(
                select(Employee.code, Employee.identities, Employee.site_id).where(
                    Employee.deleted_at.is_(None)
                )
            ).all()
        zones = {s.id: s.timezone for s in sites}
        fences: list[SiteFence] = []
        for s in sites:
            try:
                found = site_fence(
                    code=s.code,
                    name=s.name,
                    timezone=s.timezone,
                    lat=s.lat,
                    lon=s.lon,
                    radius_m=s.radius_m,
                    polygon=s.polygon,
                    fence=s.fence,
                )
            except ValueError as exc:
                if s.code not in self._bad_sites:  # say it once, not on every reload
                    log.error("site %s ignored for phone punches: %s", s.code, exc)
                    self._bad_sites.add(s.code)
                continue
            if found is not None:
                fences.append(found)
        self.sites = fences
        self.people = {
            code: Person(code, zones.get(site_id, self.default_tz)) for code, _, site_id in emps
        }
        owntracks: dict[str, str] = {}
        for code, identities, _ in emps:
            user = (identities or {}).get(self.identity_key)
            if isinstance(user, str) and user:
                owntracks[user] = code
        self.owntracks = owntracks
        self.away.clear()  # leave entered since is seen from now on
        self._loaded = clock

    def _reload_on_miss(self) -> None:
        clock = time.monotonic()
        if clock - self._last_miss_reload >= MISS_RELOAD_S:
            self._last_miss_reload = clock
            self.refresh(force=True)

    def person(self, code: str) -> Person | None:
        """The employee with this code, if any."""
        found = self.people.get(code)
        if found is None:
            self._reload_on_miss()
            found = self.people.get(code)
        return found

    def owntracks_person(self, user: str) -> Person | None:
        """The employee whose OwnTracks identity is `user`, if any."""
        code = self.owntracks.get(user)
        if code is None:
            self._reload_on_miss()
            code = self.owntracks.get(user)
        return None if code is None else self.person(code)

    def site_for_region(self, region: str) -> SiteFence | None:
        """The site an OwnTracks region name means, if any."""
        wanted = region.strip().lower()
        return next((s for s in self.sites if wanted in s.region_names), None)

    def site(self, code: str) -> SiteFence | None:
        """A site's fence by code."""
        return next((s for s in self.sites if s.fence.site_code == code), None)

    def previous_fix(self, conn: Connection, code: str, before: datetime) -> PreviousFix | None:
        """The employee's latest stored phone fix before `before`."""
        if code in self.last_fix:
            cached = self.last_fix[code]
            if cached is None or cached.taken_at < before:
                return cached
        row = conn.execute(
            select(Punch.occurred_at, Punch.lat, Punch.lon, Punch.accuracy_m)
            .where(
                Punch.employee_code == code,
                # Written out, not bound: only a literal lets either database use the
                # partial index of phone punches (ix_punches_mobile_code_time).
                text(f"punches.source_kind = '{SourceKind.MOBILE.value}'"),
                Punch.lat.is_not(None),
                Punch.occurred_at < before,
            )
            .order_by(Punch.occurred_at.desc())
            .limit(1)
        ).first()
        found = None
        if row is not None and row[1] is not None and row[2] is not None:
            found = PreviousFix(row[1], row[2], row[3] or 0.0, row[0])
        if code not in self.last_fix:
            self.last_fix[code] = found
        return found

    def away_reason(self, conn: Connection, code: str, day: date) -> str | None:
        """Why the employee may punch away from every site on that local date, if they may:
        a business trip or field work recorded for the day."""
        key = (code, day)
        if key in self.away:
            return self.away[key]
        found = conn.execute(
            select(Leave.leave_type)
            .join(Employee, Employee.id == Leave.employee_id)
            .where(
                Employee.code == code,
                Leave.start_date <= day,
                Leave.end_date >= day,
                Leave.leave_type.in_(ANYWHERE),
            )
            .limit(1)
        ).scalar()
        reason = None if found is None else f"{ANYWHERE[found].name} on {day.isoformat()}"
        self.away[key] = reason
        return reason

    def remember_fix(self, code: str, fix: PreviousFix) -> None:
        """Note a fix about to be stored as the employee's latest, if it is."""
        cached = self.last_fix.get(code)
        if cached is None or cached.taken_at < fix.taken_at:
            self.last_fix[code] = fix

    def earliest_inside(
        self, conn: Connection, code: str, site: str, day: date, before: datetime
    ) -> bool:
        """Whether an inside-fence location punch is stored for this employee-site-day earlier."""
        key = (code, site, day)
        known = self.first_inside.get(key)
        if known is not None and known < before:
            return True
        row = conn.execute(
            select(Punch.occurred_at)
            .where(
                Punch.employee_code == code,
                Punch.site_code == site,
                Punch.local_date == day,
                Punch.source_kind == SourceKind.MOBILE.value,
                Punch.source_ref.like("otl:%"),
                Punch.occurred_at < before,
            )
            .order_by(Punch.occurred_at)
            .limit(1)
        ).first()
        if row is not None:
            self.first_inside[key] = row[0]
        return row is not None

    def note_inside(self, code: str, site: str, day: date, at: datetime) -> None:
        """Note an inside-fence location punch about to be stored."""
        key = (code, site, day)
        known = self.first_inside.get(key)
        if known is None or at < known:
            self.first_inside[key] = at

    def forget_pending(self) -> None:
        """Drop fix caches after a failed commit (they may name fixes never stored)."""
        self.last_fix.clear()
        self.first_inside.clear()
