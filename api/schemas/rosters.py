"""Schemas of shift types, patterns, roster assignments, roster days and the resolved roster."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.deps import RowId

SHIFT_CODE = r"^[^\s,;|/]{1,16}$"  # what a roster cell says (and a URL can carry)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ShiftTypeFields(_In):
    """A shift type's document: the fixed-shift `shift` table, or `rest` (see docs/rosters.md)."""

    name: str = Field(default="", max_length=100)
    rest: bool = False
    shift: dict[str, Any] | None = None  # start, end, grace_*_min, checkin_before_min, …
    target_min: int | None = Field(default=None, ge=0, le=1440)
    breaks: dict[str, Any] | None = None  # as a policy's [breaks]
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")


class ShiftTypeCreate(ShiftTypeFields):
    """A new shift type."""

    code: str = Field(pattern=SHIFT_CODE)


class ShiftTypePublic(_Out):
    """A shift type."""

    id: int
    code: str
    name: str
    document: dict[str, Any]


PatternKind = Literal["cycle", "weekly", "auto"]


class PatternCreate(_In):
    """A new pattern: codes as a list or "E E L L N N - -"."""

    name: str = Field(min_length=1, max_length=100)
    kind: PatternKind
    codes: list[str] | str
    anchor: date | None = None  # the cycle's first day


class PatternUpdate(_In):
    """Fields of a pattern to change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: PatternKind | None = None
    codes: list[str] | str | None = None
    anchor: date | None = None


class PatternPublic(_Out):
    """A pattern."""

    id: int
    name: str
    kind: str
    codes: list[str]
    anchor: date | None


class RosterAssignmentCreate(_In):
    """A pattern from a date (to an optional last date)."""

    pattern_id: RowId
    effective_from: date
    effective_to: date | None = None


class RosterAssignmentPublic(_Out):
    """A pattern assigned to an employee or a department."""

    id: int
    pattern_id: int
    employee_id: int | None
    department_id: int | None
    effective_from: date
    effective_to: date | None


class RosterDaySet(_In):
    """An explicit roster entry: a shift code or a rest code."""

    code: str = Field(pattern=SHIFT_CODE)
    note: str = Field(default="", max_length=200)


class RosterDayPublic(_Out):
    """An explicit roster entry."""

    employee_id: int
    local_date: date
    code: str
    note: str


class RosterCell(BaseModel):
    """One date of the resolved roster."""

    date: date
    code: str | None  # None: nothing rostered (the policy's own shift), or an auto day
    source: str | None  # day_entry, employee_pattern, department_pattern, auto
    pattern: str | None
    rest: bool


class RosterRow(BaseModel):
    """One employee's resolved roster."""

    employee_id: int
    code: str
    name: str
    days: list[RosterCell]
