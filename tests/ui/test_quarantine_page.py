"""The quarantine page: counts, times in each device's zone, dismissing one item or many."""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select

from collector.store.ingest import ingest_batch
from collector.store.models import AuditLog
from tests.api.conftest import auth
from tests.factories import raw_punch
from tests.ui.conftest import WED, csrf_of, sign_in

MARS = "unknown timezone 'Mars/Olympus'"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def api(client, keys, path):
    answer = client.get(path, headers=auth(keys.hr))
    assert answer.status_code == 200, answer.text
    return answer.json()


def has_navigation(page, user: str = "hr") -> bool:
    """The base layout: the nav with its pages and the signed-in key's name and role."""
    return (
        "<nav>" in page.text and 'href="/ui/punches"' in page.text and f"{user} · hr" in page.text
    )


def test_counts_match_the_api_and_times_are_in_each_device_zone(client, keys, office, now):
    counted = api(client, keys, "/quarantine/counts")
    page = sign_in(client, keys.hr).get("/ui/quarantine")
    assert page.status_code == 200
    assert f'data-total="{counted["total"]}"' in page.text and counted["total"] == 2
    [by_reason] = counted["by_reason"]
    assert (by_reason["reason"], by_reason["count"]) == (MARS, 2)
    assert 'data-reason-count="2"><td><a href="/ui/quarantine?status=open&amp;reason=' in page.text
    for s in counted["by_source"]:
        assert f'data-device="{s["device_code"]}" data-source-count="{s["count"]}"' in page.text
    rows = {i["device_code"]: i["id"] for i in api(client, keys, "/quarantine")}
    # door-9 is now declared in Berlin: its item shows Berlin time; door-8 is known nowhere.
    berlin = re.search(
        rf'data-id="{rows["door-9"]}">.*?data-zone="([^"]+)">([^<]+)<', page.text, re.S
    )
    assert berlin is not None
    assert berlin.groups() == ("Europe/Berlin", "2026-11-27 13:00:00")  # now is 12:00 UTC
    other = re.search(
        rf'data-id="{rows["door-8"]}">.*?data-zone="([^"]+)">([^<]+)<', page.text, re.S
    )
    assert other is not None and other.groups() == ("UTC", "2026-11-27 12:00:00")


def test_hr_dismisses_one_item_with_a_reason_through_the_form(client, keys, office, store):
    sign_in(client, keys.hr)
    page = client.get("/ui/quarantine")
    stuck = next(i for i in api(client, keys, "/quarantine") if i["device_code"] == "door-8")
    assert f'action="/ui/quarantine/{stuck["id"]}/dismiss"' in page.text
    form = {"csrf": csrf_of(page.text)}
    short = client.post(f"/ui/quarantine/{stuck['id']}/dismiss", data={**form, "reason": " x "})
    # Refused as a page with the navigation, the reason why and the list; nothing dismissed.
    assert short.status_code == 422 and has_navigation(short)
    assert "at least 3 characters" in short.text and 'id="quarantine"' in short.text
    assert stuck["id"] in [i["id"] for i in api(client, keys, "/quarantine")]
    done = client.post(
        f"/ui/quarantine/{stuck['id']}/dismiss",
        data={**form, "reason": "old test terminal"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Item dismissed" in shown.text and f'data-id="{stuck["id"]}"' not in shown.text
    assert stuck["id"] not in [i["id"] for i in api(client, keys, "/quarantine")]
    gone = client.get("/ui/quarantine?status=dismissed")
    assert f'data-id="{stuck["id"]}"' in gone.text and "old test terminal" in gone.text
    with store.sessions() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "quarantine.dismiss")).one()
    assert (entry.entity_id, entry.reason) == (str(stuck["id"]), "old test terminal")
    again = client.post(
        f"/ui/quarantine/{stuck['id']}/dismiss", data={**form, "reason": "once more"}
    )
    assert again.status_code == 409 and has_navigation(again) and "already dismissed" in again.text


