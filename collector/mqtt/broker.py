"""An embedded MQTT broker (amqtt, MQTT 3.1.1 only) for single-machine installs and tests.

It runs on its own asyncio loop in a background thread, bound to 127.0.0.1. Consumers
talking to it must use MQTT 3.1.1 (`mqtt_protocol = "3.1.1"`), and every client must give
a user name (see below). Production belongs on Mosquitto with the ACLs in deploy/.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quiet_refusal(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # amqtt refuses a CONNECT it cannot speak (MQTT 5, before the client falls back to
    # 3.1.1), then fails to shut down the socket the client already dropped: asyncio would
    # log that as a 25-line traceback in the middle of the demo's output.
    if isinstance(context.get("exception"), OSError) and "client_connected_cb" in str(
        context.get("message", "")
    ):
        log.info("embedded MQTT broker turned away a client that does not speak MQTT 3.1.1")
        return
    loop.default_exception_handler(context)


class EmbeddedBroker:
    """amqtt on 127.0.0.1:`port` (0 picks a free port); a service Worker."""

    name = "mqtt-broker"

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """mqtt:// URL of this broker."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it listens."""
        self._thread = threading.Thread(target=self._run, name="mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("embedded MQTT broker did not start")
        if self._error is not None:
            raise RuntimeError(f"embedded MQTT broker failed: {self._error}") from self._error
        log.info("embedded MQTT broker (MQTT 3.1.1) listening on %s", self.url)

    def _run(self) -> None:
        from amqtt.broker import Broker

        # amqtt and its state machine log every packet at INFO.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)

        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_refusal)
        self._loop = loop
        asyncio.set_event_loop(loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # amqtt keeps offline queues only for non-anonymous sessions, and marks every
            # session anonymous when anonymous access is allowed: so clients must give a
            # user name (any; it is not checked against a password file).
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}
            },
        }

        async def boot() -> None:
            self._broker = Broker(config, loop=loop)
            await self._broker.start()

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        """Shut the broker down."""
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            future.result(timeout=10)
        except Exception:  # a broker that will not shut down cleanly still stops with its loop
            log.warning("embedded MQTT broker shutdown was not clean", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
