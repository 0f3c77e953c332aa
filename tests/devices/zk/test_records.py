"""One-pass record parsing: every layout, bad records kept with their bytes, the rest read."""

from __future__ import annotations

from datetime import datetime

import pytest

from devices.types import BadRecord, DevicePunch
from devices.zk.protocol import encode_time
from devices.zk.records import (
    AttRecord,
    ZKUser,
    att_record,
    detect_record_size,
    pack_attendance,
    pack_users,
    parse_attendance,
    parse_users,
)

FEB31 = encode_time(datetime(2026, 2, 28, 9, 0)) + 3 * 86400


def _records() -> list[AttRecord]:
    return [
        att_record(1, "1001", datetime(2026, 3, 2, 8, 55, 1), 0, 1),
        AttRecord(2, "1002", FEB31, 0, 15),
        att_record(3, "1003", datetime(2026, 3, 2, 17, 30, 0), 255, 15),
    ]


@pytest.mark.parametrize("size", [8, 16, 40])
def test_each_layout_parses_and_quarantines_the_impossible_date(size):
    data = pack_attendance(_records(), size)
    users = {1: "1001", 2: "1002", 3: "1003"}
    items = parse_attendance(data, size, first_position=10, users_by_uid=users)
    first, bad, last = items
    assert isinstance(first, DevicePunch) and isinstance(bad, BadRecord)
    assert isinstance(last, DevicePunch)
    assert first == DevicePunch(
        "1001", datetime(2026, 3, 2, 8, 55, 1), 0, 1, first.uid, first.workcode
    )
    assert (last.user_id, last.state, last.verify) == ("1003", 255, 15)
    assert bad.reason == "impossible date 2026-02-31 09:00:00"
    assert bad.position == 11
    assert bad.raw == data[size : 2 * size]


def test_truncated_tail_is_a_bad_record():
    data = pack_attendance(_records()[:1], 16) + b"\x01\x02\x03"
    items = parse_attendance(data, 16)
    assert isinstance(items[0], DevicePunch)
    assert isinstance(items[1], BadRecord) and items[1].raw == b"\x01\x02\x03"


def test_eight_byte_records_without_user_table_fall_back_to_slot_number():
    items = parse_attendance(pack_attendance(_records()[:1], 8), 8)
    assert isinstance(items[0], DevicePunch) and items[0].user_id == "1"


@pytest.mark.parametrize(
    ("total", "hint", "size"),
    [(4000, 100, 40), (1600, 100, 16), (800, 100, 8), (1616, 101, 16), (0, 0, 40)],
)
def test_detect_record_size(total, hint, size):
    assert detect_record_size(total, hint) == size


@pytest.mark.parametrize("size", [28, 72])
@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_users_round_trip_in_code_page(size, encoding):
    users = [ZKUser(1, "1001", "张伟", password="12"), ZKUser(2, "1002", "Ana", card=77)]
    parsed = parse_users(pack_users(users, size, encoding), size, encoding)
    assert [(u.uid, u.user_id, u.name) for u in parsed] == [(1, "1001", "张伟"), (2, "1002", "Ana")]
    assert parsed[1].card == 77
