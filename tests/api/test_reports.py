"""Reports against hand-computed figures (a night shift and the 2026-03-29 DST change)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from collector.normalize import NormalizePolicy
from collector.store.ingest import ingest_batch
from collector.store.models import Department, Device, Employee, Policy, PolicyAssignment, Site
from tests.api.conftest import auth
from tests.factories import add_day, raw_punch

BERLIN = "Europe/Berlin"


def z(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A UTC time."""
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


@pytest.fixture
def month(store, engine, now, keys):
    """Four employees, their computed days in ISO weeks 13–14 of 2026, and real punches."""
    with store.sessions.begin() as s:
        ops = s.query(Department).filter_by(code="OPS").one()
        eng = Department(code="ENG", name="Engineering")
        site = Site(code="BER", name="Berlin", timezone=BERLIN, fence={})
        s.add_all([eng, site])
        s.flush()
        policy = Policy(name="flex", kind="flexitime", document={"core": "10-15"}, updated_at=now)
        s.add(policy)
        s.add(
            Device(
                code="door-1",
                kind="zk",
                status="online",
                clock_skew_s=2.5,
                record_count=500,
                record_capacity=1000,
                last_seen_at=now,
                options={},
                sync_state={},
            )
        )
        s.add(
            Device(
                code="door-2",
                kind="zk",
                status="offline",
                last_error="timeout",
                options={},
                sync_state={},
            )
        )
        emp = {}
        for code, name, dept in [
            ("1001", "Alice", eng),
            ("1002", "Bob", eng),
            ("1003", "Carol", ops),
            ("1004", "Dan", ops),
        ]:
            e = Employee(
                code=code,
                name=name,
                department_id=dept.id,
                site_id=site.id,
                created_at=now,
                identities={},
            )
            s.add(e)
            s.flush()
            emp[code] = e.id
        s.add(
            PolicyAssignment(
                employee_id=emp["1002"], policy_id=policy.id, effective_from=date(2026, 1, 1)
            )
        )
        a, b, c, d = emp["1001"], emp["1002"], emp["1003"], emp["1004"]
        day = lambda e, dd, status, **kw: add_day(  # noqa: E731
            s, e, date(2026, 3, dd), status, computed_at=now, policy_id=policy.id, **kw
        )
        # Alice, day shift in Berlin (CET = UTC+1 until the 29th, CEST = UTC+2 from it).
        day(
            a,
            23,
            "present",
            first_in=z(2026, 3, 23, 7),
            last_out=z(2026, 3, 23, 15, 30),
            worked_s=28800,
            break_s=1800,
        )
        day(
            a,
            24,
            "late",
            first_in=z(2026, 3, 24, 8, 15),
            last_out=z(2026, 3, 24, 16),
            worked_s=26100,
            break_s=1800,
            late_s=900,
            balance_delta_s=-2700,
        )
        day(
            a,
            25,
            "late",
            first_in=z(2026, 3, 25, 8, 10),
            last_out=z(2026, 3, 25, 15, 40),
            worked_s=25200,
            break_s=1800,
            late_s=600,
            early_leave_s=1200,
            balance_delta_s=-3600,
        )
        day(a, 26, "absent", balance_delta_s=-28800)
        # The DST day: 08:00–14:00 CEST worked on a Sunday is 06:00–12:00 UTC, six hours.
        day(
            a,
            29,
            "present",
            first_in=z(2026, 3, 29, 6),
            last_out=z(2026, 3, 29, 12),
            worked_s=21600,
            overtime={"rest_day": 21600},
            explanation=[{"rule": "rest_day_work", "seconds": 21600}],
        )
        day(
            a,
            30,
            "late",
            first_in=z(2026, 3, 30, 6, 5),
            last_out=z(2026, 3, 30, 15, 30),
            worked_s=28800,
            late_s=300,
            overtime={"regular": 1800},
            balance_delta_s=1800,
        )
        # Bob, night shifts 22:00–06:00 local, dated by the evening they start.
        day(
            b,
            23,
            "present",
            first_in=z(2026, 3, 23, 21),
            last_out=z(2026, 3, 24, 5),
            worked_s=27000,
            break_s=1800,
        )
        day(
            b,
            24,
            "late",
            first_in=z(2026, 3, 24, 21, 20),
            last_out=z(2026, 3, 25, 5),
            worked_s=25800,
            break_s=1800,
            late_s=1200,
            balance_delta_s=-1200,
        )
        day(b, 25, "holiday")
        day(b, 26, "incomplete", first_in=z(2026, 3, 26, 21), anomalies=["missing_out"])
        # The night into the DST change: 22:00 CET to 06:00 CEST is only 7 h on the clock.
        day(
            b,
            28,
            "present",
            first_in=z(2026, 3, 28, 21),
            last_out=z(2026, 3, 29, 4),
            worked_s=23400,
            break_s=1800,
            balance_delta_s=-3600,
            explanation=[{"rule": "night_shift", "span_s": 25200}, "dst: 23:00 local lasted 0 s"],
        )
        # Carol and Dan in OPS.
        day(
            c,
            23,
            "half_day",
            first_in=z(2026, 3, 23, 7),
            last_out=z(2026, 3, 23, 11),
            worked_s=14400,
            balance_delta_s=-14400,
        )
        day(
            c,
            24,
            "present",
            first_in=z(2026, 3, 24, 7),
            last_out=z(2026, 3, 24, 16, 30),
            worked_s=32400,
            break_s=1800,
            overtime={"regular": 3600},
            balance_delta_s=3600,
        )
        day(
            c,
            25,
            "late",
            first_in=z(2026, 3, 25, 7, 40),
            last_out=z(2026, 3, 25, 15, 20),
            worked_s=25800,
            break_s=1800,
            late_s=2400,
            early_leave_s=600,
            balance_delta_s=-3000,
        )
        day(c, 28, "rest_day")
        day(d, 24, "absent", balance_delta_s=-28800)
    # Real punches through the one ingest path: Bob's DST night and Alice's DST Sunday.
    punches = [
        raw_punch("1002", datetime(2026, 3, 28, 22, 0), state=0, tz=BERLIN),
        raw_punch("1002", datetime(2026, 3, 29, 6, 0), state=1, tz=BERLIN),
        raw_punch("1001", datetime(2026, 3, 29, 8, 0), state=0, tz=BERLIN),
        raw_punch("1001", datetime(2026, 3, 29, 14, 0), state=1, tz=BERLIN),
    ]
    result = ingest_batch(engine, punches, now=now, policy=NormalizePolicy())
    assert result.inserted == 4
    return emp


