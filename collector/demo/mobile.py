"""The demo's phones: the consumer (with an embedded broker unless one is configured) and
20 simulated phones commuting to site hq."""

from __future__ import annotations

from dataclasses import replace

from collector.mqtt.broker import EmbeddedBroker
from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import options_from_settings
from collector.runtime import Store
from collector.service import Worker
from devices.mobile.simulator import PhoneSimulator

HQ = (52.52, 13.405, 150.0)


def mobile_workers(store: Store, phones: int = 20) -> list[Worker]:
    """Broker (embedded, on a free port, unless configured), consumer and phone simulator."""
    settings = store.settings
    workers: list[Worker] = []
    if settings.mqtt_url is not None and settings.mqtt_url.get_secret_value():
        options = options_from_settings(settings)
    else:
        broker = EmbeddedBroker(port=0)
        workers.append(broker)
        options = replace(
            options_from_settings(settings, url=broker.url), protocol="3.1.1", username="punchgate"
        )
    sim = PhoneSimulator(
        host=options.host,
        port=options.port,
        topics=options.topics,
        codes=[str(1001 + i) for i in range(phones)],
        site=HQ,
        rate=4.0,
        protocol=options.protocol,
        username=options.username or "simulator",
        region="hq",
    )
    return [*workers, MqttConsumer(store, options), sim]
