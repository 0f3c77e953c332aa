"""The soak's ledger comparison: it must be able to fail in every way it claims to check."""

from __future__ import annotations

from datetime import UTC, datetime

from soak.ledger import (
    Generated,
    Malformed,
    QuarantineRow,
    Stored,
    compare,
    phone_key,
    reason_class,
    terminal_key,
)
from soak.sources import local_to_epoch

T = 1_795_000_000


def _zk(code: str, second: int, device: str = "zk-01") -> tuple[Generated, Stored]:
    return (
        Generated(f"zk:{device}", terminal_key(code, second)),
        Stored("terminal", code, second, None, device),
    )


def _phone(code: str, mid: str) -> tuple[Generated, Stored]:
    return Generated("phones", phone_key(code, mid)), Stored("mobile", code, T, f"n:{mid}", "sim")


def test_everything_stored_once_is_clean():
    pairs = [_zk("1001", T), _zk("1001", T + 5), _zk("1002", T), _phone("P1", "a")]
    result = compare([g for g, _ in pairs], [s for _, s in pairs])
    assert result.ok
    assert (result.generated, result.stored, result.matched) == (4, 4, 4)
    assert result.by_source["zk:zk-01"] == {"generated": 3, "stored": 3}


def test_missing_punch_fails():
    pairs = [_zk("1001", T), _zk("1001", T + 5), _phone("P1", "a")]
    result = compare([g for g, _ in pairs], [pairs[0][1], pairs[2][1]])
    assert not result.ok
    assert result.missing == [terminal_key("1001", T + 5)]
    assert result.by_source["zk:zk-01"]["missing"] == 1


def test_same_identity_stored_twice_is_a_duplicate():
    g, s = _phone("P1", "a")
    result = compare([g], [s, s])
    assert not result.ok
    assert result.duplicated == [phone_key("P1", "a")]


def test_a_punch_stored_at_another_second_is_unexpected_not_matched():
    # A time-zone slip stores the punch an hour off: one missing, one nobody generated.
    g, _ = _zk("1001", T)
    shifted = Stored("terminal", "1001", T + 3600, None, "zk-01")
    result = compare([g], [shifted])
    assert not result.ok
    assert result.missing == [terminal_key("1001", T)]
    assert result.unexpected == [terminal_key("1001", T + 3600)]


def test_phone_identity_is_the_message_id_not_the_second():
    g1, s1 = _phone("P1", "a")
    g2, _ = _phone("P1", "b")  # same person, same second, another message: two punches
    result = compare([g1, g2], [s1])
    assert result.missing == [phone_key("P1", "b")]


def test_same_second_in_the_ledger_collapses_like_the_store():
    g, s = _zk("1001", T)
    result = compare([g, g], [s])
    assert result.ok
    assert (result.generated, result.distinct, result.collisions) == (2, 1, 1)


def test_nothing_generated_is_not_a_pass():
    assert not compare([], []).ok


def test_each_malformed_item_needs_its_own_quarantine_row():
    sent = [
        Malformed("push:push-1", "push", "push-1", "garbage 1"),
        Malformed("push:push-1", "push", "push-1", "garbage 2"),
        Malformed("zk:zk-01", "terminal", "zk-01", None),
    ]
    rows = [
        QuarantineRow("push", "push-1", "SN=X ATTLOG line 1", "not a record", "garbage 1"),
        QuarantineRow("terminal", "zk-01", "zk", "impossible date 2026-02-31 (log record 7)", "ab"),
    ]
    g, s = _zk("1001", T)
    result = compare([g], [s], sent, rows)
    assert not result.ok
    assert [m.raw for m in result.unmatched_malformed] == ["garbage 2"]
    assert result.unexplained_quarantine == []


def test_quarantine_nobody_sent_is_unexplained():
    g, s = _zk("1001", T)
    stray = QuarantineRow("mobile", None, "t", "could not store: OperationalError", "{}")
    result = compare([g], [s], [], [stray])
    assert not result.ok
    assert result.unexplained_quarantine == [stray]
    assert result.quarantine_reasons == {"mobile: could not store: OperationalError": 1}


def test_malformed_matches_on_kind_device_and_raw():
    sent = [Malformed("push:push-2", "push", "push-2", "garbage 1")]
    wrong_device = [QuarantineRow("push", "push-1", None, "bad", "garbage 1")]
    assert compare([_zk("1", T)[0]], [_zk("1", T)[1]], sent, wrong_device).unmatched_malformed


def test_reason_classes_blank_numbers_and_values():
    assert reason_class("impossible date 2026-02-31 09:00:00 (log record 12)") == (
        "impossible date N-N-N N:N:N (log record N)"
    )
    assert reason_class("no employee has code 'NOBODY3'") == "no employee has code '…'"


def test_terminal_local_time_is_converted_to_the_utc_second():
    # Europe/Berlin in winter is UTC+1.
    naive = datetime(2026, 11, 27, 9, 0, 0)  # a terminal clock is naive
    assert local_to_epoch(naive) == int(datetime(2026, 11, 27, 8, 0, tzinfo=UTC).timestamp())
