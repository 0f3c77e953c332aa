"""Figures for /metrics that live in the database, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import prometheus_client as prom
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Connection, func, select

from collector.runtime import utcnow
from collector.store.models import Device, DirtyDay, Punch, Quarantine, SiteAgent

MAX_REASONS = 20  # quarantine reasons are free text: keep the label set bounded
REASON_CHARS = 80


class StoreFigures:
    """A prometheus_client collector reading the store through one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def collect(self) -> Iterator[Metric]:
        """Punches by source, open quarantine by reason, devices by status, days waiting."""
        conn = self.conn
        punches = GaugeMetricFamily(
            "punchgate_punches_stored", "Punches in the store, by source kind.", labels=["source"]
        )
        by_source = conn.execute(
            select(Punch.source_kind, func.count()).group_by(Punch.source_kind)
        )
        for source, n in sorted(by_source):
            punches.add_metric([source], n)
        yield punches
        quarantine = GaugeMetricFamily(
            "punchgate_quarantine_open", "Open quarantine items, by reason.", labels=["reason"]
        )
        reasons = list(
            conn.execute(
                select(Quarantine.reason, func.count())
                .where(Quarantine.status == "open")
                .group_by(Quarantine.reason)
                .order_by(func.count().desc())
            )
        )
        for reason, n in reasons[:MAX_REASONS]:
            quarantine.add_metric([reason[:REASON_CHARS]], n)
        rest = sum(n for _, n in reasons[MAX_REASONS:])
        if rest:
            quarantine.add_metric(["other"], rest)
        yield quarantine
        devices = GaugeMetricFamily(
            "punchgate_devices", "Devices by kind and live status.", labels=["kind", "status"]
        )
        statuses = conn.execute(
            select(Device.kind, Device.status, func.count()).group_by(Device.kind, Device.status)
        )
        for kind, status, n in sorted(statuses):
            devices.add_metric([kind, status], n)
        yield devices
        online = conn.scalar(select(func.count()).where(Device.status == "online")) or 0
        yield GaugeMetricFamily(
            "punchgate_terminals_online", "Devices whose status is online.", value=online
        )
        dirty = conn.scalar(select(func.count()).select_from(DirtyDay)) or 0
        yield GaugeMetricFamily(
            "punchgate_days_awaiting_recompute",
            "Employee-days marked for recomputation.",
            value=dirty,
        )
        yield from agent_figures(conn, utcnow())


def agent_figures(conn: Connection, now: datetime) -> Iterator[Metric]:
    """Each live site agent's health as it last reported it."""
    families = {
        "depth": GaugeMetricFamily(
            "punchgate_agent_buffer_depth",
            "Punches held in a site agent's buffer, not yet acknowledged centrally.",
            labels=["agent"],
        ),
        "capacity": GaugeMetricFamily(
            "punchgate_agent_buffer_capacity",
            "Punches a site agent's buffer may hold.",
            labels=["agent"],
        ),
        "age": GaugeMetricFamily(
            "punchgate_agent_last_contact_age_seconds",
            "Seconds since a site agent last reached the central service.",
            labels=["agent"],
        ),
        "skew": GaugeMetricFamily(
            "punchgate_agent_clock_skew_seconds",
            "A site agent's clock minus the central clock at its last contact.",
            labels=["agent"],
        ),
        "info": GaugeMetricFamily(
            "punchgate_agent_info",
            "A site agent's version (always 1).",
            labels=["agent", "version"],
        ),
    }
    rows = conn.execute(
        select(
            SiteAgent.code,
            SiteAgent.buffer_depth,
            SiteAgent.buffer_capacity,
            SiteAgent.last_contact_at,
            SiteAgent.clock_skew_s,
            SiteAgent.version,
        )
        .where(SiteAgent.revoked_at.is_(None), SiteAgent.last_contact_at.is_not(None))
        .order_by(SiteAgent.code)
    )
    for code, depth, capacity, seen, skew, version in rows:
        families["depth"].add_metric([code], depth or 0)
        families["capacity"].add_metric([code], capacity or 0)
        if seen is not None:  # the query asks for contacted agents only
            families["age"].add_metric([code], max(0.0, (now - seen).total_seconds()))
        if skew is not None:
            families["skew"].add_metric([code], skew)
        families["info"].add_metric([code, version or ""], 1)
    yield from families.values()


def render_store_metrics(conn: Connection) -> str:
    """The store's figures in the text exposition format (v0.0.4)."""
    return prom.generate_latest(StoreFigures(conn)).decode()
