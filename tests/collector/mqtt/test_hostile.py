"""Hostile phone payloads: refused with their ordinary reason, never an internal error."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

from collector.mqtt.handling import Inbound
from collector.mqtt.options import MqttOptions
from collector.mqtt.pipeline import Pipeline
from collector.runtime import Store
from collector.store.models import Quarantine
from rules.geofence import FixPolicy
from tests.collector.mqtt.test_native import punch

TOPICS = MqttOptions().topics


def test_a_payload_nested_20000_deep_is_quarantined_with_its_reason_and_no_traceback(
    seeded, now, caplog
):
    pipe = Pipeline(seeded, MqttOptions(), FixPolicy())
    pipe.start()
    deep = b"[" * 20_000 + b"]" * 20_000
    batch = [
        Inbound(TOPICS.punch("1001"), deep, 1, 1),
        Inbound(TOPICS.owntracks("user1001", "phone"), deep, 2, 1),
        Inbound(TOPICS.punch("1001"), json.dumps(punch(now, "ok")).encode(), 3, 1),
    ]
    with caplog.at_level(logging.WARNING):
        result = pipe.run(batch, now)
    assert (result.inserted, result.quarantined) == (1, 2)
    with seeded.sessions() as s:
        reasons = sorted(s.scalars(select(Quarantine.reason)))
    assert (
        reasons == ["payload is not a JSON object within limits: nested deeper than 32 levels"] * 2
    )
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_phone_flooding_garbage_is_bounded_per_batch_and_every_message_is_answered(seeded, now):
    store = Store(
        settings=seeded.settings.model_copy(
            update={"quarantine_max_per_upload": 5, "quarantine_max_per_origin": 12}
        ),
        engine=seeded.engine,
        sessions=seeded.sessions,
    )
    pipe = Pipeline(store, MqttOptions(), FixPolicy())
    pipe.start()
    loud, quiet = TOPICS.punch("1001"), TOPICS.punch("1002")

    def batch(tag: str) -> list[Inbound]:
        msgs = [Inbound(loud, f"garbage {tag}{i}".encode(), i, 1) for i in range(30)]
        return [*msgs, Inbound(quiet, b"not json either", 99, 1)]

    first = pipe.run(batch("a"), now)
    # Every message is still answered "rejected" with its own reason.
    assert first.quarantined == 31
    assert all(json.loads(r[0][1])["status"] == "rejected" for r in first.replies)
    with store.sessions() as s:
        rows = s.execute(
            select(Quarantine.origin, Quarantine.input_count).order_by(Quarantine.id)
        ).all()
    assert [tuple(r) for r in rows if r.origin == loud] == [(loud, 1)] * 5 + [(loud, 25)]
    assert [tuple(r) for r in rows if r.origin == quiet] == [(quiet, 1)]
    # The phone's window is spent after 12: the next batch goes into one overflow row.
    pipe.run(batch("b"), now + timedelta(seconds=1))
    pipe.run(batch("c"), now + timedelta(seconds=2))
    with store.sessions() as s:
        counts = s.scalars(
            select(Quarantine.input_count).where(Quarantine.origin == loud).order_by(Quarantine.id)
        ).all()
    assert counts == [1] * 5 + [25, 60]
