"""`punchgate serve` builds one store: one migration, one configuration pass, one pool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import free_port, wait_for
from tests.serve_probe import PROBE

ROOT = Path(__file__).resolve().parents[2]
PROBED_PUNCHGATE = [sys.executable, "-m", "tests.serve_probe"]

CONFIG = """
[[sites]]
code = "hq"
name = "Head office"
timezone = "Europe/Berlin"

[[departments]]
code = "ENG"
name = "Engineering"

[[employees]]
code = "1001"
name = "Anna Weber"
department = "ENG"
site = "hq"
"""


def test_serve_opens_the_store_once(tmp_path: Path) -> None:
    config = tmp_path / "punchgate.toml"
    config.write_text(CONFIG)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")} | {
        "PUNCHGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "PUNCHGATE_CONFIG": str(config),
        "PUNCHGATE_MQTT_EMBEDDED_PORT": str(free_port()),
        "PUNCHGATE_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [*PROBED_PUNCHGATE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(lambda: healthy() or proc.poll() is not None, timeout=90)
        assert proc.poll() is None, f"punchgate serve exited:\n{log.read_text()}"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = log.read_text()
    # SIGTERM (systemd's stop) ends it the orderly way: workers stopped, the store closed.
    assert proc.returncode == 0, out
    assert out.count("configuration applied") == 1, out
    assert f"(database sqlite:///{tmp_path / 'serve.sqlite3'})" in out  # says which one
    # Alembic announces each run it makes ("Context impl SQLiteImpl.").
    assert out.count("Context impl") == 1, out
    # The MQTT ingest child opens a pool of its own in its own process; this one has one.
    pools = [line for line in out.splitlines() if line.startswith(PROBE)]
    assert pools == [f"{PROBE} pool opened in pid {proc.pid}"], out
