"""The demo's generated office: people, days and hours a reader would believe."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from collector.demo.seed import Walkers, demo_employees, door_day, working_day

# Berlin's public holidays of 2026 that fall on a weekday.
HOLIDAYS = {
    date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14),
    date(2026, 5, 25), date(2026, 12, 25),
}  # fmt: skip


def test_demo_people_have_distinct_names():
    names = [e.name for e in demo_employees()]
    assert len(names) == 20 == len(set(names))
    assert len({n.split()[0] for n in names}) == 20  # not the same few first names again


def test_a_year_of_door_days_keeps_office_hours_and_rest_days():
    day, late = date(2026, 1, 1), 0
    while day.year == 2026:
        people = door_day(day)
        if day.weekday() >= 5 or day in HOLIDAYS:
            assert people == [], day  # weekends and Berlin's public holidays are not worked
        else:
            assert working_day(day) and 15 <= len(people) <= 20, day  # now and then one is off
        for code, arrive, leave in people:
            assert time(7) <= arrive.time() < leave.time() <= time(20), (code, arrive, leave)
            assert timedelta(hours=6) < leave - arrive < timedelta(hours=11), (code, day)
            late += int(code) % 2 == 0 and arrive.time() > time(9, 5)  # day shift, past grace
        day += timedelta(days=1)
    assert 0 < late < 0.2 * 10 * 250  # some late arrivals, on purpose, not most of them


def test_walkers_alternate_in_and_out_and_rest_out_of_hours():
    walkers = Walkers(["1001"])
    monday = datetime(2026, 11, 30, 10, 0)
    assert [walkers.next_punch(monday) for _ in range(3)] == [("1001", 0), ("1001", 1), ("1001", 0)]
    assert walkers.next_punch(datetime(2026, 11, 30, 22, 0)) is None
    assert walkers.next_punch(datetime(2026, 11, 29, 10, 0)) is None  # a Sunday
