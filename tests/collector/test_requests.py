"""The request service: a stale decider loses the race, the swap partner is scoped, limits count."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from collector.errors import Conflict, NotFound
from collector.masterdata.scope import Scope
from collector.normalize import NormalizePolicy
from collector.store.models import Department, Employee, EmployeeRequest, Punch
from collector.workforce.requests import RequestInput, create_request, decide
from rules.requests import RequestAction, RequestKind
from tests.collector.test_days import TUE, setup_office
from tests.factories import add_employee

POLICY = NormalizePolicy()
MISSED = RequestInput(
    RequestKind.MISSED_PUNCH, "forgot", timestamp=datetime(2026, 11, 24, 9, 5), state="in"
)


def test_a_decider_holding_a_stale_request_cannot_apply_it_again(store, now):
    emp, _ = setup_office(store, now)
    with store.sessions.begin() as s:
        made = create_request(
            s,
            employee=s.get_one(Employee, emp),
            data=MISSED,
            actor="hr",
            now=now,
            scope=Scope(),
            policy=POLICY,
        ).id
    slow = store.sessions()
    stale = slow.get_one(EmployeeRequest, made)  # read while still pending
    with store.sessions.begin() as s:
        decide(
            s,
            request=s.get_one(EmployeeRequest, made),
            action=RequestAction.APPROVE,
            comment="first",
            actor="hr:a",
            now=now,
            scope=Scope(),
            policy=POLICY,
        )
    with pytest.raises(Conflict, match="decided meanwhile"):
        decide(
            slow,
            request=stale,
            action=RequestAction.APPROVE,
            comment="second",
            actor="hr:b",
            now=now,
            scope=Scope(),
            policy=POLICY,
        )
    slow.rollback()
    slow.close()
    with store.sessions() as s:
        manual = s.scalars(select(Punch).where(Punch.source_kind == "manual")).all()
        row = s.get_one(EmployeeRequest, made)
    assert len(manual) == 1 and (row.decided_by, row.comment) == ("hr:a", "first")


def test_a_swap_partner_outside_the_scope_is_not_found(store, now):
    with store.sessions.begin() as s:
        ops, eng = Department(code="OPS", name="Ops"), Department(code="ENG", name="Eng")
        s.add_all([ops, eng])
        s.flush()
        mine = add_employee(s, "7001", now, department_id=ops.id)
        theirs = add_employee(s, "7002", now, department_id=eng.id)
        with pytest.raises(NotFound, match="no employee"):
            create_request(
                s,
                employee=mine,
                data=RequestInput(
                    RequestKind.SHIFT_SWAP, "x", start_date=TUE, other_employee_id=theirs.id
                ),
                actor="hr",
                now=now,
                scope=Scope(ops.id),
                policy=POLICY,
            )
