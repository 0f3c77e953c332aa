"""Ledgers against the store: what every source generated, matched to what was stored.

Every generated punch has a ledger id of its own, read back from the stored row without
the store's dedupe key, so a punch stored twice under two keys shows as duplicated:
- a pull terminal's record: the terminal, the user id and the terminal's own local time
  (a terminal row keeps no raw record; its local time is `occurred_at` seen in the zone
  the row says it was read in, the `tz` column);
- a push terminal's record: the terminal and the PIN and local time of the ATTLOG line
  kept in the row's `raw`;
- a phone punch: the message id in the payload kept in `raw` (the `n:` source_ref once
  retention has blanked the payload).
Stored rows per ledger id: 0 is missing, 1 is stored, 2 or more is duplicated. A row
whose id matches but whose person or UTC second differs from what was generated is
mismatched; a row without a generated id is unexpected. Malformed items are matched
one-to-one to quarantine rows by kind, device and raw text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices.zk.push.records import AttLine, parse_attlog_line
from rules.vocabulary import PunchFlag

LedgerId = tuple[str, ...]  # (kind, device, person, local time) or ("mobile", message id)


def record_id(kind: str, device: str, user: str, local: datetime) -> LedgerId:
    """A terminal record's id: source kind, terminal, user id, the terminal's local second."""
    return (kind, device, user, local.replace(microsecond=0).isoformat(sep=" "))


def message_id(mid: str) -> LedgerId:
    """A phone punch's id: its message id."""
    return ("mobile", mid)


@dataclass(frozen=True)
class Generated:
    """One punch a source generated: its ledger id and what the store should say of it."""

    source: str  # e.g. "zk:zk-07", "push:push-2", "phones"
    id: LedgerId
    employee_code: str
    epoch_second: int  # the UTC second it happened


@dataclass(frozen=True)
class Stored:
    """One punch row in the store, with what it keeps of where it came from."""

    source_kind: str
    employee_code: str
    device_code: str | None
    occurred_at: datetime  # aware UTC
    tz: str
    flags: int
    source_ref: str | None
    raw: str | None

    @property
    def epoch_second(self) -> int:
        """The UTC second the row says the punch happened."""
        return int(self.occurred_at.timestamp())

    @property
    def ledger_id(self) -> LedgerId | None:
        """The id of the generated punch this row is, or None if the row does not say."""
        if self.source_kind == "terminal" and self.device_code:
            local = terminal_local(self.occurred_at, self.tz, self.flags)
            if local is None:
                return None
            return record_id("terminal", self.device_code, self.employee_code, local)
        if self.source_kind == "push" and self.device_code and self.raw:
            line = parse_attlog_line(1, self.raw)
            if not isinstance(line, AttLine) or line.punch.timestamp.tzinfo is not None:
                return None
            return record_id("push", self.device_code, line.punch.user_id, line.punch.timestamp)
        if self.source_kind == "mobile":
            mid = _payload_id(self.raw)
            if mid is None and self.source_ref and self.source_ref.startswith("n:"):
                mid = self.source_ref[2:]
            return None if mid is None else message_id(mid)
        return None

    def describe(self) -> LedgerId:
        """The row for a report: its ledger id, or what it says when it has none."""
        found = self.ledger_id
        if found is not None:
            return found
        stamp = self.occurred_at.isoformat()
        return ("no ledger id", self.source_kind, self.device_code or "", self.employee_code, stamp)


