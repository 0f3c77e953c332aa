"""Historical import of CSV and XLSX exports from older attendance systems, streamed."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from collector.normalize import NormalizePolicy, RawPunch
from collector.store.ingest import IngestResult, QuarantineItem, ingest_batch
from rules.vocabulary import DirectionMode, SourceKind

MAX_LINE_BYTES = 65536  # a longer line is quarantined, not parsed
BATCH = 10_000
MAX_REPORTED = 1000  # rejected rows listed in a summary; the rest are only counted


class ImportError_(ValueError):
    """The file cannot be imported at all (unreadable, no header, missing columns)."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which header names hold which field; matched case-insensitively."""

    employee: str = "employee_code"
    timestamp: str = "timestamp"
    timezone: str | None = "timezone"
    state: str | None = "state"
    device: str | None = "device"
    verify: str | None = "verify"


ALIASES: dict[str, tuple[str, ...]] = {
    "employee": ("employee_code", "employee", "pin", "user_id", "ac-no.", "emp_code", "badge"),
    "timestamp": ("timestamp", "time", "datetime", "punch_time", "check_time", "date_time"),
    "timezone": ("timezone", "tz", "zone"),
    "state": ("state", "status", "punch_state", "in_out", "type"),
    "device": ("device", "device_code", "terminal", "machine", "sn"),
    "verify": ("verify", "verify_method", "verify_type", "verification"),
}


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


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read the file."""

    columns: ColumnMap = ColumnMap()
    encoding: str = "utf-8"
    delimiter: str | None = None  # sniffed from the header when None
    timezone: str | None = None  # for rows with neither a zone column nor a known device
    time_format: str | None = None  # strptime format; ISO 8601 when None
    device: str | None = None  # device code for every row, when the file has no column
    sheet: str | None = None


Row = tuple[int, dict[str, Any] | str, str]  # line number, fields or why unreadable, raw text


def import_file(
    engine: Engine,
    path: Path,
    *,
    options: ImportOptions,
    now: datetime,
    policy: NormalizePolicy,
    device_zones: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Stream a CSV or XLSX file into the store in batches; safe to run again."""
    zones = device_zones or {}
    source = path.name
    rows = (
        _xlsx_rows(path, options, progress)
        if path.suffix.lower() in (".xlsx", ".xlsm")
        else _csv_rows(path, options, progress)
    )
    summary = ImportSummary()
    batch: list[RawPunch | QuarantineItem] = []
    lines: list[int] = []
    for line, fields, raw in rows:
        summary.rows += 1
        batch.append(_to_punch(line, fields, raw, options, zones, source))
        lines.append(line)
        if len(batch) >= BATCH:
            summary.add(ingest_batch(engine, batch, now=now, policy=policy), lines)
            batch, lines = [], []
    if batch:
        summary.add(ingest_batch(engine, batch, now=now, policy=policy), lines)
    return summary


