"""A receiver sees each event exactly once (by webhook-id) across a SIGKILL of the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.outbound.events import EventType
from collector.runtime import utcnow
from collector.store.ingest import ingest_batch
from collector.store.models import OutboxMessage
from tests.conftest import TEST_SECRET_KEY
from tests.factories import raw_punch
from tests.helpers import free_port, wait_for
from tests.outbound_support import add_webhook, set_url, webhook_receiver

ROOT = Path(__file__).resolve().parents[3]
PUNCHGATE = Path(sys.executable).parent / "punchgate"
EVENTS = 300


def start_service(db_url: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")} | {
        "PUNCHGATE_DATABASE_URL": db_url,
        "PUNCHGATE_SECRET_KEY": TEST_SECRET_KEY,
        "PUNCHGATE_MQTT_EMBEDDED_PORT": str(free_port()),
        "PUNCHGATE_OUTBOX_LEASE_S": "2",
        "PUNCHGATE_OUTBOX_POLL_S": "0.1",
        "PUNCHGATE_OUTBOX_CONCURRENCY": "8",
        "PUNCHGATE_ZK_POLL_INTERVAL_S": "3600",
    }
    if os.environ.get("PUNCHGATE_TEST_MQTT_URL"):
        env["PUNCHGATE_MQTT_URL"] = os.environ["PUNCHGATE_TEST_MQTT_URL"]
        env["PUNCHGATE_MQTT_TOPIC_ROOT"] = f"test-outbox-{port}"
        env["PUNCHGATE_MQTT_CLIENT_ID"] = f"test-outbox-{port}"
    with log.open("a") as sink:
        proc = subprocess.Popen(
            [str(PUNCHGATE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return proc, port


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def delivered(engine) -> int:
    with Session(engine) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "delivered")
            )
            or 0
        )


def test_each_event_once_across_a_sigkill(store, engine, db_url, tmp_path) -> None:
    log = tmp_path / "serve.log"
    now = utcnow()
    tid, secret = add_webhook(store, "http://127.0.0.1:9/later", now, [EventType.PUNCH_CREATED])
    with webhook_receiver([secret], delay_s=0.05) as (url, seen):
        set_url(store, tid, url)
        start = datetime(2026, 3, 2, 9, 0)
        batch = [raw_punch(str(2000 + i), start + timedelta(minutes=i)) for i in range(EVENTS)]
        ingest_batch(engine, batch, now=now, policy=store.policy)
        proc, _ = start_service(db_url, log)
        try:
            assert wait_for(lambda: len(seen.ids()) >= 40 or proc.poll() is not None, 90)
            assert proc.poll() is None, log.read_text()
            proc.send_signal(signal.SIGKILL)  # mid-delivery: sends in flight, some unrecorded
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        at_kill = len(seen.ids())
        assert at_kill < EVENTS, "the kill came after every delivery: nothing was tested"
        proc, port = start_service(db_url, log)
        try:
            assert wait_for(lambda: delivered(engine) == EVENTS or proc.poll() is not None, 120)
            assert proc.poll() is None, log.read_text()
            assert wait_for(lambda: healthy(port), 60)  # and the API serves beside it
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    assert seen.bad_signatures == 0
    unique = seen.unique()
    assert len(unique) == EVENTS  # every event arrived
    per_punch = Counter(body["data"]["punch_id"] for body in unique.values())
    assert set(per_punch.values()) == {1}  # and under one webhook-id each
    assert {body["data"]["employee_code"] for body in unique.values()} == {
        str(2000 + i) for i in range(EVENTS)
    }