def get(client, keys, path, token=None):
    answer = client.get(path, headers=auth(token or keys.admin))
    assert answer.status_code == 200, answer.text
    return answer


def rows(client, keys, path, token=None):
    return get(client, keys, path, token).json()["rows"]


W13 = "from=2026-03-23&to=2026-03-29"


def test_lateness_per_employee(client, keys, month):
    got = rows(client, keys, f"/reports/lateness?{W13}")
    assert [
        (
            r["employee_code"],
            r["days_worked"],
            r["late_days"],
            r["late_minutes"],
            r["average_late_minutes"],
            r["lateness_rate"],
            r["early_leaves"],
            r["early_leave_minutes"],
            r["department"],
        )
        for r in got
    ] == [
        ("1001", 4, 2, 25.0, 12.5, 0.5, 1, 20.0, "ENG"),
        ("1002", 4, 1, 20.0, 20.0, 0.25, 0, 0.0, "ENG"),
        ("1003", 3, 1, 40.0, 40.0, 0.3333, 1, 10.0, "OPS"),
        ("1004", 0, 0, 0.0, 0.0, 0.0, 0, 0.0, "OPS"),
    ]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("-lateness_rate", ["1001", "1003", "1002", "1004"]),
        ("average_late_minutes", ["1004", "1001", "1002", "1003"]),
        ("-late_minutes", ["1003", "1001", "1002", "1004"]),
        ("name", ["1001", "1002", "1003", "1004"]),
    ],
)
def test_lateness_sorts_by_whitelisted_keys(client, keys, month, sort, order):
    got = rows(client, keys, f"/reports/lateness?{W13}&sort={sort}")
    assert [r["employee_code"] for r in got] == order


def test_lateness_refuses_unknown_sort_key(client, keys, month):
    answer = client.get(f"/reports/lateness?{W13}&sort=name;drop", headers=auth(keys.admin))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "sort"


