"""Report responses as JSON, streamed CSV, or XLSX written to a temp file and streamed."""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from collector.reports.common import Report
from collector.runtime import Store

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_FLUSH_ROWS = 500


class Format(enum.StrEnum):
    """The representations every report offers."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def report_json(report: Report) -> dict[str, Any]:
    """The JSON body of a report."""
    return {
        "report": report.name,
        "meta": report.meta,
        "columns": list(report.columns),
        "rows": list(report.dicts()),
    }


@dataclass(frozen=True, slots=True)
class Layout:
    """How a file presents a report to a person: header labels and its file name's tags.

    `headers` maps a column to its label in the reader's language (a page's export); a
    column without one keeps its name, as the API's exports do. `tags` are added to the
    file name after the report's period (a department code, an employee's code).
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def header(self, report: Report) -> list[str]:
        """The header row."""
        return [self.headers.get(c, c) for c in report.columns]


PLAIN = Layout()


def respond(
    store: Store,
    fmt: Format,
    build: Callable[[Connection], Report],
    layout: Layout = PLAIN,
) -> Response:
    """Run `build` on a connection of its own and answer in `fmt`.

    Building runs here, so a bad parameter is a problem response before any byte is sent;
    the rows are then read while the response streams, and the connection closes after.
    """
    conn = store.engine.connect()
    try:
        report = build(conn)
        if fmt is Format.JSON:
            body = json.dumps(report_json(report), default=_json_default)
            conn.close()
            return Response(body, media_type="application/json")
        if fmt is Format.CSV:
            return StreamingResponse(
                _csv_stream(report, layout, conn),
                media_type="text/csv; charset=utf-8",
                headers=_attachment(report, "csv", layout),
            )
        path = write_xlsx(report, layout)
        conn.close()
    except BaseException:
        conn.close()
        raise
    return _xlsx_file(path, report, layout)


def file_name(report: Report, ext: str, layout: Layout = PLAIN) -> str:
    """The report's name, its period or date, and the layout's tags: what the file holds."""
    meta = report.meta
    words = [report.name, meta.get("from"), meta.get("to"), meta.get("date"), *layout.tags]
    return "_".join(str(w) for w in words if w) + f".{ext}"


def _attachment(report: Report, ext: str, layout: Layout) -> dict[str, str]:
    name = file_name(report, ext, layout)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "-", name)
    # RFC 6266: a plain name for old clients, the exact one (e.g. a Chinese code) for others.
    return {
        "Content-Disposition": f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    }


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default)
    return value


def _csv_stream(report: Report, layout: Layout, conn: Connection | None = None) -> Iterator[bytes]:
    buffer = io.StringIO()
    # The byte-order mark tells Excel the file is UTF-8 (without it Chinese names garble).
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    try:
        writer.writerow(layout.header(report))
        for n, row in enumerate(report.rows, start=1):
            writer.writerow([_cell(v) for v in row])
            if n % CSV_FLUSH_ROWS == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")
    finally:
        if conn is not None:
            conn.close()


def csv_response(report: Report, layout: Layout = PLAIN) -> StreamingResponse:
    """A CSV response for a report already in memory."""
    return StreamingResponse(
        _csv_stream(report, layout),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(report, "csv", layout),
    )


def xlsx_response(report: Report, layout: Layout = PLAIN) -> FileResponse:
    """An XLSX response for a report already in memory."""
    return _xlsx_file(write_xlsx(report, layout), report, layout)


def _xlsx_file(path: str, report: Report, layout: Layout) -> FileResponse:
    return FileResponse(
        path,
        media_type=XLSX_TYPE,
        headers=_attachment(report, "xlsx", layout),
        background=BackgroundTask(os.unlink, path),
    )


class Kind(enum.Enum):
    """What a column holds, read from its name: how Excel should show it."""

    PERCENT = "0.0%"
    DURATION = "[h]:mm"  # hours as a time span, e.g. 37:30
    DATE = "yyyy-mm-dd"
    TIME = "yyyy-mm-dd hh:mm:ss"
    TEXT = "@"
    NUMBER = "General"


def kind_of(column: str) -> Kind:
    """A column's kind by its name's conventions (rate, ratio, hours, date…)."""
    if column.endswith(("_rate", "_ratio")):
        return Kind.PERCENT
    if column.endswith("_hours"):
        return Kind.DURATION
    if column in ("date", "day") or column.endswith(("_start", "_date")):
        return Kind.DATE
    if column.endswith(("_at", "_time")) or column in ("first_in", "last_out"):
        return Kind.TIME
    if column in ("name", "department_name", "note", "last_error", "flags"):
        return Kind.TEXT
    return Kind.NUMBER


WIDTHS = {Kind.DATE: 12, Kind.TIME: 20, Kind.DURATION: 10, Kind.PERCENT: 10, Kind.TEXT: 28}


def write_xlsx(report: Report, layout: Layout = PLAIN) -> str:
    """Write the report to a temp file with a write-only workbook (rows never all in memory).

    Cells are typed (rates as percentages, hours as durations, dates and times as dates),
    the header row is bold and frozen, and each column is as wide as its header or its kind.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=report.name[:31])
    kinds = [kind_of(c) for c in report.columns]
    header = layout.header(report)
    for n, (label, kind) in enumerate(zip(header, kinds, strict=True), start=1):
        width = max(WIDTHS.get(kind, 8), min(40, _text_width(label) + 2))
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    # Plain columns take the value as it is; only typed ones build a styled cell.
    convert: list[Callable[[Any], Any]] = [
        _xlsx_cell if k in (Kind.NUMBER, Kind.TEXT) else partial(_typed, sheet, k, WriteOnlyCell)
        for k in kinds
    ]
    for row in report.rows:
        sheet.append([f(v) for f, v in zip(convert, row, strict=True)])
    handle, path = tempfile.mkstemp(prefix="punchgate-", suffix=".xlsx")
    os.close(handle)
    try:
        book.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _text_width(text: str) -> int:
    # A CJK character takes about two columns of Excel's width unit.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _typed(sheet: Any, kind: Kind, cell_type: Any, value: Any) -> Any:
    value = _xlsx_cell(value)
    if value is None:
        return value
    if kind is Kind.DATE and isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if kind is Kind.DURATION and isinstance(value, int | float):
        value = value / 24  # Excel counts time in days; "[h]:mm" shows the hours
    cell = cell_type(sheet, value=value)
    cell.number_format = kind.value
    return cell


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # already in the site's zone; Excel has no zones
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default)
    return value
