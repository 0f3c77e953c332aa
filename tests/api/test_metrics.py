"""/metrics: Prometheus text from the store and the workers' instruments."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from collector.metrics import Registry
from collector.normalize import NormalizePolicy
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import Device
from rules.vocabulary import SourceKind
from tests.api.conftest import auth
from tests.factories import add_employee, raw_punch


def test_store_figures_and_hooks(client, keys, engine, store, now):
    with store.sessions.begin() as s:
        add_employee(s, "1", now)
        s.add(Device(code="d1", kind="zk", status="online", options={}, sync_state={}))
        s.add(Device(code="d2", kind="zk", status="offline", options={}, sync_state={}))
    batch = [
        raw_punch("1", datetime(2026, 3, 2, 9, 0)),
        raw_punch("1", datetime(2026, 3, 2, 17, 0)),
        raw_punch("2", datetime(2026, 3, 2, 9, 0), source_kind=SourceKind.MOBILE, source_ref="a"),
        QuarantineItem(SourceKind.PUSH, reason='bad "line"', raw="x"),
    ]
    ingest_batch(engine, batch, now=now, policy=NormalizePolicy())
    from collector import metrics

    probe = f"probe-{uuid.uuid4().hex[:8]}"  # the registry is process-wide: a fresh series
    metrics.POLL_DURATION.observe(0.2, device=probe)
    metrics.MQTT_BACKLOG.set(7)
    answer = client.get("/metrics", headers=auth(keys.admin))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = set(answer.text.splitlines())
    assert 'punchgate_punches_stored{source="terminal"} 2' in lines
    assert 'punchgate_punches_stored{source="mobile"} 1' in lines
    assert 'punchgate_quarantine_open{reason="bad \\"line\\""} 1' in lines
    assert "punchgate_terminals_online 1" in lines
    assert "punchgate_days_awaiting_recompute 1" in lines  # employee 1's day
    assert "punchgate_mqtt_backlog 7" in lines
    assert f'punchgate_poll_duration_seconds_bucket{{device="{probe}",le="0.25"}} 1' in lines
    assert f'punchgate_poll_duration_seconds_bucket{{device="{probe}",le="0.1"}} 0' in lines
    assert "# TYPE punchgate_mqtt_ack_latency_seconds histogram" in lines


@pytest.mark.parametrize(("allowed", "status"), [(["127.0.0.0/8"], 200), (["10.0.0.1"], 401)])
def test_configured_addresses_read_without_a_key(settings, store, allowed, status):
    settings.metrics_allowed_ips = allowed
    client = TestClient(create_app(settings, store), client=("127.0.0.1", 5555))
    assert client.get("/metrics").status_code == status
    # The address exemption is for /metrics only.
    assert client.get("/punches").status_code == 401


def test_registry_renders_the_text_format():
    reg = Registry()
    hits = reg.counter("x_total", "Hits.", ("path",))
    hits.inc(path="/a")
    hits.inc(2, path="/a")
    with pytest.raises(ValueError):
        hits.inc(-1, path="/a")
    with pytest.raises(ValueError):
        hits.inc(path="/a", extra="1")
    with pytest.raises(ValueError):
        reg.gauge("x_total", "Other kind.")
    hist = reg.histogram("t_seconds", "Time.", buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 5.0):
        hist.observe(v)
    assert reg.render().splitlines() == [
        "# HELP t_seconds Time.",
        "# TYPE t_seconds histogram",
        't_seconds_bucket{le="0.1"} 1',
        't_seconds_bucket{le="1"} 2',
        't_seconds_bucket{le="+Inf"} 3',
        "t_seconds_sum 5.55",
        "t_seconds_count 3",
        "# HELP x_total Hits.",
        "# TYPE x_total counter",
        'x_total{path="/a"} 3',
    ]
