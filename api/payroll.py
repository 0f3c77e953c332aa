"""Payroll export responses: the profile's encoding and delimiter for CSV, typed XLSX."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator

from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from api.export import XLSX_TYPE, write_xlsx
from collector.errors import NotFound
from collector.periods.payroll import Profile, payroll_figures, period_of, profiles, shape
from collector.reports.common import Report
from collector.runtime import Store

FLUSH_ROWS = 500


def payroll_response(store: Store, period_id: int, profile_name: str, fmt: str) -> Response:
    """Check the period and profile, then stream the export (CSV) or send it (XLSX)."""
    found = profiles(store.settings.payroll_profiles_dir)
    profile = found.get(profile_name)
    if profile is None:
        raise NotFound(f"no payroll profile {profile_name!r}; there are {', '.join(sorted(found))}")
    conn = store.engine.connect()
    try:
        period, cal = period_of(conn, period_id)
        report = shape(payroll_figures(conn, period_id), profile, period)
        name = f"payroll-{cal.code}-{period.start.isoformat()}-{period.end.isoformat()}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
        if fmt == "csv":
            return StreamingResponse(
                csv_stream(report, profile, conn),
                media_type=f"text/csv; charset={profile.encoding.removesuffix('-sig')}",
                headers=disposition,
            )
        path = write_xlsx(report)
        conn.close()
    except BaseException:
        conn.close()
        raise
    return FileResponse(
        path,
        media_type=XLSX_TYPE,
        headers=disposition,
        background=BackgroundTask(os.unlink, path),
    )


def csv_stream(report: Report, profile: Profile, conn: Connection | None = None) -> Iterator[bytes]:
    """The report as CSV in the profile's encoding and delimiter, a chunk per FLUSH_ROWS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=profile.delimiter)
    # utf-8-sig writes its BOM once, at the start: encode the first chunk with it only.
    first, rest = profile.encoding, profile.encoding.removesuffix("-sig")
    try:
        writer.writerow(report.columns)
        encoding = first
        for n, row in enumerate(report.rows, start=1):
            writer.writerow(row)
            if n % FLUSH_ROWS == 0:
                yield buffer.getvalue().encode(encoding, errors="replace")
                encoding = rest
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode(encoding, errors="replace")
    finally:
        if conn is not None:
            conn.close()
