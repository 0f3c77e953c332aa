"""Employee requests: asked for (by hr on an employee's behalf, or by the employee's app), then
approved, rejected or cancelled — each step audited, a decision announced in its own transaction.

Approval stores the request's effect through the service that owns it, never beside it: a
missed punch becomes a manual punch through `collector.corrections` (so the one ingest), leave
and business trips a leave entry through `collector.workforce.leave`, a shift swap two roster
day entries through `collector.workforce.rosters`. Overtime is kept as approved minutes for the
day, which reports read (`approved_overtime`). The state changes by one conditional UPDATE, so
two deciders racing cannot both apply a request: the second gets a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from collector import corrections
from collector.audit import record
from collector.days.roster_book import RosterBook
from collector.errors import Conflict, InvalidInput
from collector.masterdata.scope import Scope
from collector.normalize import NormalizePolicy, zone
from collector.outbound.events import Event, EventType, emit
from collector.store.ingest import mark_dirty
from collector.store.models import (
    Department,
    Employee,
    EmployeeRequest,
    Policy,
    PolicyAssignment,
    Site,
)
from collector.workforce import leave as leave_service
from collector.workforce import rosters
from rules.leavetypes import LeavePart
from rules.requests import (
    COUNTED,
    NO_RULES,
    RequestAction,
    RequestKind,
    RequestRules,
    RequestState,
    TransitionRefused,
    next_state,
)
from rules.schema import PolicyError, parse_document
from rules.vocabulary import PunchState

MAX_OVERTIME_MIN = 16 * 60  # one day's pre-approved overtime is at most this long
LIST_LIMIT = 500  # a list answers at most this many requests
PUNCH_STATES = (PunchState.IN, PunchState.OUT, PunchState.BREAK_OUT, PunchState.BREAK_IN)
LEAVE_KINDS = (RequestKind.LEAVE, RequestKind.BUSINESS_TRIP)
KEY_FIELD = "idempotency_key"  # in details: the key the requester's retries carry


@dataclass(frozen=True, slots=True)
class RequestInput:
    """A request as asked for; which fields matter depends on the kind."""

    kind: RequestKind
    reason: str
    timestamp: datetime | None = None  # missed punch: when (naive: the employee's site time)
    state: str = ""  # missed punch: in, out, break_out, break_in
    leave_type: str = ""  # leave: a code of rules.leavetypes (business trips set their own)
    start_date: date | None = None  # leave, trip: first day; overtime, swap: the day
    end_date: date | None = None  # leave, trip: last day (inclusive)
    part: str = LeavePart.FULL.value  # leave, trip: full, am, pm, hours
    start_time: str = ""  # leave by the hour: "HH:MM"
    end_time: str = ""
    minutes: int = 0  # overtime: how much is approved in advance
    other_employee_id: int | None = None  # swap: whom the shifts are exchanged with


def create_request(
    session: Session,
    *,
    employee: Employee,
    data: RequestInput,
    actor: str,
    now: datetime,
    scope: Scope,
    policy: NormalizePolicy,
    idempotency_key: str | None = None,
) -> EmployeeRequest:
    """Record a pending request after checking it and the policy's monthly limit (audited).

    With an `idempotency_key`, a request the employee already made with that key is returned
    as it is instead of a second one (the app resends a form it got no answer for).
    """
    reason = data.reason.strip()
    if not reason:
        raise InvalidInput("a request needs a reason", field="reason")
    if employee.deleted_at is not None:
        raise InvalidInput("a deleted employee cannot make requests", field="employee_id")
    # Two requests of one employee at once take turns (the limit and the key are checked
    # against what the other committed).
    _serialise(session, employee)
    if idempotency_key is not None:
        found = _keyed(session, employee, idempotency_key)
        if found is not None:
            return found
    details, first, last, other = _checked(
        session, employee, data, now=now, scope=scope, policy=policy
    )
    _check_limit(session, employee.id, data.kind, first)
    row = EmployeeRequest(
        employee_id=employee.id,
        kind=data.kind.value,
        state=RequestState.PENDING.value,
        local_date=first,
        end_date=last,
        other_employee_id=None if other is None else other.id,
        details=details if idempotency_key is None else {**details, KEY_FIELD: idempotency_key},
        reason=reason,
        created_by=actor,
        created_at=now,
        comment="",
        outcome={},
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="request.create",
        entity="request",
        entity_id=row.id,
        now=now,
        reason=reason,
        details=describe(row),
    )
    return row


def _serialise(session: Session, employee: Employee) -> None:
    """Hold the employee's row until commit, so one employee's requests are made in turn.

    A no-op UPDATE takes its row lock on PostgreSQL and the write lock on SQLite (where
    SELECT … FOR UPDATE does nothing): two retries of one form, or two requests racing for
    the last one of a monthly limit, wait for the first to commit and then see it.
    """
    session.execute(
        update(Employee)
        .where(Employee.id == employee.id)
        .values(id=Employee.id)
        .execution_options(synchronize_session=False)
    )


def _keyed(session: Session, employee: Employee, key: str) -> EmployeeRequest | None:
    """The employee's request made with `key`, if any (the key lives in `details`; the
    lookup is per employee, so a key never returns another employee's request)."""
    return session.scalars(
        select(EmployeeRequest)
        .where(
            EmployeeRequest.employee_id == employee.id,
            EmployeeRequest.details[KEY_FIELD].as_string() == key,
        )
        .limit(1)
    ).first()


