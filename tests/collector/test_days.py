"""Attendance days kept current on the real store: recompute, provisional, assignments."""

from __future__ import annotations

import json
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from collector.config import apply_config, parse_config
from collector.days import DaysWorker, assign_policy, close_days, process_dirty, recompute_range
from collector.store.ingest import ingest_batch
from collector.store.models import AttendanceDay, Device, DirtyDay, Employee, Policy, Punch, Site
from rules.vocabulary import PunchState, SourceKind
from tests.factories import add_employee, raw_punch
from tests.rules.helpers import FIXED_DOC, FLEX_DOC, NIGHT_DOC

TUE = date(2026, 11, 24)
START = date(2026, 11, 2)


def setup_office(store, now, *, reported=True):
    """One Berlin site with a door terminal, employee 1001 under flexitime from 2 Nov."""
    with store.sessions.begin() as s:
        site = Site(code="hq", name="HQ", timezone="Europe/Berlin", country="DE", subdivision="BE")
        s.add(site)
        s.flush()
        s.add(
            Device(
                code="door-1",
                kind="zk",
                site_id=site.id,
                timezone="Europe/Berlin",
                reported_until=now if reported else None,
            )
        )
        emp = add_employee(s, "1001", now, site_id=site.id)
        flex = Policy(name="flex", kind="flexitime", document=FLEX_DOC, updated_at=now)
        fixed = Policy(name="fixed", kind="fixed", document=FIXED_DOC, updated_at=now)
        night = Policy(name="night", kind="fixed", document=NIGHT_DOC, updated_at=now)
        s.add_all([flex, fixed, night])
        s.flush()
        assign_policy(
            s, employee_id=emp.id, policy_id=flex.id, effective_from=START, today=now.date()
        )
        return emp.id, {"flex": flex.id, "fixed": fixed.id, "night": night.id}


def punches(store, now, *items, code="1001"):
    batch = [
        raw_punch(code, datetime.combine(day, time.fromisoformat(hhmm)), state=state)
        for day, hhmm, state in items
    ]
    return ingest_batch(store.engine, batch, now=now, policy=store.policy)


def day_row(store, emp, day):
    with store.sessions() as s:
        return s.scalar(
            select(AttendanceDay).where(
                AttendanceDay.employee_id == emp, AttendanceDay.local_date == day
            )
        )


def test_punches_become_days_with_absences_rest_days_and_explanations(store, now):
    emp, ids = setup_office(store, now)
    punches(store, now, (TUE, "10:12", 0), (TUE, "18:42", 1))
    result = process_dirty(store.engine, now=now)
    # The assignment marked 2–27 Nov; today (Friday 27th) is still open.
    assert result.written == 26 and result.provisional == 1
    row = day_row(store, emp, TUE)
    assert (row.status, row.late_s, row.worked_s, row.policy_id) == (
        "late",
        720,
        8 * 3600,
        ids["flex"],
    )
    assert row.first_in == datetime(2026, 11, 24, 9, 12, tzinfo=UTC)
    assert row.last_out == datetime(2026, 11, 24, 17, 42, tzinfo=UTC)
    assert row.provisional is False and row.target_s == 8 * 3600 and row.core_missed_s == 720
    texts = [d["text"] for d in row.explanation]
    assert "late 12 min: first in 10:12 > latest start 10:00; grace 0 min" in texts
    assert row.anomalies == ["core_hours_missed"]
    assert day_row(store, emp, date(2026, 11, 23)).status == "absent"
    assert day_row(store, emp, date(2026, 11, 22)).status == "rest_day"
    today = day_row(store, emp, date(2026, 11, 27))
    assert today.status == "provisional" and today.provisional
    with store.sessions() as s:
        assert s.scalar(select(DirtyDay).limit(1)) is None


