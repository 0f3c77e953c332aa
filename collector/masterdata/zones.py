"""A device's zone corrected: its stored terminal and push punches re-timed, never doubled.

Terminal and push punches are naive wall-clock times read in their device's zone. When
the zone changes, each punch read with the old zone is read again in the new one: its
wall time comes back from the stored instant and zone (`normalize.wall_time`), and
`occurred_at`, `tz` and the DST and future flags are worked out anew. Its dedupe key,
the code and the wall time, does not change, so a later re-read of the terminal is
recognised. The affected days are marked dirty and one audit entry says how many punches
moved from which zone to which, all in the caller's transaction. Imported punches keep
their time: an import row may have been aware (its instant fixed) and its zone may have
come from the file, which the store cannot tell apart afterwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collector.audit import record
from collector.normalize import NormalizePolicy, to_utc, wall_time, zone
from collector.store.ingest import mark_dirty
from collector.store.models import Device, Punch
from rules.vocabulary import PunchFlag, SourceKind

RETIMED_SOURCES = (SourceKind.TERMINAL.value, SourceKind.PUSH.value)
CHUNK = 5000
_RECOMPUTED = int(PunchFlag.DST_GAP | PunchFlag.DST_AMBIGUOUS | PunchFlag.FUTURE_TIMESTAMP)
_FUTURE = int(PunchFlag.FUTURE_TIMESTAMP)


def change_device_zone(
    session: Session,
    device: Device,
    new_zone: str,
    *,
    actor: str,
    now: datetime,
    policy: NormalizePolicy,
) -> int:
    """Set a device's zone; when it changes, re-time its punches read with the old one."""
    old_zone = device.timezone
    device.timezone = new_zone
    if old_zone is None or old_zone == new_zone or device.id is None:
        return 0
    moved = retime_punches(
        session, device.code, old_zone, new_zone, future_tolerance=policy.future_tolerance
    )
    if device.reported_until is not None:
        # The terminal's clock was read in the old zone too.
        wall = wall_time(device.reported_until, zone(old_zone), 0)
        device.reported_until = to_utc(wall, zone(new_zone))[0]
    record(
        session,
        actor=actor,
        action="device.timezone",
        entity="device",
        entity_id=device.id,
        now=now,
        reason=f"zone changed from {old_zone} to {new_zone}; {moved} punches re-timed",
        details={"device": device.code, "from": old_zone, "to": new_zone, "retimed": moved},
    )
    return moved


def retime_punches(
    session: Session,
    device_code: str,
    old_zone: str,
    new_zone: str,
    *,
    future_tolerance: timedelta,
) -> int:
    """Re-read a device's terminal and push punches stored in `old_zone` in `new_zone`."""
    old_tz, new_tz = zone(old_zone), zone(new_zone)
    session.flush()
    moved = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(
                Punch.id,
                Punch.occurred_at,
                Punch.flags,
                Punch.received_at,
                Punch.employee_id,
                Punch.local_date,
            )
            .where(
                Punch.device_code == device_code,
                Punch.source_kind.in_(RETIMED_SOURCES),
                Punch.tz == old_zone,
                Punch.id > last_id,
            )
            .order_by(Punch.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return moved
        changes: list[dict[str, Any]] = []
        days: set[tuple[int, date]] = set()
        for pid, at, flags, received, emp, day in rows:
            wall = wall_time(at, old_tz, flags)
            new_at, dst = to_utc(wall, new_tz)
            new_flags = (flags & ~_RECOMPUTED) | int(dst)
            if new_at > received + future_tolerance:
                new_flags |= _FUTURE
            changes.append({"id": pid, "occurred_at": new_at, "tz": new_zone, "flags": new_flags})
            if emp is not None:
                # The punch may leave the day its old instant fell on and land on another
                # in whichever zone its employee's days are kept; recompute widens dates
                # in a zone other than the site's by a day either side.
                days.add((emp, day))
                for when in (at, new_at):
                    for tz in (old_tz, new_tz):
                        days.add((emp, when.astimezone(tz).date()))
        session.execute(update(Punch), changes)
        mark_dirty(session.connection(), days)
        moved += len(rows)
        last_id = rows[-1][0]
