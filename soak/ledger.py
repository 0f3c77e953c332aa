"""Ledgers against the store: what every source generated, matched to what was stored.

Identity is the store's own dedupe identity: a terminal or push punch is (employee code,
UTC second) — the same person in the same second is one punch whichever path brought it —
and a phone punch is its message id. Malformed items are matched one-to-one to quarantine
rows by kind, device and raw text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PunchKey = tuple[str, str, str]  # ("p", code, epoch second) or ("m", code, message id)


def terminal_key(code: str, epoch_second: int) -> PunchKey:
    """Identity of a terminal or push punch: the person and the UTC second."""
    return ("p", code, str(epoch_second))


def phone_key(code: str, message_id: str) -> PunchKey:
    """Identity of a phone punch: the person and the phone's message id."""
    return ("m", code, message_id)


@dataclass(frozen=True)
class Generated:
    """One punch a source generated."""

    source: str  # e.g. "zk:zk-07", "push:push-2", "phones"
    key: PunchKey


@dataclass(frozen=True)
class Stored:
    """One punch row in the store."""

    source_kind: str
    employee_code: str
    epoch_second: int
    source_ref: str | None
    device_code: str | None

    @property
    def key(self) -> PunchKey:
        """The same identity the ledger uses."""
        if self.source_kind == "mobile" and self.source_ref and self.source_ref.startswith("n:"):
            return phone_key(self.employee_code, self.source_ref[2:])
        return terminal_key(self.employee_code, self.epoch_second)


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
    distinct: int = 0  # distinct identities generated (same-second collisions collapsed)
    collisions: int = 0  # ledger entries sharing an identity with an earlier one
    stored: int = 0
    matched: int = 0
    missing: list[PunchKey] = field(default_factory=list)
    duplicated: list[PunchKey] = field(default_factory=list)
    unexpected: list[PunchKey] = field(default_factory=list)
    malformed_sent: int = 0
    quarantined: int = 0
    unmatched_malformed: list[Malformed] = field(default_factory=list)
    unexplained_quarantine: list[QuarantineRow] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """0 missing, 0 duplicated, nothing stored that nobody generated, quarantine explained."""
        return (
            self.generated > 0
            and not self.missing
            and not self.duplicated
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
        return {
            "generated": self.generated,
            "distinct_identities": self.distinct,
            "same_second_collisions_in_ledger": self.collisions,
            "stored": self.stored,
            "matched": self.matched,
            "missing": len(self.missing),
            "duplicated": len(self.duplicated),
            "unexpected": len(self.unexpected),
            "malformed_sent": self.malformed_sent,
            "quarantined": self.quarantined,
            "quarantined_by_reason": self.quarantine_reasons,
            "unmatched_malformed": len(self.unmatched_malformed),
            "unexplained_quarantine": len(self.unexplained_quarantine),
            "by_kind": self.by_kind(),
            "sources_with_problems": {
                k: v for k, v in self.by_source.items() if v.get("missing") or v.get("duplicated")
            },
            "examples": {
                "missing": [list(k) for k in self.missing[:sample]],
                "duplicated": [list(k) for k in self.duplicated[:sample]],
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
    """Match every generated punch to the store and every malformed item to quarantine."""
    out = Comparison()
    expected: dict[PunchKey, str] = {}
    per_source: dict[str, Counter[str]] = {}
    for g in generated:
        out.generated += 1
        counts = per_source.setdefault(g.source, Counter())
        counts["generated"] += 1
        if g.key in expected:
            out.collisions += 1  # the store keeps one punch for both, and so do we
            continue
        expected[g.key] = g.source
    out.distinct = len(expected)
    found: Counter[PunchKey] = Counter()
    for row in stored:
        out.stored += 1
        found[row.key] += 1
    for key, source in expected.items():
        n = found.get(key, 0)
        if n == 0:
            out.missing.append(key)
            per_source[source]["missing"] += 1
            continue
        out.matched += 1
        per_source[source]["stored"] += 1
        if n > 1:
            out.duplicated.append(key)
            per_source[source]["duplicated"] += 1
    out.unexpected = [k for k in found if k not in expected]
    out.duplicated += [k for k in out.unexpected if found[k] > 1]
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
