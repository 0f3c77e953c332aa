"""Holiday calendars with make-up working days (调休补班), checked against China's 2026 notice.

The State Council's notice of 2025-11-04 (国务院办公厅关于2026年部分节假日安排的通知): New Year
Jan 1–3 off, Sun Jan 4 worked; Spring Festival Feb 15–23 off, Sat Feb 14 and Sat Feb 28
worked; Labour Day May 1–5 off, Sat May 9 worked; National Day Oct 1–7 off, Sun Sep 20 and
Sat Oct 10 worked. The `holidays` library carries them (holidays.China, `weekend_workdays`).
"""

from __future__ import annotations

from datetime import date

import pytest

from rules import PolicyError, evaluate_day, load_policy, site_calendar
from rules.plan import DayKind, day_plan
from tests.rules.helpers import FIXED_DOC, LATER, H, doc

CN = site_calendar("Asia/Shanghai", "CN")
OFFICE = doc(FIXED_DOC, target_min={"mon": 480, "tue": 480, "wed": 480, "thu": 480, "fri": 360})


def office(**changes):
    return load_policy("office", "fixed", doc(OFFICE, **changes))


CHINA_2026 = [
    ("2026-01-01", DayKind.HOLIDAY),
    ("2026-01-02", DayKind.HOLIDAY),  # the Friday moved onto Sun Jan 4
    ("2026-01-03", DayKind.REST),
    ("2026-01-04", DayKind.WORK),  # Sunday worked
    ("2026-02-14", DayKind.WORK),  # Saturday worked
    ("2026-02-15", DayKind.REST),
    ("2026-02-16", DayKind.HOLIDAY),
    ("2026-02-17", DayKind.HOLIDAY),
    ("2026-02-18", DayKind.HOLIDAY),
    ("2026-02-19", DayKind.HOLIDAY),
    ("2026-02-20", DayKind.HOLIDAY),  # substituted from Feb 14
    ("2026-02-21", DayKind.REST),
    ("2026-02-22", DayKind.REST),
    ("2026-02-23", DayKind.HOLIDAY),  # substituted from Feb 28
    ("2026-02-24", DayKind.WORK),
    ("2026-02-28", DayKind.WORK),  # Saturday worked
    ("2026-03-01", DayKind.REST),
    ("2026-05-01", DayKind.HOLIDAY),
    ("2026-05-05", DayKind.HOLIDAY),
    ("2026-05-09", DayKind.WORK),  # Saturday worked
    ("2026-09-20", DayKind.WORK),  # Sunday worked
    ("2026-10-07", DayKind.HOLIDAY),
    ("2026-10-10", DayKind.WORK),  # Saturday worked
    ("2026-10-11", DayKind.REST),
]


@pytest.mark.parametrize(("day", "kind"), CHINA_2026, ids=[c[0] for c in CHINA_2026])
def test_china_2026_holidays_and_make_up_working_days(day, kind):
    assert day_plan(office(), CN, date.fromisoformat(day)).kind is kind


def test_a_make_up_saturday_is_worked_like_the_day_it_makes_up_for():
    # Feb 14 makes up for Fri Feb 20: Friday's 6 h target, not Monday's 8 h.
    plan = day_plan(office(), CN, date(2026, 2, 14))
    assert plan.target_s == 6 * H
    assert plan.makeup == "make-up working day for the day off on 2026-02-20"
    r = evaluate_day(office(), date(2026, 2, 14), [], CN, LATER)
    assert r.status.value == "absent"
    assert r.explanation[0].text == (
        "working day: make-up working day for the day off on 2026-02-20 (调休补班)"
    )


def test_without_public_holidays_the_region_moves_no_days():
    policy = office(calendar={"public_holidays": False})
    assert day_plan(policy, CN, date(2026, 2, 14)).kind is DayKind.REST
    assert day_plan(policy, CN, date(2026, 2, 17)).kind is DayKind.WORK


def test_the_company_adds_its_own_working_day():
    policy = office(calendar={"company_workdays": [{"date": "2026-03-07", "name": "stocktake"}]})
    plan = day_plan(policy, CN, date(2026, 3, 7))
    assert (plan.kind, plan.makeup, plan.target_s) == (DayKind.WORK, "stocktake", 8 * H)
    assert day_plan(office(), CN, date(2026, 3, 7)).kind is DayKind.REST


def test_a_region_without_make_up_days_has_none():
    berlin = site_calendar("Europe/Berlin", "DE", "BE")
    assert berlin.makeup_workday(date(2026, 2, 14)) is None
    assert site_calendar("UTC").makeup_workday(date(2026, 2, 14)) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "calendar": {
                    "company_holidays": [{"date": "2026-03-07"}],
                    "company_workdays": [{"date": "2026-03-07"}],
                }
            },
            "both a company holiday and a company working day",
        ),
        ({"half_day_leave": {"am_end": "14:00", "pm_start": "13:00"}}, "morning end 14:00"),
        ({"half_day_leave": {"am_end": "25:00"}}, "not a time of day"),
    ],
)
def test_impossible_calendar_and_half_day_settings_are_refused(changes, message):
    with pytest.raises(PolicyError, match=message):
        office(**changes)
