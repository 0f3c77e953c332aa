"""Payroll export responses: the profile's encoding and delimiter for CSV, typed XLSX."""

from __future__ import annotations

import os
from collections.abc import Iterator

from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from api.export import XLSX_TYPE, write_xlsx
from collector.errors import NotFound
from collector.periods.payroll import csv_chunks, payroll_figures, period_of, profiles, shape
from collector.runtime import Store


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
                _closing(csv_chunks(report, profile), conn),
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


def _closing(chunks: Iterator[bytes], conn: Connection) -> Iterator[bytes]:
    """Stream the chunks, then close the connection they were read on."""
    try:
        yield from chunks
    finally:
        conn.close()
