"""The requests inbox: pending requests of the visitor's scope, decided through CSRF forms."""

from __future__ import annotations

import re

from sqlalchemy import select

from collector.store.models import AuditLog, EmployeeRequest, Punch
from tests.api.conftest import auth
from tests.ui.conftest import csrf_of, sign_in

BODY = {"kind": "missed_punch", "timestamp": "2026-11-24T09:05:00", "state": "in"}


def ask(client, keys, employee_id, reason):
    made = client.post(
        f"/employees/{employee_id}/requests",
        json={**BODY, "reason": reason},
        headers=auth(keys.hr),
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def pending_badge(html: str) -> int:
    found = re.search(r'data-pending-requests="(\d+)"', html)
    assert found is not None, "no pending count in the navigation"
    return int(found.group(1))


def test_hr_approves_and_rejects_from_the_inbox(client, keys, office, store):
    first = ask(client, keys, office.employees["1003"], "terminal was down")
    second = ask(client, keys, office.employees["1001"], "forgot the badge")
    sign_in(client, keys.hr)
    page = client.get("/ui/requests")
    assert page.status_code == 200
    assert pending_badge(page.text) == 2
    assert f'data-id="{first}"' in page.text and f'data-id="{second}"' in page.text
    assert "terminal was down" in page.text and "missed punch" in page.text
    # A form without the session's token changes nothing.
    refused = client.post(f"/ui/requests/{first}/approve", data={"csrf": "forged"})
    assert refused.status_code == 403
    done = client.post(
        f"/ui/requests/{first}/approve",
        data={"csrf": csrf_of(page.text), "comment": "ok"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("request_approved")
    after = client.get(done.headers["location"])
    assert pending_badge(after.text) == 1 and f'data-id="{first}"' not in after.text
    twice = client.post(f"/ui/requests/{first}/approve", data={"csrf": csrf_of(after.text)})
    assert twice.status_code == 409 and "cannot be approved" in twice.text
    rejected = client.post(
        f"/ui/requests/{second}/reject",
        data={"csrf": csrf_of(after.text), "comment": "no"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    empty = client.get("/ui/requests?lang=zh")
    assert "没有待审批的申请" in empty.text and pending_badge(empty.text) == 0
    with store.sessions() as s:
        states = dict(s.execute(select(EmployeeRequest.id, EmployeeRequest.state)).all())
        manual = s.scalars(select(Punch).where(Punch.source_ref == f"request-{first}")).all()
        actions = s.scalars(select(AuditLog.action).where(AuditLog.entity == "request")).all()
    assert states == {first: "approved", second: "rejected"} and len(manual) == 1
    assert actions.count("request.approve") == 1 and actions.count("request.reject") == 1


def test_a_scoped_manager_sees_and_decides_only_its_department(client, keys, office, store):
    mine = ask(client, keys, office.employees["1003"], "mine")
    theirs = ask(client, keys, office.employees["1001"], "Theirs only")
    sign_in(client, keys.scoped_manager)
    page = client.get("/ui/requests")
    assert page.status_code == 200 and pending_badge(page.text) == 1
    assert f'data-id="{mine}"' in page.text and "Theirs only" not in page.text
    other = client.post(f"/ui/requests/{theirs}/approve", data={"csrf": csrf_of(page.text)})
    assert other.status_code == 404
    with store.sessions() as s:
        assert s.get(EmployeeRequest, theirs).state == "pending"
    # The manager reads its department's pages but not hr's work.
    assert client.get("/ui/today").status_code == 200
    assert client.get("/ui/quarantine").status_code == 403


def test_a_viewer_has_no_inbox_and_no_count(client, keys, office):
    sign_in(client, keys.viewer)
    today = client.get("/ui/today")
    assert "data-pending-requests" not in today.text and 'href="/ui/requests"' not in today.text
    assert client.get("/ui/requests").status_code == 403


def test_decided_requests_are_listed_by_state_with_the_decision(client, keys, office):
    made = ask(client, keys, office.employees["1003"], "forgot")
    decided = client.post(
        f"/requests/{made}/reject", json={"comment": "Not this time"}, headers=auth(keys.hr)
    )
    assert decided.status_code == 200
    sign_in(client, keys.hr)
    assert f'data-id="{made}"' not in client.get("/ui/requests").text
    rejected = client.get("/ui/requests?show=rejected")
    assert f'data-id="{made}"' in rejected.text and "Not this time" in rejected.text
    assert 'name="approve"' not in rejected.text  # a decided request takes no more decisions
    assert "没有申请" in client.get("/ui/requests?show=approved&lang=zh").text
