"""One table of every benchmark's targets, figures and verdicts, from the JSON each printed.

    python bench/summary.py .bench/results/bench_*.json   # what `make bench` runs
    python bench/bench_rules.py | python bench/summary.py  # one benchmark

Each input holds a benchmark's output: the last line that is a JSON object lists its
`targets` ({name, target, figure, met}; met is null when the run was not at the target's
size or the backend was unreachable). A missed target is a result, not an error: the exit
status is 1 only when an input holds no result (the benchmark failed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

VERDICT = {True: "met", False: "MISSED", None: "not judged"}


def result_of(text: str) -> dict[str, Any] | None:
    """The benchmark's JSON object: the last line of `text` that parses as one."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def figure(value: Any) -> str:
    """A figure as people read it: thousands separated, no float noise."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def rows_of(name: str, result: dict[str, Any] | None) -> list[tuple[str, str, str, str, str]]:
    """(benchmark, target name, target, figure, verdict) for each of its targets."""
    if result is None:
        return [(name, "(no result: the benchmark failed)", "", "", "FAILED")]
    return [
        (name, t["name"], t["target"], figure(t["figure"]), VERDICT[t["met"]])
        for t in result.get("targets", [])
    ]


def table(rows: list[tuple[str, str, str, str, str]]) -> str:
    """Rows under a header, in aligned columns."""
    header = ("benchmark", "what", "target", "figure", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(paths: list[str]) -> int:
    """Print the table; 1 when a benchmark gave no result."""
    if paths:
        inputs = [(Path(p).stem, Path(p).read_text(errors="replace")) for p in paths]
    else:
        inputs = [("stdin", sys.stdin.read())]
    rows = []
    for name, text in inputs:
        result = result_of(text)
        rows += rows_of(name.removeprefix("bench_"), result)
    print(table(rows))
    verdicts = [r[4] for r in rows]
    print(
        f"\n{verdicts.count('met')} met, {verdicts.count('MISSED')} missed, "
        f"{verdicts.count('not judged')} not judged, {verdicts.count('FAILED')} failed"
    )
    return 1 if "FAILED" in verdicts else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
