"""OwnTracks phones through a real broker: transitions, location modes, other types, retained."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select

from collector.mqtt.consumer import MqttConsumer
from collector.store.models import Punch, Quarantine
from rules.vocabulary import PunchFlag
from tests.mqtt_support import wait_for


def rows(store, model):
    with store.sessions() as s:
        return list(s.scalars(select(model).order_by(model.id)))


def count(store, model) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def transition(now: datetime, event: str, desc: str = "Head office", minutes: int = 5, **kw):
    tst = int((now - timedelta(minutes=minutes)).timestamp())
    lat, lon = (52.5201, 13.4051) if event == "enter" else (52.5240, 13.4051)
    return {
        "_type": "transition",
        "event": event,
        "desc": desc,
        "tst": tst,
        "wtst": 1_700_000_000,
        "lat": lat,
        "lon": lon,
        "acc": 15,
        "t": "c",
        **kw,
    }


def location(now: datetime, minutes: int, lat=52.4001, lon=13.2001, **kw):
    tst = int((now - timedelta(minutes=minutes)).timestamp())
    return {
        "_type": "location",
        "lat": lat,
        "lon": lon,
        "tst": tst,
        "acc": 10,
        "_id": f"{tst:x}"[-8:],
        "tid": "u1",
        **kw,
    }


def test_transitions_become_in_and_out_punches(run_consumer, phone, topics, seeded, now):
    run_consumer()
    event = topics.owntracks_event("user1001", "pixel")
    phone.publish(event, transition(now, "enter", minutes=300))
    phone.publish(event, transition(now, "leave", minutes=5))
    phone.publish(event, transition(now, "enter", "Home", minutes=2))  # a private region
    wait_for(lambda: count(seeded, Punch) == 2)
    enter, leave = rows(seeded, Punch)
    assert (enter.employee_code, enter.state, enter.site_code, enter.geo_decision) == (
        "1001",
        "in",
        "hq",
        "inside",
    )
    assert (leave.state, leave.site_code, leave.geo_decision, leave.flags) == (
        "out",
        "hq",
        "outside",
        0,
    )
    assert enter.device_code == "pixel" and enter.source_kind == "mobile"
    assert enter.occurred_at == now - timedelta(minutes=300)
    assert enter.flags == PunchFlag.LATE_DELIVERY  # delivered hours after it happened
    assert count(seeded, Quarantine) == 0


def test_location_punches_only_at_first_last_sites(run_consumer, phone, topics, seeded, now):
    consumer = run_consumer()
    loc = topics.owntracks("user1002", "iphone")
    phone.publish(loc, location(now, 5, lat=52.5201, lon=13.4051))  # hq: transitions only
    phone.publish(loc, location(now, 240))  # depot (first_last): the day's first inside fix
    phone.publish(loc, location(now, 120, lat=52.4003))
    phone.publish(loc, location(now, 60, lat=52.4004))
    phone.publish(loc, location(now, 30, lat=52.4004, lon=13.2004, BSSID="AA:BB:CC:DD:EE:FF"))
    phone.publish(loc, location(now, 20, lat=52.45))  # away from the depot: not a punch
    phone.publish(loc, location(now, 60, lat=52.4004))  # the phone re-sends one
    wait_for(lambda: consumer.counters.received == 7)
    got = rows(seeded, Punch)
    assert [(p.state, p.site_code) for p in got] == [("in", "depot")] + [("out", "depot")] * 3
    assert got[3].flags == PunchFlag.BSSID_PROOF | PunchFlag.LATE_DELIVERY
    assert got[3].geo_decision == "bssid"
    assert consumer.counters.duplicates == 1 and consumer.counters.ignored == 2


def test_other_types_are_ignored_and_the_consumer_carries_on(
    run_consumer, phone, topics, seeded, now
):
    consumer = run_consumer()
    loc = topics.owntracks("user1003", "pixel")
    phone.publish(loc, {"_type": "lwt", "tst": 1_795_780_000})
    phone.publish(
        loc,
        {
            "_type": "waypoint",
            "desc": "Office",
            "lat": 52.52,
            "lon": 13.4,
            "rad": 100,
            "tst": 1_795_780_000,
        },
    )
    phone.publish(loc, {"_type": "card", "name": "Ann"})
    phone.publish(topics.owntracks_event("user1003", "pixel"), transition(now, "enter"))
    wait_for(lambda: count(seeded, Punch) == 1)
    wait_for(lambda: consumer.counters.received == 4)
    assert consumer.counters.ignored == 3
    assert count(seeded, Quarantine) == 0


def test_retained_messages_are_never_counted_twice(
    run_consumer, phone, topics, seeded, now, options
):
    event = topics.owntracks_event("user1004", "pixel")
    # OwnTracks publishes retained: a new subscriber gets the last message again.
    phone.publish(event, transition(now, "enter"), retain=True)
    first = run_consumer()
    wait_for(lambda: count(seeded, Punch) == 1)
    first.stop()
    other = MqttConsumer(
        seeded, replace(options, client_id=options.client_id + "-b"), clock=lambda: now
    )
    other.start()
    try:
        wait_for(lambda: other.counters.received >= 1)
        # (amqtt may hand a retained message over twice; both are duplicates)
        assert other.counters.duplicates >= 1 and other.counters.inserted == 0
        assert count(seeded, Punch) == 1
    finally:
        other.stop()
        phone.publish(event, b"", retain=True)  # clear the retained message


def test_unknown_user_and_bad_payloads_are_quarantined(run_consumer, phone, topics, seeded, now):
    consumer = run_consumer()
    phone.publish(topics.owntracks_event("mallory", "pixel"), transition(now, "enter"))
    phone.publish(topics.owntracks("user1005", "pixel"), b"{not json")
    phone.publish(topics.owntracks("user1005", "pixel"), location(now, 5, lat=91))
    phone.publish(topics.owntracks_event("user1005", "pixel"), transition(now, "enter"))
    wait_for(lambda: consumer.counters.received == 4)
    reasons = sorted(q.reason for q in rows(seeded, Quarantine))
    assert len(reasons) == 3
    assert "no employee has OwnTracks user 'mallory'" in reasons
    assert any(r.startswith("payload is not JSON") for r in reasons)
    assert any("lat" in r for r in reasons)
    assert [p.employee_code for p in rows(seeded, Punch)] == ["1005"]
    assert json.loads(rows(seeded, Punch)[0].raw)["_type"] == "transition"
