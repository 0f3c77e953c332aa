"""Historical import: streaming, column mapping, encodings, time formats, real exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from collector.importing import (
    ColumnMap,
    ImportError_,
    ImportOptions,
    import_file,
    prepare_import,
)
from collector.normalize import NormalizePolicy, map_state
from collector.store.db import make_engine
from collector.store.models import Punch, Quarantine
from rules.vocabulary import DirectionMode, PunchState
from tests.helpers import run_cli

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
    summary = run(engine, path, now, timezone="UTC", encoding="utf-8")
    assert summary.inserted == 2
    assert summary.quarantined == 6
    by_line = dict(summary.rejected)
    assert by_line[3] == "missing employee code"
    expected = " (expected %Y-%m-%d %H:%M:%S)"
    assert by_line[4] == "unreadable timestamp 'yesterday'" + expected
    assert by_line[5] == "unreadable timestamp '2026-02-31 08:00:00'" + expected
    assert by_line[6] == "line longer than 65536 bytes"
    assert by_line[7].startswith("line is not valid utf-8")
    assert by_line[8] == "unknown state 'sideways'"
    again = run(engine, path, now, timezone="UTC", encoding="utf-8")
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
    assert summary.rejected == [
        (5, "unreadable timestamp 'not a time' (expected %Y-%m-%d %H:%M:%S)")
    ]
    with store.sessions() as s:
        assert set(s.scalars(select(Punch.employee_code))) == {"1001"}


def test_broken_xlsx_is_a_clear_error(engine, now, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportError_, match=r"cannot open broken\.xlsx"):
        run(engine, path, now)


# --- what old systems really export (fixtures in tests/fixtures/imports) -------------------

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
BERLIN, SHANGHAI = "Europe/Berlin", "Asia/Shanghai"


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


ZH_PUNCHES = [
    ("1001", utc(2026, 11, 2, 0, 59, 12), "in", "fingerprint"),
    ("1001", utc(2026, 11, 2, 4, 2, 10), "break_out", "fingerprint"),
    ("1001", utc(2026, 11, 2, 5, 1, 45), "break_in", "fingerprint"),
    ("1001", utc(2026, 11, 2, 10, 3, 0), "out", "fingerprint"),
    ("1002", utc(2026, 11, 2, 1, 0, 5), "in", "face"),
    ("1002", utc(2026, 11, 2, 9, 59, 59), "out", "face"),
    ("1002", utc(2026, 11, 2, 11, 0, 0), "overtime_in", "password"),
    ("1002", utc(2026, 11, 2, 13, 30, 30), "overtime_out", "card"),
]
ZH_READ = "employee code ← 考勤号码, time ← 日期时间 (format %Y/%m/%d %H:%M:%S), state ← 考勤状态"

# file, options, how the file is read (the summary's start), the punches stored
EXPORTS: dict[str, tuple[dict[str, Any], str, list[tuple[str, datetime, str, str]]]] = {
    "zkteco_en.csv": (
        {"timezone": BERLIN},
        "employee code ← AC-No., time ← Time (format %Y/%m/%d %H:%M:%S), state ← State, "
        "verify method ← Verify Mode; text in UTF-8, separated by commas",
        [
            ("101", utc(2026, 11, 2, 7, 59, 12), "in", "fingerprint"),
            ("101", utc(2026, 11, 2, 11, 1, 40), "break_out", "fingerprint"),
            ("101", utc(2026, 11, 2, 11, 58, 3), "break_in", "fingerprint"),
            ("101", utc(2026, 11, 2, 17, 2, 55), "out", "fingerprint"),
            ("102", utc(2026, 11, 2, 8, 3, 0), "in", "card"),
            ("102", utc(2026, 11, 2, 16, 30, 21), "out", "password"),
            ("102", utc(2026, 11, 2, 17, 0, 0), "overtime_in", "face"),
            ("102", utc(2026, 11, 2, 19, 15, 9), "overtime_out", "face"),
        ],
    ),
    "zkteco_en_tab.txt": (
        {"timezone": BERLIN},
        "employee code ← AC-No., time ← Date Time (format %Y-%m-%d %H:%M), state ← State, "
        "verify method ← Verify Mode; text in UTF-8, separated by tabs",
        [
            ("201", utc(2026, 11, 3, 7, 59), "in", "fingerprint"),
            ("201", utc(2026, 11, 3, 16, 5), "out", "fingerprint"),
            ("202", utc(2026, 11, 3, 8, 1), "in", "face"),
            ("202", utc(2026, 11, 3, 11, 0), "break_out", "face"),
            ("202", utc(2026, 11, 3, 12, 0), "break_in", "face"),
            ("202", utc(2026, 11, 3, 17, 30), "out", "face"),
        ],
    ),
    "zkteco_en.xlsx": (
        {"timezone": BERLIN},
        "employee code ← AC-No., time ← Date Time (format %d/%m/%Y %H:%M), state ← State, "
        "verify method ← Verify Mode; the first sheet of the workbook",
        [
            ("301", utc(2026, 11, 13, 7, 59, 12), "in", "fingerprint"),
            ("301", utc(2026, 11, 13, 16, 31), "out", "fingerprint"),
            ("302", utc(2026, 11, 13, 7, 45), "in", "card"),
            ("302", utc(2026, 11, 14, 16, 2), "out", "card"),
        ],
    ),
    "zh_gbk.csv": (
        {"timezone": SHANGHAI, "encoding": "gb18030"},
        f"{ZH_READ}, verify method ← 验证方式; text in gb18030, separated by commas",
        ZH_PUNCHES,
    ),
    "zh_utf8_bom.csv": (
        {"timezone": SHANGHAI},
        f"{ZH_READ}, verify method ← 验证方式; text in UTF-8 with byte-order mark, "
        "separated by commas",
        ZH_PUNCHES,
    ),
    "zh_date_time.csv": (
        {"timezone": SHANGHAI},
        "employee code ← 人员编号, time ← 日期 + 时间 (format %Y/%m/%d %H:%M:%S), state ← 状态; "
        "text in UTF-8, separated by commas",
        [
            ("2001", utc(2026, 11, 4, 0, 30), "in", "other"),
            ("2001", utc(2026, 11, 4, 9, 45, 10), "out", "other"),
            ("2002", utc(2026, 11, 3, 23, 58), "in", "other"),
            ("2002", utc(2026, 11, 4, 8, 2), "out", "other"),
        ],
    ),
    "unicode_text.txt": (
        {"timezone": BERLIN},
        "employee code ← AC-No., time ← Time (format %Y/%m/%d %H:%M:%S), state ← State, "
        "verify method ← Verify Mode; text in UTF-16, separated by tabs",
        [
            ("401", utc(2026, 11, 5, 7, 55), "in", "fingerprint"),
            ("401", utc(2026, 11, 5, 16, 35), "out", "fingerprint"),
            ("402", utc(2026, 11, 5, 8, 10, 30), "in", "face"),
            ("402", utc(2026, 11, 5, 17, 20, 30), "out", "face"),
        ],
    ),
}


def stored(engine) -> list[tuple[str, datetime, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Punch.employee_code, Punch.occurred_at, Punch.state, Punch.verify).order_by(
                Punch.employee_code, Punch.occurred_at
            )
        ).all()
    return [(code, when.replace(tzinfo=UTC), state, verify) for code, when, state, verify in rows]


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        punches = conn.scalar(select(func.count()).select_from(Punch))
        quarantined = conn.scalar(select(func.count()).select_from(Quarantine))
    return punches, quarantined


@pytest.mark.parametrize("name", list(EXPORTS))
def test_real_exports_import_exactly_and_once(engine, now, name):
    kw, read_as, punches = EXPORTS[name]
    path = FIXTURES / name
    assert prepare_import(path, ImportOptions(**kw)).describe() == read_as
    first = run(engine, path, now, **kw)
    assert (first.rows, first.inserted, first.quarantined) == (len(punches), len(punches), 0)
    assert stored(engine) == punches
    again = run(engine, path, now, **kw)
    assert (again.inserted, again.duplicates, again.quarantined) == (0, len(punches), 0)
    assert counts(engine) == (len(punches), 0)


def test_gbk_export_without_encoding_is_refused_before_anything_is_stored(engine, now):
    with pytest.raises(ImportError_) as refused:
        run(engine, FIXTURES / "zh_gbk.csv", now, timezone=SHANGHAI)
    assert str(refused.value) == (
        "zh_gbk.csv is not UTF-8 (line 1 cannot be read as UTF-8); it looks like GBK/GB18030: "
        "add --encoding gb18030 (or --encoding utf-8 to quarantine the lines that cannot be read)"
    )
    assert counts(engine) == (0, 0)
    assert (
        run(engine, FIXTURES / "zh_gbk.csv", now, timezone=SHANGHAI, encoding="gbk").inserted == 8
    )
    assert stored(engine) == ZH_PUNCHES


def test_non_utf8_found_far_into_the_file_still_stores_nothing(engine, now, tmp_path):
    path = tmp_path / "late.csv"
    rows = [f"{1000 + i % 50},2026-11-02 08:{i % 60:02d}:00,in" for i in range(5000)]
    rows.append("2000,2026-11-02 09:00:00,签到")
    path.write_bytes(("pin,time,state\n" + "\n".join(rows) + "\n").encode("gbk"))
    with pytest.raises(ImportError_, match=r"line 5002 cannot be read as UTF-8"):
        run(engine, path, now, timezone=SHANGHAI)
    assert counts(engine) == (0, 0)


def test_utf16_without_byte_order_mark_is_refused_with_a_hint(engine, now, tmp_path):
    path = tmp_path / "nobom.txt"
    text = "AC-No.\tTime\tState\r\n" + "101\t2026/11/02 08:59:12\tC/In\r\n" * 20
    path.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(ImportError_, match=r"looks like UTF-16 .*--encoding utf-16-le"):
        run(engine, path, now)
    assert counts(engine) == (0, 0)
    assert run(engine, path, now, encoding="utf-16-le", timezone=BERLIN).inserted == 1


def test_ambiguous_day_month_is_refused_naming_two_lines_and_the_flag(engine, now):
    path = FIXTURES / "ambiguous_dm.csv"
    with pytest.raises(ImportError_) as refused:
        run(engine, path, now, timezone=BERLIN)
    message = str(refused.value)
    assert "line 2 '02/11/2026 08:59' is 2 November 2026 or 11 February 2026" in message
    assert "line 3 '02/11/2026 17:01' is 2 November 2026 or 11 February 2026" in message
    assert "--time-format '%d/%m/%Y %H:%M' (day first)" in message
    assert "--time-format '%m/%d/%Y %H:%M' (month first)" in message
    assert counts(engine) == (0, 0)
    summary = run(engine, path, now, timezone=BERLIN, time_format="%d/%m/%Y %H:%M")
    assert (summary.inserted, summary.quarantined) == (4, 0)
    assert [when for _, when, _, _ in stored(engine)] == [
        utc(2026, 11, 2, 7, 59),
        utc(2026, 11, 2, 16, 1),
        utc(2026, 11, 3, 7, 57),
        utc(2026, 11, 3, 16, 4),
    ]


@pytest.mark.parametrize(
    ("late_row", "expected"),
    [("13/11/2026 08:00", utc(2026, 11, 5, 7, 0)), ("11/13/2026 08:00", utc(2026, 5, 11, 6, 0))],
)
def test_day_month_order_is_settled_by_a_row_after_the_sample(
    engine, now, tmp_path, late_row, expected
):
    # 300 rows whose day and month both fit 1–12, then one that only one order can read.
    rows = [f"{1000 + i},05/11/2026 08:00,C/In" for i in range(300)]
    rows.append(f"9999,{late_row},C/In")
    path = tmp_path / "late_order.csv"
    path.write_text("AC-No.,Date Time,State\n" + "\n".join(rows) + "\n")
    summary = run(engine, path, now, timezone=BERLIN)
    assert (summary.inserted, summary.quarantined) == (301, 0)
    with engine.connect() as conn:
        first = conn.scalar(select(Punch.occurred_at).where(Punch.employee_code == "1000"))
    assert first.replace(tzinfo=UTC) == expected


def test_rows_in_another_format_are_quarantined_naming_the_expected_one(engine, now, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "AC-No.,Time,State\n"
        "101,2026/11/02 08:59:12,C/In\n"
        "101,Nov 2 2026 17:00,C/Out\n"
        "101,2026/11/03 08:58:00,C/In\n"
    )
    summary = run(engine, path, now, timezone=BERLIN)
    assert (summary.inserted, summary.quarantined) == (2, 1)
    assert summary.rejected == [
        (3, "unreadable timestamp 'Nov 2 2026 17:00' (expected %Y/%m/%d %H:%M:%S)")
    ]


def test_times_in_no_known_format_refuse_the_file(engine, now, tmp_path):
    path = tmp_path / "months.csv"
    path.write_text("AC-No.,Time\n101,02-Nov-2026 08:59\n102,02-Nov-2026 09:00\n")
    with pytest.raises(ImportError_, match=r"no format punchgate knows \(line 2: '02-Nov-2026"):
        run(engine, path, now, timezone=BERLIN)
    assert counts(engine) == (0, 0)
    summary = run(engine, path, now, timezone=BERLIN, time_format="%d-%b-%Y %H:%M")
    assert summary.inserted == 2


@pytest.mark.parametrize(
    ("header", "row", "code"),
    [
        ("No.,AC-No.,Name,Time", "7,1234,Li Lei,2026/11/02 08:00:00", "1234"),
        ("Department,Name,No.,Date/Time", "R&D,Li Lei,1234,2026/11/02 08:00:00", "1234"),
        ("姓名,部门,工号,打卡时间", "李雷,研发部,1234,2026/11/02 08:00:00", "1234"),
        ("工号,考勤号码,姓名,日期时间", "E-77,1234,李雷,2026/11/02 08:00:00", "1234"),
        ("序号,姓名,人员编号,日期,时间", "1,李雷,1234,2026/11/02,08:00:00", "1234"),
    ],
)
def test_the_pin_column_is_chosen_never_a_name_or_row_number(
    engine, now, tmp_path, header, row, code
):
    path = tmp_path / "pins.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert run(engine, path, now, timezone=SHANGHAI).inserted == 1
    assert [c for c, *_ in stored(engine)] == [code]


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("check in", PunchState.IN),
        ("Break  Out", PunchState.BREAK_OUT),
        ("Break In", PunchState.BREAK_IN),
        ("OVERTIME IN", PunchState.OVERTIME_IN),
        ("OverTime Out", PunchState.OVERTIME_OUT),
        (" 上班签到 ", PunchState.IN),
        ("下班 签退", PunchState.OUT),
        ("外出返回", PunchState.BREAK_IN),
        ("加班签退", PunchState.OVERTIME_OUT),
    ],
)
def test_state_words_match_whatever_their_case_and_spacing(word, state):
    assert map_state(word, DirectionMode.AUTO) is state


def test_separate_date_and_time_columns_chosen_by_name(engine, now, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Emp", "Day", "Clock", "Direction"])
    sheet.append(["501", datetime(2026, 11, 6), time(8, 15), "Check In"])
    sheet.append(["501", datetime(2026, 11, 6), "17:45", "Check Out"])
    path = tmp_path / "split.xlsx"
    book.save(path)
    columns = ColumnMap(employee="emp", date="day", timestamp="clock", state="direction")
    summary = run(engine, path, now, columns=columns, timezone=BERLIN)
    assert (summary.inserted, summary.quarantined) == (2, 0)
    assert stored(engine) == [
        ("501", utc(2026, 11, 6, 7, 15), "in", "other"),
        ("501", utc(2026, 11, 6, 16, 45), "out", "other"),
    ]


def test_an_old_xls_workbook_is_refused_with_what_to_do(engine, now, tmp_path):
    path = tmp_path / "att2000.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    with pytest.raises(ImportError_, match=r"save it as \.xlsx or CSV"):
        run(engine, path, now)


def test_the_cli_imports_each_export_and_refuses_the_bad_ones(db_url):
    env = {"PUNCHGATE_DATABASE_URL": db_url}
    expected = []
    for name, (kw, read_as, punches) in EXPORTS.items():
        if name == "zh_utf8_bom.csv":
            continue  # the same punches as the GBK file: they would only be duplicates
        flags = [f"--{key.replace('_', '-')}={value}" for key, value in kw.items()]
        out = run_cli("import", str(FIXTURES / name), *flags, "--json", env=env)
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert (summary["inserted"], summary["read_as"]) == (len(punches), read_as)
        expected += punches
    again = run_cli("import", str(FIXTURES / "zh_utf8_bom.csv"), f"--timezone={SHANGHAI}", env=env)
    assert again.returncode == 0, again.stderr
    assert "employee code ← 考勤号码, time ← 日期时间 (format %Y/%m/%d %H:%M:%S)" in again.stderr
    assert "8 rows: 0 inserted, 8 already stored, 0 quarantined" in again.stderr

    gbk = run_cli("import", str(FIXTURES / "zh_gbk.csv"), env=env)
    assert gbk.returncode == 2
    assert "looks like GBK/GB18030: add --encoding gb18030" in " ".join(gbk.stderr.split())
    ambiguous = run_cli("import", str(FIXTURES / "ambiguous_dm.csv"), env=env)
    assert ambiguous.returncode == 2
    said = " ".join(ambiguous.stderr.split())
    assert "line 2 '02/11/2026 08:59'" in said and "line 3 '02/11/2026 17:01'" in said
    assert "--time-format '%d/%m/%Y %H:%M'" in said

    engine = make_engine(db_url)
    try:
        assert stored(engine) == sorted(expected, key=lambda p: (p[0], p[1]))
        assert counts(engine) == (len(expected), 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("written", "expected", "fmt"),
    [
        ("2026/11/02 08:59:12", utc(2026, 11, 2, 7, 59, 12), "%Y/%m/%d %H:%M:%S"),
        ("13/11/2026 08:59", utc(2026, 11, 13, 7, 59), "%d/%m/%Y %H:%M"),
        ("11/13/2026 08:59:30", utc(2026, 11, 13, 7, 59, 30), "%m/%d/%Y %H:%M:%S"),
        ("2026-11-02 8:59", utc(2026, 11, 2, 7, 59), "%Y-%m-%d %H:%M"),
        ("02.11.2026 08:59", utc(2026, 11, 2, 7, 59), "%d.%m.%Y %H:%M"),
        ("2026年11月2日 8:59", utc(2026, 11, 2, 7, 59), "%Y年%m月%d日 %H:%M"),
        ("11/13/2026 8:59 PM", utc(2026, 11, 13, 19, 59), "%m/%d/%Y %I:%M %p"),
        ("2026-11-02T08:59:12+02:00", utc(2026, 11, 2, 6, 59, 12), "ISO 8601"),
    ],
)
def test_each_time_format_is_detected(engine, now, tmp_path, written, expected, fmt):
    path = tmp_path / "one.csv"
    path.write_text(f"AC-No.,Time\n101,{written}\n", encoding="utf-8")
    assert f"(format {fmt})" in prepare_import(path, ImportOptions()).describe()
    assert run(engine, path, now, timezone=BERLIN).inserted == 1
    assert [when for _, when, _, _ in stored(engine)] == [expected]
