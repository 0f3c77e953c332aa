"""Hostile phone payloads: refused with their ordinary reason, never an internal error."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from collector.mqtt.handling import Inbound
from collector.mqtt.options import MqttOptions
from collector.mqtt.pipeline import Pipeline
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
