"""Wire-format helpers agree with pyzk and with the reference's check vectors."""

from __future__ import annotations

import random
import struct
from datetime import datetime

import pytest
from zk import ZK
from zk.base import make_commkey as pyzk_commkey

from devices.zk import protocol as p


def test_checksum_matches_pyzk_on_random_packets():
    client = ZK("127.0.0.1", ommit_ping=True)
    try:
        rng = random.Random(3)
        for length in [0, 1, 2, 7, 8, 9, 100, 1023]:
            packet = bytes(rng.randrange(256) for _ in range(length + 8))
            ours = p.checksum(packet)
            theirs = struct.unpack("H", client._ZK__create_checksum(list(packet)))[0]
            assert ours == theirs, length
    finally:
        client._ZK__sock.close()


def test_built_packets_parse_back_with_their_checksum():
    packet = p.build_packet(p.CMD_ACK_OK, 0x45CF, 7, b"hello")
    code, chk, session, reply, payload = p.parse_packet(packet)
    assert (code, session, reply, payload) == (p.CMD_ACK_OK, 0x45CF, 7, b"hello")
    assert chk == p.checksum(p.HEADER.pack(code, 0, session, reply) + payload)


@pytest.mark.parametrize(("key", "expected"), [(45, "61c9323c"), (12, "614d323c")])
def test_commkey_reference_vectors(key, expected):
    assert p.make_commkey(key, 0x45CF).hex() == expected
    assert p.make_commkey(key, 0x45CF) == pyzk_commkey(key, 0x45CF)
    assert p.check_commkey(key, 0x45CF, bytes.fromhex(expected))
    assert not p.check_commkey(key + 1, 0x45CF, bytes.fromhex(expected))


def test_time_round_trip_and_impossible_dates():
    when = datetime(2026, 11, 27, 23, 59, 58)
    assert p.decode_time(p.encode_time(when)) == when
    assert p.encode_timehex(when) == bytes((26, 11, 27, 23, 59, 58))  # years since 2000
    feb31 = p.encode_time(datetime(2026, 2, 28)) + 3 * 86400
    assert p.time_fields(feb31)[:3] == (2026, 2, 31)
    with pytest.raises(ValueError):
        p.decode_time(feb31)
