"""Admins manage webhook endpoints and connectors, read the delivery log and replay."""

from __future__ import annotations

import random

from sqlalchemy import select

from collector.outbound.worker import OutboxWorker
from collector.runtime import utcnow
from collector.store.ingest import ingest_batch
from collector.store.models import AuditLog
from tests.api.conftest import auth
from tests.factories import raw_punch
from tests.outbound_support import webhook_receiver


def test_only_admins_manage_targets(client, keys) -> None:
    body = {
        "name": "hook",
        "kind": "webhook",
        "url": "http://127.0.0.1:9/x",
        "events": ["punch.created"],
    }
    for token in (keys.hr, keys.viewer):
        assert client.post("/outbound/targets", json=body, headers=auth(token)).status_code == 403
        assert client.get("/outbound/targets", headers=auth(token)).status_code == 403


def test_webhook_lifecycle_through_the_api(admin, store, engine, now) -> None:
    created = admin.post(
        "/outbound/targets",
        json={
            "name": "hook",
            "kind": "webhook",
            "url": "http://127.0.0.1:9/x",
            "events": ["punch.created", "device.offline"],
        },
    )
    assert created.status_code == 201, created.text
    target = created.json()
    secret = target["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in admin.get("/outbound/targets").json()[0]
    assert (
        admin.post(
            "/outbound/targets", json={**target, "secret": None} | {"kind": "webhook"}
        ).status_code
        == 422
    )
    tid = target["id"]
    with webhook_receiver([secret]) as (url, seen):
        assert admin.patch(f"/outbound/targets/{tid}", json={"url": url}).status_code == 200
        ingest_batch(
            engine, [raw_punch("1001"), raw_punch("1002")], now=utcnow(), policy=store.policy
        )
        seen.answers[:] = [410, 410]
        OutboxWorker(store, rng=random.Random(1)).run_once()
        listed = (
            admin.get(f"/outbound/targets/{tid}").json()
            if False
            else admin.get("/outbound/targets").json()[0]
        )
        assert listed["enabled"] is False and "410" in listed["disabled_reason"]
        log = admin.get(f"/outbound/targets/{tid}/messages", params={"status": "failed"}).json()
        assert len(log) == 2 and {m["last_code"] for m in log} == {410}
        attempts = admin.get(f"/outbound/messages/{log[0]['id']}/attempts").json()
        assert [(a["code"], a["outcome"]) for a in attempts] == [(410, "gone")]
        assert admin.patch(f"/outbound/targets/{tid}", json={"enabled": True}).status_code == 200
        assert admin.post(f"/outbound/targets/{tid}/replay").json() == {"replayed": 2}
        OutboxWorker(store, rng=random.Random(1)).run_once()
        rotated = admin.post(f"/outbound/targets/{tid}/rotate-secret").json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
        again = admin.post(f"/outbound/messages/{log[0]['id']}/replay").json()
        assert again["status"] == "pending" and again["msg_id"] == log[0]["msg_id"]
        OutboxWorker(store, rng=random.Random(1)).run_once()
    assert len(seen.unique()) == 2 and len(seen.ids()) == 3  # the replay kept its webhook-id
    assert len(seen.headers[-1]["webhook-signature"].split(" ")) == 2  # old and new sign
    assert admin.get("/outbound/targets/999/messages").status_code == 404
    with store.sessions() as s:
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.action.like("outbound.%"))))
    assert actions.count("outbound.create") == 1 and "outbound.rotate_secret" in actions
