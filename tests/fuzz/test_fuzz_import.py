"""Fuzzing the import path: any bytes, any rows — only our own errors, nothing bad stored."""

from __future__ import annotations

import string
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from collector.importing import ImportError_, ImportOptions, import_file
from collector.normalize import NormalizePolicy
from collector.store.models import Base
from rules.vocabulary import PunchState, VerifyMethod
from tests.conftest import NOW

POLICY = NormalizePolicy()
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

cell = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=string.digits + "-: T+.", max_size=30),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(str),
    st.sampled_from(["0", "1", "255", "in", "C/Out", "face", "Europe/Berlin", "", '"', ",", ";"]),
)
rows = st.lists(st.lists(cell, min_size=0, max_size=7), max_size=25)


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))


def _stored_punches_are_sound(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT employee_code, state, verify, tz, occurred_at FROM punches")
        ).all()
    states = {s.value for s in PunchState}
    verifies = {v.value for v in VerifyMethod}
    for code, state, verify, tz, when in found:
        assert code and code == code.strip() and code.isprintable() and len(code) <= 64
        assert state in states and verify in verifies and tz and when is not None
    return len(found)


def _stored_nothing(engine: Engine) -> bool:
    with engine.connect() as conn:
        punches = conn.execute(text("SELECT count(*) FROM punches")).scalar()
        quarantined = conn.execute(text("SELECT count(*) FROM quarantine")).scalar()
    return punches == quarantined == 0


def _import(engine: Engine, path, **kw) -> None:
    try:
        summary = import_file(engine, path, options=ImportOptions(**kw), now=NOW, policy=POLICY)
    except ImportError_:
        assert _stored_nothing(engine)  # a refused file is refused before anything is stored
        return
    stored = _stored_punches_are_sound(engine)
    assert summary.inserted + summary.duplicates + summary.quarantined == summary.rows
    assert stored == summary.inserted


@FUZZ
@given(body=st.binary(max_size=2000))
def test_arbitrary_bytes_as_csv(engine, tmp_path, body):
    _clear(engine)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(b"employee_code,timestamp,state,timezone\n" + body)
    _import(engine, path, timezone="UTC")


@FUZZ
@given(
    table=rows,
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "gbk", "utf-16"]),
    named=st.booleans(),
)
def test_arbitrary_rows_as_csv(engine, tmp_path, table, delimiter, encoding, named):
    _clear(engine)
    path = tmp_path / "rows.csv"
    lines = [delimiter.join(["pin", "time", "status", "tz", "verify"])]
    lines += [delimiter.join(r) for r in table]
    path.write_bytes("\n".join(lines).encode(encoding, "replace"))
    # Named, the encoding is trusted; detected, a GBK file is refused unless it is plain ASCII.
    _import(engine, path, encoding=encoding if named else None, delimiter=delimiter)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=rows)
def test_arbitrary_rows_as_xlsx(engine, tmp_path, table):
    from openpyxl import Workbook

    _clear(engine)
    book = Workbook()
    sheet = book.active
    sheet.append(["pin", "time", "status"])
    for r in table:
        sheet.append(["".join(ch for ch in c if ch.isprintable()) for c in r])
    path = tmp_path / "rows.xlsx"
    book.save(path)
    _import(engine, path, timezone="Asia/Shanghai")


FORMATS = [
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M",
]


@FUZZ
@given(
    times=st.lists(
        st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 1)).map(
            lambda d: d.replace(second=0, microsecond=0)
        ),
        min_size=1,
        max_size=30,
    ),
    fmt=st.sampled_from(FORMATS),
)
def test_detected_time_formats_never_swap_day_and_month(engine, tmp_path, times, fmt):
    _clear(engine)
    path = tmp_path / "times.csv"
    body = "".join(f"{1000 + i},{t.strftime(fmt)}\n" for i, t in enumerate(times))
    path.write_text("AC-No.,Date Time\n" + body)
    try:
        summary = import_file(
            engine, path, options=ImportOptions(timezone="UTC"), now=NOW, policy=POLICY
        )
    except ImportError_ as exc:
        assert _stored_nothing(engine)
        # Refused only when the order truly cannot be told from the file.
        assert "day first or month first" in str(exc)
        assert fmt.startswith(("%d/", "%m/"))
        assert all(t.day <= 12 for t in times) and any(t.day != t.month for t in times)
        return
    assert (summary.inserted, summary.quarantined) == (len(times), 0)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT employee_code, occurred_at FROM punches")).all())
    for i, t in enumerate(times):
        stored = found[str(1000 + i)]
        stored = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
        assert stored.replace(tzinfo=None) == t
