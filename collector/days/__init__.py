"""Attendance days kept current: effective-dated policies, dirty-day recomputation, close pass."""

from collector.days.assign import assign_policy, mark_assignment_days, mark_policy_days
from collector.days.context import Context
from collector.days.dirty import close_days, process_dirty, recompute_range
from collector.days.recompute import RecomputeResult, recompute
from collector.days.worker import DaysWorker

__all__ = [
    "Context",
    "DaysWorker",
    "RecomputeResult",
    "assign_policy",
    "close_days",
    "mark_assignment_days",
    "mark_policy_days",
    "process_dirty",
    "recompute",
    "recompute_range",
]