def test_lateness_per_department(client, keys, month):
    got = rows(client, keys, f"/reports/lateness?{W13}&by=department")
    assert [
        (
            r["department"],
            r["employees"],
            r["days_worked"],
            r["late_days"],
            r["late_minutes"],
            r["average_late_minutes"],
            r["lateness_rate"],
            r["early_leaves"],
        )
        for r in got
    ] == [
        ("ENG", 2, 8, 3, 45.0, 15.0, 0.375, 1),
        ("OPS", 2, 3, 1, 40.0, 40.0, 0.3333, 1),
    ]


def test_scoped_key_sees_only_its_department(client, keys, month):
    got = rows(client, keys, f"/reports/lateness?{W13}", keys.scoped_viewer)
    assert [r["employee_code"] for r in got] == ["1003", "1004"]
    board = rows(client, keys, "/reports/board?date=2026-03-24", keys.scoped_viewer)
    assert [r["employee_code"] for r in board] == ["1003", "1004"]
    hidden = client.get(
        f"/reports/employee-day?employee_id={month['1001']}&date=2026-03-24",
        headers=auth(keys.scoped_viewer),
    )
    assert hidden.status_code == 404


def test_attendance_summary(client, keys, month):
    got = {r["employee_code"]: r for r in rows(client, keys, f"/reports/attendance?{W13}")}
    fields = (
        "present_days",
        "late_days",
        "half_days",
        "incomplete_days",
        "absent_days",
        "holiday_days",
        "rest_days",
        "worked_hours",
        "break_hours",
        "overtime_regular_hours",
        "overtime_rest_day_hours",
        "overtime_holiday_hours",
        "flexitime_balance_hours",
    )
    table = {code: tuple(r[f] for f in fields) for code, r in got.items()}
    assert table == {
        "1001": (4, 2, 0, 0, 1, 0, 0, 28.25, 1.5, 0.0, 6.0, 0.0, -9.75),
        "1002": (3, 1, 0, 1, 0, 1, 0, 21.17, 1.5, 0.0, 0.0, 0.0, -1.33),
        "1003": (2, 1, 1, 0, 0, 0, 1, 20.17, 1.0, 1.0, 0.0, 0.0, -3.83),
        "1004": (0, 0, 0, 0, 1, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, -8.0),
    }


def test_department_stats_by_iso_week(client, keys, month):
    got = rows(client, keys, "/reports/departments?from=2026-03-23&to=2026-03-30")
    assert [
        (
            r["department"],
            r["week"],
            r["week_start"],
            r["expected_employees"],
            r["punched_employees"],
            r["punch_rate"],
            r["days_worked"],
            r["late_days"],
            r["lateness_rate"],
        )
        for r in got
    ] == [
        ("ENG", "2026-W13", "2026-03-23", 2, 2, 1.0, 8, 3, 0.375),
        ("ENG", "2026-W14", "2026-03-30", 1, 1, 1.0, 1, 1, 1.0),
        ("OPS", "2026-W13", "2026-03-23", 2, 1, 0.5, 3, 1, 0.3333),
    ]


def test_board_on_an_ordinary_day_in_local_time(client, keys, month):
    got = {r["employee_code"]: r for r in rows(client, keys, "/reports/board?date=2026-03-24")}
    assert {
        c: (r["status"], r["first_in"], r["last_out"], r["late_minutes"]) for c, r in got.items()
    } == {
        "1001": ("late", "2026-03-24T09:15:00+01:00", "2026-03-24T17:00:00+01:00", 15.0),
        # The night shift ends on the next local date.
        "1002": ("late", "2026-03-24T22:20:00+01:00", "2026-03-25T06:00:00+01:00", 20.0),
        "1003": ("present", "2026-03-24T08:00:00+01:00", "2026-03-24T17:30:00+01:00", 0.0),
        "1004": ("absent", None, None, 0.0),
    }


