"""Employee requests as data: their kinds, the approval state machine and the monthly limits.

A request starts `pending` and ends in exactly one of `approved`, `rejected` or `cancelled`;
nothing leaves an end state, so approving twice is refused rather than applied twice. Limits
are policy data (the optional `[requests]` section of a policy document), checked against the
requests an employee already has in the calendar month of the day a new one concerns.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class RequestKind(enum.StrEnum):
    """What an employee asks for."""

    MISSED_PUNCH = "missed_punch"  # 补卡: a punch the terminal never saw, added once approved
    LEAVE = "leave"  # 请假: a leave entry of a type, added once approved
    BUSINESS_TRIP = "business_trip"  # 出差: a leave entry of the business-trip type
    OVERTIME = "overtime"  # 加班: overtime approved in advance for a day
    SHIFT_SWAP = "shift_swap"  # 换班: two employees exchange their rostered shifts on a day


class RequestState(enum.StrEnum):
    """Where a request stands."""

    PENDING = "pending"  # waiting for hr or the department's manager
    APPROVED = "approved"  # decided yes: its effect (punch, leave, roster) is stored
    REJECTED = "rejected"  # decided no
    CANCELLED = "cancelled"  # withdrawn by the requester or hr before any decision


class RequestAction(enum.StrEnum):
    """What can be done to a request."""

    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"


# The whole state machine: from a state, by an action, to a state. Anything else is refused.
TRANSITIONS: Mapping[tuple[RequestState, RequestAction], RequestState] = MappingProxyType(
    {
        (RequestState.PENDING, RequestAction.APPROVE): RequestState.APPROVED,
        (RequestState.PENDING, RequestAction.REJECT): RequestState.REJECTED,
        (RequestState.PENDING, RequestAction.CANCEL): RequestState.CANCELLED,
    }
)
# Requests that count against a limit: what is asked or granted, not what was refused.
COUNTED = frozenset({RequestState.PENDING, RequestState.APPROVED})


class TransitionRefused(ValueError):
    """An action the state machine does not allow from the request's state."""


def next_state(state: RequestState, action: RequestAction) -> RequestState:
    """The state `action` leads to from `state`; TransitionRefused when it leads nowhere."""
    found = TRANSITIONS.get((state, action))
    if found is None:
        raise TransitionRefused(f"a request that is {state.value} cannot be {_past(action)}")
    return found


def _past(action: RequestAction) -> str:
    return {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}[action.value]


@dataclass(frozen=True, slots=True)
class RequestRules:
    """What a policy says about requests (all optional: no section, no limits)."""

    # at most so many requests of a kind per employee and calendar month (a kind absent: no limit)
    per_month: tuple[tuple[RequestKind, int], ...] = ()
    # overtime counts only when a request for the day was approved (reports tell the two apart)
    overtime_needs_approval: bool = False

    def limit_problem(self, kind: RequestKind, already: int) -> str | None:
        """Why one more request of `kind` is refused, given `already` this month; None if not."""
        limit = dict(self.per_month).get(kind)
        if limit is None or already < limit:
            return None
        return (
            f"at most {limit} {kind.value.replace('_', ' ')} request"
            f"{'' if limit == 1 else 's'} a month: {already} already this month"
        )


NO_RULES = RequestRules()


def cap_overtime(overtime: Mapping[str, int], approved_s: int) -> tuple[dict[str, int], int]:
    """A day's overtime limited to what was approved in advance, and the seconds left out.

    The approval is spent on the categories in order (regular, rest day, holiday), so a
    request for two hours covers two hours however the day's overtime is split.
    """
    kept: dict[str, int] = {}
    left = max(approved_s, 0)
    dropped = 0
    for cat in sorted(overtime, key=_order):
        seconds = overtime[cat]
        take = min(seconds, left)
        left -= take
        dropped += seconds - take
        if take:
            kept[cat] = take
    return kept, dropped


_CATEGORY_ORDER = ("regular", "rest_day", "holiday")


def _order(cat: str) -> tuple[int, str]:
    return (_CATEGORY_ORDER.index(cat) if cat in _CATEGORY_ORDER else len(_CATEGORY_ORDER), cat)


def approval_text(approved_s: int, dropped_s: int) -> str:
    """The explanation of a day whose policy counts only overtime approved in advance."""
    if not approved_s:
        return f"overtime needs approval in advance: none approved, {_hm(dropped_s)} not counted"
    if dropped_s:
        return (
            f"overtime approved in advance {_hm(approved_s)};"
            f" {_hm(dropped_s)} beyond it not counted"
        )
    return f"overtime approved in advance {_hm(approved_s)}; all of it counted"


def _hm(seconds: int) -> str:
    m = seconds // 60
    return f"{m // 60}:{m % 60:02d} h"
