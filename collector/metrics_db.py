"""Figures for /metrics that live in the database, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import prometheus_client as prom
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Connection, func, select

from collector.store.models import Device, DirtyDay, Punch, Quarantine

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


def render_store_metrics(conn: Connection) -> str:
    """The store's figures in the text exposition format (v0.0.4)."""
    return prom.generate_latest(StoreFigures(conn)).decode()