def test_a_day_stays_provisional_until_every_feeding_device_reported_past_it(store, now):
    emp, _ = setup_office(store, now, reported=False)
    punches(store, now, (TUE, "08:00", 0), (TUE, "16:30", 1))
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    assert row.provisional and row.status == "provisional"
    assert row.worked_s == 8 * 3600  # the figures so far are there already
    assert row.closes_at == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # Berlin midnight
    # The door has synced up to 22:00 UTC: the window (to 23:00 UTC) is not covered yet.
    with store.engine.begin() as conn:
        conn.execute(
            update(Device).values(reported_until=datetime(2026, 11, 24, 22, 0, tzinfo=UTC))
        )
    assert close_days(store.engine, now=now) >= 1
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    assert row.provisional
    assert row.explanation[-2]["text"] == (
        "waiting for terminal door-1: it has reported only up to 2026-11-24 22:00 UTC;"
        " the day's window closes 2026-11-24 23:00 UTC"
    )
    with store.engine.begin() as conn:
        conn.execute(update(Device).values(reported_until=datetime(2026, 11, 25, 1, 0, tzinfo=UTC)))
    close_days(store.engine, now=now)
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    assert not row.provisional and row.status == "present"
    # A second door at the site that never reported holds the next recompute back again.
    with store.sessions.begin() as s:
        s.add(
            Device(
                code="door-2", kind="push", site_id=s.scalar(select(Site.id)), reported_until=None
            )
        )
    recompute_range(store.engine, TUE, TUE, now=now)
    assert day_row(store, emp, TUE).provisional


def test_an_effective_dated_change_recomputes_from_its_date(store, now):
    emp, ids = setup_office(store, now)
    mon, later = date(2026, 11, 9), date(2026, 11, 23)
    punches(
        store, now, (mon, "09:30", 0), (mon, "17:30", 1), (later, "09:30", 0), (later, "17:30", 1)
    )
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, later).late_s == 0  # flexitime: 09:30 is before 10:00
    with store.sessions.begin() as s:
        assign_policy(
            s,
            employee_id=emp,
            policy_id=ids["fixed"],
            effective_from=date(2026, 11, 16),
            today=now.date(),
        )
    process_dirty(store.engine, now=now)
    before, after = day_row(store, emp, mon), day_row(store, emp, later)
    assert (before.policy_id, before.late_s) == (ids["flex"], 0)
    assert (after.policy_id, after.late_s, after.status) == (ids["fixed"], 30 * 60, "late")
    # Ending the fixed-shift assignment leaves the days after it without a policy: removed.
    with store.sessions.begin() as s:
        assign_policy(
            s,
            employee_id=emp,
            policy_id=ids["fixed"],
            effective_from=date(2026, 11, 16),
            effective_to=date(2026, 11, 20),
            today=now.date(),
        )
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, later) is None
    assert day_row(store, emp, date(2026, 11, 20)).policy_id == ids["fixed"]


def test_a_changed_policy_document_recomputes_its_days(store, now):
    cfg: dict[str, Any] = {
        "sites": [
            {
                "code": "hq",
                "name": "HQ",
                "timezone": "Europe/Berlin",
                "country": "DE",
                "subdivision": "BE",
            }
        ],
        "policies": [{"name": "fixed", "kind": "fixed", "document": FIXED_DOC}],
        "employees": [
            {"code": "1001", "site": "hq", "policy": "fixed", "policy_from": "2026-11-16"}
        ],
    }
    with store.sessions.begin() as s:
        apply_config(s, parse_config(cfg), now=now)
    punches(store, now, (TUE, "09:20", 0), (TUE, "17:00", 1))
    process_dirty(store.engine, now=now)
    with store.sessions() as s:
        emp = s.scalar(select(Employee.id))
    assert day_row(store, emp, TUE).late_s == 20 * 60
    cfg["policies"][0]["document"] = {
        **FIXED_DOC,
        "shift": {**FIXED_DOC["shift"], "start": "09:30"},
    }
    with store.sessions.begin() as s:
        apply_config(s, parse_config(cfg), now=now + timedelta(minutes=5))
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    assert (row.late_s, row.status) == (0, "present")
    # Applying the same file again changes nothing and marks nothing.
    with store.sessions.begin() as s:
        apply_config(s, parse_config(cfg), now=now + timedelta(minutes=10))
    with store.sessions() as s:
        assert s.scalar(select(DirtyDay).limit(1)) is None


