"""The iclock body parsers: tolerant of variants, strict in what they yield."""

from __future__ import annotations

from datetime import datetime

import pytest

from devices.types import BadRecord
from devices.zk.push.records import (
    AttLine,
    CommandResult,
    OpLogLine,
    TemplateLine,
    UserLine,
    parse_attlog,
    parse_command_results,
    parse_operlog,
)

NINE = datetime(2026, 3, 2, 9, 0, 5)


@pytest.mark.parametrize(
    ("line", "state", "verify", "workcode"),
    [
        ("1001\t2026-03-02 09:00:05\t0\t15\t0\t0\t0\t0\t0\t0", 0, 15, 0),  # current firmware
        ("1001\t2026-03-02 09:00:05\t1\t1\t0\t0", 1, 1, 0),  # older firmware
        ("1001\t2026-03-02 09:00:05\t4\t4", 4, 4, None),  # no work code
        ("1001\t2026-03-02 09:00:05", None, None, None),  # only the required fields
        ("1001\t2026-03-02 09:00:05\t\t\t", None, None, None),  # empty optional fields
        ("1001\t2026-03-02T09:00:05\t0\t15\tAB", 0, 15, None),  # ISO time, odd work code
        ("1001 2026-03-02 09:00:05 0 15 0", 0, 15, 0),  # a bridge that uses spaces
        ("  1001\t2026-03-02 09:00:05\t255\t25\t7\textra\tmore\t", 255, 25, 7),
    ],
)
def test_attlog_variants_read_the_same_punch(line, state, verify, workcode):
    [parsed] = parse_attlog(line)
    assert isinstance(parsed, AttLine)
    assert parsed.line == 1
    assert parsed.punch.user_id == "1001"
    assert parsed.punch.timestamp == NINE
    assert (parsed.punch.state, parsed.punch.verify, parsed.punch.workcode) == (
        state,
        verify,
        workcode,
    )
    assert parsed.punch.raw == line


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_numbers_count_every_line_of_the_body(newline):
    body = (
        newline.join(
            [
                "TABLE=ATTLOG",  # 1: skipped, still counted
                "1001\t2026-03-02 09:00:05\t0\t15",  # 2
                "",  # 3: blank
                "1002\t2026-02-31 09:00:00\t0\t15",  # 4: no such date
                "\t2026-03-02 09:00:00\t0\t15",  # 5: no PIN
                "1003\t2026-03-02 09:01:00\tX\t15",  # 6: status not a number
                "1004\t2026-03-02 09:02:00\t0\tface",  # 7: verify not a number
                "garbage",  # 8
                "1005",  # 9: no time
                "1006\t2026-03-02 09:03:00\t1\t1",  # 10
            ]
        )
        + newline
    )
    parsed = parse_attlog(body)
    good = [p for p in parsed if isinstance(p, AttLine)]
    bad = [p for p in parsed if isinstance(p, BadRecord)]
    assert [(g.line, g.punch.user_id) for g in good] == [(2, "1001"), (10, "1006")]
    assert [(b.position, b.reason) for b in bad] == [
        (4, "unreadable time '2026-02-31 09:00:00'"),
        (5, "missing PIN"),
        (6, "status 'X' is not a number"),
        (7, "verify 'face' is not a number"),
        (8, "not a PIN, time, status… record"),
        (9, "not a PIN, time, status… record"),
    ]
    assert all("\r" not in str(b.raw) for b in bad)


def test_time_with_an_offset_is_refused_because_terminals_send_local_time():
    [parsed] = parse_attlog("1001\t2026-03-02T09:00:05+02:00\t0\t15")
    assert isinstance(parsed, BadRecord)
    assert "unreadable time" in parsed.reason


def test_overlong_line_is_bad_not_parsed():
    [parsed] = parse_attlog("1001\t2026-03-02 09:00:05\t0\t15\t" + "x" * 5000)
    assert isinstance(parsed, BadRecord)
    assert "longer than" in parsed.reason


def test_operlog_lines():
    body = (
        "USER PIN=1001\tName=Anna Weber\tPri=14\tPasswd=123\tCard=0042\tGrp=1\tTZ=0000\r\n"
        "FP PIN=1001\tFID=6\tSize=1184\tValid=1\tTMP=TWFyaW8=\r\n"
        "OPLOG 4\t0\t2026-03-02 09:00:05\t1001\t0\t0\t0\r\n"
        "USER Name=nobody\r\n"
        "OPLOG 4\t0\tyesterday\r\n"
        "WHAT is this\r\n"
        "USER PIN=1002 Name=Ben Li Pri=0\r\n"
    )
    parsed = parse_operlog(body)
    assert parsed[0] == UserLine(
        line=1,
        pin="1001",
        name="Anna Weber",
        privilege=14,
        card="0042",
        group="1",
        has_password=True,
        raw=body.splitlines()[0],
    )
    assert parsed[1] == TemplateLine(line=2, kind="FP", pin="1001", index="6")
    assert isinstance(parsed[2], OpLogLine)
    assert parsed[2].timestamp == NINE
    assert [(p.position, p.reason) for p in parsed[3:6] if isinstance(p, BadRecord)] == [
        (4, "USER line without PIN"),
        (5, "unreadable time 'yesterday'"),
        (6, "unknown OPERLOG record 'WHAT'"),
    ]
    assert isinstance(parsed[6], UserLine)
    assert (parsed[6].pin, parsed[6].name) == ("1002", "Ben Li")


def test_command_results_with_content_and_garbage():
    body = (
        "ID=7&Return=0&CMD=DATA\n"
        "ID=8&Return=0&CMD=INFO\n~DeviceName=SpeedFace\nUserCount=3\n"
        "ID=9&Return=-1002&CMD=SET\n"
        "ID=x&Return=0\n"
    )
    parsed = parse_command_results(body)
    assert parsed[0] == CommandResult(7, 0, "DATA", {}, "ID=7&Return=0&CMD=DATA")
    results = [p for p in parsed if isinstance(p, CommandResult)]
    assert [(r.command_id, r.return_code) for r in results] == [(7, 0), (8, 0), (9, -1002)]
    assert results[1].content == {"DeviceName": "SpeedFace", "UserCount": "3"}
    [bad] = [p for p in parsed if isinstance(p, BadRecord)]
    assert bad.position == 6


def test_content_before_any_id_is_bad():
    [bad] = parse_command_results("UserCount=3\n")
    assert isinstance(bad, BadRecord)
    assert bad.position == 1
