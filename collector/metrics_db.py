"""Figures for /metrics that live in the database, read at scrape time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from collector.metrics import escape
from collector.store.models import Device, DirtyDay, Punch, Quarantine

MAX_REASONS = 20  # quarantine reasons are free text: keep the label set bounded
REASON_CHARS = 80


def render_store_metrics(conn: Connection) -> str:
    """Punches by source, open quarantine by reason, devices by status, days waiting."""
    lines: list[str] = []

    def block(name: str, kind: str, help_text: str, samples: Sequence[tuple[str, float]]) -> None:
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {int(value)}" for labels, value in samples)

    by_source = conn.execute(select(Punch.source_kind, func.count()).group_by(Punch.source_kind))
    block(
        "punchgate_punches_stored",
        "gauge",
        "Punches in the store, by source kind.",
        [(f'{{source="{escape(s)}"}}', n) for s, n in sorted(by_source)],
    )
    reasons = list(
        conn.execute(
            select(Quarantine.reason, func.count())
            .where(Quarantine.status == "open")
            .group_by(Quarantine.reason)
            .order_by(func.count().desc())
        )
    )
    shown = reasons[:MAX_REASONS]
    rest = sum(n for _, n in reasons[MAX_REASONS:])
    samples = [(f'{{reason="{escape(r[:REASON_CHARS])}"}}', n) for r, n in shown]
    if rest:
        samples.append(('{reason="other"}', rest))
    block("punchgate_quarantine_open", "gauge", "Open quarantine items, by reason.", samples)
    statuses = conn.execute(
        select(Device.kind, Device.status, func.count()).group_by(Device.kind, Device.status)
    )
    block(
        "punchgate_devices",
        "gauge",
        "Devices by kind and live status.",
        [(f'{{kind="{escape(k)}",status="{escape(s)}"}}', n) for k, s, n in sorted(statuses)],
    )
    online = conn.scalar(select(func.count()).where(Device.status == "online")) or 0
    block("punchgate_terminals_online", "gauge", "Devices whose status is online.", [("", online)])
    dirty = conn.scalar(select(func.count()).select_from(DirtyDay)) or 0
    block(
        "punchgate_days_awaiting_recompute",
        "gauge",
        "Employee-days marked for recomputation.",
        [("", dirty)],
    )
    return "\n".join(lines) + "\n"