def _to_punch(
    line: int,
    fields: dict[str, Any] | str,
    raw: str,
    options: ImportOptions,
    zones: dict[str, str],
    source: str,
) -> RawPunch | QuarantineItem:
    ref = f"{source}:{line}"
    if isinstance(fields, str):
        return QuarantineItem(SourceKind.IMPORT, reason=fields, raw=raw, reference=ref)
    device = _text(fields.get("device")) or options.device
    reason = None
    stamp = fields.get("timestamp")
    when: datetime | None = None
    if isinstance(stamp, datetime):
        when = stamp
    elif stamp is None or not str(stamp).strip():
        reason = "missing timestamp"
    else:
        try:
            text = str(stamp).strip()
            when = (
                datetime.strptime(text, options.time_format)  # noqa: DTZ007 - zone added in normalize
                if options.time_format
                else datetime.fromisoformat(text)
            )
        except ValueError:
            reason = f"unreadable timestamp {str(stamp)[:60]!r}"
    if when is None:
        return QuarantineItem(
            SourceKind.IMPORT,
            reason=reason or "missing timestamp",
            raw=raw,
            device_code=device,
            reference=ref,
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


def _resolve_header(header: Sequence[Any], columns: ColumnMap) -> dict[str, int]:
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    found: dict[str, int] = {}
    for fld in ("employee", "timestamp", "timezone", "state", "device", "verify"):
        wanted = getattr(columns, fld)
        candidates = (wanted.lower(),) if wanted else ()
        if wanted == getattr(ColumnMap(), fld):  # default name: accept common aliases too
            candidates = tuple(dict.fromkeys((*candidates, *ALIASES[fld])))
        for cand in candidates:
            if cand in names:
                found[fld] = names.index(cand)
                break
        else:
            if fld in ("employee", "timestamp"):
                raise ImportError_(
                    f"no {fld} column: looked for {', '.join(candidates)}; header is {names}"
                )
    return found


def _csv_rows(
    path: Path, options: ImportOptions, progress: Callable[[int], None] | None
) -> Iterator[Row]:
    with path.open("rb") as binary:
        header: dict[str, int] | None = None
        delimiter = options.delimiter
        for number, line in _bounded_lines(binary, options.encoding):
            if progress is not None and number % 1000 == 0:
                progress(binary.tell())
            if isinstance(line, LineError):
                yield number, line.reason, line.prefix
                continue
            if not line.strip():
                continue  # blank lines carry nothing
            if header is None:
                delimiter = delimiter or _sniff(line)
                cells = next(csv.reader([line], delimiter=delimiter))
                header = _resolve_header(cells, options.columns)
                continue
            raw = line.rstrip("\r\n")
            try:
                cells = next(csv.reader([line], delimiter=delimiter or ","))
            except csv.Error as exc:
                yield number, f"malformed CSV: {exc}", raw
                continue
            yield number, {k: cells[i] if i < len(cells) else None for k, i in header.items()}, raw
        if progress is not None:
            progress(binary.tell())
        if header is None:
            raise ImportError_("the file has no header row")


@dataclass(frozen=True, slots=True)
class LineError:
    """A physical line that cannot be read, with the reason and its first characters."""

    reason: str
    prefix: str


def _bounded_lines(binary: IO[bytes], encoding: str) -> Iterator[tuple[int, str | LineError]]:
    """Decoded physical lines, never holding more than MAX_LINE_BYTES of one in memory."""
    number = 0
    codec = "utf-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    while True:
        chunk = binary.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]  # a UTF-8 byte order mark, as spreadsheet programs write
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            prefix = chunk[:200].decode(codec, "replace")
            while True:  # skip the rest of the overlong line without keeping it
                more = binary.readline(MAX_LINE_BYTES)
                if not more or more.endswith(b"\n"):
                    break
            yield number, LineError(f"line longer than {MAX_LINE_BYTES} bytes", prefix)
            continue
        try:
            yield number, chunk.decode(codec)
        except UnicodeDecodeError as exc:
            reason = f"line is not valid {encoding}: {exc.reason} at byte {exc.start}"
            yield number, LineError(reason, chunk[:200].decode(codec, "replace"))


def _sniff(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _xlsx_rows(
    path: Path, options: ImportOptions, progress: Callable[[int], None] | None
) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportError_(f"cannot open {path.name} as XLSX: {exc}") from exc
    try:
        sheet = book[options.sheet] if options.sheet else book.worksheets[0]
        header: dict[str, int] | None = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if progress is not None and number % 1000 == 0:
                progress(number)
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            if header is None:
                header = _resolve_header(cells, options.columns)
                continue
            raw = "\t".join("" if c is None else str(c) for c in cells)
            yield number, {k: cells[i] if i < len(cells) else None for k, i in header.items()}, raw
        if header is None:
            raise ImportError_("the sheet has no header row")
    finally:
        book.close()
