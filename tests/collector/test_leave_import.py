"""`punchgate leave import`: the spreadsheet HR keeps, checked whole, stored once."""

from __future__ import annotations

import json
from datetime import date, time

from openpyxl import Workbook
from sqlalchemy import select

from collector.store.models import AuditLog, Leave
from tests.collector.test_days import setup_office
from tests.factories import add_employee
from tests.helpers import run_cli

CHINESE = (
    "工号,请假类型,开始日期,结束日期,时段,开始时间,结束时间,备注\n"
    "1001,年假,2026-11-16,2026-11-18,全天,,,探亲\n"
    "1001,调休,2026/11/24,,上午,,,\n"
    "1001,病假,2026-11-25,,小时,9:00,11:30,牙医\n"
    "1002,出差,2026-11-19,2026-11-20,,,,上海\n"
)


def leaves(store):
    with store.sessions() as s:
        return [
            (r.employee_id, r.leave_type, r.start_date, r.end_date, r.part, r.start_time, r.source)
            for r in s.scalars(select(Leave).order_by(Leave.id))
        ]


def test_a_chinese_csv_imports_once_and_reimports_as_unchanged(store, now, db_url, tmp_path):
    emp, _ = setup_office(store, now)
    with store.sessions.begin() as s:
        other = add_employee(s, "1002", now).id
    path = tmp_path / "请假.csv"
    path.write_text(CHINESE, encoding="utf-8")
    env = {"PUNCHGATE_DATABASE_URL": db_url}
    first = run_cli("leave", "import", str(path), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "rows": 4, "added": 4, "changed": 0, "unchanged": 0, "problems": []
    }  # fmt: skip
    assert leaves(store) == [
        (emp, "annual", date(2026, 11, 16), date(2026, 11, 18), "full", "", "import"),
        (emp, "compensatory", date(2026, 11, 24), date(2026, 11, 24), "am", "", "import"),
        (emp, "sick", date(2026, 11, 25), date(2026, 11, 25), "hours", "09:00", "import"),
        (other, "business_trip", date(2026, 11, 19), date(2026, 11, 20), "full", "", "import"),
    ]
    again = run_cli("leave", "import", str(path), "--json", env=env)
    assert json.loads(again.stdout)["unchanged"] == 4
    path.write_text(CHINESE.replace("2026-11-18,全天,,,探亲", "2026-11-17,全天,,,探亲"))
    changed = run_cli("leave", "import", str(path), "--json", env=env)
    assert json.loads(changed.stdout)["changed"] == 1
    assert leaves(store)[0][3] == date(2026, 11, 17)
    with store.sessions() as s:
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "leave.update")) == (
            "import:请假.csv"
        )


def test_a_file_with_any_wrong_row_stores_nothing(store, now, db_url, tmp_path):
    setup_office(store, now)
    path = tmp_path / "leave.csv"
    path.write_text(
        "employee,type,start,end,part\n"
        "1001,annual,2026-11-16,,full\n"
        "9999,annual,2026-11-16,,full\n"  # nobody has this code
        "1001,vacation,2026-11-17,,full\n"  # no such type
        "1001,annual,2026-11-19,2026-11-18,full\n"  # ends before it starts
        "1001,sick,2026-11-16,,am\n"  # overlaps the first row
    )
    out = run_cli("leave", "import", str(path), env={"PUNCHGATE_DATABASE_URL": db_url})
    assert out.returncode == 1
    assert "refused, nothing stored" in out.stderr
    assert out.stderr.index("line 3:") < out.stderr.index("line 4:")  # in the file's order
    for line, reason in [
        (3, "no employee has code '9999'"),
        (4, "unknown leave type 'vacation'"),
        (5, "the leave ends before it starts"),
    ]:
        assert f"line {line}: {reason}" in out.stderr
    assert leaves(store) == []


def test_an_overlap_inside_the_file_is_refused_too(store, now, db_url, tmp_path):
    setup_office(store, now)
    path = tmp_path / "leave.csv"
    path.write_text(
        "employee,type,start,part\n1001,annual,2026-11-16,full\n1001,sick,2026-11-16,am\n"
    )
    out = run_cli("leave", "import", str(path), env={"PUNCHGATE_DATABASE_URL": db_url})
    assert out.returncode == 1
    assert "line 3: overlaps line 2" in out.stderr
    assert leaves(store) == []


def test_an_xlsx_with_english_headers_and_excel_cells(store, now, db_url, tmp_path):
    emp, _ = setup_office(store, now)
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["Employee", "Leave Type", "Start Date", "End Date", "Part", "Start Time", "End Time"]
    )
    sheet.append(["1001", "field work", date(2026, 11, 23), None, "full", None, None])
    sheet.append(["1001", "unpaid", date(2026, 11, 26), None, "hours", time(14, 0), time(16, 0)])
    path = tmp_path / "leave.xlsx"
    book.save(path)
    out = run_cli("leave", "import", str(path), env={"PUNCHGATE_DATABASE_URL": db_url})
    assert out.returncode == 0, out.stderr
    assert leaves(store) == [
        (emp, "field_work", date(2026, 11, 23), date(2026, 11, 23), "full", "", "import"),
        (emp, "unpaid", date(2026, 11, 26), date(2026, 11, 26), "hours", "14:00", "import"),
    ]


def test_a_file_without_the_needed_columns_is_refused(db_url, tmp_path):
    path = tmp_path / "leave.csv"
    path.write_text("name,when\nAnna,2026-11-16\n")
    out = run_cli("leave", "import", str(path), env={"PUNCHGATE_DATABASE_URL": db_url})
    assert out.returncode == 2
    assert "no column for employee, leave_type, start_date" in out.stderr
