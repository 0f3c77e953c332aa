"""A punch as the rules see it, and the states that open and close worked time."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
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


def _ts(p: Punch) -> float:
    return p.ts


class Timeline:
    """One employee's punches in time order, so each day takes its window's slice.

    Evaluating a run of days from one list would scan every punch of the run for every
    day; sorted once, a day's punches are two bisections away.
    """

    __slots__ = ("punches", "times", "voids")

    def __init__(self, punches: Iterable[Punch]) -> None:
        self.punches = sorted(punches, key=_ts)  # in time order (stable for equal times)
        self.times = [p.ts for p in self.punches]
        self.voids = [p for p in self.punches if p.state is PunchState.VOID]

    def between(self, start: float, end: float) -> list[Punch]:
        """The punches from `start` up to (not including) `end`, in time order."""
        lo = bisect_left(self.times, start)
        return self.punches[lo : bisect_left(self.times, end, lo)]