def test_a_refused_reprocess_keeps_the_navigation(client, keys, office):
    sign_in(client, keys.hr)
    page = client.get("/ui/quarantine")
    stuck = next(i for i in api(client, keys, "/quarantine") if i["device_code"] == "door-8")
    refused = client.post(
        f"/ui/quarantine/{stuck['id']}/reprocess", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 409 and "still not a punch" in refused.text
    assert has_navigation(refused) and 'class="alert error"' in refused.text
    assert f'data-id="{stuck["id"]}"' in refused.text  # the list, ready for the next try


def test_bulk_dismissal_is_confirmed_with_the_count_and_takes_only_those(
    client, keys, office, store, now
):
    sign_in(client, keys.hr)
    listed = client.get(f"/ui/quarantine?reason={quote(MARS)}")
    assert 'id="dismiss-matching"' in listed.text and "Dismiss all matching (2)" in listed.text
    unfiltered = client.get("/ui/quarantine")
    assert 'id="dismiss-matching"' not in unfiltered.text
    assert client.get("/ui/quarantine/dismiss").status_code == 422  # a filter is needed
    confirm = client.get(f"/ui/quarantine/dismiss?reason={quote(MARS)}&source_kind=terminal")
    assert confirm.status_code == 200 and has_navigation(confirm)
    assert 'id="dismiss-count" data-count="2"' in confirm.text
    fields = {k: html.unescape(v) for k, v in HIDDEN.findall(confirm.text)}
    assert (fields["match_reason"], fields["source_kind"]) == (MARS, "terminal")
    # One more of the same arrives while HR reads the confirmation: it is not dismissed unseen.
    late = raw_punch(
        "1004", datetime.combine(WED, datetime.min.time()), device_code="door-7", tz="Mars/Olympus"
    )
    assert ingest_batch(store.engine, [late], now=now, policy=store.policy).quarantined == 1
    done = client.post(
        "/ui/quarantine/dismiss",
        data={**fields, "reason": "zone typo, fixed on the terminals"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/ui/quarantine?notice=dismissed_many&dismissed=2"
    shown = client.get(done.headers["location"])
    assert "Items dismissed" in shown.text and 'data-dismissed="2"' in shown.text
    assert [i["device_code"] for i in api(client, keys, "/quarantine")] == ["door-7"]
    with store.sessions() as s:
        entry = s.scalars(
            select(AuditLog).where(AuditLog.action == "quarantine.dismiss_matching")
        ).one()
    assert entry.details["count"] == 2 and entry.details["filter"]["reason"] == MARS
    # Without a reason the confirmation comes back with the refusal, nothing dismissed.
    fields = {k: html.unescape(v) for k, v in HIDDEN.findall(confirm.text)}
    fields["through_id"] = ""
    refused = client.post("/ui/quarantine/dismiss", data={**fields, "reason": ""})
    assert refused.status_code == 422 and has_navigation(refused)
    assert [i["device_code"] for i in api(client, keys, "/quarantine")] == ["door-7"]


def test_filters_left_blank_choose_nothing(client, keys, office):
    sign_in(client, keys.hr)
    page = client.get("/ui/quarantine?status=open&reason=&source_kind=&device=&since=&until=")
    assert page.status_code == 200 and 'data-total="2"' in page.text
    dated = client.get(f"/ui/quarantine?since={WED}&until={WED}")
    assert dated.status_code == 200 and 'data-total="0"' in dated.text  # received on the 27th
    today = client.get("/ui/quarantine?since=2026-11-27&until=2026-11-27&device=door-8")
    assert 'data-total="1"' in today.text
    assert client.get("/ui/quarantine?since=yesterday").status_code == 422


def test_the_page_speaks_chinese(client, keys, office):
    sign_in(client, keys.hr)
    page = client.get(f"/ui/quarantine?lang=zh&reason={quote(MARS)}")
    for label in ("忽略", "按原因", "按来源和设备", "合计", "忽略全部符合条件的条目", "考勤机"):
        assert label in page.text, label
    confirm = client.get(f"/ui/quarantine/dismiss?reason={quote(MARS)}")
    assert "将被忽略的待处理条目" in confirm.text and "确认忽略" in confirm.text


def test_a_department_scoped_key_cannot_dismiss(client, keys, office):
    item = api(client, keys, "/quarantine")[0]
    sign_in(client, keys.scoped_hr)
    page = client.get("/ui/today")
    form = {"csrf": csrf_of(page.text), "reason": "not ours"}
    assert client.get("/ui/quarantine/dismiss?device=door-8").status_code == 403
    assert client.post(f"/ui/quarantine/{item['id']}/dismiss", data=form).status_code == 403
    bulk = {**form, "device": "door-8"}
    assert client.post("/ui/quarantine/dismiss", data=bulk).status_code == 403
    assert len(api(client, keys, "/quarantine")) == 2
