"""The fleet soak's verdicts that need no processes: takeovers, poll gaps, reader errors."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from soak.owners import Session


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50, p99 and max of `values` (nearest rank; None when empty)."""
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]

    return {
        "count": len(ordered),
        "p50": round(rank(0.50), 3),
        "p99": round(rank(0.99), 3),
        "max": round(ordered[-1], 3),
    }


def takeovers(
    sessions: Mapping[str, Iterable[Session]], held: Iterable[str], killed_at: float, pid: object
) -> dict[str, float | None]:
    """Per terminal the killed process held: seconds until another process opened a session."""
    out: dict[str, float | None] = {}
    for code in held:
        after = [s.opened for s in sessions.get(code, ()) if s.opened > killed_at and s.who != pid]
        out[code] = round(min(after) - killed_at, 2) if after else None
    return out


def poll_gaps(sessions: Mapping[str, Iterable[Session]], since: float, until: float) -> list[float]:
    """Seconds between one session's opening and the next on each terminal, in a window.

    A terminal polled every interval shows gaps near it; gaps far above it mean the fleet
    does not keep up (or a fault: a kill leaves a gap of about a lease).
    """
    gaps: list[float] = []
    for conns in sessions.values():
        opened = sorted(s.opened for s in conns if since <= s.opened <= until)
        gaps += [b - a for a, b in itertools.pairwise(opened)]
    return gaps


@dataclass(frozen=True)
class Window:
    """A span of time during which `node` (None: every node) could not answer."""

    node: str | None
    start: float
    end: float
    why: str


@dataclass(frozen=True)
class Read:
    """One HR reader request: which node, when, and how it ended (status 0: no answer)."""

    node: str
    path: str
    start: float
    end: float
    status: int

    @property
    def ok(self) -> bool:
        """Answered 200."""
        return self.status == 200


def excused(read: Read, windows: Iterable[Window]) -> str | None:
    """Why a failed read is expected (its node, or the database, was down), or None."""
    for w in windows:
        if (w.node is None or w.node == read.node) and read.start <= w.end and read.end >= w.start:
            return w.why
    return None


def reader_summary(reads: Sequence[Read], windows: Sequence[Window]) -> dict[str, Any]:
    """Counts, latency of the answered reads, and failures split into excused and problems."""
    failed = [r for r in reads if not r.ok]
    excuses: dict[str, int] = {}
    problems: list[Read] = []
    for r in failed:
        why = excused(r, windows)
        if why is None:
            problems.append(r)
        else:
            excuses[why] = excuses.get(why, 0) + 1
    by_path: dict[str, list[float]] = {}
    for r in reads:
        if r.ok:
            by_path.setdefault(r.path.split("?")[0], []).append(r.end - r.start)
    return {
        "requests": len(reads),
        "ok": len(reads) - len(failed),
        "errors": len(failed),
        "errors_excused": excuses,
        "errors_unexcused": len(problems),
        "unexcused_examples": [
            {"node": r.node, "path": r.path, "status": r.status, "at": round(r.start, 1)}
            for r in problems[:10]
        ],
        "latency_s": percentiles([r.end - r.start for r in reads if r.ok]),
        "latency_s_by_path": {p: percentiles(v) for p, v in sorted(by_path.items())},
    }
