"""`punchgate sync`: pull one terminal's (ZK, Hikvision, Dahua, BioTime) new records once."""

from __future__ import annotations

import json

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import or_, select

from collector.cli.common import console, open_existing_store, setup_logging
from collector.normalize import NormalizeError, zone
from collector.poller.biotimedevices import BioTimeDevice, load_biotime_devices
from collector.poller.biotimesync import sync_biotime
from collector.poller.dahuadevices import DahuaDevice, load_dahua_devices
from collector.poller.dahuasync import sync_dahua
from collector.poller.hikdevices import HikDevice, load_hik_devices
from collector.poller.hiksync import sync_hik
from collector.poller.sync import SyncOutcome, sync_terminal
from collector.poller.terminals import (
    STATUS_OFFLINE,
    STATUS_UNAUTHORIZED,
    Terminal,
    load_terminals,
    mark_status,
)
from collector.runtime import Store
from collector.settings import get_settings
from collector.store.models import Device
from devices.biotime.client import BioTimeClient
from devices.dahua.client import DahuaClient
from devices.hikvision.client import ISAPIClient
from devices.zk.driver import ZKSession
from devices.zk.errors import DeviceAuthError, DeviceError

DEFAULT_PORT = 4370


def sync_command(
    device: str | None = typer.Argument(None, help="Code of a configured terminal."),
    host: str | None = typer.Option(None, help="Address of a terminal not in the config."),
    port: int = typer.Option(DEFAULT_PORT, help="Port of --host."),
    udp: bool = typer.Option(False, help="Talk UDP to --host (default: TCP, UDP fallback)."),
    comm_key: int = typer.Option(0, help="Comm key of --host."),
    timezone: str | None = typer.Option(
        None,
        help="IANA zone of --host's clock (required unless a configured device has that address).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Read what is new on one terminal and store it."""
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    try:
        terminal = _terminal(store, device, host, port, udp, comm_key, timezone)
        outcome = _run(store, terminal, quiet=as_json)
    except DeviceError as exc:
        console.print(f"[red]sync failed:[/] {exc}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        print(json.dumps(outcome.as_dict()))
    else:
        console.print(
            f"{outcome.device}: {outcome.read} new records ({outcome.reason}), "
            f"{outcome.inserted} stored, {outcome.duplicates} already stored, "
            f"{outcome.quarantined} quarantined, {outcome.ignored} not punches; "
            f"{outcome.total} on the terminal; "
            f"clock skew {outcome.clock_skew_s:+.0f} s"
        )


def _terminal(
    store: Store,
    device: str | None,
    host: str | None,
    port: int,
    udp: bool,
    comm_key: int,
    timezone: str | None,
) -> Terminal | HikDevice | DahuaDevice | BioTimeDevice:
    if host:
        if timezone is None:
            timezone = _configured_zone(store, host, port)
        else:
            try:
                zone(timezone)
            except NormalizeError as exc:
                raise typer.BadParameter(str(exc), param_hint="--timezone") from None
        return Terminal(
            code=device or f"{host}:{port}",
            host=host,
            port=port,
            transport="udp" if udp else "auto",
            timezone=timezone,
            comm_key=comm_key,
        )
    if not device:
        raise typer.BadParameter("name a configured terminal or give --host")
    found: list[Terminal | HikDevice | DahuaDevice | BioTimeDevice] = [
        *load_terminals(store.engine, [device], box=store.box)
    ]
    found += load_hik_devices(store.engine, [device], box=store.box)
    found += load_dahua_devices(store.engine, [device], box=store.box)
    found += load_biotime_devices(store.engine, [device], box=store.box)
    if not found:
        raise typer.BadParameter(f"no enabled polled device {device!r} in the store")
    return found[0]


def _configured_zone(store: Store, host: str, port: int) -> str:
    # A terminal's records are keyed on its wall clock, but their instants need its zone:
    # guessing UTC would store a Berlin terminal an hour off.
    same_port = Device.port == port
    if port == DEFAULT_PORT:
        same_port = or_(same_port, Device.port.is_(None))
    with store.sessions() as session:
        zones = set(session.scalars(select(Device.timezone).where(Device.host == host, same_port)))
    if len(zones) == 1:
        return zones.pop()
    why = (
        f"configured devices at {host}:{port} disagree on the zone"
        if zones
        else f"no configured device has the address {host}:{port}"
    )
    raise typer.BadParameter(
        f"give the zone of the terminal's clock, e.g. --timezone Europe/Berlin ({why})",
        param_hint="--timezone",
    )


def _run(
    store: Store, terminal: Terminal | HikDevice | DahuaDevice | BioTimeDevice, *, quiet: bool
) -> SyncOutcome:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=quiet, transient=True) as bar:
        task = bar.add_task(f"reading {terminal.code}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            if isinstance(terminal, HikDevice):
                with ISAPIClient(terminal.target(store.settings)) as client:
                    return sync_hik(store, terminal, client)
            if isinstance(terminal, DahuaDevice):
                with DahuaClient(terminal.target(store.settings)) as cgi:
                    return sync_dahua(store, terminal, cgi)
            if isinstance(terminal, BioTimeDevice):
                with BioTimeClient(terminal.target(store.settings)) as api:
                    return sync_biotime(store, terminal, api)
            with ZKSession(terminal.target(store.settings)) as session:
                return sync_terminal(store, terminal, session, progress=progress)
        except DeviceError as exc:
            status = STATUS_UNAUTHORIZED if isinstance(exc, DeviceAuthError) else STATUS_OFFLINE
            mark_status(store.engine, terminal.code, status=status, last_error=str(exc))
            raise
