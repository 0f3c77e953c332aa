"""Fixtures for the MQTT consumer: a real broker, test-own topics, seeded sites and people."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

import pytest

from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import MqttOptions, parse_url
from collector.runtime import Store
from collector.store.models import Site
from devices.mobile.topics import Topics
from tests.factories import add_employee
from tests.mqtt_support import SHARED_URL, Phone, embedded_broker, unique_topics


@pytest.fixture(scope="session")
def broker() -> Iterator[tuple[str, str]]:
    """(url, protocol): the shared broker (MQTT 5) when configured, else amqtt (3.1.1)."""
    if SHARED_URL:
        yield SHARED_URL, "5"
        return
    with embedded_broker() as url:
        yield url, "3.1.1"


@pytest.fixture
def topics() -> Topics:
    """Topic roots of this test's own."""
    return unique_topics()


@pytest.fixture
def options(broker: tuple[str, str], topics: Topics) -> MqttOptions:
    """Consumer options for this test (own client id and topics)."""
    url, protocol = broker
    return MqttOptions(
        **{**parse_url(url), "username": "punchgate"},  # type: ignore[arg-type]
        protocol=protocol,
        client_id=f"pg-{topics.root.split('/')[0]}",
        topics=topics,
        batch_wait_s=0.005,
        session_expiry_s=120,  # long enough for a restart within the test, no litter after
    )


@pytest.fixture
def seeded(store: Store, now: datetime) -> Store:
    """Site hq (Berlin, 150 m, flag outside) and `far` (reject outside), employees 1001–1005."""
    with store.sessions.begin() as s:
        s.add(
            Site(
                code="hq",
                name="Head office",
                timezone="Europe/Berlin",
                lat=52.52,
                lon=13.405,
                radius_m=150,
                fence={"max_accuracy_m": 100, "outside": "flag"},
            )
        )
        s.add(
            Site(
                code="depot",
                name="Depot",
                timezone="Europe/Berlin",
                lat=52.40,
                lon=13.20,
                radius_m=200,
                fence={
                    "outside": "reject",
                    "punch_mode": "first_last",
                    "bssids": ["aa:bb:cc:dd:ee:ff"],
                },
            )
        )
        for i in range(1, 6):
            add_employee(s, f"100{i}", now, identities={"owntracks": f"user100{i}"})
    return store


@pytest.fixture
def run_consumer(
    seeded: Store, options: MqttOptions, now: datetime, broker: tuple[str, str]
) -> Iterator[Callable[..., MqttConsumer]]:
    """Start consumers (stopped at the end); `clock` defaults to the fixed test `now`."""
    started: list[MqttConsumer] = []

    def run(**changes: object) -> MqttConsumer:
        clock = changes.pop("clock", lambda: now)
        consumer = MqttConsumer(seeded, replace(options, **changes), clock=clock)  # type: ignore[arg-type]
        consumer.start()
        assert consumer.subscribed.wait(10)
        started.append(consumer)
        return consumer

    yield run
    for c in started:
        c.stop()
    if started:  # leave no retained status behind on a shared broker
        url, protocol = broker
        p = Phone(url, protocol)
        p.publish(options.topics.status(options.client_id), b"", retain=True)
        p.close()


@pytest.fixture
def phone(broker: tuple[str, str], topics: Topics) -> Iterator[Phone]:
    """A phone listening to every ack topic of this test."""
    url, protocol = broker
    p = Phone(url, protocol, subscribe=[f"{topics.root}/ack/#"])
    yield p
    p.close()
