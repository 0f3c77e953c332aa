"""The punch app's punches go through the MQTT consumer's own Pipeline: one decision path.

A punch posted by the app is handed to `collector.mqtt.pipeline.Pipeline` as if it had
arrived on the employee's native punch topic, so it is parsed by `devices.mobile.native`,
decided by `rules.geofence` against the same fences with the same flags, stored by the one
ingest (the app's id is the dedupe key) and answered with the same receipt, after commit.
The preview asks the Pipeline's own Decider (`decide_punch`: the fences, then a trip or
field-work day's "anywhere"), so what it says is what the punch will meet.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson

from collector.mqtt.directory import Person
from collector.mqtt.handling import Inbound
from collector.mqtt.options import MqttOptions, fix_policy_of, topics_of
from collector.mqtt.pipeline import Pipeline
from collector.phoneapp.devices import BoundPhone
from collector.runtime import Store
from devices.mobile.wire import PayloadError, load_object
from rules.geofence import CONTAINING, Fix
from rules.vocabulary import PunchFlag

Outcome = Literal["inside", "outside_flagged", "outside_rejected", "accuracy_too_poor", "trip"]


class ReceiptLost(RuntimeError):
    """The punch was committed but its receipt could not be written (resending is safe)."""


@dataclass(frozen=True, slots=True)
class Preview:
    """What a punch from here would come to, before it is sent."""

    outcome: Outcome
    reason: str
    site: str | None
    distance_m: float | None  # from the site's centre, or outside a polygon's outline
    to_fence_m: float | None  # how far outside the fence (0 inside)
    max_accuracy_m: float | None  # the site's limit on the fix's accuracy


class AppPunching:
    """Owns the app's Pipeline (not thread-safe: its caches are guarded by one lock)."""

    def __init__(self, store: Store) -> None:
        settings = store.settings
        self.topics = topics_of(settings)
        options = MqttOptions(
            topics=self.topics, owntracks_identity=settings.mqtt_owntracks_identity
        )
        self.store = store
        self.policy = fix_policy_of(settings)
        self.pipeline = Pipeline(store, options, self.policy)
        self._lock = threading.Lock()

    def submit(self, phone: BoundPhone, body: bytes, *, now: datetime) -> bytes:
        """Decide and store one punch; returns its receipt JSON once committed."""
        try:
            data = load_object(body)
        except PayloadError:
            payload = body  # the Pipeline quarantines it and answers "rejected" with why
        else:
            data["device"] = f"app-{phone.device_id}"  # the bound phone, not the app's claim
            payload = orjson.dumps(data)
        msg = Inbound(self.topics.punch(phone.employee_code), payload, mid=0, qos=1)
        with self._lock:
            result = self.pipeline.run([msg], now)
        replies = result.replies[0] if result.replies else []
        if not replies:
            raise ReceiptLost("the punch was stored but its receipt could not be written")
        return replies[0][1]

    def preview(
        self, phone: BoundPhone, *, lat: float, lon: float, acc: float, now: datetime
    ) -> Preview:
        """The outcome a punch at this fix would get now (travel flags aside)."""
        fix = Fix(lat, lon, acc, now)
        with self._lock, self.store.engine.connect() as conn:
            directory = self.pipeline.directory
            directory.refresh()
            person = directory.person(phone.employee_code) or Person(
                phone.employee_code, directory.default_tz
            )
            verdict = self.pipeline.decider.decide_punch(conn, person, fix, now=now, previous=None)
            sites = list(directory.sites)
        fence = next((s.fence for s in sites if s.fence.site_code == verdict.site_code), None)
        to_fence = None
        if fence is not None and verdict.distance_m is not None:
            to_fence = round(max(0.0, verdict.distance_m - fence.radius_m), 1)
        outcome: Outcome
        if verdict.accepted and verdict.flags & PunchFlag.TRIP_DAY:
            outcome = "trip"  # away from every fence on a trip or field-work day: accepted
        elif verdict.accepted:
            outcome = "inside" if verdict.decision in CONTAINING else "outside_flagged"
        elif fence is not None and acc > fence.max_accuracy_m:
            outcome = "accuracy_too_poor"
        else:
            outcome = "outside_rejected"
        return Preview(
            outcome,
            verdict.reason,
            verdict.site_code,
            None if verdict.distance_m is None else round(verdict.distance_m, 1),
            to_fence,
            None if fence is None else fence.max_accuracy_m,
        )
