"""Schemas of leave entries, leave types and yearly quotas."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from collector.store.models import Leave
from collector.workforce.leave import LeaveInput, QuotaLine
from rules.leavetypes import LeaveType

Part = Literal["full", "am", "pm", "hours"]
Clock = Field(default="", pattern=r"^(\d{2}:\d{2})?$", description="HH:MM, for part=hours")


class LeaveWrite(BaseModel):
    """A leave entry as HR enters or changes it."""

    model_config = ConfigDict(extra="forbid")
    leave_type: str = Field(max_length=32, description="annual, sick, unpaid, compensatory, …")
    start_date: date
    end_date: date | None = Field(default=None, description="inclusive; default: start_date")
    part: Part = "full"
    start_time: str = Clock
    end_time: str = Clock
    note: str = Field(default="", max_length=500)

    def data(self) -> LeaveInput:
        """The service's input."""
        return LeaveInput(**self.model_dump())


class LeavePublic(BaseModel):
    """A stored leave entry."""

    id: int
    employee_id: int
    leave_type: str
    start_date: date
    end_date: date
    part: str
    start_time: str
    end_time: str
    note: str
    source: str
    created_by: str

    @classmethod
    def of(cls, row: Leave) -> LeavePublic:
        """The public form of a stored entry."""
        return cls.model_validate(row, from_attributes=True)


class LeaveTypePublic(BaseModel):
    """A leave type and how the day engine treats it."""

    code: str
    name: str
    name_zh: str
    target: str  # reduce, keep (drawn from the balance) or credit (counts as worked)
    counts_as_worked: bool
    punches_expected: bool
    paid: bool
    punch_anywhere: bool

    @classmethod
    def of(cls, t: LeaveType) -> LeaveTypePublic:
        """The public form of a type."""
        return cls.model_validate(t, from_attributes=True)


class QuotaWrite(BaseModel):
    """A yearly quota in days."""

    model_config = ConfigDict(extra="forbid")
    days: float = Field(ge=0, le=366)


class QuotaPublic(BaseModel):
    """One leave type's year: quota, taken, remaining (days)."""

    leave_type: str
    year: int
    quota_days: float | None
    taken_days: float
    remaining_days: float | None

    @classmethod
    def of(cls, q: QuotaLine) -> QuotaPublic:
        """The public form of a quota line."""
        return cls.model_validate(q, from_attributes=True)
