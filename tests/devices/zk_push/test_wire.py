"""Handshake options, command lines, INFO and the terminal's packed time."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.zk.push.wire import (
    HandshakeOptions,
    TerminalInfo,
    command_line,
    from_zk_time,
    handshake_text,
    info_text,
    parse_command_line,
    parse_info,
    parse_options,
    set_clock_command,
    update_user_command,
    zk_time,
)


def test_handshake_text_reads_back_with_both_stamp_names():
    text = handshake_text(
        HandshakeOptions(serial="SN1", attlog_stamp="42", operlog_stamp="7", timezone_hours=9)
    )
    options = parse_options(text)
    assert text.startswith("GET OPTION FROM: SN1\n")
    assert options["SN"] == "SN1"
    assert (options["ATTLOGStamp"], options["Stamp"]) == ("42", "42")
    assert (options["OPERLOGStamp"], options["OpStamp"]) == ("7", "7")
    assert (options["TimeZone"], options["Realtime"], options["Delay"]) == ("9", "1", "10")
    assert "AttLog" in options["TransFlag"]


def test_handshake_leaves_out_a_timezone_it_cannot_express():
    assert "TimeZone" not in parse_options(handshake_text(HandshakeOptions(serial="SN1")))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)))
def test_zk_time_round_trip(value):
    value = value.replace(microsecond=0)
    assert from_zk_time(zk_time(value)) == value


def test_set_clock_command():
    assert set_clock_command(datetime(2026, 3, 2, 9, 0, 5)) == (
        f"SET OPTION DateTime={zk_time(datetime(2026, 3, 2, 9, 0, 5))}"
    )


def test_command_lines():
    line = command_line(12, update_user_command("1001", "Anna\tWeber\n", card="42"))
    assert line == "C:12:DATA UPDATE USERINFO PIN=1001\tName=Anna Weber\tPri=0\tCard=42"
    assert parse_command_line(line) == (12, line.split(":", 2)[2])
    with pytest.raises(ValueError):
        command_line(1, "REBOOT\nCLEAR LOG")
    with pytest.raises(ValueError):
        parse_command_line("OK")


def test_info_round_trip_and_garbage():
    info = TerminalInfo(firmware="Ver 8.0.4", users=3, fingerprints=0, records=125, ip="10.0.0.9")
    assert parse_info(info_text(info)) == info
    assert parse_info("Ver 6,x,,12") == TerminalInfo(firmware="Ver 6", records=12)
