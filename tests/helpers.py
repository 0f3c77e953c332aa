"""Small helpers for tests that run the real CLI and servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PUNCHGATE = [sys.executable, "-m", "api.main"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120):
    """Run `punchgate ARGS` in a subprocess with the given PUNCHGATE_* environment."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")} | env
    return subprocess.run(
        [*PUNCHGATE, *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def wait_for(check: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll `check` until it is true or the deadline passes; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
