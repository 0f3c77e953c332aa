"""Historical import: streaming, column mapping, encodings and malformed files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from collector.importer import ColumnMap, ImportError_, ImportOptions, import_file
from collector.normalize import NormalizePolicy
from collector.store.models import Punch, Quarantine

POLICY = NormalizePolicy()


def run(engine, path: Path, now, **kw):
    return import_file(engine, path, options=ImportOptions(**kw), now=now, policy=POLICY)


def test_csv_import_then_reimport_inserts_nothing(engine, store, now, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(
        "employee_code,timestamp,timezone,state,device,verify\n"
        "1001,2026-01-05 08:59:10,Europe/Berlin,0,door-1,1\n"
        "1001,2026-01-05 17:30:00,Europe/Berlin,1,door-1,1\n"
        "\n"
        "1002,2026-01-05T09:10:00+01:00,,in,,face\n",
        encoding="utf-8",
    )
    first = run(engine, path, now)
    second = run(engine, path, now)
    assert (first.rows, first.inserted, first.quarantined) == (3, 3, 0)
    assert (second.inserted, second.duplicates) == (0, 3)
    with store.sessions() as s:
        times = s.scalars(select(Punch.occurred_at).order_by(Punch.occurred_at)).all()
    assert times == [
        datetime(2026, 1, 5, 7, 59, 10, tzinfo=UTC),
        datetime(2026, 1, 5, 8, 10, tzinfo=UTC),
        datetime(2026, 1, 5, 16, 30, tzinfo=UTC),
    ]


def test_bom_semicolons_mapped_columns_and_time_format(engine, store, now, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffAC-No.;Fecha;Estado\n7;05/01/2026 08:00;C/In\n7;05/01/2026 16:00;C/Out\n".encode()
    )
    summary = run(
        engine,
        path,
        now,
        columns=ColumnMap(employee="AC-No.", timestamp="Fecha", state="Estado"),
        time_format="%d/%m/%Y %H:%M",
        timezone="America/Mexico_City",
    )
    assert (summary.inserted, summary.quarantined) == (2, 0)
    with store.sessions() as s:
        rows = s.execute(select(Punch.state, Punch.occurred_at).order_by(Punch.id)).all()
    assert rows == [
        ("in", datetime(2026, 1, 5, 14, 0, tzinfo=UTC)),
        ("out", datetime(2026, 1, 5, 22, 0, tzinfo=UTC)),
    ]


def test_gbk_file_with_chinese_names(engine, now, tmp_path):
    path = tmp_path / "gbk.csv"
    text = "工号,姓名,timestamp\n2001,张伟,2026-01-05 08:00:00\n2002,李娜,2026-01-05 08:05:00\n"
    path.write_bytes(text.encode("gbk"))
    summary = run(
        engine,
        path,
        now,
        encoding="gbk",
        columns=ColumnMap(employee="工号"),
        timezone="Asia/Shanghai",
    )
    assert (summary.inserted, summary.quarantined) == (2, 0)


def test_malformed_rows_are_quarantined_by_line_number(engine, store, now, tmp_path):
    path = tmp_path / "bad.csv"
    long_line = "1003," + "9" * 70_000 + "\n"
    body = (
        b"employee_code,timestamp,state\n"
        b"1001,2026-01-05 08:00:00,0\n"  # line 2: fine
        b",2026-01-05 08:00:00,0\n"  # line 3: no code
        b"1002,yesterday,0\n"  # line 4: unreadable time
        b"1002,2026-02-31 08:00:00,0\n"  # line 5: impossible date
        + long_line.encode()  # line 6: absurd length
        + b"1004,2026-01-05 08:00:00,\xff\xfe\n"  # line 7: not UTF-8
        + b"1005,2026-01-05 08:00:00,sideways\n"  # line 8: unknown state
        + b"1006,2026-01-05 09:00:00,1\n"  # line 9: fine
    )
    path.write_bytes(body)
    summary = run(engine, path, now, timezone="UTC")
    assert summary.inserted == 2
    assert summary.quarantined == 6
    by_line = dict(summary.rejected)
    assert by_line[3] == "missing employee code"
    assert by_line[4] == "unreadable timestamp 'yesterday'"
    assert by_line[5] == "unreadable timestamp '2026-02-31 08:00:00'"
    assert by_line[6] == "line longer than 65536 bytes"
    assert by_line[7].startswith("line is not valid utf-8")
    assert by_line[8] == "unknown state 'sideways'"
    again = run(engine, path, now, timezone="UTC")
    assert (again.inserted, again.duplicates, again.quarantined) == (0, 2, 6)
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Quarantine)) == 6
        refs = sorted(s.scalars(select(Quarantine.reference)))
    assert refs == [f"bad.csv:{n}" for n in (3, 4, 5, 6, 7, 8)]


def test_missing_required_column_is_a_clear_error(engine, now, tmp_path):
    path = tmp_path / "nohdr.csv"
    path.write_text("who,when\n1,2\n")
    with pytest.raises(ImportError_, match="no employee column"):
        run(engine, path, now)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(ImportError_, match="no header row"):
        run(engine, empty, now)


def test_xlsx_import_with_datetime_cells_and_float_pins(engine, store, now, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["PIN", "Check Time", "Status"])
    sheet.append([1001.0, datetime(2026, 1, 5, 8, 30), "C/In"])
    sheet.append([None, None, None])
    sheet.append([1001.0, "2026-01-05 17:00:00", "C/Out"])
    sheet.append([1002.0, "not a time", "C/In"])
    path = tmp_path / "hist.xlsx"
    book.save(path)
    summary = run(
        engine,
        path,
        now,
        columns=ColumnMap(employee="pin", timestamp="check time", state="status"),
        timezone="Europe/Berlin",
    )
    assert (summary.rows, summary.inserted, summary.quarantined) == (3, 2, 1)
    assert summary.rejected == [(5, "unreadable timestamp 'not a time'")]
    with store.sessions() as s:
        assert set(s.scalars(select(Punch.employee_code))) == {"1001"}


def test_broken_xlsx_is_a_clear_error(engine, now, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportError_, match=r"cannot open broken\.xlsx"):
        run(engine, path, now)
