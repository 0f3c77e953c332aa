"""The soak sees a punch stored twice under two dedupe keys, on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from collector.normalize import NormalizePolicy, Normalizer, RawPunch, hashed_key
from collector.poller.sync import to_batch
from collector.poller.terminals import Terminal
from collector.store.ingest import ingest
from collector.store.models import Punch
from devices.types import DevicePunch
from devices.zk.driver import ZKSession, ZKTarget
from soak.ledger import Comparison, compare, record_id
from soak.monitor import stored_punches
from soak.run import exit_status
from soak.sources import TZ, Plan, Sources, local_to_epoch

POLICY = NormalizePolicy(default_timezone=TZ)


@pytest.fixture
def sources() -> Iterator[Sources]:
    """The soak's own set-up of one emulated terminal with a few punches on it."""
    found = Sources(Plan(terminals=1, live=0, udp=0, push=0, phones=0, hik=0, dahua=0, history=3))
    found.start_terminals()
    yield found
    found.close()


def _read_terminal(sources: Sources) -> list[DevicePunch]:
    """The terminal's log read through the driver, as the poller reads it."""
    target = ZKTarget("127.0.0.1", sources.ports["zk-01"], transport="tcp", timeout=5)
    with ZKSession(target) as session:
        items = session.read_log(None).items
    assert all(isinstance(i, DevicePunch) for i in items)
    return [i for i in items if isinstance(i, DevicePunch)]


def _verdict(engine: Engine, sources: Sources) -> Comparison:
    """The soak's end-of-run accounting against this store."""
    with engine.connect() as conn:
        return compare(sources.generated(), stored_punches(conn))


def test_a_terminal_record_stored_twice_under_two_keys_fails_the_soak(
    engine: Engine, sources: Sources
) -> None:
    now = datetime.now(UTC)  # the emulator's clock is the wall clock
    records = _read_terminal(sources)
    assert len(records) == 3
    berlin = to_batch(records, Terminal("zk-01", "127.0.0.1", timezone=TZ), 0)
    with engine.begin() as conn:
        assert ingest(conn, berlin, now=now, policy=POLICY).inserted == 3
    clean = _verdict(engine, sources)
    assert clean.ok, clean.as_dict()
    assert exit_status(clean, [], 0) == 0

    # The zone-change defect: the first record read again with the terminal set to UTC,
    # stored one hour off under a key of its own. Inserted as that defect stored it, so
    # the test holds whatever ingest does about zone changes once that is fixed.
    first = records[0]
    [again] = to_batch([first], Terminal("zk-01", "127.0.0.1", timezone="UTC"), 0)
    assert isinstance(again, RawPunch)
    row = Normalizer(now=now, policy=POLICY)(again)
    row["dedupe_key"] = hashed_key("zone-change double")
    with engine.begin() as conn:
        conn.execute(insert(Punch).values(**row, received_at=now))
        keys = conn.scalars(select(Punch.dedupe_key).where(Punch.employee_code == first.user_id))
        assert len(set(keys)) == 2

    result = _verdict(engine, sources)
    generated = record_id("terminal", "zk-01", first.user_id, first.timestamp)
    assert result.duplicated == [generated]
    read_as_utc = int(first.timestamp.replace(tzinfo=UTC).timestamp())
    assert read_as_utc != local_to_epoch(first.timestamp)
    assert result.mismatched == [(generated, first.user_id, read_as_utc)]
    assert (result.missing, result.unexpected, result.matched) == ([], [], 3)
    assert result.as_dict()["duplicated"] == 1
    assert not result.ok
    assert exit_status(result, [], 0) == 1
