"""The MQTT workers a service runs: the consumer, and an embedded broker when none is configured."""

from __future__ import annotations

from dataclasses import replace

from collector.mqtt.broker import EmbeddedBroker
from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import options_from_settings
from collector.runtime import Store
from collector.service import Worker


def mqtt_workers(store: Store, *, node_id: str | None = None) -> list[Worker]:
    """Consumer against the configured broker, or embedded broker + consumer (MQTT 3.1.1).

    With a share group (`mqtt_share_group`) each process is one member of the group, its
    client id carrying `node_id`; the embedded broker serves one process and no groups.
    """
    settings = store.settings
    if settings.mqtt_url is not None and settings.mqtt_url.get_secret_value():
        return [MqttConsumer(store, options_from_settings(settings, node_id=node_id))]
    broker = EmbeddedBroker(port=settings.mqtt_embedded_port)
    # amqtt speaks MQTT 3.1.1 only.
    options = replace(
        options_from_settings(settings, url=broker.url),
        protocol="3.1.1",
        username="punchgate",
        share_group=None,
    )
    return [broker, MqttConsumer(store, options)]