def test_board_on_the_dst_day(client, keys, month):
    got = {r["employee_code"]: r for r in rows(client, keys, "/reports/board?date=2026-03-29")}
    # Alice's computed day, shown in CEST.
    assert (got["1001"]["status"], got["1001"]["first_in"], got["1001"]["last_out"]) == (
        "present",
        "2026-03-29T08:00:00+02:00",
        "2026-03-29T14:00:00+02:00",
    )
    # Bob's only punch dated the 29th is the end of the night that began on the 28th;
    # with no computed day, the board says pending and shows the raw punch.
    assert (got["1002"]["status"], got["1002"]["punches"], got["1002"]["first_in"]) == (
        "pending",
        1,
        "2026-03-29T06:00:00+02:00",
    )
    assert got["1003"]["status"] == "no_record" and got["1003"]["punches"] == 0


def test_employee_day_for_the_dst_night_shift(client, keys, month):
    body = get(
        client, keys, f"/reports/employee-day?employee_id={month['1002']}&date=2026-03-28"
    ).json()
    assert body["policy"]["name"] == "flex"
    assert body["timezone"] == BERLIN
    # Both punches of the night, though the second one is dated the 29th.
    assert [(p["state"], p["local_time"]) for p in body["punches"]] == [
        ("in", "2026-03-28T22:00:00+01:00"),
        ("out", "2026-03-29T06:00:00+02:00"),
    ]
    result = body["result"]
    assert result["worked_minutes"] == 390.0  # 7 h on the clock less a 30 min break
    assert result["first_in"] == "2026-03-28T22:00:00+01:00"
    assert result["explanation"] == [
        {"rule": "night_shift", "span_s": 25200},
        "dst: 23:00 local lasted 0 s",
    ]


def test_device_health(client, keys, month):
    got = {r["device_code"]: r for r in rows(client, keys, "/reports/devices")}
    assert (
        got["door-1"]["online"],
        got["door-1"]["clock_skew_s"],
        got["door-1"]["fill_ratio"],
    ) == (True, 2.5, 0.5)
    assert (got["door-2"]["online"], got["door-2"]["last_error"]) == (False, "timeout")


@pytest.mark.parametrize(
    "path",
    [
        f"/reports/lateness?{W13}",
        f"/reports/lateness?{W13}&by=department",
        f"/reports/attendance?{W13}",
        "/reports/departments?from=2026-03-23&to=2026-03-30",
        "/reports/board?date=2026-03-29",
        "/reports/devices",
    ],
)
def test_csv_and_xlsx_hold_the_json_rows(client, keys, month, path):
    data = get(client, keys, path).json()
    # seconds_since_seen follows the wall clock between the three requests.
    volatile = {"seconds_since_seen"}
    expected = [
        [_text(r[c]) if c not in volatile else "*" for c in data["columns"]] for r in data["rows"]
    ]
    keep = [c not in volatile for c in data["columns"]]
    assert expected  # every one of these reports has rows in the fixture
    as_csv = get(client, keys, f"{path}&format=csv" if "?" in path else f"{path}?format=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    assert as_csv.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert table[0] == data["columns"]
    assert [_mask(r, keep) for r in table[1:]] == expected
    as_xlsx = get(client, keys, f"{path}&format=xlsx" if "?" in path else f"{path}?format=xlsx")
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert list(cells[0]) == data["columns"]
    assert [[_norm(v) for v in _mask([_xlsx_text(v) for v in r], keep)] for r in cells[1:]] == [
        [_norm(v) for v in r] for r in expected
    ]


def test_employee_day_exports_its_punches(client, keys, month):
    path = f"/reports/employee-day?employee_id={month['1002']}&date=2026-03-28"
    answer = get(client, keys, path + "&format=csv")
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r[3] for r in table[1:]] == ["in", "out"]
    assert 'filename="employee-day_1002_2026-03-28.csv"' in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(get(client, keys, path + "&format=xlsx").content))
    assert book.worksheets[0].max_row == 3


def test_period_must_be_ordered(client, keys):
    answer = client.get(
        "/reports/attendance?from=2026-03-30&to=2026-03-01", headers=auth(keys.viewer)
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "to", "message": "'to' is before 'from'"}]


def _text(value):
    if value is None:
        return ""
    return str(value)


def _mask(row, keep):
    return [v if k else "*" for v, k in zip(row, keep, strict=True)]


def _norm(text):
    # Excel keeps numbers as numbers (25.0 reads back as 25) and times without a zone.
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return text


def _xlsx_text(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):  # an hours column, typed as a duration
        return str(round(value.total_seconds() / 3600, 4))
    if value is None:
        return ""
    return str(value)
