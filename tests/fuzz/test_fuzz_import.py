"""Fuzzing the import path: any bytes, any rows — only our own errors, nothing bad stored."""

from __future__ import annotations

import string
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from collector.importer import ImportError_, ImportOptions, import_file
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


def _import(engine: Engine, path, **kw) -> None:
    try:
        summary = import_file(engine, path, options=ImportOptions(**kw), now=NOW, policy=POLICY)
    except ImportError_:
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
    encoding=st.sampled_from(["utf-8", "gbk"]),
)
def test_arbitrary_rows_as_csv(engine, tmp_path, table, delimiter, encoding):
    _clear(engine)
    path = tmp_path / "rows.csv"
    lines = [delimiter.join(["pin", "time", "status", "tz", "verify"])]
    lines += [delimiter.join(r) for r in table]
    path.write_bytes("\n".join(lines).encode(encoding, "replace"))
    _import(engine, path, encoding=encoding, delimiter=delimiter)


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