def test_the_morning_punch_of_a_night_shift_recomputes_the_evening_before(store, now):
    emp, ids = setup_office(store, now)
    with store.sessions.begin() as s:
        assign_policy(
            s, employee_id=emp, policy_id=ids["night"], effective_from=START, today=now.date()
        )
    mon = date(2026, 11, 23)
    punches(store, now, (mon, "22:00", 0))
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, mon).status == "incomplete"
    punches(store, now, (TUE, "06:00", 1))  # marks only 24 Nov dirty
    with store.sessions() as s:
        assert [d.local_date for d in s.scalars(select(DirtyDay))] == [TUE]
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, mon)
    assert (row.status, row.worked_s) == ("present", 8 * 3600)
    assert day_row(store, emp, TUE).status == "absent"  # its own shift starts 22:00 on the 24th


def test_a_void_stored_days_later_recomputes_the_voided_punch_day(store, now):
    emp, _ = setup_office(store, now)
    punches(store, now, (TUE, "08:00", 0), (TUE, "12:00", 1), (TUE, "16:30", 1))
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).worked_s == 4 * 3600
    with store.sessions() as s:
        wrong = s.scalar(
            select(Punch.id).where(Punch.occurred_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC))
        )
    void = raw_punch(
        "1001",
        datetime(2026, 11, 26, 9, 0),
        source_kind=SourceKind.MANUAL,
        state=PunchState.VOID,
        voids_punch_id=wrong,
        source_ref="hr-1",
        device_code=None,
    )
    ingest_batch(store.engine, [void], now=now, policy=store.policy)
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    assert row.worked_s == 8 * 3600 and row.anomalies == []
    assert any("cancelled by a void record" in d["text"] for d in row.explanation)


def test_worker_cycle_creates_absences_for_days_without_punches(store, now):
    emp, _ = setup_office(store, now)
    with store.engine.begin() as conn:
        conn.execute(delete(DirtyDay))
    worker = DaysWorker(store.engine, clock=lambda: now, lookback_days=3)
    assert worker.run_once() == 5  # 24–27 Nov, and the 28th already begun east of UTC
    assert day_row(store, emp, TUE).status == "absent"
    assert day_row(store, emp, date(2026, 11, 20)) is None  # outside the lookback
    assert worker.run_once() <= 2  # only still-open days come back


def test_inactive_days_are_not_kept(store, now):
    emp, _ = setup_office(store, now)
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, date(2026, 11, 25)) is not None
    with store.sessions.begin() as s:
        s.get(Employee, emp).active_to = TUE
    recompute_range(store.engine, START, now.date(), now=now)
    assert day_row(store, emp, TUE) is not None
    assert day_row(store, emp, date(2026, 11, 25)) is None


def test_cli_recomputes_a_range_for_one_employee(store, now, db_url, monkeypatch):
    from collector.cli import app

    emp, _ = setup_office(store, now)
    with store.sessions.begin() as s:
        add_employee(s, "1002", now)  # no policy: nothing computed for them
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", db_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    args = [
        "days",
        "recompute",
        "--from",
        "2026-11-16",
        "--to",
        "2026-11-22",
        "--employee",
        "1001",
        "--json",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["written"] == 7
    assert day_row(store, emp, date(2026, 11, 16)).status == "absent"
    bad = CliRunner().invoke(
        app,
        ["days", "recompute", "--from", "2026-11-16", "--to", "2026-11-22", "--employee", "nobody"],
    )
    assert bad.exit_code == 2


