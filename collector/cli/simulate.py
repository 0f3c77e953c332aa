"""`punchgate simulate phones`: realistic phone traffic against a broker."""

from __future__ import annotations

import typer

from collector.cli.common import console
from collector.mqtt.options import parse_url
from collector.settings import get_settings
from devices.mobile.simulator import BrokerRefused, PhoneSimulator
from devices.mobile.topics import Topics

app = typer.Typer(help="Simulated devices.", no_args_is_help=True)


@app.command("phones")
def phones_command(
    count: int = typer.Option(20, min=1, help="Phones (employees 1001…)."),
    rate: float = typer.Option(5.0, min=0.1, help="Messages a second, all phones together."),
    duration: float = typer.Option(60.0, help="Seconds to run."),
    url: str | None = typer.Option(None, help="Broker URL (default: PUNCHGATE_MQTT_URL)."),
    lat: float = typer.Option(52.52, help="Site centre latitude."),
    lon: float = typer.Option(13.405, help="Site centre longitude."),
    radius: float = typer.Option(150.0, help="Site fence radius (m)."),
    region: str = typer.Option("hq", help="OwnTracks region name of the site."),
    first_code: int = typer.Option(1001, help="Employee code of the first phone."),
) -> None:
    """Publish native and OwnTracks traffic: commutes, offline bursts, a few spoofers."""
    settings = get_settings()
    target = url or (settings.mqtt_url.get_secret_value() if settings.mqtt_url else "")
    target = target or f"mqtt://simulator@127.0.0.1:{settings.mqtt_embedded_port}"
    where = parse_url(target)
    sim = PhoneSimulator(
        host=str(where["host"]),
        port=int(where["port"]),  # type: ignore[call-overload]
        topics=Topics(settings.mqtt_topic_root, settings.mqtt_owntracks_root),
        codes=[str(first_code + i) for i in range(count)],
        site=(lat, lon, radius),
        rate=rate,
        pace="message",
        protocol=settings.mqtt_protocol,
        username=str(where["username"] or "simulator"),
        region=region,
    )
    console.print(f"simulating {count} phones at {rate} messages/s for {duration:.0f}s")
    try:
        sim.run_for(duration)
    except BrokerRefused as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(
        f"published {sim.published} messages over MQTT {sim.protocol} to {sim.where}: "
        f"{sim.acked} acknowledged by the broker"
    )
    if sim.acked < sim.published:
        # A message the broker did not acknowledge may never reach the service.
        console.print(
            f"[red]{sim.published - sim.acked} messages were not acknowledged "
            f"({sim.refused} refused, {sim.unacked()} unanswered)[/]"
        )
        raise typer.Exit(1)
