"""Schemas of employee requests: asking, deciding, and the stored request."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from collector.store.models import EmployeeRequest
from collector.workforce.requests import MAX_OVERTIME_MIN, RequestInput
from rules.requests import RequestKind, RequestState

Clock = Field(default="", pattern=r"^(\d{2}:\d{2})?$", description="HH:MM, for part=hours")


class RequestWrite(BaseModel):
    """A request HR enters for an employee; the fields a kind needs are listed with each."""

    model_config = ConfigDict(extra="forbid")
    kind: RequestKind
    reason: str = Field(min_length=1, max_length=2000, description="the employee's words")
    timestamp: datetime | None = Field(
        default=None, description="missed_punch: when (without an offset: the site's time)"
    )
    state: Literal["in", "out", "break_out", "break_in", ""] = Field(
        default="", description="missed_punch: the direction"
    )
    leave_type: str = Field(default="", max_length=32, description="leave: annual, sick, …")
    start_date: date | None = Field(
        default=None, description="leave, business_trip: first day; overtime, shift_swap: the day"
    )
    end_date: date | None = Field(default=None, description="leave, business_trip: last day")
    part: Literal["full", "am", "pm", "hours"] = "full"
    start_time: str = Clock
    end_time: str = Clock
    minutes: int = Field(default=0, ge=0, le=MAX_OVERTIME_MIN, description="overtime: minutes")
    other_employee_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="shift_swap: the other employee's id"
    )

    def data(self) -> RequestInput:
        """The service's input."""
        return RequestInput(**self.model_dump())


class AppRequestWrite(BaseModel):
    """A request from the employee's app: for the phone's own employee (no employee field)."""

    model_config = ConfigDict(extra="forbid")
    idempotency_key: str = Field(
        pattern=r"^[0-9a-fA-F-]{32,36}$", description="a UUID per form; a retry resends it"
    )
    kind: Literal["missed_punch", "leave", "business_trip"]
    reason: str = Field(min_length=1, max_length=2000, description="the employee's words")
    timestamp: datetime | None = Field(
        default=None, description="missed_punch: the local date and time, without an offset"
    )
    state: Literal["in", "out", "break_out", "break_in", ""] = Field(
        default="", description="missed_punch: the direction"
    )
    leave_type: str = Field(default="", max_length=32, description="leave: annual, sick, …")
    start_date: date | None = Field(default=None, description="leave, business_trip: first day")
    end_date: date | None = Field(default=None, description="leave, business_trip: last day")
    part: Literal["full", "am", "pm"] = "full"

    def data(self) -> RequestInput:
        """The service's input."""
        fields = self.model_dump(exclude={"idempotency_key", "kind"})
        return RequestInput(kind=RequestKind(self.kind), **fields)


class Decision(BaseModel):
    """A decision's comment (optional)."""

    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=2000)


class RequestPublic(BaseModel):
    """A stored request, its state and what its approval stored."""

    id: int
    employee_id: int
    kind: RequestKind
    state: RequestState
    date: dt.date  # the (first) day it concerns
    end_date: dt.date
    other_employee_id: int | None
    details: dict[str, Any]
    reason: str
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str
    outcome: dict[str, Any]

    @classmethod
    def of(cls, row: EmployeeRequest) -> RequestPublic:
        """The public form of a stored request."""
        return cls(
            id=row.id,
            employee_id=row.employee_id,
            kind=RequestKind(row.kind),
            state=RequestState(row.state),
            date=row.local_date,
            end_date=row.end_date,
            other_employee_id=row.other_employee_id,
            details=row.details,
            reason=row.reason,
            created_by=row.created_by,
            created_at=row.created_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            comment=row.comment,
            outcome=row.outcome,
        )
