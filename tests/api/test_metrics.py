"""/metrics: Prometheus text from the store and the workers' instruments."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from collector.metrics import Registry
from collector.normalize import NormalizePolicy, RawPunch
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import Device
from rules.vocabulary import SourceKind
from tests.api.conftest import auth
from tests.factories import add_employee, raw_punch


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels), read by prometheus_client's parser."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"{key} twice"
            samples[key] = sample.value
    return samples


def test_store_figures_and_hooks(client, keys, engine, store, now):
    with store.sessions.begin() as s:
        add_employee(s, "1", now)
        s.add(Device(code="d1", kind="zk", status="online", options={}, sync_state={}))
        s.add(Device(code="d2", kind="zk", status="offline", options={}, sync_state={}))
    batch: list[RawPunch | QuarantineItem] = [
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
    samples = parse(answer.text)
    assert samples["punchgate_punches_stored", (("source", "terminal"),)] == 2
    assert samples["punchgate_punches_stored", (("source", "mobile"),)] == 1
    assert samples["punchgate_quarantine_open", (("reason", 'bad "line"'),)] == 1
    assert samples["punchgate_devices", (("kind", "zk"), ("status", "offline"))] == 1
    assert samples["punchgate_terminals_online", ()] == 1
    assert samples["punchgate_days_awaiting_recompute", ()] == 1  # employee 1's day
    assert samples["punchgate_mqtt_backlog", ()] == 7
    bucket = "punchgate_poll_duration_seconds_bucket"
    assert samples[bucket, (("device", probe), ("le", "0.25"))] == 1
    assert samples[bucket, (("device", probe), ("le", "0.1"))] == 0
    assert samples["punchgate_poll_duration_seconds_sum", (("device", probe),)] == 0.2
    kinds = {f.name: f.type for f in text_string_to_metric_families(answer.text)}
    assert kinds["punchgate_mqtt_ack_latency_seconds"] == "histogram"
    assert kinds["punchgate_poll_failures"] == "counter"  # the parser drops `_total`
    assert kinds["punchgate_punches_stored"] == "gauge"


@pytest.mark.parametrize(("allowed", "status"), [(["127.0.0.0/8"], 200), (["10.0.0.1"], 401)])
def test_configured_addresses_read_without_a_key(settings, store, allowed, status):
    settings.metrics_allowed_ips = allowed
    client = TestClient(create_app(settings, store), client=("127.0.0.1", 5555))
    assert client.get("/metrics").status_code == status
    # The address exemption is for /metrics only.
    assert client.get("/punches").status_code == 401


def test_registry_keeps_one_instrument_per_name_and_checks_labels():
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
    with pytest.raises(ValueError):
        reg.counter("x_total", "Other labels.", ("method",))
    assert reg.counter("x_total", "Hits.", ("path",)) is hits
    hist = reg.histogram("t_seconds", "Time.", buckets=(1.0, 0.1))
    hist.observe_many([0.05, 0.5, 5.0])
    level = reg.gauge("q", "Queue.")
    level.set(4)
    level.inc(-1.5)
    assert hits.value(path="/a") == 3 and hits.value(path="/b") == 0
    assert hist.count() == 3 and level.value() == 2.5
    samples = parse(reg.render())
    assert samples["x_total", (("path", "/a"),)] == 3
    assert ("x_total", (("path", "/b"),)) not in samples  # reading made no series
    assert samples["t_seconds_bucket", (("le", "0.1"),)] == 1
    assert samples["t_seconds_bucket", (("le", "1.0"),)] == 2
    assert samples["t_seconds_bucket", (("le", "+Inf"),)] == 3
    assert samples["t_seconds_sum", ()] == pytest.approx(5.55)
    assert samples["q", ()] == 2.5
