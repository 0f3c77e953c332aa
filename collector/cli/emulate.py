"""`punchgate emulate zk`: run emulated ZK terminals on loopback for tests, demos and benches."""

from __future__ import annotations

import json
import threading
from typing import Literal

import typer

from collector.cli.common import console
from devices.zk.emulator import EmulatorHost, Faults, TerminalSpec
from devices.zk.emulator.fleet import FleetSpec, LivePuncher, start_fleet

app = typer.Typer(help="Emulated devices.", no_args_is_help=True)


@app.command("zk")
def zk_command(
    port: int = typer.Option(4370, help="First port (TCP and UDP); 0 picks free ports."),
    count: int = typer.Option(1, min=1, help="How many terminals (consecutive ports)."),
    records: int = typer.Option(1000, min=0, help="Attendance records in each log."),
    users: int = typer.Option(50, min=1, help="Enrolled users per terminal."),
    seed: int = typer.Option(42, help="Seed of the generated traffic."),
    layout: int = typer.Option(40, help="Attendance record size: 8, 16 or 40 bytes."),
    user_layout: int | None = typer.Option(None, help="User record size: 28 or 72."),
    comm_key: int = typer.Option(0, min=0, help="Comm key the terminals demand (0: none)."),
    encoding: str = typer.Option("utf-8", help="Code page of names: utf-8 or gbk."),
    timezone: str = typer.Option("UTC", help="Zone the terminals' clocks show."),
    live_every: float = typer.Option(0.0, min=0, help="A live punch every N seconds (0: none)."),
    latency_ms: float = typer.Option(0.0, min=0, help="Fault: delay before every reply."),
    drop_after_bytes: int | None = typer.Option(None, help="Fault: reset after N bytes."),
    drop_after_chunks: int | None = typer.Option(None, help="Fault: reset after N chunks."),
    corrupt_reply: int | None = typer.Option(None, help="Fault: garble the Nth reply."),
    wrong_comm_key: bool = typer.Option(False, help="Fault: refuse every comm key."),
    skew_minutes: float = typer.Option(0.0, help="Fault: clock off by N minutes."),
    reset_clock: bool = typer.Option(False, help="Fault: clock reset to 2000-01-01."),
    impossible_date: bool = typer.Option(False, help="Fault: a record dated 31 February."),
    memory_full: bool = typer.Option(False, help="Fault: no free record slots."),
    udp_only: bool = typer.Option(False, help="Fault: TCP refused, UDP only."),
    chunk_gap_ms: float = typer.Option(
        5.0, min=0, help="Pause between the parts of a chunked TCP reply to a remote client."
    ),
    clear_after_reads: int | None = typer.Option(None, help="Fault: log erased after N reads."),
    roll_over_after_reads: int | None = typer.Option(
        None, help="Fault: oldest records dropped after N reads."
    ),
    roll_over_records: int = typer.Option(10, help="Records a roll-over drops."),
    duration: float | None = typer.Option(None, help="Stop after N seconds (default: Ctrl-C)."),
) -> None:
    """Serve emulated terminals; prints one JSON line with their ports on stdout."""
    if layout not in (8, 16, 40):
        raise typer.BadParameter("layout must be 8, 16 or 40")
    if user_layout not in (None, 28, 72):
        raise typer.BadParameter("user layout must be 28 or 72")
    spec = TerminalSpec(
        record_size=layout,
        user_size=user_layout,
        comm_key=comm_key,
        encoding=encoding,
        timezone=timezone,
        udp_only=udp_only,
        chunk_gap_ms=chunk_gap_ms,
    )
    faults = Faults(
        latency_s=latency_ms / 1000,
        drop_after_bytes=drop_after_bytes,
        drop_after_chunks=drop_after_chunks,
        corrupt_reply=corrupt_reply,
        wrong_comm_key=wrong_comm_key,
        memory_full=memory_full,
        clear_after_reads=clear_after_reads,
        roll_over_after_reads=roll_over_after_reads,
        roll_over_records=roll_over_records,
    )
    fleet = FleetSpec(
        count=count,
        port=port,
        records=records,
        users=users,
        seed=seed,
        spec=spec,
        faults=faults,
        skew_minutes=skew_minutes,
        reset_clock=reset_clock,
        impossible_date=impossible_date,
    )
    with EmulatorHost() as host:
        terminals = start_fleet(host, fleet)
        puncher = LivePuncher(list(terminals.values()), live_every) if live_every else None
        if puncher:
            puncher.start()
        kind: Literal["udp", "tcp+udp"] = "udp" if udp_only else "tcp+udp"
        print(json.dumps({"ports": sorted(terminals), "transport": kind}), flush=True)
        console.print(
            f"{len(terminals)} emulated terminal(s) on 127.0.0.1 ports "
            f"{min(terminals)}–{max(terminals)} ({kind}), {records} records each; Ctrl-C stops"
        )
        try:
            threading.Event().wait(duration)
        except KeyboardInterrupt:
            pass
        finally:
            if puncher:
                puncher.stop()
