"""The emulator as an independent BioTime client sees it: PyPI's `pybiotime` (httpx, pydantic).

It logs in with JWT (reading the token's expiry) or token auth, follows the pages' `next`
links, sends `page_size` and `limit`, orders by upload time for its incremental read and
parses every transaction into its own typed model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devices.biotime.emulator import BioTimeEmulator, BioTimeServer

pybiotime = pytest.importorskip("pybiotime", reason="pybiotime is a test extra")

SN = "CQZ7231360001"


@pytest.fixture
def served() -> Iterator[tuple[BioTimeServer, str]]:
    server = BioTimeServer(password="indep-pass")
    server.add_terminal(SN, timezone="Asia/Shanghai")
    server.add_terminal("CQZ7231360002", timezone="Europe/Berlin")
    server.fill(230, seed=8)
    with BioTimeEmulator(server) as emulator:
        yield server, f"http://127.0.0.1:{emulator.port}"


@pytest.mark.parametrize("scheme", ["JWTAuth", "TokenAuth"])
def test_pybiotime_logs_in_and_lists_every_transaction(served, scheme):
    server, url = served
    auth = getattr(pybiotime, scheme)("admin", "indep-pass")
    with pybiotime.BioTimeClient(url, auth=auth, page_size=50) as client:
        punches = list(client.transactions.list())
        mine = list(client.transactions.list(terminal_sn=SN))
        terminals = list(client.terminals.list())
    assert [p.id for p in punches] == [t["id"] for t in server.transactions]
    first, raw = punches[0], server.transactions[0]
    assert (first.emp_code, first.punch_state, first.verify_type) == (
        raw["emp_code"],
        raw["punch_state"],
        raw["verify_type"],
    )
    assert first.punch_time.strftime("%Y-%m-%d %H:%M:%S") == raw["punch_time"]
    assert {p.terminal_sn for p in mine} == {SN}
    assert sorted(t.sn for t in terminals) == sorted(server.terminals)
    assert server.logins == ["JWT" if scheme == "JWTAuth" else "Token"]


def test_pybiotime_incremental_read_finds_a_late_upload(served):
    server, url = served
    auth = pybiotime.JWTAuth("admin", "indep-pass")
    with pybiotime.BioTimeClient(url, auth=auth, page_size=100) as client:
        first = client.transactions.read_new()
        assert len(first.transactions) == len(server.transactions)
        old = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=20)
        late = server.add_punch(SN, "4242", old, state="1")
        second = client.transactions.read_new(first.state)
    assert [t.id for t in second.transactions] == [late["id"]]


def test_pybiotime_sees_a_refused_login(served):
    _, url = served
    auth = pybiotime.TokenAuth("admin", "wrong")
    with pybiotime.BioTimeClient(url, auth=auth) as client, pytest.raises(pybiotime.BioTimeError):
        client.transactions.list().first_page()
