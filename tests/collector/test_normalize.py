"""Normalisation: time zones at the edge, DST policy, state and verify codes, flags, keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from collector.normalize import (
    NormalizeError,
    NormalizePolicy,
    RawPunch,
    normalize,
    wall_time,
    zone,
)
from rules.vocabulary import DirectionMode, PunchFlag, PunchState, SourceKind, VerifyMethod

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = NormalizePolicy()
BERLIN = "Europe/Berlin"


def punch(when: datetime, **kw) -> RawPunch:
    kw.setdefault("source_kind", SourceKind.TERMINAL)
    kw.setdefault("tz", BERLIN)
    return RawPunch(employee_code=kw.pop("code", "1001"), timestamp=when, **kw)


@pytest.mark.parametrize(
    ("local", "tz", "utc", "flag"),
    [
        # An ordinary winter and summer time.
        (datetime(2026, 1, 15, 9, 0), BERLIN, datetime(2026, 1, 15, 8, 0), PunchFlag.NONE),
        (datetime(2026, 7, 15, 9, 0), BERLIN, datetime(2026, 7, 15, 7, 0), PunchFlag.NONE),
        # Spring forward: 02:00 → 03:00 on 29 March 2026. 01:59 still +01:00.
        (datetime(2026, 3, 29, 1, 59), BERLIN, datetime(2026, 3, 29, 0, 59), PunchFlag.NONE),
        # 02:30 does not exist: read with the offset before the jump (+01:00), flagged.
        (datetime(2026, 3, 29, 2, 30), BERLIN, datetime(2026, 3, 29, 1, 30), PunchFlag.DST_GAP),
        # 03:00 is the first instant after the jump (+02:00).
        (datetime(2026, 3, 29, 3, 0), BERLIN, datetime(2026, 3, 29, 1, 0), PunchFlag.NONE),
        # Fall back: 03:00 → 02:00 on 25 October 2026; 02:30 happens twice: first (+02:00).
        (
            datetime(2026, 10, 25, 2, 30),
            BERLIN,
            datetime(2026, 10, 25, 0, 30),
            PunchFlag.DST_AMBIGUOUS,
        ),
        (datetime(2026, 10, 25, 1, 59), BERLIN, datetime(2026, 10, 24, 23, 59), PunchFlag.NONE),
        (datetime(2026, 10, 25, 3, 0), BERLIN, datetime(2026, 10, 25, 2, 0), PunchFlag.NONE),
        # US zone, spring gap at 02:00 local on 8 March 2026.
        (
            datetime(2026, 3, 8, 2, 15),
            "America/New_York",
            datetime(2026, 3, 8, 7, 15),
            PunchFlag.DST_GAP,
        ),
        # A zone without DST is never flagged.
        (datetime(2026, 3, 29, 2, 30), "Asia/Shanghai", datetime(2026, 3, 28, 18, 30), 0),
    ],
)
def test_local_time_to_utc_with_dst_policy(local, tz, utc, flag):
    row = normalize(punch(local, tz=tz), now=NOW, policy=POLICY)
    assert row["occurred_at"] == utc.replace(tzinfo=UTC)
    assert row["flags"] == flag
    assert row["local_date"] == local.date()
    assert row["tz"] == tz


def test_aware_time_is_kept_and_dated_in_the_source_zone():
    when = datetime(2026, 6, 30, 23, 30, tzinfo=timezone(timedelta(hours=-4)))
    row = normalize(punch(when, tz=BERLIN), now=NOW, policy=POLICY)
    assert row["occurred_at"] == datetime(2026, 7, 1, 3, 30, tzinfo=UTC)
    assert row["local_date"] == date(2026, 7, 1)  # 05:30 in Berlin


def test_missing_zone_uses_the_default():
    row = normalize(
        punch(datetime(2026, 1, 1, 9), tz=None),
        now=NOW,
        policy=NormalizePolicy(default_timezone="Asia/Tokyo"),
    )
    assert row["occurred_at"] == datetime(2026, 1, 1, 0, tzinfo=UTC)
    assert row["tz"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("state", "mode", "expected"),
    [
        (0, DirectionMode.AUTO, PunchState.IN),
        (1, DirectionMode.AUTO, PunchState.OUT),
        (2, DirectionMode.AUTO, PunchState.BREAK_OUT),
        (3, DirectionMode.AUTO, PunchState.BREAK_IN),
        (4, DirectionMode.AUTO, PunchState.OVERTIME_IN),
        (5, DirectionMode.AUTO, PunchState.OVERTIME_OUT),
        (255, DirectionMode.AUTO, PunchState.UNKNOWN),
        (17, DirectionMode.AUTO, PunchState.UNKNOWN),
        (None, DirectionMode.AUTO, PunchState.UNKNOWN),
        (1, DirectionMode.IN, PunchState.IN),
        (0, DirectionMode.OUT, PunchState.OUT),
        (0, DirectionMode.ALTERNATE, PunchState.UNKNOWN),
        ("C/Out", DirectionMode.AUTO, PunchState.OUT),
        ("check-in", DirectionMode.AUTO, PunchState.IN),
        ("255", DirectionMode.AUTO, PunchState.UNKNOWN),
        (PunchState.BREAK_IN, DirectionMode.AUTO, PunchState.BREAK_IN),
    ],
)
def test_state_codes_and_direction_modes(state, mode, expected):
    row = normalize(
        punch(datetime(2026, 1, 5, 9), state=state, direction_mode=mode), now=NOW, policy=POLICY
    )
    assert row["state"] == expected.value


@pytest.mark.parametrize(
    ("verify", "expected"),
    [
        (0, VerifyMethod.PASSWORD),
        (1, VerifyMethod.FINGERPRINT),
        (2, VerifyMethod.CARD),
        (4, VerifyMethod.CARD),
        (15, VerifyMethod.FACE),
        (25, VerifyMethod.PALM),
        (99, VerifyMethod.OTHER),
        ("face", VerifyMethod.FACE),
        ("FP", VerifyMethod.FINGERPRINT),
        (None, VerifyMethod.OTHER),
    ],
)
def test_verify_codes(verify, expected):
    row = normalize(punch(datetime(2026, 1, 5, 9), verify=verify), now=NOW, policy=POLICY)
    assert row["verify"] == expected.value


@pytest.mark.parametrize(
    ("local", "flags"),
    [
        (datetime(2026, 11, 27, 13, 4), PunchFlag.NONE),  # 12:04 UTC: within 5 min
        (datetime(2026, 11, 27, 13, 6), PunchFlag.FUTURE_TIMESTAMP),  # 12:06 UTC
        (datetime(2000, 1, 1, 0, 3), PunchFlag.CLOCK_RESET),  # reset clock
        (datetime(2063, 5, 1, 8, 0), PunchFlag.CLOCK_RESET | PunchFlag.FUTURE_TIMESTAMP),
        (datetime(2027, 1, 2, 8, 0), PunchFlag.FUTURE_TIMESTAMP),  # next year is plausible
    ],
)
def test_future_and_reset_clock_flags(local, flags):
    row = normalize(punch(local), now=NOW, policy=POLICY)
    assert row["flags"] == flags


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"code": "  "}, "missing employee code"),
        ({"code": "x" * 65}, "employee code longer than 64 characters"),
        ({"code": "10\x0001"}, "employee code contains control characters"),
        ({"tz": "Nowhere/Land"}, "unknown timezone 'Nowhere/Land'"),
        ({"state": "sideways"}, "unknown state 'sideways'"),
        ({"lat": float("nan"), "lon": 13.4}, "lat nan is out of range"),
        ({"lat": 52.5, "lon": 181.0}, "lon 181.0 is out of range"),
        ({"lat": 52.5, "lon": 13.4, "accuracy_m": -1.0}, "accuracy -1.0 is not a non-negative"),
        ({"source_kind": SourceKind.MANUAL}, "a manual punch needs a source reference"),
    ],
)
def test_what_cannot_be_normalised_says_why(kw, reason):
    with pytest.raises(NormalizeError) as err:
        normalize(punch(datetime(2026, 1, 5, 9), **kw), now=NOW, policy=POLICY)
    assert str(err.value).startswith(reason)


def test_same_instant_from_different_paths_has_one_key():
    local = datetime(2026, 1, 5, 9, 0, 7)
    terminal = normalize(punch(local, device_code="door-1"), now=NOW, policy=POLICY)
    imported = normalize(
        punch(local, source_kind=SourceKind.IMPORT, device_code=None, state="in"),
        now=NOW,
        policy=POLICY,
    )
    pushed = normalize(
        punch(datetime(2026, 1, 5, 8, 0, 7, tzinfo=UTC), source_kind=SourceKind.PUSH),
        now=NOW,
        policy=POLICY,
    )
    assert terminal["dedupe_key"] == imported["dedupe_key"] == pushed["dedupe_key"]
    other_second = normalize(punch(local + timedelta(seconds=1)), now=NOW, policy=POLICY)
    other_person = normalize(punch(local, code="1002"), now=NOW, policy=POLICY)
    assert (
        len({terminal["dedupe_key"], other_second["dedupe_key"], other_person["dedupe_key"]}) == 3
    )


@pytest.mark.parametrize("kind", [SourceKind.TERMINAL, SourceKind.PUSH, SourceKind.IMPORT])
def test_a_record_read_with_another_zone_keeps_its_key(kind):
    local = datetime(2026, 7, 5, 9, 0, 7, 250_000)
    berlin = normalize(punch(local, source_kind=kind), now=NOW, policy=POLICY)
    utc = normalize(punch(local, source_kind=kind, tz="UTC"), now=NOW, policy=POLICY)
    default = normalize(punch(local, source_kind=kind, tz=None), now=NOW, policy=POLICY)
    assert berlin["occurred_at"] != utc["occurred_at"]  # the zone still times the punch
    assert berlin["dedupe_key"] == utc["dedupe_key"] == default["dedupe_key"]
    later = normalize(punch(local + timedelta(seconds=1), source_kind=kind), now=NOW, policy=POLICY)
    assert later["dedupe_key"] != berlin["dedupe_key"]


def test_an_aware_time_is_keyed_on_its_wall_time_in_its_zone_fold_hours_apart():
    # 02:30 on 25 October 2026 happens at 00:30Z (+02:00) and again at 01:30Z (+01:00).
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    naive = normalize(punch(datetime(2026, 10, 25, 2, 30)), now=NOW, policy=POLICY)
    keys = [
        normalize(punch(t, source_kind=SourceKind.IMPORT), now=NOW, policy=POLICY)["dedupe_key"]
        for t in (first, second)
    ]
    assert keys[0] == naive["dedupe_key"] != keys[1]


@pytest.mark.parametrize(
    ("local", "tz"),
    [
        (datetime(2026, 1, 15, 9, 0, 5), BERLIN),
        (datetime(2026, 3, 29, 2, 30), BERLIN),  # in the spring gap
        (datetime(2026, 3, 29, 3, 30), BERLIN),  # the same instant as the gap time
        (datetime(2026, 10, 25, 2, 30), BERLIN),  # in the autumn fold
        (datetime(2026, 3, 8, 2, 15), "America/New_York"),
        (datetime(2026, 10, 4, 2, 15), "Australia/Lord_Howe"),  # a half-hour jump
        (datetime(2011, 12, 30, 12, 0), "Pacific/Apia"),  # Samoa skipped this whole day
    ],
)
def test_wall_time_gives_back_the_local_time_a_punch_was_read_as(local, tz):
    row = normalize(punch(local, tz=tz), now=NOW, policy=POLICY)
    assert wall_time(row["occurred_at"], zone(tz), row["flags"]) == local


def test_phone_punches_are_keyed_by_their_message_id():
    local = datetime(2026, 1, 5, 9, 0, 7)
    a = normalize(
        punch(local, source_kind=SourceKind.MOBILE, source_ref="m-1"), now=NOW, policy=POLICY
    )
    b = normalize(
        punch(local, source_kind=SourceKind.MOBILE, source_ref="m-2"), now=NOW, policy=POLICY
    )
    again = normalize(
        punch(local, source_kind=SourceKind.MOBILE, source_ref="m-1"), now=NOW, policy=POLICY
    )
    assert a["dedupe_key"] == again["dedupe_key"] != b["dedupe_key"]


def test_nul_characters_are_escaped_and_bad_device_codes_refused():
    row = normalize(
        punch(datetime(2026, 1, 5, 9), raw="a\x00b", note="x\x00", source_ref="f\x00:1"),
        now=NOW,
        policy=POLICY,
    )
    assert (row["raw"], row["note"], row["source_ref"]) == ("a\\x00b", "x\\x00", "f\\x00:1")
    with pytest.raises(NormalizeError, match="device code"):
        normalize(punch(datetime(2026, 1, 5, 9), device_code="d\x00"), now=NOW, policy=POLICY)
