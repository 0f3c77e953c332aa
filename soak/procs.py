"""The soak's own PostgreSQL, Mosquitto and `punchgate serve`, each on a free loopback port.

Every child runs in its own process group and is registered with `Children`, which kills
them all (atexit and on the way out of `run`), so a failed soak leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now (both TCP and UDP free, for ZK terminals too)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def wait_port(port: int, timeout: float) -> bool:
    """True once something accepts TCP connections on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.1)
    return False


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    return ["runuser", "-u", user, "--", *argv]


class Children:
    """Process groups to kill at exit, whatever happens."""

    def __init__(self) -> None:
        self.groups: set[int] = set()
        self.cleanups: list[tuple[str, object]] = []
        atexit.register(self.kill_all)

    def track(self, proc: subprocess.Popen[bytes]) -> None:
        """Remember a child started with start_new_session=True."""
        self.groups.add(proc.pid)

    def forget(self, proc: subprocess.Popen[bytes]) -> None:
        """The child is gone."""
        self.groups.discard(proc.pid)

    def kill_all(self) -> None:
        """SIGKILL every remembered group (idempotent)."""
        for pgid in list(self.groups):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            self.groups.discard(pgid)
        for _what, fn in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                fn()  # type: ignore[operator]
        self.cleanups.clear()


class Postgres:
    """A private cluster in `root`, trust auth, on a free port."""

    def __init__(self, root: Path, children: Children) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql")
        self.bin = Path(bins[-1])
        self.root = root / "pg"
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses root
        self.children = children

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            _as_user(self.user, [str(self.bin / argv[0]), *argv[1:]]),
            check=check,
            capture_output=True,
            timeout=120,
        )

    def init(self) -> None:
        """initdb and start."""
        self.socket_dir.mkdir(parents=True)
        if self.user:
            shutil.chown(self.root.parent, self.user)
            shutil.chown(self.root, self.user)
            shutil.chown(self.socket_dir, self.user)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.children.cleanups.append(("postgres", self.kill))
        for attempt in range(3):  # the free port may be taken before the server binds it
            try:
                self.start()
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                self.port = free_port()
        self._run("createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                  "punchgate")  # fmt: skip

    def start(self, *, tcp: bool = True) -> None:
        """Start (tcp=False: Unix socket only, so the service cannot reach it yet)."""
        listen = "127.0.0.1" if tcp else "''"
        opts = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={listen}"
            " -c synchronous_commit=off -c max_connections=200 -c shared_buffers=64MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: sessions are terminated, as when the database server goes away."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self, down_s: float = 3.0) -> float:
        """Fast stop, `down_s` without a server, start again; returns the seconds it was down."""
        t0 = time.monotonic()
        self.stop()
        time.sleep(down_s)
        self.start()
        return time.monotonic() - t0

    def kill(self) -> None:
        """Stop at once, ignoring errors (cleanup)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    @property
    def url(self) -> str:
        """URL the service uses (TCP)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/punchgate"

    @property
    def local_url(self) -> str:
        """URL over the Unix socket (works while TCP is closed)."""
        return f"postgresql://postgres@/punchgate?host={self.socket_dir}&port={self.port}"


class Mosquitto:
    """A private broker with persistence and a large queue, on a free port."""

    def __init__(self, root: Path, children: Children) -> None:
        self.root = root / "mosquitto"
        self.port = free_port()
        self.children = children
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = self.root / "mosquitto.conf"

    def init(self) -> None:
        """Write the configuration and start."""
        (self.root / "data").mkdir(parents=True)
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.root / 'data'}/\n"
            "autosave_interval 5\n"
            "max_queued_messages 1000000\n"
            "max_queued_bytes 0\n"
            "sys_interval 1\n"
            "user root\n"
            f"log_dest file {self.root / 'mosquitto.log'}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        for attempt in range(3):  # the free port may be taken before the broker binds it
            try:
                self.start()
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                old, self.port = self.port, free_port()
                text = self.conf.read_text().replace(f"listener {old} ", f"listener {self.port} ")
                self.conf.write_text(text)

    def start(self) -> None:
        """Start the broker and wait for its port."""
        self.proc = subprocess.Popen(
            ["/usr/sbin/mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.children.track(self.proc)
        up = wait_port(self.port, 20)
        time.sleep(0.3)  # a broker that could not bind exits at once; someone else answered
        if not up or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """SIGTERM (the broker saves its persistent sessions and queues) and wait."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.children.forget(self.proc)
        self.proc = None


class ChildProcess:
    """A child in a process group of its own, logging to a file: start, kill, stop."""

    stop_timeout = 30.0  # seconds a SIGTERM gets before the SIGKILL
    tail_lines = 40

    def __init__(self, log_path: Path, env: dict[str, str], children: Children) -> None:
        self.log_path = log_path
        self.env = env
        self.children = children
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def launch(self, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start `argv` with a banner in the log; the process is tracked for the final kill."""
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts + 1} =====\n".encode())
            self.proc = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        self.children.track(self.proc)
        self.starts += 1
        return self.proc

    def alive(self) -> bool:
        """The process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (no clean shutdown at all)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.children.forget(self.proc)

    def stop(self) -> None:
        """SIGTERM and wait (end of the soak)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.children.forget(self.proc)

    def log_tail(self, lines: int | None = None) -> str:
        """The end of the log (for failure reports)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-(lines or self.tail_lines) :])


class ServiceProcess(ChildProcess):
    """`punchgate serve` as a child process with the soak's environment."""

    def __init__(self, root: Path, env: dict[str, str], children: Children) -> None:
        self.port = free_port()
        full = {**os.environ, **env, "PUNCHGATE_API_PORT": str(self.port)}
        super().__init__(root / "service.log", full, children)
        exe = Path(sys.executable).parent / "punchgate"
        self.argv = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self, timeout: float = 120) -> float:
        """Start and wait until /health answers 200; returns seconds taken."""
        t0 = time.monotonic()
        proc = self.launch(self.argv)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"punchgate serve exited with {proc.returncode}")
            if self.health() == 200:
                return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError("punchgate serve did not become healthy")

    def health(self) -> int | None:
        """The /health status code, or None when nothing answers."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return None

    @property
    def base_url(self) -> str:
        """Where the API answers."""
        return f"http://127.0.0.1:{self.port}"
