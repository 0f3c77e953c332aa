"""Device health: every terminal with its live status, clock skew and storage fill."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, literal, select

from collector.fleet.leases import TERMINAL
from collector.reports.common import Report, utc
from collector.store.models import Device, Lease, Punch, Quarantine, SiteAgent, SiteAgentTerminal
from rules.vocabulary import SourceKind

# Quarantined input from these sources names its device (phones: their topic).
DEVICE_KINDS = (SourceKind.TERMINAL.value, SourceKind.PUSH.value)

COLUMNS = (
    "device_code",
    "name",
    "kind",
    "agent",
    "timezone",
    "enabled",
    "status",
    "online",
    "last_seen_at",
    "seconds_since_seen",
    "clock_skew_s",
    "record_count",
    "record_capacity",
    "fill_ratio",
    "user_count",
    "firmware",
    "last_error",
    "polled_by",
    "lease_expires_at",
    "punches_24h",
    "bad_input_24h",
)
AGENT, PUNCHES, BAD = (COLUMNS.index(c) for c in ("agent", "punches_24h", "bad_input_24h"))
# A site agent that has not been heard from for this long shows offline.
AGENT_STALE = timedelta(minutes=5)


def device_health(conn: Connection, *, now: datetime) -> Report:
    """One row per device by code, with its zone (the one its times are read in), its
    punches and its quarantined inputs of the last day, the process polling it (the holder
    of its unexpired terminal lease; none for push devices) and the site agent reading it;
    then one row per site agent (kind `agent`): its last contact, clock skew, buffer depth
    and capacity (as record count and capacity), version (as firmware) and warning."""
    recent = (
        select(Punch.device_code.label("code"), func.count().label("n"))
        .where(Punch.occurred_at >= now - timedelta(days=1), Punch.device_code.is_not(None))
        .group_by(Punch.device_code)
        .subquery()
    )
    bad = (
        select(Quarantine.origin.label("code"), func.sum(Quarantine.input_count).label("n"))
        .where(
            Quarantine.source_kind.in_(DEVICE_KINDS),
            Quarantine.received_at >= now - timedelta(days=1),
        )
        .group_by(Quarantine.origin)
        .subquery()
    )
    lease = (
        select(Lease.key, Lease.owner, Lease.expires_at)
        .where(Lease.key.like(f"{TERMINAL}%"), Lease.expires_at >= now)
        .subquery()
    )
    query = (
        select(
            Device.code,
            Device.name,
            Device.kind,
            Device.timezone,
            Device.enabled,
            Device.status,
            Device.last_seen_at,
            Device.clock_skew_s,
            Device.record_count,
            Device.record_capacity,
            Device.user_count,
            Device.firmware,
            Device.last_error,
            recent.c.n,
            bad.c.n,
            lease.c.owner,
            lease.c.expires_at,
            SiteAgent.code,
        )
        .outerjoin(recent, recent.c.code == Device.code)
        .outerjoin(bad, bad.c.code == Device.code)
        .outerjoin(lease, lease.c.key == literal(TERMINAL) + Device.code)
        .outerjoin(SiteAgentTerminal, SiteAgentTerminal.device_id == Device.id)
        .outerjoin(SiteAgent, SiteAgent.id == SiteAgentTerminal.agent_id)
        .order_by(Device.code)
    )
    devices = list(_shape(conn.execute(query), now))
    return Report(
        name="device-health",
        columns=COLUMNS,
        rows=[*devices, *_agents(conn, devices, now)],
        meta={"at": now.isoformat()},
    )


def _agents(
    conn: Connection, devices: list[tuple[Any, ...]], now: datetime
) -> Iterator[tuple[Any, ...]]:
    """Site agents as device-health rows; their punches and bad input are their terminals'."""
    punches: dict[str, int] = {}
    bad: dict[str, int] = {}
    for row in devices:
        via = row[AGENT]
        if via is not None:
            punches[via] = punches.get(via, 0) + row[PUNCHES]
            bad[via] = bad.get(via, 0) + row[BAD]
    agents = conn.execute(
        select(
            SiteAgent.code,
            SiteAgent.name,
            SiteAgent.revoked_at,
            SiteAgent.last_contact_at,
            SiteAgent.clock_skew_s,
            SiteAgent.buffer_depth,
            SiteAgent.buffer_capacity,
            SiteAgent.version,
            SiteAgent.warning,
        ).order_by(SiteAgent.code)
    )
    for agent in agents:
        seen = utc(agent.last_contact_at)
        if agent.revoked_at is not None:
            status = "revoked"
        elif seen is None:
            status = "unknown"
        else:
            status = "online" if now - seen <= AGENT_STALE else "offline"
        depth, cap = agent.buffer_depth, agent.buffer_capacity
        yield (
            agent.code,
            agent.name,
            "agent",
            None,
            "UTC",
            agent.revoked_at is None,
            status,
            status == "online",
            seen,
            None if seen is None else round((now - seen).total_seconds()),
            agent.clock_skew_s,
            depth,
            cap,
            round(depth / cap, 4) if depth is not None and cap else None,
            None,
            agent.version,
            agent.warning,
            None,  # an agent is polled by no collector: it reports in
            None,
            punches.get(agent.code, 0),
            bad.get(agent.code, 0),
        )


def _shape(rows: Any, now: datetime) -> Iterator[tuple[Any, ...]]:
    for (
        code,
        name,
        kind,
        tz,
        enabled,
        status,
        seen,
        skew,
        count,
        cap,
        users,
        fw,
        err,
        n,
        bad,
        owner,
        expires,
        agent,
    ) in rows:
        seen = utc(seen)
        yield (
            code,
            name,
            kind,
            agent,
            tz,
            bool(enabled),
            status,
            status == "online",
            seen,
            None if seen is None else round((now - seen).total_seconds()),
            skew,
            count,
            cap,
            round(count / cap, 4) if count is not None and cap else None,
            users,
            fw,
            err,
            owner,
            utc(expires),
            int(n or 0),
            int(bad or 0),
        )


PHONE_COLUMNS = (
    "phones",
    "phones_24h",
    "punches_24h",
    "last_punch_at",
    "outside_24h",
    "bad_input_24h",
)


def phone_summary(conn: Connection, *, now: datetime) -> Report:
    """Phones together (they have no device rows): how many ever sent, how many in the last
    day, their punches in the last day, the latest, how many were outside the fence, and
    how many of their messages were quarantined in the last day."""
    mobile = Punch.source_kind == SourceKind.MOBILE.value
    recent = Punch.occurred_at >= now - timedelta(days=1)
    query = select(
        func.count(func.distinct(Punch.device_code)),
        func.count(func.distinct(case((recent, Punch.device_code)))),
        func.coalesce(func.sum(case((recent, 1), else_=0)), 0),
        func.max(Punch.received_at),
        func.coalesce(func.sum(case((recent & (Punch.geo_decision == "outside"), 1), else_=0)), 0),
    ).where(mobile)
    phones, active, n, last, outside = conn.execute(query).one()
    bad = conn.scalar(
        select(func.coalesce(func.sum(Quarantine.input_count), 0)).where(
            Quarantine.source_kind == SourceKind.MOBILE.value,
            Quarantine.received_at >= now - timedelta(days=1),
        )
    )
    row = (
        int(phones or 0),
        int(active or 0),
        int(n or 0),
        utc(last),
        int(outside or 0),
        int(bad or 0),
    )
    return Report(name="phones", columns=PHONE_COLUMNS, rows=[row], meta={"at": now.isoformat()})