def _checked(
    session: Session,
    employee: Employee,
    data: RequestInput,
    *,
    now: datetime,
    scope: Scope,
    policy: NormalizePolicy,
) -> tuple[dict[str, Any], date, date, Employee | None]:
    """The kind's details as stored, the first and last day concerned, the swap partner."""
    kind = data.kind
    if kind is RequestKind.MISSED_PUNCH:
        if data.timestamp is None:
            raise InvalidInput("a missed punch needs its time", field="timestamp")
        try:
            state = PunchState(data.state)
        except ValueError:
            state = None
        if state not in PUNCH_STATES:
            raise InvalidInput(
                "the direction is one of in, out, break_out, break_in", field="state"
            )
        local = _local(session, employee, data.timestamp, policy)
        if local > now + policy.future_tolerance:
            raise InvalidInput("a missed punch cannot be in the future", field="timestamp")
        stamp = data.timestamp.isoformat()
        return {"timestamp": stamp, "state": state.value}, local.date(), local.date(), None
    if data.start_date is None:
        raise InvalidInput("give the day the request concerns", field="start_date")
    day = data.start_date
    if kind in LEAVE_KINDS:
        entry = _leave_input(data)
        _, end = entry.checked()
        details = {
            "leave_type": entry.leave_type,
            "start_date": day.isoformat(),
            "end_date": end.isoformat(),
            "part": entry.part,
            "start_time": entry.start_time,
            "end_time": entry.end_time,
        }
        return details, day, end, None
    if kind is RequestKind.OVERTIME:
        if not 0 < data.minutes <= MAX_OVERTIME_MIN:
            raise InvalidInput(
                f"overtime is between 1 and {MAX_OVERTIME_MIN} minutes", field="minutes"
            )
        return {"date": day.isoformat(), "minutes": data.minutes}, day, day, None
    if data.other_employee_id is None:
        raise InvalidInput("a swap names the other employee", field="other_employee_id")
    other = scope.employee(session, data.other_employee_id, field="other_employee_id")
    if other.id == employee.id or other.deleted_at is not None:
        raise InvalidInput("a swap is with another, current employee", field="other_employee_id")
    mine, theirs = planned_codes(session, employee.id, other.id, day)
    details = {"date": day.isoformat(), "code": mine, "other_code": theirs}
    return details, day, day, other


def _leave_input(data: RequestInput) -> leave_service.LeaveInput:
    assert data.start_date is not None
    leave_type = "business_trip" if data.kind is RequestKind.BUSINESS_TRIP else data.leave_type
    return leave_service.LeaveInput(
        leave_type=leave_type,
        start_date=data.start_date,
        end_date=data.end_date,
        part=data.part,
        start_time=data.start_time,
        end_time=data.end_time,
    )


def _local(session: Session, employee: Employee, at: datetime, policy: NormalizePolicy) -> datetime:
    """The time in the employee's site zone; a naive one is read as the site's wall time."""
    name = policy.default_timezone
    if employee.site_id is not None:
        site = session.get(Site, employee.site_id)
        name = site.timezone if site is not None else name
    if at.tzinfo is None:
        return at.replace(tzinfo=zone(name))
    return at.astimezone(zone(name))


def planned_codes(session: Session, first: int, second: int, day: date) -> tuple[str, str]:
    """The shift codes the roster plans for two employees on a day; InvalidInput if none."""
    book = RosterBook()
    book.load(session.connection(), [first, second], day, day)
    codes = []
    for emp in (first, second):
        roster = book.of(emp)
        planned = None if roster is None else roster.planned(day)
        if planned is None or planned[0] is None:
            raise InvalidInput(
                f"employee {emp} has no rostered shift on {day}: nothing to swap", field="date"
            )
        codes.append(planned[0])
    return codes[0], codes[1]


