"""Deciding how an export will be read — kind, encoding, columns, time format — before storing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collector.importing.columns import Layout, resolve_header, stamp_value
from collector.importing.encodings import FileKind, TextEncoding, file_kind, text_encoding
from collector.importing.options import ImportError_, ImportOptions
from collector.importing.reading import LineError, Progress, Rows, sniff_delimiter, text_rows
from collector.importing.reading import xlsx_rows as _xlsx_rows
from collector.importing.timeformats import TimeReader, detect, given_format

_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """How a file will be read; making one refuses a file that cannot be imported."""

    path: Path
    kind: FileKind
    encoding: TextEncoding | None  # None for a workbook
    delimiter: str | None
    sheet: str | None
    layout: Layout
    times: TimeReader
    time_note: str  # how the times are read, for the summary

    def describe(self) -> str:
        """What was mapped and how the file is read, for HR to check."""
        mapping = self.layout.describe(self.time_note)
        if self.encoding is None:
            sheet = f"sheet {self.sheet!r}" if self.sheet else "the first sheet"
            return f"{mapping}; {sheet} of the workbook"
        separated = _DELIMITER_NAMES.get(self.delimiter or ",", repr(self.delimiter))
        return f"{mapping}; text in {self.encoding.label}, separated by {separated}"

    def rows(self, progress: Progress | None = None) -> Rows:
        """The file's data rows (the header skipped), streamed."""
        rows = _open(self.path, self.encoding, self.delimiter, self.sheet, progress)
        next(rows, None)  # the header
        yield from rows


def prepare_import(path: Path, options: ImportOptions) -> ImportPlan:
    """Plan the import of `path`, or refuse it (ImportError_) before anything is stored."""
    kind = file_kind(path)
    encoding = text_encoding(path, options.encoding) if kind is FileKind.TEXT else None
    rows = _open(path, encoding, options.delimiter, options.sheet, None)
    try:
        first = next(rows, None)
        if first is None:
            where = "sheet" if encoding is None else "file"
            raise ImportError_(f"the {where} has no header row")
        line, header, raw = first
        if isinstance(header, LineError):
            raise ImportError_(f"the header (line {line}) cannot be read: {header.reason}")
        layout = resolve_header(header, options.columns)
        delimiter = None if encoding is None else options.delimiter or sniff_delimiter(raw)
        if options.time_format:
            times = given_format(options.time_format)
            note = f"format {options.time_format}, as given"
        else:
            times = detect(_text_stamps(rows, layout), path.name)
            note = f"format {times.expected}"
            if not times.detected:
                note = f"date cells; text as {times.expected}"
    finally:
        rows.close()
    return ImportPlan(path, kind, encoding, delimiter, options.sheet, layout, times, note)


def _open(
    path: Path,
    encoding: TextEncoding | None,
    delimiter: str | None,
    sheet: str | None,
    progress: Progress | None,
) -> Rows:
    if encoding is None:
        return _xlsx_rows(path, sheet, progress)
    return text_rows(path, encoding, delimiter, progress)


def _text_stamps(rows: Rows, layout: Layout) -> Iterator[tuple[int, str | None]]:
    """Each row's time as text (None for a spreadsheet date or an unreadable row)."""
    for line, cells, _ in rows:
        value = None if isinstance(cells, LineError) else stamp_value(layout.fields(cells))
        yield line, value if isinstance(value, str) else None
