"""A dead endpoint (accepts, never answers) slows neither ingest nor another endpoint."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta

from collector.outbound.worker import OutboxWorker
from collector.runtime import Store, utcnow
from collector.store.ingest import ingest_batch
from tests.factories import raw_punch
from tests.helpers import wait_for
from tests.outbound_support import add_webhook, set_url, webhook_receiver


def test_a_hanging_endpoint_holds_up_nothing_else(store, engine, settings) -> None:
    hanging = socket.create_server(("127.0.0.1", 0), backlog=64)  # never accepts or answers
    now = utcnow()
    live, live_secret = add_webhook(store, "http://127.0.0.1:9/later", now, name="live")
    add_webhook(store, f"http://127.0.0.1:{hanging.getsockname()[1]}/hook", now, name="dead")
    slow = settings.model_copy(
        update={"outbox_timeout_s": 30.0, "outbox_concurrency": 4, "outbox_poll_s": 0.05}
    )
    worker = OutboxWorker(Store(settings=slow, engine=engine, sessions=store.sessions))
    with webhook_receiver([live_secret]) as (url, seen):
        set_url(store, live, url)
        worker.start()
        try:
            start = datetime(2026, 3, 2, 9, 0)
            for batch in range(5):
                punches = [
                    raw_punch(str(3000 + batch * 10 + i), start + timedelta(minutes=i))
                    for i in range(10)
                ]
                began = time.monotonic()
                ingest_batch(engine, punches, now=utcnow(), policy=store.policy)
                assert time.monotonic() - began < 5  # ingest never waits for delivery
            # Every sender may be stuck on the dead endpoint for 30 s; the live one is served
            # within seconds all the same.
            assert wait_for(lambda: len(seen.unique()) == 50, timeout=20)
        finally:
            hanging.close()  # the stuck sends fail now, so stop() returns
            worker.stop()