def rules_on(session: Session, employee_id: int, day: date) -> RequestRules:
    """What the policy in force for the employee on `day` says about requests."""
    row = session.execute(
        select(Policy.name, Policy.kind, Policy.document)
        .join(PolicyAssignment, PolicyAssignment.policy_id == Policy.id)
        .where(
            PolicyAssignment.employee_id == employee_id,
            PolicyAssignment.effective_from <= day,
            (PolicyAssignment.effective_to.is_(None)) | (PolicyAssignment.effective_to >= day),
        )
        .order_by(PolicyAssignment.effective_from.desc())
        .limit(1)
    ).first()
    if row is None:
        return NO_RULES
    try:
        doc = parse_document(row.kind, row.document)
    except PolicyError:  # validated when stored; a hand-edited one limits nothing
        return NO_RULES
    per_month = tuple(sorted(doc.requests.per_month.items()))
    return RequestRules(per_month, doc.requests.overtime_needs_approval)


def _check_limit(session: Session, employee_id: int, kind: RequestKind, day: date) -> None:
    rules = rules_on(session, employee_id, day)
    first = day.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    already = session.scalar(
        select(func.count(EmployeeRequest.id)).where(
            EmployeeRequest.employee_id == employee_id,
            EmployeeRequest.kind == kind.value,
            EmployeeRequest.local_date >= first,
            EmployeeRequest.local_date < after,
            EmployeeRequest.state.in_([s.value for s in COUNTED]),
        )
    )
    problem = rules.limit_problem(kind, already or 0)
    if problem is not None:
        raise Conflict(problem)


def decide(
    session: Session,
    *,
    request: EmployeeRequest,
    action: RequestAction,
    comment: str,
    actor: str,
    now: datetime,
    scope: Scope,
    policy: NormalizePolicy,
) -> EmployeeRequest:
    """Approve, reject or cancel a pending request; approval stores its effect (audited)."""
    try:
        new = next_state(RequestState(request.state), action)
    except TransitionRefused as exc:
        raise Conflict(str(exc)) from None
    claimed = session.execute(
        update(EmployeeRequest)
        .where(
            EmployeeRequest.id == request.id,
            EmployeeRequest.state == RequestState.PENDING.value,
        )
        .values(state=new.value, decided_by=actor, decided_at=now, comment=comment.strip())
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 1) != 1:
        raise Conflict(f"request {request.id} was decided meanwhile")
    session.refresh(request)
    if new is RequestState.APPROVED:
        request.outcome = _apply(session, request, actor=actor, now=now, scope=scope, policy=policy)
        session.flush()
    record(
        session,
        actor=actor,
        action=f"request.{action.value}",
        entity="request",
        entity_id=request.id,
        now=now,
        reason=request.comment or None,
        details={**describe(request), "outcome": request.outcome},
    )
    if new in (RequestState.APPROVED, RequestState.REJECTED):
        # In the decision's transaction: subscribers hear of it exactly when it holds.
        emit(session.connection(), [request_event(session, request)], now=now)
    return request


def _apply(
    session: Session,
    row: EmployeeRequest,
    *,
    actor: str,
    now: datetime,
    scope: Scope,
    policy: NormalizePolicy,
) -> dict[str, Any]:
    """Store what an approved request grants; returns what was stored."""
    kind = RequestKind(row.kind)
    employee = scope.employee(session, row.employee_id)
    d = row.details
    why = f"request #{row.id}: {row.reason}"
    if kind is RequestKind.MISSED_PUNCH:
        punch, _ = corrections.add_punch(
            session,
            employee_id=employee.id,
            timestamp=datetime.fromisoformat(d["timestamp"]),
            state=PunchState(d["state"]),
            reason=why,
            actor=actor,
            now=now,
            policy=policy,
            scope=scope,
            # One request, one punch: the key makes a replayed approval find the same punch.
            idempotency_key=f"request-{row.id}",
        )
        return {"punch_id": punch.id}
    if kind in LEAVE_KINDS:
        entry = leave_service.LeaveInput(
            leave_type=d["leave_type"],
            start_date=date.fromisoformat(d["start_date"]),
            end_date=date.fromisoformat(d["end_date"]),
            part=d["part"],
            start_time=d["start_time"],
            end_time=d["end_time"],
            note=why,
        )
        leave = leave_service.add_leave(
            session, employee=employee, data=entry, actor=actor, now=now, source="request"
        )
        return {"leave_id": leave.id}
    if kind is RequestKind.OVERTIME:
        # A policy counting only approved overtime reads it when the day is recomputed.
        if row.local_date <= now.date() + timedelta(days=1):
            mark_dirty(session.connection(), {(employee.id, row.local_date)})
        return {"minutes": d["minutes"]}
    assert row.other_employee_id is not None
    other = scope.employee(session, row.other_employee_id)
    day = row.local_date
    # The roster as it stands now, not as it stood when the swap was asked for.
    mine, theirs = planned_codes(session, employee.id, other.id, day)
    note = f"swap with {{}} (request #{row.id})"
    rosters.set_day(session, employee=employee, day=day, code=theirs, note=note.format(other.code))
    rosters.set_day(session, employee=other, day=day, code=mine, note=note.format(employee.code))
    return {"code": theirs, "other_code": mine}


