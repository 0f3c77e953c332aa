"""The request state machine and the request limits of a policy document, as tables."""

from __future__ import annotations

import itertools

import pytest

from rules.requests import (
    NO_RULES,
    TRANSITIONS,
    RequestAction,
    RequestKind,
    RequestRules,
    RequestState,
    TransitionRefused,
    cap_overtime,
    next_state,
)
from rules.schema import PolicyError, load_policy
from tests.rules.helpers import FLEX_DOC

P, A, R, C = (
    RequestState.PENDING,
    RequestState.APPROVED,
    RequestState.REJECTED,
    RequestState.CANCELLED,
)
EXPECTED = {
    (P, RequestAction.APPROVE): A,
    (P, RequestAction.REJECT): R,
    (P, RequestAction.CANCEL): C,
}


@pytest.mark.parametrize(("state", "action"), list(itertools.product(RequestState, RequestAction)))
def test_every_state_and_action(state, action):
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(TransitionRefused, match=f"is {state.value} cannot be"):
            next_state(state, action)
    else:
        assert next_state(state, action) is expected


def test_only_pending_requests_move_and_every_end_state_is_reached():
    assert {s for s, _ in TRANSITIONS} == {P}
    assert set(TRANSITIONS.values()) == {A, R, C}


@pytest.mark.parametrize(
    ("limits", "kind", "already", "refused"),
    [
        ({}, RequestKind.MISSED_PUNCH, 50, False),
        ({"missed_punch": 3}, RequestKind.MISSED_PUNCH, 2, False),
        ({"missed_punch": 3}, RequestKind.MISSED_PUNCH, 3, True),
        ({"missed_punch": 3}, RequestKind.LEAVE, 9, False),
        ({"missed_punch": 0}, RequestKind.MISSED_PUNCH, 0, True),
        ({"shift_swap": 1}, RequestKind.SHIFT_SWAP, 1, True),
    ],
)
def test_limits_from_the_policy_document(limits, kind, already, refused):
    policy = load_policy("p", "flexitime", {**FLEX_DOC, "requests": {"per_month": limits}})
    problem = policy.requests.limit_problem(kind, already)
    assert (problem is not None) is refused
    if refused:
        assert f"{already} already this month" in str(problem)


def test_a_policy_without_the_section_limits_nothing():
    policy = load_policy("p", "flexitime", FLEX_DOC)
    assert policy.requests == NO_RULES
    assert not policy.requests.overtime_needs_approval


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"per_month": {"missed_punch": -1}}, "cannot be negative"),
        ({"per_month": {"coffee": 2}}, "requests.per_month.coffee"),
        ({"per_mnth": {}}, "requests.per_mnth"),
        ({"overtime_needs_approval": "sometimes"}, "requests.overtime_needs_approval"),
    ],
)
def test_an_invalid_requests_section_is_refused(section, message):
    with pytest.raises(PolicyError, match=message):
        load_policy("p", "flexitime", {**FLEX_DOC, "requests": section})


def test_overtime_needs_approval_is_read():
    doc = {**FLEX_DOC, "requests": {"overtime_needs_approval": True}}
    assert load_policy("p", "flexitime", doc).requests == RequestRules(
        per_month=(), overtime_needs_approval=True
    )


@pytest.mark.parametrize(
    ("overtime", "approved", "kept", "dropped"),
    [
        ({"regular": 3600}, 0, {}, 3600),
        ({"regular": 3600}, 1800, {"regular": 1800}, 1800),
        ({"regular": 3600}, 7200, {"regular": 3600}, 0),
        ({"holiday": 3600, "regular": 600}, 1200, {"regular": 600, "holiday": 600}, 3000),
        ({}, 600, {}, 0),
    ],
)
def test_only_approved_overtime_counts(overtime, approved, kept, dropped):
    assert cap_overtime(overtime, approved) == (kept, dropped)
