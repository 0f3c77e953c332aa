"""The poller while the store is away: it keeps trying, advances nothing, and resumes after."""

from __future__ import annotations

import socket
import threading
import time

from sqlalchemy import create_engine

from collector.poller.device import TerminalPoller
from collector.poller.terminals import load_terminals
from collector.runtime import Store
from collector.store.db import make_sessionmaker
from tests.collector.poller.conftest import device_row, punch_count


def _unreachable_store(settings) -> Store:
    """A store whose database refuses every connection (nothing listens on its port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/gone")
    return Store(settings=settings, engine=engine, sessions=make_sessionmaker(engine))


def test_live_session_survives_a_store_outage_and_resumes(zk_store, add_terminal):
    # Found by the soak: a store error escaped run_live and ended the terminal's live
    # thread for good, so its punches stopped arriving until the service restarted.
    terminal = add_terminal("live", records=20, options={"live": True, "live_window_s": 0.2})
    (config,) = load_terminals(zk_store.engine, ["live"])
    down = _unreachable_store(zk_store.settings)
    poller = TerminalPoller(down, config)
    stop = threading.Event()
    thread = threading.Thread(target=poller.run_live, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while poller.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert poller.failures >= 2, "the live session should keep retrying while the store is down"
        assert thread.is_alive()
        assert device_row(zk_store, "live").sync_state in (None, {})  # nothing advanced
        terminal.punch("1003", state=0, verify=15)
        poller.store = zk_store  # the database is back
        deadline = time.monotonic() + 15
        while punch_count(zk_store, "live") < 21 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert punch_count(zk_store, "live") == 21
        assert device_row(zk_store, "live").sync_state["count"] == 21
    finally:
        stop.set()
        thread.join(10)
        down.close()
