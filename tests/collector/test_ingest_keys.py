"""The 64-bit dedupe key: wall-clock order, and punches that share a key both kept."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from collector.normalize import NormalizePolicy, RawPunch, normalize, rekey, wall_key
from collector.store.ingest import Outcome, ingest, ingest_batch
from collector.store.models import DirtyDay, Punch
from rules.vocabulary import SourceKind
from tests.factories import add_employee, raw_punch

POLICY = NormalizePolicy()
NINE = datetime(2026, 3, 2, 9, 0, 7)


def _colliding_codes() -> tuple[str, str]:
    """Two employee codes whose 30-bit hashes agree: their punches in one second share a key."""
    seen: dict[int, str] = {}
    for n in range(1_000_000):
        code = f"C{n}"
        low = int.from_bytes(hashlib.blake2b(code.encode(), digest_size=4).digest()) & (2**30 - 1)
        if low in seen:
            return seen[low], code
        seen[low] = code
    raise AssertionError("no collision among a million codes")  # pragma: no cover


A, B = _colliding_codes()


def test_wall_keys_follow_the_wall_clock_and_references_stay_apart(now):
    keys = [
        normalize(raw_punch("1001", NINE + timedelta(seconds=s)), now=now, policy=POLICY)
        for s in (0, 1, 3600)
    ]
    assert keys[0]["dedupe_key"] < keys[1]["dedupe_key"] < keys[2]["dedupe_key"]
    assert all(0 < k["dedupe_key"] < 2**63 for k in keys)
    phone = RawPunch(
        "1001", NINE.replace(tzinfo=UTC), SourceKind.MOBILE, tz="UTC", source_ref="msg-1"
    )
    assert -(2**63) <= normalize(phone, now=now, policy=POLICY)["dedupe_key"] < 0
    # Outside 2000–2136 a wall time cannot be laid out: a hashed key, still its own.
    old = normalize(raw_punch("1001", datetime(1999, 12, 31, 23, 0)), now=now, policy=POLICY)
    assert old["dedupe_key"] < 0 and old["dedupe_key"] != wall_key("1002", datetime(1999, 1, 1))


def test_codes_that_share_a_key_are_both_stored_and_each_found_again(engine, store, now):
    assert A != B and wall_key(A, NINE) == wall_key(B, NINE)
    with store.sessions.begin() as s:
        add_employee(s, A, now)
        emp_b = add_employee(s, B, now)
    first = ingest_batch(engine, [raw_punch(A, NINE)], now=now, policy=POLICY)
    second = ingest_batch(engine, [raw_punch(B, NINE)], now=now, policy=POLICY)
    assert (first.inserted, second.inserted, second.duplicates) == (1, 1, 0)
    again = ingest_batch(engine, [raw_punch(B, NINE), raw_punch(A, NINE)], now=now, policy=POLICY)
    assert again.outcomes == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    with store.sessions() as s:
        rows = dict(s.execute(select(Punch.employee_code, Punch.dedupe_key)).all())
        dirty = set(s.scalars(select(DirtyDay.employee_id)))
    assert rows == {A: wall_key(A, NINE), B: rekey(wall_key(B, NINE), (B,))}
    assert emp_b.id in dirty


def test_colliding_punches_in_one_batch_are_both_stored(engine, store, now):
    batch = [raw_punch(A, NINE), raw_punch(B, NINE), raw_punch(A, NINE), raw_punch(B, NINE)]
    result = ingest_batch(engine, batch, now=now, policy=POLICY)
    assert result.outcomes == [Outcome.INSERTED] * 2 + [Outcome.DUPLICATE] * 2
    assert (result.inserted, result.duplicates) == (2, 2)
    repeat = ingest_batch(engine, batch, now=now, policy=POLICY)
    assert (repeat.inserted, repeat.duplicates) == (0, 4)
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Punch)) == 2


def test_a_phone_punch_is_not_taken_for_a_terminal_punch_with_its_key(engine, store, now):
    phone = RawPunch(A, NINE.replace(tzinfo=UTC), SourceKind.MOBILE, tz="UTC", source_ref="m-1")
    key = normalize(phone, now=now, policy=POLICY)["dedupe_key"]
    terminal = normalize(raw_punch(A, NINE), now=now, policy=POLICY)
    with engine.begin() as conn:  # a terminal punch of the same code already holding that key
        conn.execute(
            insert(Punch).values(
                {**terminal, "dedupe_key": key, "received_at": now, "employee_id": None}
            )
        )
    result = ingest_batch(engine, [phone], now=now, policy=POLICY)
    again = ingest_batch(engine, [phone], now=now, policy=POLICY)
    assert (result.inserted, again.duplicates) == (1, 1)
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Punch)) == 2


def test_batches_above_and_below_the_newest_stored_key_keep_exactly_once(engine, store, now):
    # A batch whose keys are all above the newest stored one is written without a probe;
    # one that reaches back below it must still find its duplicates and its collisions.
    later = [raw_punch(A, NINE + timedelta(hours=1)), raw_punch("1001", NINE + timedelta(hours=1))]
    assert ingest_batch(engine, later, now=now, policy=POLICY).inserted == 2
    newer = [raw_punch(A, NINE + timedelta(hours=2))]
    assert ingest_batch(engine, newer, now=now, policy=POLICY).inserted == 1
    mixed = [raw_punch(A, NINE), *later, raw_punch(B, NINE + timedelta(hours=1)), *newer]
    result = ingest_batch(engine, mixed, now=now, policy=POLICY)
    assert result.outcomes == [
        Outcome.INSERTED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.INSERTED,  # B shares A's key at that second: stored re-keyed
        Outcome.DUPLICATE,
    ]
    with store.sessions() as s:
        keys = dict(
            s.execute(
                select(Punch.dedupe_key, Punch.employee_code).where(Punch.employee_code == B)
            ).all()
        )
        assert s.scalar(select(func.count()).select_from(Punch)) == 5
    assert keys == {rekey(wall_key(B, NINE + timedelta(hours=1)), (B,)): B}


def test_a_writer_racing_on_the_same_keys_finds_duplicates_and_collisions(engine, store, now):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: nothing can race the insert")
    first_batch = [raw_punch(A, NINE), raw_punch("1001", NINE)]
    second_batch = [raw_punch("1001", NINE), raw_punch(B, NINE), raw_punch("1002", NINE)]
    with engine.connect() as first, engine.connect() as observer, ThreadPoolExecutor(1) as pool:
        tx = first.begin()
        assert ingest(first, first_batch, now=now, policy=POLICY).inserted == 2
        # The second writer cannot see our keys yet: it writes, and waits on our unique keys.
        later = pool.submit(ingest_batch, engine, second_batch, now=now, policy=POLICY)
        deadline = time.monotonic() + 30
        while not later.done() and time.monotonic() < deadline:
            waiting = observer.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ).scalar()
            observer.rollback()
            if waiting:
                break
            time.sleep(0.01)
        tx.commit()
        result = later.result(timeout=60)
    assert result.outcomes == [Outcome.DUPLICATE, Outcome.INSERTED, Outcome.INSERTED]
    assert (result.inserted, result.duplicates) == (2, 1)
    with store.sessions() as s:
        rows = dict(s.execute(select(Punch.employee_code, Punch.dedupe_key)).all())
    assert len(rows) == 4
    assert rows[B] == rekey(wall_key(B, NINE), (B,))
