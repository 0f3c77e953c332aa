"""Bounding what one device or phone can add to the quarantine.

A terminal that sends garbage, or a phone stuck in a loop, must not turn the quarantine
into millions of rows. Bad input from a terminal, push terminal or phone is counted per
origin (the device's code, or the phone's topic):

- one upload or batch keeps its first `per_upload` bad inputs from one origin as rows of
  their own, and the rest as one row that counts them and keeps their raw text;
- one origin adds at most `per_origin` inputs' worth of rows per window; past that, what it
  sends in the window goes into one overflow row per origin and window, to which each
  later delivery adds its count and text.

Nothing is dropped unseen: every bad input is counted in some row (`input_count`), its text
kept up to MAX_RAW_CHARS per row with the full size in `raw_size`, and the caller's
IngestResult still reports each input as quarantined. Items that kept the punch that failed
normalisation are never folded into others: each can be replayed on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from collector.normalize import QuarantineLimits
from collector.store.models import Quarantine
from rules.vocabulary import SourceKind

if TYPE_CHECKING:
    from collector.store.ingest import QuarantineItem

BOUNDED = frozenset({SourceKind.TERMINAL, SourceKind.PUSH, SourceKind.MOBILE})
MAX_RAW_CHARS = 65536  # quarantined raw input is kept up to this size per row
_CHUNK = 500  # origins per query, under every backend's parameter limit
Origin = tuple[SourceKind, str]


@dataclass(slots=True)
class Plan:
    """The rows a batch of bad input becomes."""

    rows: list[QuarantineItem] = field(default_factory=list)  # stored once each
    overflow: list[QuarantineItem] = field(default_factory=list)  # added to their window's row


def origin_of(item: QuarantineItem) -> str | None:
    """Who sent the item: the phone's topic, else the device's code."""
    return item.origin or item.device_code


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window `now` falls in."""
    seconds = max(1, int(window.total_seconds()))
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def plan(
    conn: Connection, items: Sequence[QuarantineItem], *, limits: QuarantineLimits, now: datetime
) -> Plan:
    """Split refused input into rows of their own and summaries, within the limits."""
    out = Plan()
    groups: dict[Origin, list[QuarantineItem]] = {}
    for item in items:
        origin = origin_of(item)
        if item.attempt is None and item.source_kind in BOUNDED and origin:
            groups.setdefault((item.source_kind, origin), []).append(item)
        else:
            out.rows.append(item)
    if not groups:
        return out
    start = window_start(now, limits.window)
    used = _used(conn, groups, start)
    for (kind, origin), bad in groups.items():
        room = max(0, limits.per_origin - used.get((kind, origin), 0))
        keep = min(len(bad), limits.per_upload, room)
        out.rows.extend(bad[:keep])
        rest = bad[keep:]
        if not rest:
            continue
        if keep < limits.per_upload:  # the origin's window is spent
            reason = (
                f"over {limits.per_origin} bad inputs from {origin} within "
                f"{int(limits.window.total_seconds())} s: the rest of the window is kept here"
            )
            ref = f"{origin} from {start:%Y-%m-%d %H:%M:%S}Z"
            out.overflow.append(_summary(rest, reason, ref, origin, trailing="\n"))
        else:
            reason = f"{len(rest)} more bad inputs in one upload, after the first {keep}"
            ref = f"{rest[0].reference or origin} … {rest[-1].reference or ''}"
            out.rows.append(_summary(rest, reason, ref, origin))
    return out


def _summary(
    rest: list[QuarantineItem], reason: str, ref: str, origin: str, trailing: str = ""
) -> QuarantineItem:
    # The text of every input, one per line; the overflow row is appended to, so its
    # chunks end with a line break.
    text = "\n".join(item.raw for item in rest) + trailing
    size = len(text.encode("utf-8", "replace"))
    return dataclasses.replace(
        rest[0],
        reason=f"{reason}; the first: {rest[0].reason}"[:1000],
        raw=text[:MAX_RAW_CHARS],
        reference=ref,
        origin=origin,
        count=sum(item.count for item in rest),
        raw_size=size,
    )


def _used(conn: Connection, origins: Iterable[Origin], since: datetime) -> dict[Origin, int]:
    """Bad inputs each origin has added since `since`."""
    by_kind: dict[SourceKind, list[str]] = {}
    for kind, origin in origins:
        by_kind.setdefault(kind, []).append(origin)
    used: dict[Origin, int] = {}
    for kind, names in by_kind.items():
        for at in range(0, len(names), _CHUNK):
            query = (
                select(Quarantine.origin, func.sum(Quarantine.input_count))
                .where(
                    Quarantine.source_kind == kind.value,
                    Quarantine.origin.in_(names[at : at + _CHUNK]),
                    Quarantine.received_at >= since,
                )
                .group_by(Quarantine.origin)
            )
            for found, total in conn.execute(query):
                used[(kind, str(found))] = int(total or 0)
    return used
