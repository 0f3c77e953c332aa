"""Pure attendance rules: policies as data, day evaluation and period statements."""

from rules.calendar import Calendar, site_calendar
from rules.evaluate import DayResult, Punch, evaluate_day
from rules.period import BalanceStatement, PeriodResult, evaluate_period
from rules.policy import Policy, PolicyKind
from rules.schema import PolicyError, load_policy

__all__ = [
    "BalanceStatement",
    "Calendar",
    "DayResult",
    "PeriodResult",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "Punch",
    "evaluate_day",
    "evaluate_period",
    "load_policy",
    "site_calendar",
]
