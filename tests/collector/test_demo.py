"""`punchgate demo` as a new user meets it: the banner, the lines it prints, its data."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from collector.store.models import Device, Employee, Punch
from rules.calendar import site_calendar
from tests.helpers import PUNCHGATE, free_port, wait_for

BERLIN = ZoneInfo("Europe/Berlin")
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")}


@dataclass
class Demo:
    """A running demo and what its banner said."""

    port: int
    banner: str
    log: Path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> str:
        found = re.search(r"admin key\s+(\S+)", self.banner)
        assert found, self.banner
        return found.group(1)

    @property
    def database(self) -> str:
        found = re.search(r"database\s+(\S+)", self.banner)
        assert found, self.banner
        return found.group(1)

    def line(self, word: str) -> str:
        """The ready-to-paste line that runs `punchgate WORD`."""
        lines = self.banner.split("From a second terminal:", 1)[1].splitlines()
        found = [s.strip() for s in lines if f" {word} " in s and not s.strip().startswith("#")]
        assert len(found) == 1, self.banner
        return found[0]

    def engine(self) -> Engine:
        return create_engine(self.database)

    def get(self, path: str, **params: str | int) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.get(f"{self.api}{path}", params=params, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`punchgate demo` in a subprocess, on its own port and data directory."""
    where = tmp_path_factory.mktemp("demo")
    port = free_port()
    log = where / "demo.log"
    with log.open("w") as out:
        args = [*PUNCHGATE, "demo", "--port", str(port), "--data-dir", str(where / "data")]
        proc = subprocess.Popen(
            [*args, "--duration", "600"], env=CLEAN_ENV, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return proc.poll() is not None  # stop waiting for a demo that died

        assert wait_for(healthy, timeout=90), log.read_text()
        assert proc.poll() is None, log.read_text()
        banner = log.read_text().split("\n20", 1)[0]  # up to the first log line's timestamp
        yield Demo(port, banner, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_printed(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a banner line in a shell, from another directory, as a second terminal would."""
    return subprocess.run(
        line, shell=True, cwd=cwd, env=CLEAN_ENV, capture_output=True, text=True, timeout=180
    )


def test_banner_names_everything_a_second_terminal_needs(demo: Demo) -> None:
    assert f"http://127.0.0.1:{demo.port}/ui/today" in demo.banner
    assert demo.get("/punches", limit=1).status_code == 200  # the key printed is a real key
    mqtt = re.search(r"MQTT\s+mqtt://127\.0\.0\.1:(\d+)", demo.banner)
    assert mqtt, demo.banner
    with socket.create_connection(("127.0.0.1", int(mqtt.group(1))), timeout=5):
        pass  # the embedded broker listens where the banner says
    # This environment's own punchgate, so the lines work without activating it.
    venv_punchgate = str(Path(sys.executable).parent / "punchgate")
    for word in ("import", "simulate", "sync"):
        assert f"{venv_punchgate} {word}" in demo.line(word)
    # The punch app's enrolment link opens the app's confirm page for the demo employee.
    link = re.search(r"punch app\s+(http://\S+/app/enrol/\S+)", demo.banner)
    assert link, demo.banner
    page = httpx.get(link.group(1), timeout=10)
    assert page.status_code == 200 and 'id="enrol"' in page.text


def test_printed_import_line_imports_the_sample_export(demo: Demo, tmp_path: Path) -> None:
    line = demo.line("import")
    sample = re.search(r"import (\S+)", line)
    assert sample and Path(sample.group(1)).is_file()
    done = run_printed(line, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 quarantined" in done.stderr
    rows = len(Path(sample.group(1)).read_text().splitlines()) - 1
    # The export's punches, read back through the API, each in the Berlin office's hours.
    page = demo.get(
        "/punches",
        source_kind="import",
        since="2026-11-02T00:00:00+01:00",
        until="2026-11-14T00:00:00+01:00",
        limit=1000,
    ).json()
    imported = [p for p in page["items"] if p["device_code"] is None]
    assert len(imported) == rows
    hours = {datetime.fromisoformat(p["occurred_at"]).astimezone(BERLIN).hour for p in imported}
    assert min(hours) >= 7 and max(hours) < 20
    again = run_printed(line, tmp_path)  # as printed, twice: nothing is stored twice
    assert again.returncode == 0 and f"0 inserted, {rows} already stored" in again.stderr


def test_printed_simulate_line_delivers_phone_punches(demo: Demo, tmp_path: Path) -> None:
    line = demo.line("simulate")
    done = run_printed(line, tmp_path)
    assert done.returncode == 0, done.stderr
    counts = re.search(r"published (\d+) messages .*: (\d+) acknowledged", done.stderr)
    assert counts, done.stderr
    published, acked = int(counts.group(1)), int(counts.group(2))
    assert published == acked > 0
    first = int(re.search(r"--first-code (\d+)", line).group(1))  # type: ignore[union-attr]

    def ours() -> list[str]:
        page = demo.get("/punches", source_kind="mobile", limit=1000, order="desc").json()
        return [p["employee_code"] for p in page["items"] if int(p["employee_code"]) >= first]

    # The demo's own phones are employees below `first`: these punches came from the line.
    assert wait_for(lambda: len(ours()) > 0, timeout=30), done.stderr


def test_printed_sync_line_reads_the_emulated_front_door(demo: Demo, tmp_path: Path) -> None:
    started = datetime.now(UTC)
    done = run_printed(demo.line("sync"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"door-fp: \d+ new records .* on the terminal", done.stderr), done.stderr
    engine = demo.engine()
    with engine.connect() as conn:
        synced = conn.scalar(select(Device.last_sync_at).where(Device.code == "door-fp"))
    engine.dispose()
    assert synced is not None and synced >= started


def test_banner_count_matches_the_seeded_history_and_it_looks_real(demo: Demo) -> None:
    seeded = re.search(r"(\d+) employees; (\d+) punches .* over (\d+) working days", demo.banner)
    assert seeded, demo.banner
    people, punches, days = (int(g) for g in seeded.groups())
    engine = demo.engine()
    door = (Punch.source_kind == "import", Punch.device_code == "door-fp")
    with engine.connect() as conn:
        names = list(conn.scalars(select(Employee.name)))
        history = list(conn.execute(select(Punch.employee_code, Punch.occurred_at).where(*door)))
        # The doors' live punches (pulled and pushed terminals) keep office hours too.
        doors = list(
            conn.scalars(
                select(Punch.occurred_at).where(Punch.source_kind.in_(("terminal", "push")))
            )
        )
        office_days = conn.scalar(
            select(func.count(func.distinct(func.date(Punch.occurred_at)))).where(
                *door, Punch.employee_code.like("10%")
            )
        )
    engine.dispose()
    # The office (1001–1020) and the rostered factory shift workers (2001–…).
    assert len(names) == people == len(set(names)) >= 20
    assert len(history) == punches > 0
    assert office_days == days
    office = [when for code, when in history if code.startswith("10")]
    shifts = {code for code, _ in history if code.startswith("20")}
    assert office and shifts  # the factory's rotation is seeded at the same door
    berlin = site_calendar("Europe/Berlin", "DE", "BE")
    for when in office + doors:
        local = when.astimezone(BERLIN)
        assert time(7, 0) <= local.time() <= time(20, 0), local
        assert local.weekday() < 5 and berlin.public_holiday(local.date()) is None, local


def test_the_devices_report_shows_the_emulated_hikvision_door_online(demo: Demo) -> None:
    def report() -> dict[str, dict[str, object]]:
        rows = demo.get("/reports/devices").json()["rows"]
        return {d["device_code"]: d for d in rows}

    assert wait_for(lambda: report()["door-hik"]["status"] == "online", timeout=60), report()
    hik = report()["door-hik"]
    assert (hik["kind"], hik["last_error"], hik["timezone"]) == ("hik", None, "Europe/Berlin")
    assert str(hik["firmware"]).startswith("V3.10.0")  # as the emulator's deviceInfo says
    assert {"door-fp", "door-face", "door-hik", "face-push"} <= set(report())


def test_the_devices_report_shows_the_emulated_dahua_door_and_biotime_server_online(
    demo: Demo,
) -> None:
    def report() -> dict[str, dict[str, object]]:
        rows = demo.get("/reports/devices").json()["rows"]
        return {d["device_code"]: d for d in rows}

    def online() -> bool:
        found = report()
        return all(found[c]["status"] == "online" for c in ("door-dahua", "door-biotime"))

    assert wait_for(online, timeout=60), report()
    dahua, biotime = report()["door-dahua"], report()["door-biotime"]
    assert (dahua["kind"], dahua["last_error"], dahua["timezone"]) == (
        "dahua",
        None,
        "Europe/Berlin",
    )
    assert str(dahua["firmware"]).startswith("1.000.10")  # as the emulator's magicBox says
    assert (biotime["kind"], biotime["last_error"]) == ("biotime", None)
    # The one terminal behind the server, as its /iclock/api/terminals/ lists it.
    assert str(biotime["firmware"]).startswith("Ver 8.0.4")


def test_a_port_in_use_is_refused_before_anything_is_printed_or_made(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        data = tmp_path / "data"
        done = subprocess.run(
            [*PUNCHGATE, "demo", "--port", str(port), "--data-dir", str(data)],
            env=CLEAN_ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"port {port}" in done.stderr and "already in use" in done.stderr
    assert "--port" in done.stderr  # says how to pick another
    assert "admin key" not in done.stderr + done.stdout and "pg_" not in done.stderr
    assert not data.exists()


def test_ctrl_c_stops_the_demo_in_order_without_tracebacks(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*PUNCHGATE, "demo", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            env=CLEAN_ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, as a terminal's foreground job
        )
    try:
        # Every worker is up, the MQTT ingest child process among them.
        assert wait_for(lambda: "started attendance-days" in log.read_text(), timeout=120)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


def test_the_demo_closed_a_month_and_its_payroll_export_has_everyone(demo: Demo) -> None:
    link = re.search(r"payroll export: (http://\S+/periods/(\d+)/payroll)", demo.banner)
    assert link, demo.banner
    [period] = [p for p in demo.get("/periods").json() if p["status"] == "closed"]
    assert period["id"] == int(link.group(2))
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    assert f"{start:%B %Y} closed" in demo.banner
    last_month_end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    if end != last_month_end:  # early in a month: last month's final windows are still open
        assert end == last_month_end.replace(day=1) - timedelta(days=1), period
        month = last_month_end.replace(day=1).isoformat()
        waiting = demo.get("/periods/checklist", calendar="monthly", start=month)
        assert waiting.json()["items"]["provisional_days"]["count"] > 0, waiting.text
    assert start.day == 1
    export = demo.get(f"/periods/{period['id']}/payroll", profile="generic-wide-en")
    assert export.status_code == 200, export.text
    rows = export.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Employee code,Name") and len(rows) - 1 == period["employees"] > 0


def test_the_demo_inbox_has_pending_requests_of_each_kind(demo: Demo) -> None:
    pending = demo.get("/requests", state="pending")
    assert pending.status_code == 200, pending.text
    kinds = {r["kind"] for r in pending.json()}
    assert {"missed_punch", "leave", "overtime", "shift_swap"} == kinds, pending.text


def test_the_site_agent_reads_the_branch_door_and_forwards_its_punches(demo: Demo) -> None:
    def report() -> dict[str, dict[str, object]]:
        rows = demo.get("/reports/devices").json()["rows"]
        return {d["device_code"]: d for d in rows}

    def stored() -> int:
        return len(demo.get("/punches", device="door-branch", limit=500).json()["items"])

    def forwarded() -> bool:
        found = report()
        agent, door = found.get("branch"), found.get("door-branch")
        if not (agent and door and agent["status"] == "online" and door["status"] == "online"):
            return False
        # Everything the terminal holds (as the agent reported it) is in the store.
        return door["record_count"] is not None and stored() == door["record_count"]

    assert wait_for(forwarded, timeout=90), report()
    agent, door = report()["branch"], report()["door-branch"]
    assert agent["kind"] == "agent" and door["agent"] == "branch"
    assert door["polled_by"] is None  # behind NAT: no central process polls it
