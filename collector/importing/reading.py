"""Streaming an export's rows (header first) from CSV/text or XLSX, never the whole file at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from collector.importing.encodings import MAX_LINE_BYTES, TextEncoding
from collector.importing.options import ImportError_

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class LineError:
    """A physical line that cannot be read, with the reason and its first characters."""

    reason: str
    prefix: str


# line number, the row's cells (or why it cannot be read), its raw text
Row = tuple[int, list[Any] | LineError, str]
Rows = Generator[Row, None, None]
Lines = Generator[tuple[int, str | LineError], None, None]  # number, text or why not


def sniff_delimiter(header_line: str) -> str:
    """The delimiter a header line uses most (a comma when it has none)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def text_rows(
    path: Path,
    encoding: TextEncoding,
    delimiter: str | None,
    progress: Progress | None = None,
) -> Rows:
    """The non-blank rows of a delimited text file, the header first."""
    with path.open("rb") as binary:
        binary.seek(encoding.skip)
        lines = (
            _byte_lines(binary, encoding.codec)
            if encoding.bytewise
            else _text_lines(binary, encoding.codec)
        )
        with closing(lines):  # a UTF-16 reader lets go of the file before it closes
            yield from _delimited(binary, lines, delimiter, progress)
        if progress is not None:
            progress(binary.tell())


def _delimited(
    binary: IO[bytes],
    lines: Lines,
    delimiter: str | None,
    progress: Progress | None,
) -> Rows:
    """Split decoded lines into cells; the delimiter is sniffed from the header unless given."""
    first = True
    for number, line in lines:
        if progress is not None and number % 1000 == 0:
            progress(binary.tell())
        if isinstance(line, LineError):
            yield number, line, line.prefix
            continue
        if first:
            line = line.lstrip("\ufeff")  # a mark the named codec left in the text
        if not line.strip():
            continue  # blank lines carry nothing
        raw = line.rstrip("\r\n")
        if first:
            delimiter = delimiter or sniff_delimiter(line)
            first = False
        try:
            cells = next(csv.reader([line], delimiter=delimiter or ","))
        except csv.Error as exc:
            yield number, LineError(f"malformed CSV: {exc}", raw), raw
            continue
        yield number, cells, raw


def _byte_lines(binary: IO[bytes], codec: str) -> Lines:
    """Decoded physical lines, never holding more than MAX_LINE_BYTES of one in memory."""
    number = 0
    while True:
        chunk = binary.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
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
            reason = f"line is not valid {codec}: {exc.reason} at byte {exc.start}"
            yield number, LineError(reason, chunk[:200].decode(codec, "replace"))


def _text_lines(binary: IO[bytes], codec: str) -> Lines:
    """Lines of a UTF-16/32 file: its newlines are not single bytes, so decode first."""
    # Undecodable bytes become U+FFFD, which marks the line as unreadable (not a crash midway).
    text = io.TextIOWrapper(binary, encoding=codec, errors="replace", newline="")
    limit = MAX_LINE_BYTES // 2
    number = 0
    try:
        while line := text.readline(limit + 1):
            number += 1
            if len(line) > limit and not line.endswith(("\n", "\r")):
                while (more := text.readline(limit)) and not more.endswith(("\n", "\r")):
                    pass
                yield number, LineError(f"line longer than {limit} characters", line[:200])
            elif "\ufffd" in line:
                yield number, LineError(f"line is not valid {codec}", line[:200])
            else:
                yield number, line
    finally:
        text.detach()  # the caller closes the file


def xlsx_rows(path: Path, sheet_name: str | None, progress: Progress | None = None) -> Rows:
    """The non-blank rows of a workbook's sheet (the first unless named), the header first.

    Read with python-calamine (Rust): a month's roster for 10,000 employees is 300,000
    cells, which openpyxl's read-only parser takes some twenty times longer to read. Cells
    come back as openpyxl gave them: None when empty, a date cell as a datetime.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:  # a broken file raises many kinds
        raise ImportError_(f"cannot open {path.name} as XLSX: {exc}") from exc
    try:
        if sheet_name and sheet_name not in book.sheet_names:
            raise ImportError_(f"{path.name} has no sheet {sheet_name!r}: {book.sheet_names}")
        try:
            sheet = book.get_sheet_by_name(sheet_name) if sheet_name else book.get_sheet_by_index(0)
            rows = sheet.iter_rows()
        except (CalamineError, ValueError) as exc:
            raise ImportError_(f"cannot read {path.name} as XLSX: {exc}") from exc
        for number, raw_cells in enumerate(rows, start=1):
            if progress is not None and number % 1000 == 0:
                progress(number)
            cells = [_openpyxl_like(c) for c in raw_cells]
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            raw = "\t".join("" if c is None else str(c) for c in cells)
            yield number, cells, raw
    finally:
        book.close()


def _openpyxl_like(value: Any) -> Any:
    """A calamine cell as the importers expect it (None for empty, datetimes for dates)."""
    if value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value
