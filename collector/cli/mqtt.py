"""`punchgate mqtt`: run the phone-punch consumer or an embedded broker on their own."""

from __future__ import annotations

import contextlib
import signal
import threading

import typer

from collector.cli.common import console, open_existing_store, setup_logging
from collector.fleet.leases import default_node_id
from collector.mqtt.broker import EmbeddedBroker
from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import MqttConfigError, options_from_settings
from collector.settings import get_settings

app = typer.Typer(help="Phones punching over MQTT.", no_args_is_help=True)


def _wait(duration: float | None) -> None:
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait(duration)


@app.command("consume")
def consume_command(
    duration: float | None = typer.Option(None, help="Stop after this many seconds."),
) -> None:
    """Consume phone punches from the configured broker (PUNCHGATE_MQTT_URL) until stopped."""
    settings = get_settings()
    setup_logging(settings)
    try:
        options = options_from_settings(settings, node_id=settings.node_id or default_node_id())
    except MqttConfigError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    store = open_existing_store(settings)
    consumer = MqttConsumer(store, options)
    consumer.start()
    console.print(f"consuming phone punches from {options.where} as {options.client_id}")
    try:
        _wait(duration)
    finally:
        consumer.stop()
        store.close()


@app.command("broker")
def broker_command(
    port: int = typer.Option(1883, help="Port on 127.0.0.1."),
    duration: float | None = typer.Option(None, help="Stop after this many seconds."),
) -> None:
    """Run the embedded MQTT 3.1.1 broker on 127.0.0.1."""
    setup_logging(get_settings())
    broker = EmbeddedBroker(port=port)
    broker.start()
    console.print(f"embedded MQTT broker on {broker.url}")
    try:
        _wait(duration)
    finally:
        broker.stop()
