"""paho clients configured from MqttOptions: the consumer's, and the receipt sender's."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.mqtt.options import MqttOptions
from collector.mqtt.wakeup import one_wakeup

log = logging.getLogger(__name__)

RETRY_MAX_S = 30.0
CONNECT_WAIT_S = 10.0

# (topic, receipt JSON, MQTT 5 correlation data to echo or None)
Reply = tuple[str, bytes, bytes | None]


def new_client(options: MqttOptions, client_id: str, *, persistent: bool) -> mqtt.Client:
    """A client with the options' protocol, credentials, TLS and reconnect backoff.

    `persistent` keeps the broker-side session across reconnects (MQTT 5 sessions get
    their expiry at connect; 3.1.1 needs clean_session=False here).
    """
    o = options
    v5 = o.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else not persistent,
        manual_ack=persistent,
    )
    if o.username:
        client.username_pw_set(o.username, o.password)
    if o.tls:
        client.tls_set(
            ca_certs=str(o.tls_ca) if o.tls_ca else None,
            cert_reqs=ssl.CERT_NONE if o.tls_insecure else ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(o.tls_insecure)
    client.reconnect_delay_set(1, int(RETRY_MAX_S))
    client.max_inflight_messages_set(1000)  # receipts in flight at once
    client.max_queued_messages_set(0)
    client.on_socket_open = _no_delay
    return client


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    # Acks and receipts are small writes: with Nagle's algorithm one waits for the TCP
    # ack of the one before, and the broker delays acks up to 40 ms.
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def publish_replies(client: mqtt.Client, replies: list[list[Reply]], qos: int) -> None:
    """Publish a batch's receipts, waking paho's network thread once."""
    with one_wakeup(client):
        for per_message in replies:
            for topic, body, correlation in per_message:
                props = None
                if correlation is not None:
                    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    props.CorrelationData = correlation
                client.publish(topic, body, qos=qos, properties=props)


class ReceiptSender:
    """A connection of its own that only publishes receipts (used by the ingest process)."""

    def __init__(self, options: MqttOptions, client_id: str) -> None:
        self.options = options
        self.connected = threading.Event()
        self.client = new_client(options, client_id, persistent=False)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker refused the receipt connection: %s", reason)
            return
        self.connected.set()

    def start(self) -> None:
        """Connect in the background; wait a little so the first receipts go out."""
        o = self.options
        if o.protocol == "5":
            self.client.connect_async(o.host, o.port, o.keepalive_s, clean_start=True)
        else:
            self.client.connect_async(o.host, o.port, o.keepalive_s)
        self.client.loop_start()
        if not self.connected.wait(CONNECT_WAIT_S):
            log.warning("receipts wait for the MQTT broker %s", o.where)

    def send(self, replies: list[list[Reply]]) -> None:
        """Publish receipts (a receipt while disconnected is lost; the phone re-sends)."""
        publish_replies(self.client, replies, self.options.receipt_qos)

    def stop(self) -> None:
        """Send what is queued and disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