def terminal_local(occurred_at: datetime, tz: str, flags: int) -> datetime | None:
    """The naive local time a terminal row was read from, undoing the store's UTC conversion."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    if flags & PunchFlag.DST_GAP:
        # A local time in a spring-forward gap was read with the offset in force before the
        # jump; the instant lies less than the gap after it, months after the previous one.
        before = (occurred_at - timedelta(hours=6)).astimezone(zone).utcoffset()
        if before is None:
            return None
        return (occurred_at + before).replace(tzinfo=None)
    return occurred_at.astimezone(zone).replace(tzinfo=None)


def _payload_id(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    mid = doc.get("id") if isinstance(doc, dict) else None
    return mid if isinstance(mid, str) and mid else None


@dataclass(frozen=True)
class Malformed:
    """One bad item a source sent on purpose; `None` fields match anything."""

    source: str
    kind: str  # quarantine source_kind: terminal, push, mobile
    device_code: str | None
    raw: str | None


@dataclass(frozen=True)
class QuarantineRow:
    """One quarantine entry in the store."""

    source_kind: str
    device_code: str | None
    reference: str | None
    reason: str
    raw: str


@dataclass
class Comparison:
    """The verdict of one comparison."""

    generated: int = 0
    distinct: int = 0  # distinct ledger ids generated
    collisions: int = 0  # ledger entries sharing an id with an earlier one
    stored: int = 0
    matched: int = 0
    missing: list[LedgerId] = field(default_factory=list)
    duplicated: list[LedgerId] = field(default_factory=list)
    # Rows carrying a generated id but another person or UTC second: (id, code, second).
    mismatched: list[tuple[LedgerId, str, int]] = field(default_factory=list)
    unexpected: list[LedgerId] = field(default_factory=list)
    malformed_sent: int = 0
    quarantined: int = 0
    unmatched_malformed: list[Malformed] = field(default_factory=list)
    unexplained_quarantine: list[QuarantineRow] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Each generated punch stored once and as generated, nothing else, quarantine explained."""
        return (
            self.generated > 0
            and not self.missing
            and not self.duplicated
            and not self.mismatched
            and not self.unexpected
            and not self.unmatched_malformed
            and not self.unexplained_quarantine
        )

    def by_kind(self) -> dict[str, dict[str, int]]:
        """Per-source figures summed by kind of source (zk, push, phones)."""
        out: dict[str, Counter[str]] = {}
        for source, figures in self.by_source.items():
            out.setdefault(source.split(":")[0], Counter()).update(figures)
        return {k: {**dict(c), "sources": sum(1 for s in self.by_source if s.split(":")[0] == k)}
                for k, c in out.items()}  # fmt: skip

    def as_dict(self, sample: int = 10) -> dict[str, Any]:
        """JSON-able summary with a few examples of each failure."""
        problems = ("missing", "duplicated", "mismatched")
        return {
            "generated": self.generated,
            "distinct_ledger_ids": self.distinct,
            "ledger_id_collisions": self.collisions,
            "stored": self.stored,
            "matched": self.matched,
            "missing": len(self.missing),
            "duplicated": len(self.duplicated),
            "mismatched": len(self.mismatched),
            "unexpected": len(self.unexpected),
            "malformed_sent": self.malformed_sent,
            "quarantined": self.quarantined,
            "quarantined_by_reason": self.quarantine_reasons,
            "unmatched_malformed": len(self.unmatched_malformed),
            "unexplained_quarantine": len(self.unexplained_quarantine),
            "by_kind": self.by_kind(),
            "sources_with_problems": {
                k: v for k, v in self.by_source.items() if any(v.get(p) for p in problems)
            },
            "examples": {
                "missing": [list(k) for k in self.missing[:sample]],
                "duplicated": [list(k) for k in self.duplicated[:sample]],
                "mismatched": [[list(k), c, s] for k, c, s in self.mismatched[:sample]],
                "unexpected": [list(k) for k in self.unexpected[:sample]],
                "unmatched_malformed": [m.__dict__ for m in self.unmatched_malformed[:sample]],
                "unexplained_quarantine": [
                    q.__dict__ for q in self.unexplained_quarantine[:sample]
                ],
            },
        }


_NUMBERS = re.compile(r"\d+")


def reason_class(reason: str) -> str:
    """A quarantine reason with its numbers and quoted values blanked, for counting."""
    text = re.sub(r"'[^']*'", "'…'", reason)
    return _NUMBERS.sub("N", text)[:120]


def compare(
    generated: Iterable[Generated],
    stored: Iterable[Stored],
    malformed: Iterable[Malformed] = (),
    quarantine: Iterable[QuarantineRow] = (),
) -> Comparison:
    """Count stored rows per generated ledger id; match every malformed item to quarantine."""
    out = Comparison()
    expected: dict[LedgerId, Generated] = {}
    per_source: dict[str, Counter[str]] = {}
    for g in generated:
        out.generated += 1
        per_source.setdefault(g.source, Counter())["generated"] += 1
        if g.id in expected:
            out.collisions += 1  # two punches no stored row could tell apart
            continue
        expected[g.id] = g
    out.distinct = len(expected)
    found: dict[LedgerId, list[Stored]] = {}
    for row in stored:
        out.stored += 1
        found.setdefault(row.describe(), []).append(row)
    for key, g in expected.items():
        counts = per_source[g.source]
        rows = found.get(key, [])
        if not rows:
            out.missing.append(key)
            counts["missing"] += 1
            continue
        out.matched += 1
        counts["stored"] += 1
        if len(rows) > 1:
            out.duplicated.append(key)
            counts["duplicated"] += 1
        for row in rows:
            if (row.employee_code, row.epoch_second) != (g.employee_code, g.epoch_second):
                out.mismatched.append((key, row.employee_code, row.epoch_second))
                counts["mismatched"] += 1
    out.unexpected = [k for k, rows in found.items() for _ in rows if k not in expected]
    out.duplicated += [k for k, rows in found.items() if k not in expected and len(rows) > 1]
    out.by_source = {s: dict(c) for s, c in sorted(per_source.items())}
    _match_quarantine(out, list(malformed), list(quarantine))
    return out


def _match_quarantine(out: Comparison, sent: list[Malformed], rows: list[QuarantineRow]) -> None:
    out.malformed_sent = len(sent)
    out.quarantined = len(rows)
    reasons: Counter[str] = Counter(f"{q.source_kind}: {reason_class(q.reason)}" for q in rows)
    out.quarantine_reasons = dict(reasons.most_common())
    free = list(range(len(rows)))
    for item in sent:
        for pos, i in enumerate(free):
            q = rows[i]
            if q.source_kind != item.kind:
                continue
            if item.device_code is not None and q.device_code != item.device_code:
                continue
            if item.raw is not None and q.raw != item.raw:
                continue
            del free[pos]
            break
        else:
            out.unmatched_malformed.append(item)
    out.unexplained_quarantine = [rows[i] for i in free]
