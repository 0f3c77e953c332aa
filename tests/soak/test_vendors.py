"""The soak's Hikvision and Dahua terminals, read by the service's own pollers into a real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from collector.config import apply_config, load_config
from collector.poller.dahuadevices import DahuaDevice, load_dahua_devices
from collector.poller.device import TerminalPoller
from collector.poller.hikdevices import HikDevice, load_hik_devices
from collector.runtime import Store
from collector.store.models import Quarantine
from soak.configfile import write_config
from soak.ledger import Comparison, QuarantineRow, compare
from soak.monitor import Monitor, StoreReader, source_of, stored_punches
from soak.sources import Plan, Sources
from soak.vendors import VendorFaults


@pytest.fixture
def sources() -> Iterator[Sources]:
    """The soak's set-up of one Hikvision and one Dahua terminal, a few punches on each."""
    found = Sources(Plan(terminals=0, live=0, udp=0, push=0, phones=0, hik=1, dahua=1, history=4))
    found.start_terminals()
    yield found
    found.close()


@pytest.fixture
def pollers(sources: Sources, store: Store, tmp_path: Path, now: datetime) -> list[TerminalPoller]:
    """The service's pollers for the devices the soak's configuration file declares."""
    config = tmp_path / "soak.toml"
    write_config(config, sources)
    with store.sessions.begin() as session:
        apply_config(session, load_config(config), now=now, box=store.box)
    devices: list[HikDevice | DahuaDevice] = [*load_hik_devices(store.engine, box=store.box)]
    devices += load_dahua_devices(store.engine, box=store.box)
    assert [d.code for d in devices] == ["hik-1", "dahua-1"]
    return [TerminalPoller(store, d) for d in devices]


def _verdict(store: Store, sources: Sources) -> Comparison:
    with store.engine.connect() as conn:
        stored = stored_punches(conn)
        rows = conn.execute(
            select(
                Quarantine.source_kind,
                Quarantine.device_code,
                Quarantine.reference,
                Quarantine.reason,
                Quarantine.raw,
            )
        )
        quarantine = [QuarantineRow(*r) for r in rows]
    return compare(sources.generated(), stored, sources.malformed, quarantine)


def _punch_a_while_ago(sources: Sources, count: int, minutes: int) -> None:
    for term in sources.vendors.values():
        for n, user in enumerate(term.users[:count]):
            when = term.now() - timedelta(minutes=minutes - n)
            term.punch(user, when, n % 2)
            term.noise(when + timedelta(seconds=1))


def test_a_link_cut_after_the_first_page_loses_and_doubles_nothing(
    sources: Sources, pollers: list[TerminalPoller], store: Store
) -> None:
    _punch_a_while_ago(sources, 8, 30)
    sources.vendor_malformed(list(sources.vendors))
    for term in sources.vendors.values():
        term.drop_after_next_page()
    assert [p.poll() for p in pollers] == [None, None]  # each read cut after its first page
    partial = _verdict(store, sources)
    assert 0 < partial.matched < partial.generated and not partial.duplicated
    for term in sources.vendors.values():
        term.disarm_fired()
        assert term.drops_fired == 1 and term.armed_drop is None
    assert all(p.poll() is not None for p in pollers)  # the rest, from the committed cursor
    verdict = _verdict(store, sources)
    assert verdict.ok, verdict.as_dict()
    assert verdict.matched == verdict.generated == 2 * (4 + 8)
    assert (verdict.malformed_sent, verdict.quarantined) == (2, 2)
    assert set(verdict.by_source) == {"hik:hik-1", "dahua:dahua-1"}


def test_a_garbled_reply_and_a_clock_jump_are_read_through(
    sources: Sources, pollers: list[TerminalPoller], store: Store
) -> None:
    assert all(p.poll() is not None for p in pollers)
    for term in sources.vendors.values():
        term.skew(7200)
        term.garble_next_reply()
    _punch_a_while_ago(sources, 5, 10)
    assert [p.poll() for p in pollers] == [None, None]
    assert all(t.garble_fired() for t in sources.vendors.values())
    assert all(p.poll() is not None for p in pollers)
    verdict = _verdict(store, sources)
    assert verdict.ok, verdict.as_dict()
    assert verdict.matched == 2 * (4 + 5)


def test_refused_logins_read_nothing_until_accepted(
    sources: Sources, pollers: list[TerminalPoller], store: Store
) -> None:
    for term in sources.vendors.values():
        term.refuse_logins(True)
    assert [p.poll() for p in pollers] == [None, None]
    assert _verdict(store, sources).matched == 0
    for term in sources.vendors.values():
        term.refuse_logins(False)
    assert all(p.poll() is not None for p in pollers)
    assert _verdict(store, sources).ok


def test_stored_rows_are_counted_under_their_vendor_source() -> None:
    assert source_of("hik-2") == "hik:hik-2"
    assert source_of("dahua-10") == "dahua:dahua-10"


def test_a_fault_whose_switch_never_fired_is_a_problem(
    sources: Sources, pollers: list[TerminalPoller]
) -> None:
    monitor = Monitor(StoreReader("postgresql://127.0.0.1:1/none"), sources.counts)
    faults = VendorFaults(sources.vendors, set(), monitor, dict, lambda: None)
    names = [name for _, name, _ in faults.schedule()]
    assert names[-1] == "dahua event streams cut"  # the first Dahua controller is live
    faults.garble(["hik-1", "dahua-1"])
    assert faults.unfired() == ["hik/dahua search replies garbled: not every switch fired"]
    pollers[0].poll()  # hik-1 meets its garbled reply; dahua-1 is never asked
    assert faults.unfired() == ["hik/dahua search replies garbled: not every switch fired"]
    assert monitor.faults[0].notes["garbled"] == ["hik-1"]
    pollers[1].poll()
    assert faults.unfired() == []