def list_requests(
    session: Session,
    *,
    scope: Scope,
    state: RequestState | None = None,
    kind: RequestKind | None = None,
    department: str | None = None,
    employee_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = LIST_LIMIT,
) -> list[EmployeeRequest]:
    """Requests of the employees the scope sees, oldest first, by the filters given."""
    R = EmployeeRequest
    query = select(R).join(Employee, Employee.id == R.employee_id)
    if state is not None:
        query = query.where(R.state == state.value)
    if kind is not None:
        query = query.where(R.kind == kind.value)
    if department is not None:
        query = query.join(Department, Department.id == Employee.department_id).where(
            Department.code == department
        )
    if employee_id is not None:
        query = query.where(R.employee_id == employee_id)
    if start is not None:
        query = query.where(R.end_date >= start)
    if end is not None:
        query = query.where(R.local_date <= end)
    query = _visible(scope.restrict(query), scope)
    return list(session.scalars(query.order_by(R.id).limit(limit)))


def _visible(query: Any, scope: Scope) -> Any:
    # A swap across departments belongs to both: only an unscoped caller sees it.
    if scope.everyone:
        return query
    R = EmployeeRequest
    return query.where(
        R.other_employee_id.is_(None) | R.other_employee_id.in_(scope.employee_ids())
    )


def pending_count(session: Session, *, scope: Scope) -> int:
    """How many requests the scope sees wait for a decision (the navigation's count)."""
    R = EmployeeRequest
    query = (
        select(func.count(R.id))
        .join(Employee, Employee.id == R.employee_id)
        .where(R.state == RequestState.PENDING.value)
    )
    return session.scalar(_visible(scope.restrict(query), scope)) or 0


def pending_in(session: Session, *, employee_ids: list[int], start: date, end: date) -> list[Any]:
    """Pending requests of these employees touching [start, end]: (id, employee, kind, day)."""
    R = EmployeeRequest
    out: list[Any] = []
    for i in range(0, len(employee_ids), 500):
        chunk = employee_ids[i : i + 500]
        out += session.execute(
            select(R.id, R.employee_id, R.kind, R.local_date)
            .where(
                R.state == RequestState.PENDING.value,
                R.employee_id.in_(chunk),
                R.local_date <= end,
                R.end_date >= start,
            )
            .order_by(R.local_date, R.id)
        ).all()
    return sorted(out, key=lambda r: (r.local_date, r.id))


def approved_overtime(
    session: Session, *, employee_ids: list[int], start: date, end: date
) -> dict[tuple[int, date], int]:
    """Minutes of overtime approved in advance per (employee, day) in [start, end]."""
    R = EmployeeRequest
    out: dict[tuple[int, date], int] = {}
    rows = session.execute(
        select(R.employee_id, R.local_date, R.details).where(
            R.kind == RequestKind.OVERTIME.value,
            R.state == RequestState.APPROVED.value,
            R.employee_id.in_(employee_ids),
            R.local_date >= start,
            R.local_date <= end,
        )
    )
    for emp, day, details in rows:
        out[(emp, day)] = out.get((emp, day), 0) + int(details.get("minutes", 0))
    return out


def describe(row: EmployeeRequest) -> dict[str, Any]:
    """A request as the audit log records it."""
    return {
        "employee_id": row.employee_id,
        "kind": row.kind,
        "state": row.state,
        "date": row.local_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "other_employee_id": row.other_employee_id,
        "details": row.details,
    }


def asked(row: EmployeeRequest) -> dict[str, Any]:
    """What was asked, without the requester's retry key (between its app and this service)."""
    return {k: v for k, v in row.details.items() if k != KEY_FIELD}


def request_event(session: Session, row: EmployeeRequest) -> Event:
    """request.decided: a request was approved or rejected, with what approval stored."""
    employee = session.get(Employee, row.employee_id)
    other = None if row.other_employee_id is None else session.get(Employee, row.other_employee_id)
    code = "" if employee is None else employee.code
    data = {
        "request_id": row.id,
        "kind": row.kind,
        "state": row.state,
        "employee_code": code,
        "other_employee_code": None if other is None else other.code,
        "date": row.local_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "details": asked(row),
        "reason": row.reason,
        "decided_by": row.decided_by,
        "comment": row.comment,
        "outcome": row.outcome,
    }
    return Event(EventType.REQUEST_DECIDED, data, code)