@pytest.mark.parametrize("lookback", [1, 5])
def test_close_pass_marks_only_assigned_active_days(store, now, lookback):
    setup_office(store, now)
    with store.engine.begin() as conn:
        conn.execute(delete(DirtyDay))
    marked = close_days(store.engine, now=now, lookback_days=lookback)
    assert marked == lookback + 2  # the lookback, today, and tomorrow in zones east of UTC


def test_worker_thread_starts_cycles_and_stops(store, now):
    setup_office(store, now)
    worker = DaysWorker(store.engine, clock=lambda: now, interval_s=0.05)
    worker.start()
    try:
        deadline = time_module.monotonic() + 10
        while worker.cycles < 2 and time_module.monotonic() < deadline:
            time_module.sleep(0.02)
    finally:
        worker.stop()
    assert worker.cycles >= 2 and not worker.failing
    with store.sessions() as s:
        assert s.scalar(select(AttendanceDay.id).limit(1)) is not None


def test_demo_assigns_both_policies_and_shows_lateness_and_balances(store, now):
    from collector.cli.demo import DEMO_CONFIG
    from collector.config import load_config
    from collector.demo.days import policy_start, seed_attendance
    from collector.demo.seed import add_employees

    with store.sessions.begin() as s:
        add_employees(s, load_config(DEMO_CONFIG), now, policy_start(now))
    assert seed_attendance(store, now).inserted > 0
    with store.sessions() as s:
        rows = s.scalars(select(AttendanceDay)).all()
        kinds = {p.id: p.kind for p in s.scalars(select(Policy))}
    assert {kinds[r.policy_id] for r in rows} == {"flexitime", "fixed"}
    assert any(r.late_s > 0 for r in rows)
    assert any(r.balance_delta_s != 0 for r in rows if kinds[r.policy_id] == "flexitime")
    assert all(r.balance_delta_s == 0 for r in rows if kinds[r.policy_id] == "fixed")


def test_a_punch_dated_in_another_zone_recomputes_the_site_day_it_falls_on(store, now):
    emp, _ = setup_office(store, now)
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, date(2026, 11, 25)).status == "absent"
    # Imported in UTC: 23:30 on the 24th UTC is 00:30 on the 25th in Berlin.
    batch = [raw_punch("1001", datetime(2026, 11, 24, 23, 30), tz="UTC", device_code=None)]
    ingest_batch(store.engine, batch, now=now, policy=store.policy)
    with store.sessions() as s:  # the mark names the UTC date only
        assert [d.local_date for d in s.scalars(select(DirtyDay))] == [TUE]
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, date(2026, 11, 25))
    assert row.first_in == datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert row.status == "incomplete"


def test_show_prints_the_period_statement_with_the_balance(store, now, db_url, monkeypatch):
    from collector.cli import app

    setup_office(store, now)
    punches(
        store,
        now,
        (TUE, "08:00", 0),
        (TUE, "17:30", 1),
        (date(2026, 11, 23), "10:30", 0),
        (date(2026, 11, 23), "18:30", 1),
    )
    process_dirty(store.engine, now=now)
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", db_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    args = [
        "days",
        "show",
        "--employee",
        "1001",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-26",
        "--opening-min",
        "60",
        "--json",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    st = json.loads(res.output.strip().splitlines()[-1])
    assert [d["status"] for d in st["days"]] == ["late", "present", "absent", "absent"]
    assert st["late_days"] == 1 and st["late_s"] == 30 * 60 and st["zone"] == "Europe/Berlin"
    # 23rd: 8 h − 30 min break = 7 h 30 (−30 min); 24th: 9 h 30 − 30 = 9 h (+1 h); two absences.
    assert st["balance"]["change_s"] == -30 * 60 + 3600 - 2 * 8 * 3600
    assert st["balance"]["closing_s"] == 3600 + st["balance"]["change_s"]
    text = CliRunner().invoke(app, args[:-1])
    assert text.exit_code == 0 and "balance: opening 1 h" in text.output
