"""The ZK emulator read by clients written by others for real terminals.

node-zklib and zkteco-js (npm) are installed from the committed lock file into `.node/`
(git-ignored) once, the only traffic here that leaves 127.0.0.1 (`PUNCHGATE_TEST_NPM_INSTALL=0`
forbids it); without node/npm, or when the install fails, those tests are skipped with the
reason. zkteco-js has no working UDP path (its TCP-to-UDP fallback tests the code of an
error it has already wrapped, and its chunked UDP read never returns), so only node-zklib is
checked over UDP. pyzk's own high-level calls are checked over both transports.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from zk import ZK

from devices.types import DevicePunch
from devices.zk.emulator import EmulatorHost, Terminal
from devices.zk.emulator.fleet import FleetSpec, build_terminal
from devices.zk.emulator.terminal import TerminalSpec
from devices.zk.records import parse_attendance

ROOT = Path(__file__).resolve().parents[3]
NODE_SOURCES = ROOT / "tests" / "node"
NODE_DIR = ROOT / ".node"
RECORDS = 3000  # 120 kB of 40-byte records: two READ_BUFFER chunks over TCP
USERS = 50  # 3.6 kB of 72-byte users: above the inline size, one chunk
NPM_FLAGS = ("--no-audit", "--no-fund", "--registry", "https://registry.npmjs.org/")


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """node-zklib and zkteco-js installed from the npm registry into `.node/` (once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed: the npm ZK clients cannot run")
    NODE_DIR.mkdir(exist_ok=True)
    lock = (NODE_SOURCES / "package-lock.json").read_bytes()
    with open(NODE_DIR / ".install.lock", "w") as guard:  # xdist workers install once
        fcntl.flock(guard, fcntl.LOCK_EX)
        installed = NODE_DIR / "package-lock.json"
        modules = NODE_DIR / "node_modules"
        if not (installed.exists() and installed.read_bytes() == lock and modules.is_dir()):
            if os.environ.get("PUNCHGATE_TEST_NPM_INSTALL") == "0":
                pytest.skip("the npm ZK clients are not in .node/ and installing is switched off")
            for name in ("package.json", "package-lock.json"):
                shutil.copy(NODE_SOURCES / name, NODE_DIR / name)
            try:
                done = subprocess.run(
                    [npm, "ci", "--prefix", str(NODE_DIR), "--ignore-scripts", *NPM_FLAGS],
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"installing the npm ZK clients failed: {exc}")
            if done.returncode != 0:
                (NODE_DIR / "package-lock.json").unlink(missing_ok=True)
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                pytest.skip(f"installing the npm ZK clients failed: {' | '.join(tail)}")
    return modules


def run_client(modules: Path, script: str, port: int) -> dict[str, Any]:
    """Run one client script against 127.0.0.1:port; its JSON report."""
    env = dict(os.environ, NODE_PATH=str(modules), TZ="UTC")
    done = subprocess.run(
        ["node", str(NODE_SOURCES / script), str(port), "5000"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing; stderr: {done.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


@pytest.fixture
def host() -> Iterator[EmulatorHost]:
    """An emulator host on free loopback ports."""
    with EmulatorHost() as emulator:
        yield emulator


def expected_records(terminal: Terminal) -> list[tuple[str, str]]:
    """(user id, local time) of every record the terminal holds, in log order."""
    size = terminal.spec.record_size
    parsed = parse_attendance(bytes(terminal.log), size, encoding=terminal.spec.encoding)
    return [(p.user_id, p.timestamp.isoformat()) for p in parsed if isinstance(p, DevicePunch)]


def check_read(report: dict[str, Any], terminal: Terminal, transport: str, name_len: int) -> None:
    """Every user and every record came through, with the terminal's values."""
    assert report.get("error") is None, report.get("error")
    assert report["transport"] == transport
    assert (report["users_err"], report["records_err"]) == (None, None)
    assert report["info"]["userCounts"] == len(terminal.users)
    assert report["info"]["logCounts"] == terminal.record_count
    theirs_users = [(u["uid"], u["userId"], u["name"]) for u in report["users"]]
    ours_users = [(u.uid, u.user_id, u.name.encode()[:name_len].decode()) for u in terminal.users]
    assert len(theirs_users) == len(terminal.users) == USERS
    assert theirs_users == ours_users
    theirs = [(r["userId"], r["time"]) for r in report["records"]]
    ours = expected_records(terminal)
    assert len(theirs) == len(ours) == RECORDS
    assert theirs[:3] == ours[:3] and theirs[-3:] == ours[-3:]
    assert theirs == ours


@pytest.mark.parametrize("script", ["read_node_zklib.js", "read_zkteco_js.js"])
def test_npm_clients_read_every_user_and_record_over_tcp(node_modules, host, script):
    terminal = build_terminal(FleetSpec(records=RECORDS, users=USERS))
    assert terminal.spec.users_layout == 72 and terminal.spec.record_size == 40
    report = run_client(node_modules, script, host.add(terminal))
    check_read(report, terminal, "tcp", 24)
    if "time" in report:  # zkteco-js also reads the clock and the identity
        clock = datetime.fromisoformat(report["time"])
        assert abs(clock - terminal.now()) < timedelta(seconds=10)
        spec = terminal.spec
        assert report["identity"] == {
            "serial": spec.serial,
            "deviceName": spec.device_name,
            "platform": spec.platform,
            "mac": spec.mac,
            "firmware": spec.firmware,
        }


def test_node_zklib_reads_every_user_and_record_over_udp(node_modules, host):
    # A UDP-only terminal (older firmware): 28-byte users, 16-byte records, TCP refused,
    # which is what makes node-zklib fall back to UDP.
    spec = TerminalSpec(record_size=16, udp_only=True)
    terminal = build_terminal(FleetSpec(records=RECORDS, users=USERS, spec=spec))
    assert terminal.spec.users_layout == 28
    report = run_client(node_modules, "read_node_zklib.js", host.add(terminal))
    check_read(report, terminal, "udp", 8)  # the 28-byte layout keeps 8 bytes of a name


def test_npm_client_reads_the_cli_emulator(node_modules):
    """`punchgate emulate zk` itself, as the issue found it failing, read by node-zklib."""
    exe = str(Path(sys.executable).parent / "punchgate")
    proc = subprocess.Popen(
        [exe, "emulate", "zk", "--port", "0", "--records", str(RECORDS), "--users", str(USERS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["ports"][0]
        report = run_client(node_modules, "read_node_zklib.js", port)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    # The CLI seeds the same fleet as build_terminal (seed 42, history ending yesterday).
    check_read(report, build_terminal(FleetSpec(records=RECORDS, users=USERS)), "tcp", 24)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_pyzk_high_level_calls(host, transport):
    spec = TerminalSpec(serial="SN-PYZK-0001", firmware="Ver 6.60 Sep 27 2019")
    terminal = build_terminal(FleetSpec(records=RECORDS, users=USERS, spec=spec))
    terminal.skew(-30)
    port = host.add(terminal)
    conn = ZK(
        "127.0.0.1", port=port, timeout=3, force_udp=transport == "udp", ommit_ping=True
    ).connect()
    try:
        assert conn.get_firmware_version() == "Ver 6.60 Sep 27 2019"
        assert conn.get_serialnumber() == terminal.spec.serial
        assert abs(conn.get_time() - terminal.now()) < timedelta(seconds=5)
        true_now = datetime.now(UTC).replace(tzinfo=None)  # the terminal's zone is UTC
        assert abs(conn.get_time() - (true_now - timedelta(minutes=30))) < timedelta(seconds=5)
        users = conn.get_users()
        assert [(u.uid, u.user_id, u.name) for u in users] == [
            (u.uid, u.user_id, u.name) for u in terminal.users
        ]
        logs = conn.get_attendance()
        assert [(a.user_id, a.timestamp.isoformat()) for a in logs] == expected_records(terminal)
        assert len(logs) == RECORDS

        def punch_soon() -> None:
            time.sleep(0.5)
            for state in range(3):
                terminal.punch("1010", state=state, verify=15)

        threading.Thread(target=punch_soon, daemon=True).start()
        got = []
        deadline = time.monotonic() + 15
        for event in conn.live_capture(new_timeout=1):
            if event is not None:
                got.append((event.user_id, event.punch, event.status))
            if len(got) == 3 or time.monotonic() > deadline:
                conn.end_live_capture = True
        assert got == [("1010", 0, 15), ("1010", 1, 15), ("1010", 2, 15)]
        assert len(conn.get_attendance()) == RECORDS + 3  # still usable after live capture
    finally:
        conn.disconnect()
