"""The fleet soak's pure verdicts: overlapping sessions, takeovers, reader errors, owners."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from soak.fleet_checks import Read, Window, percentiles, poll_gaps, reader_summary, takeovers
from soak.fleet_traffic import Gaps, peak_schedule
from soak.owners import SocketOwners, overlaps


@dataclass
class S:
    """A session as an emulated terminal logs it."""

    who: object
    opened: float
    closed: float | None
    transport: str = "tcp"
    last: float | None = None


def test_sessions_of_two_processes_at_once_overlap_and_one_after_another_do_not():
    assert overlaps([S(1, 0, 5), S(2, 5, 9), S(1, 9, 10)], now=20) == []
    assert overlaps([S(1, 0, 5), S(2, 4, 9)], now=20) == [(1, 2)]
    assert overlaps([S(1, 0, 5), S(1, 1, 3)], now=20) == []  # one process, two sessions


def test_an_open_tcp_session_lasts_until_now_or_until_its_process_died():
    assert overlaps([S(1, 0, None), S(2, 10, 11)], now=20) == [(1, 2)]
    assert overlaps([S(1, 0, None), S(2, 10, 11)], now=20, deaths={1: 9.5}) == []
    assert overlaps([S(1, 0, None), S(2, 10, 11)], now=20, deaths={1: 10.5}) == [(1, 2)]


def test_an_abandoned_udp_session_ends_at_its_last_datagram():
    left = S(1, 0, None, "udp", last=3.0)
    assert overlaps([left, S(2, 4, 5)], now=20) == []
    assert overlaps([left, S(2, 2, 5)], now=20) == [(1, 2)]
    never_spoke = S(1, 0, None, "udp", last=None)  # no datagram logged: open until now
    assert overlaps([never_spoke, S(2, 4, 5)], now=20) == [(1, 2)]


def test_takeover_is_the_first_session_of_another_process_after_the_kill():
    sessions = {
        "a": [S(7, 1, 2), S(7, 9, 10), S(8, 14, 15), S(9, 16, 17)],
        "b": [S(7, 1, 2)],
    }
    assert takeovers(sessions, ["a", "b"], killed_at=10.0, pid=7) == {"a": 4.0, "b": None}


def test_percentiles_and_poll_gaps():
    assert percentiles([]) == {"count": 0, "p50": None, "p99": None, "max": None}
    got = percentiles([float(v) for v in range(1, 101)])
    assert (got["count"], got["p50"], got["p99"], got["max"]) == (100, 50.0, 99.0, 100.0)
    gaps = poll_gaps({"a": [S(1, 0, 1), S(1, 10, 11), S(1, 30, 31)], "b": [S(1, 5, 6)]}, 0, 25)
    assert gaps == [10]


def test_failed_reads_are_excused_only_by_a_window_of_their_node_or_of_all():
    windows = [Window("n1", 10, 20, "node killed"), Window(None, 50, 55, "postgres restart")]
    reads = [
        Read("n1", "/punches", 1, 1.2, 200),
        Read("n1", "/punches", 19, 21, 0),  # its node was killed
        Read("n2", "/punches", 12, 13, 0),  # another node: a problem
        Read("n3", "/reports/lateness?from=x", 54, 56, 503),  # the database restarted
        Read("n3", "/reports/lateness?from=x", 60, 60.5, 200),
    ]
    got = reader_summary(reads, windows)
    assert (got["requests"], got["ok"], got["errors"]) == (5, 2, 3)
    assert got["errors_excused"] == {"node killed": 1, "postgres restart": 1}
    assert got["errors_unexcused"] == 1
    assert got["unexcused_examples"][0]["node"] == "n2"
    assert set(got["latency_s_by_path"]) == {"/punches", "/reports/lateness"}


def test_peak_schedule_is_sorted_within_the_window_and_busiest_before_the_middle():
    times = peak_schedule(5000, 600)
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= 600
    first_half = sum(1 for t in times if t < 300)
    assert first_half > 2750  # a triangle peaking at 40 %: 5/9 of it before 300 s


def test_gaps_refuse_a_second_punch_of_one_person_within_three_seconds():
    from datetime import datetime, timedelta

    g, t = Gaps(), datetime(2026, 11, 30, 8, 0, 0)
    assert g.free("1", t) and not g.free("1", t + timedelta(seconds=2))
    assert g.free("2", t) and g.free("1", t + timedelta(seconds=3))


def test_socket_owners_find_this_process_for_its_tcp_and_udp_sockets():
    owners = SocketOwners()
    owners.pids.add(os.getpid())
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            assert owners(client.getsockname()) == os.getpid()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"x", ("127.0.0.1", 9))
        assert owners(udp.getsockname()) == os.getpid()
        owners.pids = {os.getpid() + 10_000_000}  # no such process holds it
        assert owners(udp.getsockname()) is None


class FakeClient:
    """Records publishes; connected or not."""

    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.sent: list[tuple[str, str, int]] = []

    def is_connected(self) -> bool:
        return self.connected

    def publish(self, topic: str, body: str, qos: int) -> None:
        self.sent.append((topic, body, qos))


def test_phones_resend_only_old_punches_without_a_receipt():
    import time

    from devices.mobile.topics import Topics
    from soak.fleet_traffic import PhonePeak
    from soak.ledger import Generated, message_id

    peak = PhonePeak(1, Topics(root="r/punchgate/v1"), ["7", "8", "9"], resend_s=10)
    now = time.monotonic()
    for mid, code, age in [("a", "7", 30), ("b", "8", 30), ("c", "9", 1)]:
        peak.generated[mid] = Generated("phones", message_id(mid), code, 0)
        peak.bodies[mid] = f"body {mid}"
        peak.sent_at[mid] = now - age
    peak.receipts["b"] = "accepted"  # answered: never re-sent
    away = FakeClient(connected=False)
    peak._resend(away)  # type: ignore[arg-type]
    assert away.sent == []
    client = FakeClient()
    peak._resend(client)  # type: ignore[arg-type]
    assert client.sent == [("r/punchgate/v1/punch/7", "body a", 1)]
    assert peak.resends == 1 and peak.unanswered() == ["a", "c"]
