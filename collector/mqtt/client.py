"""paho clients configured from MqttOptions: the consumer's, and the receipt sender's."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
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


def publish_replies(client: mqtt.Client, replies: list[list[Reply]], qos: int) -> int:
    """Publish a committed batch's receipts; returns how many could not be sent, never raises.

    The punches are stored whatever happens here, so a receipt paho refuses (a bad topic)
    or cannot send (no connection, at QoS 0) is logged and counted, and the caller goes on
    to acknowledge the batch. Callers wrap the batch in one_wakeup.
    """
    failed = 0
    first: str | None = None
    for per_message in replies:
        for topic, body, correlation in per_message:
            try:
                props = None
                if correlation is not None:
                    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    props.CorrelationData = correlation
                rc = client.publish(topic, body, qos=qos, properties=props).rc
            except Exception as exc:
                problem = f"{topic[:120]!r}: {exc!r}"
            else:
                # QoS 1 and 2 receipts are kept by paho while disconnected and sent later.
                if rc == mqtt.MQTT_ERR_SUCCESS or (qos and rc == mqtt.MQTT_ERR_NO_CONN):
                    continue
                problem = f"{topic[:120]!r}: {mqtt.error_string(rc)}"
            failed += 1
            first = first or problem
    if failed:
        log.warning("%d receipts could not be sent (first: %s)", failed, first)
    return failed


class ReceiptSender:
    """A connection of its own that only publishes receipts (used by the ingest process).

    It has no network thread: paho writes each publish at once from the caller's thread,
    and `pump()` (called after each batch and at least once a second) reads the broker's
    replies, keeps the connection alive and reconnects with backoff. A paho network
    thread cost the ingest process a fifth of its time per punch in GIL hand-offs.
    """

    def __init__(self, options: MqttOptions, client_id: str) -> None:
        self.options = options
        self.connected = False
        self.client = new_client(options, client_id, persistent=False)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._retry_at = 0.0
        self._delay = 1.0

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker refused the receipt connection: %s", reason)
            return
        self.connected = True
        self._delay = 1.0

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False

    def start(self) -> None:
        """Connect, waiting a little so the first receipts go out (retried if it fails)."""
        self._connect(first=True)
        deadline = time.monotonic() + CONNECT_WAIT_S
        while not self.connected and time.monotonic() < deadline:
            if self.client.socket() is None:
                break
            self.client.loop(0.05)
        if not self.connected:
            log.warning("receipts wait for the MQTT broker %s", self.options.where)

    def _connect(self, *, first: bool = False) -> None:
        o = self.options
        try:
            if first and o.protocol == "5":
                self.client.connect(o.host, o.port, o.keepalive_s, clean_start=True)
            elif first:
                self.client.connect(o.host, o.port, o.keepalive_s)
            else:
                self.client.reconnect()
        except (OSError, ValueError) as exc:
            log.warning("receipt connection to %s failed: %s", o.where, exc)
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, RETRY_MAX_S)

    def pump(self, timeout: float = 0.0) -> None:
        """Read, write and keep alive; reconnect when the connection is gone and it is time."""
        if self.client.socket() is None:
            if time.monotonic() >= self._retry_at:
                self._connect()
            return
        rc = self.client.loop(timeout)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            self.connected = False
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, RETRY_MAX_S)

    def send(self, replies: list[list[Reply]]) -> int:
        """Publish a committed batch's receipts; returns how many were not sent, never raises.

        A receipt while disconnected is lost (counted); the phone re-sends the punch and
        hears ``duplicate``.
        """
        # No network thread to wake, but paho would still write its wake-up byte per publish.
        with one_wakeup(self.client):
            failed = publish_replies(self.client, replies, self.options.receipt_qos)
        # What the socket did not take at once (a full send buffer) goes out now.
        deadline = time.monotonic() + 1.0
        try:
            self.pump()
            while self.client.want_write() and self.connected and time.monotonic() < deadline:
                self.pump(0.01)
        except Exception:  # the batch is committed: the connection's trouble is pump's to mend
            log.exception("the receipt connection failed while sending")
        return failed

    def stop(self) -> None:
        """Send what is queued and disconnect."""
        if self.client.socket() is not None:
            self.client.disconnect()
            self.client.loop(0.1)
