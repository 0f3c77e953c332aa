"""The demo's phones: the consumer (with an embedded broker unless one is configured) and
simulated phones of employees 1001–1010 commuting to site hq in office hours."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from collector.demo.seed import office_open
from collector.mqtt.broker import EmbeddedBroker
from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import MqttOptions, options_from_settings
from collector.runtime import Store
from collector.service import Worker
from devices.mobile.simulator import PhoneSimulator

HQ = (52.52, 13.405, 150.0)
DEMO_PHONES = 10  # employees 1001–1010; the banner's `simulate phones` line brings the rest


@dataclass(frozen=True)
class DemoPhones:
    """The phone workers, and the broker they use as others can reach it."""

    workers: list[Worker]
    options: MqttOptions
    embedded: bool

    @property
    def url(self) -> str:
        """mqtt:// URL of the broker, with no credentials."""
        return f"mqtt://{self.options.host}:{self.options.port}"


def mobile_workers(store: Store, phones: int = DEMO_PHONES) -> DemoPhones:
    """Broker (embedded, on a free port, unless configured), consumer and phone simulator."""
    settings = store.settings
    workers: list[Worker] = []
    embedded = settings.mqtt_url is None or not settings.mqtt_url.get_secret_value()
    if embedded:
        broker = EmbeddedBroker(port=0)
        workers.append(broker)
        options = replace(
            options_from_settings(settings, url=broker.url), protocol="3.1.1", username="punchgate"
        )
    else:
        options = options_from_settings(settings)
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
        active=lambda: office_open(datetime.now(ZoneInfo("Europe/Berlin"))),
    )
    return DemoPhones([*workers, MqttConsumer(store, options), sim], options, embedded)
