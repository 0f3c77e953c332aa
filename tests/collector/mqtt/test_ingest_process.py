"""The child process that decides and stores: killed mid-batch, it is replaced and the
batch it held is stored once, acknowledged and answered; stopped, it leaves no process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from collector.mqtt.handling import Inbound
from collector.mqtt.ingestproc import IngestProcess, IngestProcessError
from collector.mqtt.options import MqttOptions
from collector.settings import Settings
from collector.store.models import Punch
from rules.geofence import FixPolicy
from tests.collector.mqtt.test_native import count, punch
from tests.mqtt_support import wait_for


@contextmanager
def writers_blocked(engine: Engine) -> Iterator[None]:
    """Hold the punch table's write lock (so a batch waits inside its transaction)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE punches IN ACCESS EXCLUSIVE MODE"))
            yield
            conn.commit()
        return
    assert engine.url.database is not None
    raw = sqlite3.connect(engine.url.database, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        raw.execute("COMMIT")
        raw.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_ingest_process_killed_mid_batch_is_replaced_and_loses_nothing(
    run_consumer, phone, topics, seeded, now
):
    consumer = run_consumer(batch_wait_s=0.5)  # the 20 held punches make one batch
    first = consumer.ingest_pid
    assert first is not None and first != os.getpid() and alive(first)
    phone.publish(topics.punch("1001"), punch(now, "before"))
    wait_for(lambda: count(seeded, Punch) == 1)
    with writers_blocked(seeded.engine):
        for i in range(20):
            phone.publish(topics.punch(f"100{i % 5 + 1}"), punch(now, f"held-{i}"))
        # The batch reached the child, which waits for the lock inside its transaction.
        wait_for(lambda: consumer._queue.qsize() == 0 and consumer.counters.received == 1)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not alive(first), timeout=10)
    # A new child stores the batch the dead one held, once, and every phone is answered.
    wait_for(lambda: consumer.counters.received == 21, timeout=30)
    second = consumer.ingest_pid
    assert second not in (None, first) and alive(second)
    assert count(seeded, Punch) == 21
    with seeded.sessions() as s:
        refs = s.scalars(select(Punch.source_ref)).all()
        assert sorted(refs) == sorted(["n:before", *(f"n:held-{i}" for i in range(20))])
        assert s.scalar(select(func.count(func.distinct(Punch.dedupe_key)))) == 21
    receipts = wait_for(lambda: phone.receipts() if len(phone.receipts()) >= 21 else None)
    assert {r["id"] for r in receipts} == {"before", *(f"held-{i}" for i in range(20))}
    assert {r["status"] for r in receipts} == {"accepted"}
    assert consumer.counters.acked == 21


def test_stopping_the_consumer_ends_its_ingest_process(run_consumer, phone, topics, seeded, now):
    consumer = run_consumer()
    pid = consumer.ingest_pid
    assert pid is not None
    phone.publish(topics.punch("1002"), json.dumps(punch(now, "x")))
    wait_for(lambda: count(seeded, Punch) == 1)
    consumer.stop()
    assert not alive(pid)


def test_in_process_pipeline_has_no_child(run_consumer, phone, topics, seeded, now):
    consumer = run_consumer(ingest_process=False)
    assert consumer.ingest_pid is None
    phone.publish(topics.punch("1003"), punch(now, "inline"))
    (receipt,) = wait_for(phone.receipts)
    assert receipt["status"] == "accepted" and count(seeded, Punch) == 1


def test_a_child_that_cannot_start_is_an_error_not_a_hang(now):
    # A store the child cannot open: start() only logs (the consumer still connects),
    # and each batch fails with a clear error (the consumer retries it; nothing is acked).
    broken = IngestProcess(
        Settings(database_url="nosuchdb://nowhere/x"), MqttOptions(port=1), FixPolicy()
    )
    broken.start()
    assert broken.pid is None
    msg = Inbound("punchgate/v1/punch/1001", json.dumps(punch(now)).encode(), 1, 1)
    with pytest.raises(IngestProcessError, match="exited while starting"):
        broken.run([msg], now)
    broken.stop()
    assert broken.pid is None
