"""A push terminal cannot flood the quarantine: bounded per upload and per device and window."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from collector.metrics import BAD_INPUT
from collector.normalize import NormalizePolicy, QuarantineLimits
from collector.runtime import Store
from collector.store.flood import MAX_RAW_CHARS
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import Punch, Quarantine
from devices.types import BadRecord
from devices.zk.push.records import parse_attlog
from rules.vocabulary import SourceKind
from tests.api.conftest import auth
from tests.push_support import add_push_device

ATT = "/iclock/cdata?SN=SIM0001&table=ATTLOG&Stamp=9"
N = 50  # the default PUNCHGATE_QUARANTINE_MAX_PER_UPLOAD


def _bad_lines(body: bytes) -> int:
    # As the route reads it: UTF-8, else Latin-1; every line that is not a punch.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    return sum(isinstance(item, BadRecord) for item in parse_attlog(text))


def _quarantine(store: Store) -> list[Quarantine]:
    with store.sessions() as s:
        return list(s.scalars(select(Quarantine).order_by(Quarantine.id)))


@pytest.fixture
def roomy(store: Store) -> Store:
    """The store, taking push bodies up to 16 MB."""
    settings = store.settings.model_copy(update={"push_max_body_bytes": 16 * 1024 * 1024})
    add_push_device(store)
    return Store(settings=settings, engine=store.engine, sessions=store.sessions)


def test_a_20_kb_upload_of_random_bytes_keeps_at_most_n_plus_one_rows_and_counts_them(roomy, keys):
    body = random.Random(21).randbytes(20 * 1024)
    lines = _bad_lines(body)
    assert lines > 2 * N  # about 600 garbage lines: one row each before the bound
    pushed = BAD_INPUT.value(source="push")
    with TestClient(create_app(store=roomy)) as client:
        assert client.post(ATT, content=body).text == "OK"
        rows = _quarantine(roomy)
        assert len(rows) <= N + 1
        assert sum(r.input_count for r in rows) == lines  # nothing silently dropped
        [rest] = [r for r in rows if r.input_count > 1]
        assert rest.input_count == lines - N
        assert rest.reason.startswith(
            f"{lines - N} more bad inputs in one upload, after the first {N}"
        )
        assert rest.raw_size is not None and len(rest.raw) <= MAX_RAW_CHARS
        assert rest.origin == "face-1" and rest.device_code == "face-1"
        # The terminal retries the same upload: nothing more is stored.
        assert client.post(ATT, content=body).text == "OK"
        assert len(_quarantine(roomy)) == len(rows)
        # The count is visible: the metric, and the devices report's "bad input" column.
        assert BAD_INPUT.value(source="push") - pushed == 2 * lines
        report = client.get("/reports/devices", headers=auth(keys.viewer)).json()["rows"]
        [face] = [r for r in report if r["device_code"] == "face-1"]
        assert face["bad_input_24h"] == lines
        metrics = client.get("/metrics", headers=auth(keys.admin)).text
        assert 'punchgate_bad_input_total{source="push"}' in metrics
        # The quarantine API shows the rows and the inputs they stand for.
        counted = client.get("/quarantine/counts", headers=auth(keys.hr)).json()
        assert (counted["total"], counted["inputs"]) == (len(rows), lines)
        listed = client.get("/quarantine", params={"limit": 1000}, headers=auth(keys.hr)).json()
        [summary] = [i for i in listed if i["input_count"] > 1]
        assert (summary["input_count"], summary["raw_size"]) == (lines - N, rest.raw_size)


def test_a_10_mb_body_stays_bounded_and_keeps_its_size(roomy):
    rng = random.Random(10)
    pad = b"x" * 380  # long lines: the size is the point, and parsing costs per line
    body = b"".join(
        b"%d\tnot a time %d %s\n" % (rng.randrange(10**6), n, pad)
        for n in range(10 * 1024 * 1024 // 400)
    )
    body += b"1001\t2026-03-02 09:00:00\t0\t1\n"  # one good punch at the very end
    assert len(body) > 10 * 1024 * 1024 - 1024
    lines = _bad_lines(body)
    with TestClient(create_app(store=roomy)) as client:
        assert client.post(ATT, content=body).text == "OK"
    rows = _quarantine(roomy)
    assert len(rows) == N + 1
    assert sum(r.input_count for r in rows) == lines
    [rest] = [r for r in rows if r.input_count > 1]
    assert len(rest.raw) == MAX_RAW_CHARS
    assert rest.raw_size == len(b"\n".join(body.splitlines()[N:-1]))
    with roomy.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Punch)) == 1


def _garbage(origin: str, n: int, tag: str) -> list[QuarantineItem]:
    return [
        QuarantineItem(
            SourceKind.PUSH, "not a PIN, time, status… record", f"{tag}{i}", origin, f"{tag}:{i}"
        )
        for i in range(n)
    ]


def test_a_device_gets_a_bounded_number_of_rows_per_window_and_one_overflow_row(engine, now):
    policy = NormalizePolicy(
        quarantine=QuarantineLimits(per_upload=50, per_origin=120, window=timedelta(hours=1))
    )
    start = now.replace(minute=0, second=0, microsecond=0)

    def upload(tag: str, at_minute: int, device: str = "face-1") -> int:
        when = start + timedelta(minutes=at_minute)
        result = ingest_batch(engine, _garbage(device, 100, tag), now=when, policy=policy)
        assert result.outcomes == ["quarantined"] * 100  # every input still reported
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Quarantine)) or 0

    # 50 rows and one for the other 50; then 20 until the 120 are spent, and the
    # overflow row that every later delivery in the hour adds to.
    assert upload("a", 1) == 51
    assert upload("b", 2) == 51 + 20 + 1
    assert upload("c", 3) == 72
    assert upload("x", 4, device="door-2") == 72 + 51  # another device has its own bound
    with engine.connect() as conn:
        overflow = conn.execute(
            select(Quarantine.input_count, Quarantine.raw, Quarantine.reference).where(
                Quarantine.reason.like("over 120 bad inputs from face-1%")
            )
        ).one()
        total = conn.scalar(
            select(func.sum(Quarantine.input_count)).where(Quarantine.origin == "face-1")
        )
    assert overflow.input_count == 180 and total == 300
    assert overflow.raw.splitlines() == [f"b{i}" for i in range(20, 100)] + [
        f"c{i}" for i in range(100)
    ]
    assert overflow.reference == f"face-1 from {start:%Y-%m-%d %H:%M:%S}Z"
    # The next hour the device has its bound again.
    assert upload("d", 61) == 123 + 51
