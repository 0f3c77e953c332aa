"""Roster import: the grid HR keeps in Excel or CSV, checked as a whole before storing."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from collector.days.context import query
from collector.masterdata.scope import Scope
from collector.store.models import DirtyDay, RosterDay
from collector.workforce import rosters
from collector.workforce.roster_import import (
    RosterImportError,
    header_date,
    plan_roster_import,
    store_roster,
)
from tests.factories import add_employee
from tests.helpers import run_cli

SHIFTS = [
    {"code": "早", "name": "Early", "shift": {"start": "06:00", "end": "14:00"}},
    {"code": "中", "name": "Middle", "shift": {"start": "14:00", "end": "22:00"}},
    {"code": "夜", "name": "Night", "shift": {"start": "22:00", "end": "06:00"}},
    {"code": "N7", "name": "Long night", "shift": {"start": "22:00", "end": "07:00"}},
]


@pytest.fixture
def plant(store, now):
    """Employees 3001 and 3002 and the shift types 早 中 夜 N7."""
    with store.sessions.begin() as s:
        ids = {code: add_employee(s, code, now).id for code in ("3001", "3002")}
        for doc in SHIFTS:
            rosters.create_shift_type(s, scope=Scope(), document=doc, now=now)
    return ids


def entries(store) -> dict[tuple[int, date], str]:
    with store.sessions() as s:
        return {(r.employee_id, r.local_date): r.code for r in s.scalars(select(RosterDay))}


def run(store, path, now, **kw):
    with store.engine.begin() as conn:
        plan = plan_roster_import(conn, path, **kw)
        return store_roster(conn, plan, today=now.date())


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("2026-03-01 周日", date(2026, 3, 1)),
        ("2026/3/1(日)", date(2026, 3, 1)),
        ("2026-02-30", None),
        ("工号", None),
        ("3/1", None),  # no year: refused rather than guessed
    ],
)
def test_header_dates(cell, expected):
    assert header_date(cell) == expected


def test_a_chinese_csv_roster_is_stored_and_marks_its_days(store, now, plant, tmp_path):
    path = tmp_path / "排班.csv"
    path.write_text(
        "工号,姓名,2026-11-02,2026-11-03,2026-11-04\n3001,张三,早,中,休\n3002,李四,夜,,-\n",
        encoding="utf-8",
    )
    result = run(store, path, now)
    a, b = plant["3001"], plant["3002"]
    assert entries(store) == {
        (a, date(2026, 11, 2)): "早",
        (a, date(2026, 11, 3)): "中",
        (a, date(2026, 11, 4)): "休",
        (b, date(2026, 11, 2)): "夜",
        (b, date(2026, 11, 4)): "-",
    }
    assert (result.employees, result.days, result.written, result.removed) == (2, 6, 5, 0)
    with store.sessions() as s:
        marked = {(d.employee_id, d.local_date) for d in s.scalars(select(DirtyDay))}
    assert (a, date(2026, 11, 1)) in marked and (b, date(2026, 11, 5)) in marked
    # Again, with a cell emptied: only the change is written, the emptied entry removed.
    path.write_text(
        "工号,2026-11-02,2026-11-03,2026-11-04\n3001,早,,休\n3002,夜,,-\n", encoding="utf-8"
    )
    again = run(store, path, now)
    assert (again.written, again.removed) == (0, 1)
    assert (a, date(2026, 11, 3)) not in entries(store)


def test_an_english_xlsx_roster_with_date_cells(store, now, plant, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Employee", "Name", date(2026, 11, 2), date(2026, 11, 3)])
    sheet.append([3001, "Ann", "早", "夜"])  # Excel keeps a PIN as a number
    path = tmp_path / "roster.xlsx"
    book.save(path)
    run(store, path, now)
    assert entries(store) == {
        (plant["3001"], date(2026, 11, 2)): "早",
        (plant["3001"], date(2026, 11, 3)): "夜",
    }


def test_a_roster_with_any_problem_is_refused_whole(store, now, plant, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "Code,2026-11-02,2026-11-03,Remarks\n"
        "3001,早,X\n"  # unknown code
        "9999,早,早\n"  # unknown employee
        "3002,N7,早\n"  # a night to 07:00, then an early shift at 06:00
        "3002,早,早\n",  # the same employee twice
        encoding="utf-8",
    )
    with pytest.raises(RosterImportError) as refused:
        run(store, path, now)
    assert refused.value.problems == [
        "header: column 4 'Remarks' is neither a date nor known",
        "line 2, 2026-11-03: unknown shift code 'X'",
        "line 3: unknown employee 9999",
        "line 4: employee 3002's N7 on 2026-11-02 ends after the 早 shift on 2026-11-03 starts "
        "(overlap across midnight)",
        "line 5: employee 3002 again (first on line 4)",
    ]
    assert entries(store) == {}


def test_cli_roster_import(db_url, store, now, plant, tmp_path):
    good = tmp_path / "month.csv"
    good.write_text("pin,2026-11-02,2026-11-03\n3001,夜,夜\n", encoding="utf-8")
    env = {"PUNCHGATE_DATABASE_URL": db_url}
    out = run_cli("roster", "import", str(good), "--json", env=env)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert (summary["stored"], summary["written"], summary["employees"]) == (True, 2, 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("pin,2026-11-04\n3001,Q\n", encoding="utf-8")
    dry = run_cli("roster", "import", str(good), "--dry-run", env=env)
    assert dry.returncode == 0 and "all valid" in dry.stderr + dry.stdout
    out = run_cli("roster", "import", str(bad), env=env)
    assert out.returncode == 2 and "unknown shift code 'Q'" in out.stderr
    with store.engine.connect() as conn:
        assert len(query(conn, "SELECT id FROM roster_days")) == 2
