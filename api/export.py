"""Report responses as JSON, streamed CSV, or XLSX written to a temp file and streamed."""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

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


def respond(store: Store, fmt: Format, build: Callable[[Connection], Report]) -> Response:
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
                _csv_stream(report, conn),
                media_type="text/csv; charset=utf-8",
                headers=_attachment(report, "csv"),
            )
        path = write_xlsx(report)
        conn.close()
    except BaseException:
        conn.close()
        raise
    return FileResponse(
        path,
        media_type=XLSX_TYPE,
        headers=_attachment(report, "xlsx"),
        background=BackgroundTask(os.unlink, path),
    )


def _attachment(report: Report, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{report.name}.{ext}"'}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default)
    return value


def _csv_stream(report: Report, conn: Connection | None = None) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    try:
        writer.writerow(report.columns)
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


def csv_response(report: Report) -> StreamingResponse:
    """A CSV response for a report already in memory."""
    return StreamingResponse(
        _csv_stream(report),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(report, "csv"),
    )


def xlsx_response(report: Report) -> FileResponse:
    """An XLSX response for a report already in memory."""
    path = write_xlsx(report)
    return FileResponse(
        path,
        media_type=XLSX_TYPE,
        headers=_attachment(report, "xlsx"),
        background=BackgroundTask(os.unlink, path),
    )


def write_xlsx(report: Report) -> str:
    """Write the report to a temp file with a write-only workbook (rows never all in memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=report.name[:31])
    sheet.append(list(report.columns))
    for row in report.rows:
        sheet.append([_xlsx_cell(v) for v in row])
    handle, path = tempfile.mkstemp(prefix="punchgate-", suffix=".xlsx")
    os.close(handle)
    try:
        book.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # already in the site's zone; Excel has no zones
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default)
    return value
