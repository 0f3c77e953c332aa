"""A passing database error is retried, never turned into a quarantined (lost) punch."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import event, text

from collector.store.models import Punch, Quarantine
from tests.collector.mqtt.test_native import count, punch
from tests.mqtt_support import wait_for


def test_lock_timeout_mid_batch_is_retried_not_quarantined(seeded, run_consumer, phone, now):
    # Found while soaking: a batch that failed was retried one message at a time, and a
    # message whose own attempt failed too was quarantined as "could not store" — even when
    # the error was the database's, not the message's (a lock or statement timeout, a
    # dropped connection that is back for the quarantine write). Those punches were lost.
    engine = seeded.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL's lock_timeout")

    @event.listens_for(engine, "connect")
    def _short_lock_wait(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute("SET lock_timeout = '200ms'")
        dbapi_conn.commit()

    engine.dispose()  # new connections get the setting
    # In this process, so that the consumer's engine is the one with the short lock wait
    # (the child process runs the same Pipeline code on an engine of its own).
    consumer = run_consumer(batch_wait_s=0.5, ingest_process=False)
    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE punches IN ACCESS EXCLUSIVE MODE"))
        for pid in ("a1", "a2", "a3"):
            phone.publish(consumer.options.topics.punch("1001"), json.dumps(punch(now, pid)))
        wait_for(lambda: consumer.counters.batches == 0 and consumer.connected.is_set(), 5)
        time.sleep(1.5)  # the batch and its one-by-one retries hit the lock meanwhile
        blocker.commit()
    wait_for(lambda: count(seeded, Punch) == 3, 20)
    assert count(seeded, Quarantine) == 0
    assert consumer.counters.inserted == 3
