"""Pay cycles cut the calendar into periods that tile it: table tests and a property."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.payperiod import CycleError, CycleKind, PayCycle

MONTHLY_26 = PayCycle(CycleKind.MONTHLY, 26)
SEMI = PayCycle(CycleKind.SEMI_MONTHLY, 1)
WEEKLY = PayCycle(CycleKind.WEEKLY, anchor=date(2026, 1, 5))
BIWEEKLY = PayCycle(CycleKind.BIWEEKLY, anchor=date(2026, 1, 5))


@pytest.mark.parametrize(
    ("cycle", "day", "period"),
    [
        (MONTHLY_26, date(2026, 11, 30), (date(2026, 11, 26), date(2026, 12, 25))),
        (MONTHLY_26, date(2026, 11, 25), (date(2026, 10, 26), date(2026, 11, 25))),
        (MONTHLY_26, date(2027, 1, 3), (date(2026, 12, 26), date(2027, 1, 25))),
        (PayCycle(CycleKind.MONTHLY), date(2028, 2, 29), (date(2028, 2, 1), date(2028, 2, 29))),
        (SEMI, date(2026, 2, 15), (date(2026, 2, 1), date(2026, 2, 15))),
        (SEMI, date(2026, 2, 16), (date(2026, 2, 16), date(2026, 2, 28))),
        (SEMI, date(2026, 12, 31), (date(2026, 12, 16), date(2026, 12, 31))),
        (WEEKLY, date(2026, 1, 4), (date(2025, 12, 29), date(2026, 1, 4))),
        (WEEKLY, date(2026, 11, 30), (date(2026, 11, 30), date(2026, 12, 6))),
        (BIWEEKLY, date(2026, 1, 18), (date(2026, 1, 5), date(2026, 1, 18))),
        (BIWEEKLY, date(2026, 1, 19), (date(2026, 1, 19), date(2026, 2, 1))),
    ],
)
def test_a_day_falls_in_the_period_payroll_expects(cycle, day, period):
    assert cycle.period_of(day) == period


@pytest.mark.parametrize(
    ("kind", "start_day", "anchor"),
    [
        (CycleKind.MONTHLY, 29, None),
        (CycleKind.SEMI_MONTHLY, 14, None),
        (CycleKind.WEEKLY, 1, None),
    ],
)
def test_a_cycle_that_cannot_cut_every_month_is_refused(kind, start_day, anchor):
    with pytest.raises(CycleError):
        PayCycle(kind, start_day, anchor)


CYCLES = st.one_of(
    st.builds(PayCycle, st.just(CycleKind.MONTHLY), st.integers(1, 28)),
    st.builds(PayCycle, st.just(CycleKind.SEMI_MONTHLY), st.integers(1, 13)),
    st.builds(
        PayCycle,
        st.sampled_from([CycleKind.WEEKLY, CycleKind.BIWEEKLY]),
        st.just(1),
        st.dates(date(2000, 1, 1), date(2050, 1, 1)),
    ),
)


@given(CYCLES, st.dates(date(2001, 1, 1), date(2049, 1, 1)))
def test_periods_tile_the_calendar(cycle, day):
    start, end = cycle.period_of(day)
    assert start <= day <= end
    assert cycle.is_start(start) and not cycle.is_start(start + timedelta(days=1))
    nxt_start, _ = cycle.next_period(start)
    assert nxt_start == end + timedelta(days=1)
    assert cycle.period_of(start - timedelta(days=1))[1] == start - timedelta(days=1)
    assert 7 <= (end - start).days + 1 <= 31
