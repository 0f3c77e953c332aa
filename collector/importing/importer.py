"""Storing a planned export's rows through the one ingest, in batches; safe to run again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from collector.importing.columns import stamp_value
from collector.importing.options import ImportOptions
from collector.importing.plan import ImportPlan, prepare_import
from collector.importing.reading import LineError, Progress
from collector.normalize import NormalizePolicy, RawPunch
from collector.store.ingest import IngestResult, QuarantineItem, ingest_batch
from rules.vocabulary import DirectionMode, SourceKind

BATCH = 10_000
MAX_REPORTED = 1000  # rejected rows listed in a summary; the rest are only counted


@dataclass(slots=True)
class ImportSummary:
    """What an import did, with the rejected rows by line number."""

    rows: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def add(self, result: IngestResult, lines: Sequence[int]) -> None:
        """Fold one batch's result in, remembering rejected line numbers."""
        self.inserted += result.inserted
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        for index, reason in result.reasons.items():
            if len(self.rejected) < MAX_REPORTED:
                self.rejected.append((lines[index], reason))


def import_file(
    engine: Engine,
    path: Path,
    *,
    options: ImportOptions,
    now: datetime,
    policy: NormalizePolicy,
    device_zones: dict[str, str] | None = None,
    progress: Progress | None = None,
    plan: ImportPlan | None = None,
) -> ImportSummary:
    """Stream a CSV, text or XLSX export into the store in batches; safe to run again.

    The file is planned first (`prepare_import`, unless a plan is given): a file that
    cannot be imported is refused with ImportError_ before any row is stored.
    """
    plan = plan or prepare_import(path, options)
    zones = device_zones or {}
    source = path.name
    summary = ImportSummary()
    batch: list[RawPunch | QuarantineItem] = []
    lines: list[int] = []
    for line, cells, raw in plan.rows(progress):
        summary.rows += 1
        batch.append(_to_punch(plan, line, cells, raw, options, zones, source))
        lines.append(line)
        if len(batch) >= BATCH:
            summary.add(ingest_batch(engine, batch, now=now, policy=policy), lines)
            batch, lines = [], []
    if batch:
        summary.add(ingest_batch(engine, batch, now=now, policy=policy), lines)
    return summary


def _to_punch(
    plan: ImportPlan,
    line: int,
    cells: list[Any] | LineError,
    raw: str,
    options: ImportOptions,
    zones: dict[str, str],
    source: str,
) -> RawPunch | QuarantineItem:
    ref = f"{source}:{line}"
    if isinstance(cells, LineError):
        return QuarantineItem(SourceKind.IMPORT, reason=cells.reason, raw=raw, reference=ref)
    fields = plan.layout.fields(cells)
    device = _text(fields.get("device")) or options.device
    stamp = stamp_value(fields)
    when = stamp if isinstance(stamp, datetime) else None
    if isinstance(stamp, str):
        when = plan.times.read(stamp)
    if when is None:
        reason = (
            f"unreadable timestamp {stamp[:60]!r} (expected {plan.times.expected})"
            if isinstance(stamp, str)
            else "missing timestamp"
        )
        return QuarantineItem(
            SourceKind.IMPORT, reason=reason, raw=raw, device_code=device, reference=ref
        )
    tz = (
        _text(fields.get("timezone")) or (zones.get(device) if device else None) or options.timezone
    )
    return RawPunch(
        employee_code=_text(fields.get("employee")) or "",
        timestamp=when,
        source_kind=SourceKind.IMPORT,
        tz=tz,
        device_code=device,
        verify=_text(fields.get("verify")),
        state=_text(fields.get("state")),
        direction_mode=DirectionMode.AUTO,
        source_ref=ref,
        raw=raw,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets turn PINs into floats
    text = str(value).strip()
    return text or None
