"""Schemas of the JSON form of reports."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class ReportPublic(BaseModel):
    """A report as JSON: its name, parameters, column order and rows."""

    report: str
    meta: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]


class EmployeeDayPublic(BaseModel):
    """An employee's day: the punches, the policy in force and the explained result."""

    employee_id: int
    employee_code: str
    name: str
    date: date
    timezone: str
    policy: dict[str, Any] | None
    result: dict[str, Any]
    punches: list[dict[str, Any]]
