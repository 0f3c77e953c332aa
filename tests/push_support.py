"""Helpers for push-terminal tests: a push device row and a real uvicorn server on a free port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from api.app import create_app
from collector.runtime import Store
from collector.store.models import Device, Punch, Quarantine


def add_push_device(
    store: Store,
    serial: str = "SIM0001",
    code: str = "face-1",
    timezone: str = "Europe/Berlin",
    token: str | None = None,
    **kw: Any,
) -> None:
    """A push terminal known by its serial."""
    with store.sessions.begin() as s:
        s.add(
            Device(
                code=code,
                name=f"push {code}",
                kind="push",
                serial=serial,
                timezone=timezone,
                comm_key_secret=store.box.seal(token),
                options={},
                sync_state={},
                **kw,
            )
        )


def device(store: Store, serial: str = "SIM0001") -> Device:
    """The device row as stored now."""
    with store.sessions() as s:
        found = s.scalar(select(Device).where(Device.serial == serial))
        assert found is not None
        return found


def counts(store: Store) -> tuple[int, int]:
    """(punches, quarantine rows) in the store."""
    with store.sessions() as s:
        punches = s.scalar(select(func.count()).select_from(Punch)) or 0
        bad = s.scalar(select(func.count()).select_from(Quarantine)) or 0
        return punches, bad


@contextmanager
def live_server(store: Store, app: FastAPI | None = None) -> Iterator[tuple[str, FastAPI]]:
    """The real app served by uvicorn on 127.0.0.1 and a free port, in a thread."""
    app = app or create_app(store=store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(500):
        if server.started:
            ready.set()
            break
        threading.Event().wait(0.01)
    assert ready.is_set(), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
