"""A punch as the rules see it, and the states that open and close worked time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rules.vocabulary import PunchState, SourceKind

IN_STATES = frozenset({PunchState.IN, PunchState.BREAK_IN, PunchState.OVERTIME_IN})
OUT_STATES = frozenset({PunchState.OUT, PunchState.BREAK_OUT, PunchState.OVERTIME_OUT})
# Equal times sort by state so the outcome never depends on the input order.
_RANK = {s: i for i, s in enumerate(PunchState)}


@dataclass(frozen=True, slots=True)
class Punch:
    """A punch as the rules see it: an id, an aware instant, a state, where from, flags."""

    id: int
    at: datetime  # aware; compared as an instant
    state: PunchState
    source: SourceKind = SourceKind.TERMINAL
    flags: int = 0  # PunchFlag bitmask
    voids: int | None = None  # for a VOID record: the id of the punch it cancels
    device: str | None = None
    ts: float = field(init=False, repr=False, compare=False)  # Unix seconds of `at`

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a punch time must be aware")
        object.__setattr__(self, "ts", self.at.timestamp())


def sort_key(p: Punch) -> tuple[float, int]:
    """Order punches by time, then state (deterministic for equal times)."""
    return (p.ts, _RANK[p.state])
