"""The audit log is append-only through the API: every attempt to change it leaves it as it was."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from collector.store.models import AuditLog
from tests.api.conftest import auth
from tests.api.test_corrections import add, people  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]


def _rows(store) -> list[tuple[Any, ...]]:
    with store.sessions() as s:
        return [
            (a.id, a.at, a.actor, a.action, a.entity, a.entity_id, a.reason, a.details)
            for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]


def test_no_request_alters_or_removes_audit_entries(client, keys, people, store):  # noqa: F811
    assert add(client, keys.hr, employee_id=people["ops"]).status_code == 201
    voided = client.post(
        "/corrections/void",
        json={"punch_id": people["punch"], "reason": "wrong badge"},
        headers=auth(keys.hr),
    )
    assert voided.status_code == 201
    made = client.post(
        "/api-keys", json={"name": "tmp", "role": "viewer"}, headers=auth(keys.admin)
    )
    assert made.status_code == 201
    before = _rows(store)
    assert [r[3] for r in before] == ["punch.add", "punch.void", "apikey.create"]
    first = before[0][0]

    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/audit", f"/audit/{first}", f"/audit?entity=punch&entity_id={first}"):
            reply = client.request(
                method,
                path,
                json={"reason": "rewritten", "actor": "nobody"},
                headers=auth(keys.admin),
            )
            assert reply.status_code in (404, 405), (method, path, reply.status_code)
    # Changing or removing what the entries are about does not touch the entries either.
    assert client.delete(f"/employees/{people['ops']}", headers=auth(keys.admin)).status_code == 200
    assert (
        client.post(f"/api-keys/{made.json()['id']}/revoke", headers=auth(keys.admin)).status_code
        == 200
    )

    after = _rows(store)
    assert after[: len(before)] == before  # every earlier entry exactly as it was
    assert [r[3] for r in after[len(before) :]] == ["apikey.revoke"]  # only appended to
    listed = client.get("/audit", headers=auth(keys.hr)).json()
    assert [e["id"] for e in listed] == [r[0] for r in after]


def test_no_code_updates_or_deletes_audit_rows():
    # The only writer is collector/audit.record (an insert); a later update or delete
    # anywhere in the packages would show up here.
    pattern = re.compile(
        r"(update|delete)\(\s*AuditLog|AuditLog\)\.(update|delete)|audit_log\b.*(UPDATE|DELETE)",
        re.S,
    )
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("api", "collector")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []
