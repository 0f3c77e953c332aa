"""The soak's ledger comparison: it must be able to fail in every way it claims to check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from collector.normalize import NormalizePolicy, RawPunch, normalize
from rules.vocabulary import PunchFlag, SourceKind
from soak.ledger import (
    Generated,
    Malformed,
    QuarantineRow,
    Stored,
    compare,
    message_id,
    reason_class,
    record_id,
    terminal_local,
)
from soak.run import exit_status
from soak.sources import TZ, local_to_epoch

LOCAL = datetime(2026, 11, 27, 9, 0, 0)  # a terminal's naive clock; Berlin is UTC+1 then
T = local_to_epoch(LOCAL)


def _zk(code: str, local: datetime = LOCAL, device: str = "zk-01") -> tuple[Generated, Stored]:
    epoch = local_to_epoch(local)
    return (
        Generated(f"zk:{device}", record_id("terminal", device, code, local), code, epoch),
        Stored("terminal", code, device, datetime.fromtimestamp(epoch, UTC), TZ, 0, None, None),
    )


def _push(pin: str, local: datetime = LOCAL, device: str = "push-1") -> tuple[Generated, Stored]:
    epoch = local_to_epoch(local)
    line = f"{pin}\t{local:%Y-%m-%d %H:%M:%S}\t0\t15\t0\t0\t0\t0\t0\t0"
    at = datetime.fromtimestamp(epoch, UTC)
    return (
        Generated(f"push:{device}", record_id("push", device, pin, local), pin, epoch),
        Stored("push", pin, device, at, TZ, 0, "SN=SOAKPUSH0001 ATTLOG line 1", line),
    )


def _phone(code: str, mid: str) -> tuple[Generated, Stored]:
    at = datetime.fromtimestamp(T, UTC)
    payload = json.dumps({"schema_version": 1, "id": mid, "ts": at.isoformat()})
    return (
        Generated("phones", message_id(mid), code, T),
        Stored("mobile", code, "sim", at, TZ, 0, f"n:{mid}", payload),
    )


def _shifted(row: Stored, seconds: int, **changes: object) -> Stored:
    fields = {**row.__dict__, "occurred_at": row.occurred_at + timedelta(seconds=seconds)}
    return Stored(**{**fields, **changes})


def test_everything_stored_once_is_clean():
    pairs = [_zk("1001"), _zk("1001", LOCAL + timedelta(seconds=5)), _zk("1002"), _phone("P1", "a")]
    pairs.append(_push("2001"))
    result = compare([g for g, _ in pairs], [s for _, s in pairs])
    assert result.ok
    assert (result.generated, result.stored, result.matched) == (5, 5, 5)
    assert result.by_source["zk:zk-01"] == {"generated": 3, "stored": 3}
    assert exit_status(result, [], 0) == 0


def test_missing_punch_fails():
    pairs = [_zk("1001"), _zk("1001", LOCAL + timedelta(seconds=5)), _phone("P1", "a")]
    result = compare([g for g, _ in pairs], [pairs[0][1], pairs[2][1]])
    assert not result.ok
    assert result.missing == [pairs[1][0].id]
    assert result.by_source["zk:zk-01"]["missing"] == 1
    assert exit_status(result, [], 0) == 1


def test_same_row_stored_twice_is_a_duplicate():
    g, s = _phone("P1", "a")
    result = compare([g], [s, s])
    assert not result.ok
    assert result.duplicated == [message_id("a")]


def test_a_terminal_record_reread_in_another_zone_is_a_duplicate_not_a_new_punch():
    # The zone-change defect: the same record again, read as UTC, one hour later in UTC.
    g, berlin = _zk("1001")
    utc = _shifted(berlin, 3600, tz="UTC")
    result = compare([g], [berlin, utc])
    assert result.duplicated == [g.id]
    assert result.mismatched == [(g.id, "1001", T + 3600)]
    assert (result.missing, result.unexpected) == ([], [])
    assert not result.ok


def test_a_push_line_stored_twice_under_other_keys_is_a_duplicate():
    g, first = _push("2001")
    again = _shifted(first, 3600, tz="UTC", source_ref="SN=SOAKPUSH0001 ATTLOG line 7")
    result = compare([g], [first, again])
    assert result.duplicated == [g.id]
    assert not result.ok


def test_a_phone_message_stored_under_another_source_ref_is_a_duplicate():
    # The id travels in the payload: a second row is found even if its source_ref differs.
    g, first = _phone("P1", "a")
    result = compare([g], [first, _shifted(first, 0, source_ref=None)])
    assert result.duplicated == [message_id("a")]


def test_a_zone_slip_under_the_same_zone_label_is_missing_and_unexpected():
    # A zone slip that keeps the record's zone label stores it an hour off: not that record.
    g, s = _zk("1001")
    shifted = _shifted(s, 3600)
    result = compare([g], [shifted])
    assert not result.ok
    assert result.missing == [g.id]
    assert result.unexpected == [record_id("terminal", "zk-01", "1001", LOCAL.replace(hour=10))]


def test_a_push_row_at_the_wrong_instant_is_mismatched():
    # The line is the generated record, the instant the store gives it is not.
    g, s = _push("2001")
    result = compare([g], [_shifted(s, -3600)])
    assert result.mismatched == [(g.id, "2001", T - 3600)]
    assert not result.ok


def test_a_row_without_a_ledger_id_is_unexpected():
    g, s = _push("2001")
    bare = _shifted(s, 0, raw=None)
    result = compare([g], [s, bare])
    assert not result.ok
    assert result.unexpected == [bare.describe()]
    assert bare.describe()[0] == "no ledger id"


def test_phone_identity_is_the_message_id_not_the_second():
    g1, s1 = _phone("P1", "a")
    g2, _ = _phone("P1", "b")  # same person, same second, another message: two punches
    result = compare([g1, g2], [s1])
    assert result.missing == [message_id("b")]


def test_phone_id_falls_back_to_the_source_ref_once_the_payload_is_gone():
    g, s = _phone("P1", "a")
    assert compare([g], [_shifted(s, 0, raw=None)]).ok


def test_one_id_twice_in_the_ledger_collapses_like_the_store():
    g, s = _zk("1001")
    result = compare([g, g], [s])
    assert result.ok
    assert (result.generated, result.distinct, result.collisions) == (2, 1, 1)


def test_nothing_generated_is_not_a_pass():
    assert not compare([], []).ok
    assert exit_status(compare([], []), [], 0) == 1


def test_problems_elsewhere_fail_a_clean_ledger():
    g, s = _zk("1001")
    assert exit_status(compare([g], [s]), ["drain timed out"], 0) == 1
    assert exit_status(compare([g], [s]), [], 1) == 1


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
    g, s = _zk("1001")
    result = compare([g], [s], sent, rows)
    assert not result.ok
    assert [m.raw for m in result.unmatched_malformed] == ["garbage 2"]
    assert result.unexplained_quarantine == []


def test_quarantine_nobody_sent_is_unexplained():
    g, s = _zk("1001")
    stray = QuarantineRow("mobile", None, "t", "could not store: OperationalError", "{}")
    result = compare([g], [s], [], [stray])
    assert not result.ok
    assert result.unexplained_quarantine == [stray]
    assert result.quarantine_reasons == {"mobile: could not store: OperationalError": 1}


def test_malformed_matches_on_kind_device_and_raw():
    sent = [Malformed("push:push-2", "push", "push-2", "garbage 1")]
    wrong_device = [QuarantineRow("push", "push-1", None, "bad", "garbage 1")]
    g, s = _zk("1")
    assert compare([g], [s], sent, wrong_device).unmatched_malformed


def test_reason_classes_blank_numbers_and_values():
    assert reason_class("impossible date 2026-02-31 09:00:00 (log record 12)") == (
        "impossible date N-N-N N:N:N (log record N)"
    )
    assert reason_class("no employee has code 'NOBODY3'") == "no employee has code '…'"


def test_terminal_local_time_is_converted_to_the_utc_second():
    # Europe/Berlin in winter is UTC+1.
    naive = datetime(2026, 11, 27, 9, 0, 0)  # a terminal clock is naive
    assert local_to_epoch(naive) == int(datetime(2026, 11, 27, 8, 0, tzinfo=UTC).timestamp())


def test_terminal_local_time_is_read_back_through_the_normaliser_across_dst():
    # A gap time (clocks jump 02:00 → 03:00) and a fold time (03:00 → 02:00, read first).
    policy = NormalizePolicy(default_timezone=TZ)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    for local, flag in (
        (datetime(2026, 3, 29, 2, 30, 5), PunchFlag.DST_GAP),
        (datetime(2026, 10, 25, 2, 30, 5), PunchFlag.DST_AMBIGUOUS),
        (datetime(2026, 7, 1, 23, 59, 59), PunchFlag(0)),
    ):
        raw = RawPunch("1001", local, SourceKind.TERMINAL, tz=TZ, device_code="zk-01")
        row = normalize(raw, now=now, policy=policy)
        assert row["flags"] == flag
        assert terminal_local(row["occurred_at"], row["tz"], row["flags"]) == local
