"""A live Dahua controller: the attach stream wakes the read, the cursor read stores the records."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from collector.poller.dahuadevices import load_dahua_devices
from collector.poller.device import TerminalPoller
from collector.poller.worker import TerminalPollerWorker
from tests.collector.poller.conftest import device_row, punch_count
from tests.collector.poller.dahua.conftest import punches_expected


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_live_events_are_stored_and_what_a_dropped_stream_missed_is_read_on_reconnect(
    zk_store, dahua
):
    controller = dahua("live", records=20, options={"live": True, "heartbeat_s": 1})
    (device,) = load_dahua_devices(zk_store.engine, ["live"], box=zk_store.box)
    # A long interval: only connects and events make it read, never the timer.
    poller = TerminalPoller(zk_store, device)
    poller.interval = 3600
    stop = threading.Event()
    thread = threading.Thread(target=poller.run_live, args=(stop,), daemon=True)
    thread.start()
    try:
        settled = punches_expected(controller)  # the log before: read at connect
        assert wait_for(lambda: punch_count(zk_store, "live") == settled)
        rng = random.Random(5)
        controller.punch_now(rng)
        assert wait_for(lambda: punch_count(zk_store, "live") == settled + 1)
        # The stream dies at its next event; the punches made meanwhile come at reconnect.
        controller.faults.drop_stream_after = 0
        start = datetime.now(UTC)
        for i in range(3):
            controller.add_record(start + timedelta(seconds=i + 1), user=str(3000 + i), state=1)
        time.sleep(0.5)
        controller.faults.drop_stream_after = None
        assert wait_for(lambda: punch_count(zk_store, "live") == settled + 4)
        assert controller.attaches >= 2  # it came back through a new stream
        assert device_row(zk_store, "live").status == "online"
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert device_row(zk_store, "live").sync_state["rec_no"] == controller.records[-1]["RecNo"]


def test_the_worker_runs_a_live_controller_on_its_own_thread_and_stops_it(zk_store, dahua):
    controller = dahua("wl", records=5, options={"live": True, "heartbeat_s": 1})
    worker = TerminalPollerWorker(zk_store, codes=["wl"])
    worker.start()
    try:
        assert wait_for(lambda: punch_count(zk_store, "wl") == punches_expected(controller))
        controller.punch_now(random.Random(9))
        assert wait_for(lambda: punch_count(zk_store, "wl") == punches_expected(controller))
        assert worker.poll_all() == []  # a live controller is not polled on the schedule
    finally:
        started = time.monotonic()
        worker.stop()
    assert time.monotonic() - started < 10
    assert not any(t.is_alive() for t in worker._threads)
