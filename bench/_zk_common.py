"""Shared pieces of the ZK benchmarks: an emulator subprocess and a scratch store."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from collector.config import apply_config, parse_config
from collector.runtime import Store, utcnow
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade


def start_emulator(*args: str) -> tuple[subprocess.Popen[str], list[int]]:
    """Run `punchgate emulate zk` in its own process (its CPU is not ours); return its ports."""
    exe = Path(sys.executable).parent / "punchgate"
    proc = subprocess.Popen(
        [str(exe), "emulate", "zk", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    ports = json.loads(proc.stdout.readline())["ports"]
    return proc, ports


def scratch_store(devices: list[dict[str, Any]], **settings: Any) -> tuple[Store, Path]:
    """A migrated SQLite store in a temporary directory with these devices configured."""
    folder = Path(tempfile.mkdtemp(prefix="punchgate-bench-"))
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    store = Store(
        Settings(database_url=url, config=None, **settings), engine, make_sessionmaker(engine)
    )
    with store.sessions.begin() as session:
        apply_config(session, parse_config({"devices": devices}), now=utcnow(), box=store.box)
    return store, folder
