"""Policy documents: valid ones load into frozen policies, impossible ones say why."""

from __future__ import annotations

import dataclasses

import pytest

from rules import PolicyError, load_policy
from rules.policy import DAY_S, OvertimeBasis, PairingMode
from tests.rules.helpers import FIXED_DOC, FLEX_DOC, NIGHT_DOC, doc


def test_flexitime_document_loads_in_seconds():
    p = load_policy("flex", "flexitime", FLEX_DOC)
    assert p.flex is not None and p.shift is None
    assert (p.flex.earliest_start_s, p.flex.latest_start_s) == (7 * 3600, 10 * 3600)
    assert p.flex.core[0] == ((10 * 3600, 16 * 3600),)
    assert p.targets == (28800,) * 5 + (0, 0)  # Sat/Sun are rest days by default
    assert p.breaks.deductions == ((6 * 3600, 1800), (9 * 3600, 2700))
    assert p.balance.enabled  # on by default for flexitime
    assert p.pairing.mode is PairingMode.BY_STATE
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]


def test_overnight_shift_ends_next_day():
    p = load_policy("night", "fixed", NIGHT_DOC)
    assert p.shift is not None and p.shift.end_s == DAY_S + 6 * 3600
    assert p.reaches_next_day and not p.reaches_previous_day
    assert not p.balance.enabled  # off by default for fixed shifts
    assert p.overtime.basis is OvertimeBasis.AFTER_SHIFT_END


def test_per_weekday_targets_and_core():
    d = doc(
        FLEX_DOC,
        target_min={"mon": 480, "fri": 360},
        flex={
            "core": {
                "mon": [{"start": "10:00", "end": "12:00"}, {"start": "13:00", "end": "15:00"}]
            }
        },
    )
    p = load_policy("f", "flexitime", d)
    assert p.targets == (28800, 0, 0, 0, 21600, 0, 0)
    assert p.flex is not None
    assert len(p.flex.core[0]) == 2 and p.flex.core[1] == ()


BAD = [
    (
        "flexitime",
        doc(FLEX_DOC, flex={"core": [{"start": "06:00", "end": "16:00"}]}),
        "core hours 06:00–16:00 (every day) lie outside the flex band 07:00–20:00",
    ),
    (
        "flexitime",
        doc(FLEX_DOC, flex={"latest_start": "21:00"}),
        "latest start 21:00 is outside the band",
    ),
    ("flexitime", doc(FLEX_DOC, target_min=900), "target of 15 h is longer than the flex band"),
    ("flexitime", doc(FLEX_DOC, flex={"latest_end": "25:00"}), "is not a time of day"),
    ("flexitime", {"target_min": 480}, "needs a [flex] band"),
    ("fixed", {"target_min": 480}, "needs a [shift]"),
    (
        "fixed",
        doc(FIXED_DOC, shift={"checkin_before_min": 600, "checkout_after_min": 600}),
        "over 24 h it would overlap the next day's shift",
    ),
    ("fixed", doc(FIXED_DOC, shift={"end": "09:00"}), "starts and ends at the same time"),
    (
        "flexitime",
        doc(FLEX_DOC, overtime={"basis": "after_shift_end"}),
        "overtime 'after_shift_end' needs a fixed shift",
    ),
    (
        "fixed",
        doc(
            FIXED_DOC,
            breaks={
                "deductions": [
                    {"after_min": 540, "break_min": 45},
                    {"after_min": 360, "break_min": 30},
                ]
            },
        ),
        "break deductions must rise",
    ),
    (
        "fixed",
        doc(FIXED_DOC, thresholds={"absent_below_min": 300, "half_day_below_min": 200}),
        "absence threshold is above the half-day threshold",
    ),
    (
        "fixed",
        doc(FIXED_DOC, overtime={"minimum_min": 60, "daily_cap_min": 30}),
        "cap is below the minimum",
    ),
    ("fixed", doc(FIXED_DOC, overtime={"rounding": "up"}), "needs round_min > 0"),
    (
        "fixed",
        doc(FIXED_DOC, calendar={"rest_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}),
        "every weekday is a rest day",
    ),
    ("fixed", doc(FIXED_DOC, balance={"carry_floor_min": 60}), "carry_floor_min"),
    ("fixed", doc(FIXED_DOC, surprise=1), "surprise: Extra inputs are not permitted"),
    ("fixed", doc(FIXED_DOC, kind="flexitime"), "document says kind 'flexitime'"),
    ("weekly", FIXED_DOC, "kind"),
]


@pytest.mark.parametrize(("kind", "document", "message"), BAD)
def test_impossible_documents_are_refused_with_a_reason(kind, document, message):
    with pytest.raises(PolicyError) as info:
        load_policy("p", kind, document)
    assert message in str(info.value)


def test_config_refuses_an_invalid_policy_document():
    from collector.config import ConfigError, parse_config

    bad = {"policies": [{"name": "x", "kind": "flexitime", "document": {"target_min": 480}}]}
    with pytest.raises(ConfigError, match=r"policy 'x'.*needs a \[flex\] band"):
        parse_config(bad)
    good = {"policies": [{"name": "x", "kind": "fixed", "document": FIXED_DOC}]}
    assert parse_config(good).policies[0].name == "x"


def _nested(depth: int) -> object:
    value: object = "fixed"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


@pytest.mark.parametrize("where", ["kind", "shift", "thresholds", "unknown"])
def test_a_document_nested_20000_deep_is_refused_with_a_reason(where):
    # The fuzzer found `kind` set to such a value: its repr in the message recursed.
    document = {**FIXED_DOC, where: _nested(20_000)}
    with pytest.raises(PolicyError, match="not a JSON object within limits"):
        load_policy("deep", "fixed", document)


def test_a_document_as_deep_as_allowed_is_judged_on_its_fields():
    document = {**FIXED_DOC, "thresholds": _nested(30)}
    with pytest.raises(PolicyError, match="thresholds"):
        load_policy("deep", "fixed", document)
