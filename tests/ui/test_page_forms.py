"""The pages' forms as a browser submits them, and every refusal under /ui as a page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from collector.store.ingest import ingest_batch
from tests.factories import raw_punch
from tests.ui.conftest import BERLIN, WED, add_form, csrf_of, sign_in

BLANK_FILTERS = "employee_code=&department=&device=&source_kind=&since=&until="


def ids_on(html: str) -> set[int]:
    """The punch ids a punches page lists."""
    return {int(n) for n in re.findall(r'<tr id="punch-(\d+)"', html)}


def test_the_filter_form_submits_with_every_field_left_blank(client, keys, office):
    sign_in(client, keys.viewer)
    page = client.get(f"/ui/punches?{BLANK_FILTERS}")
    assert page.status_code == 200, page.text
    assert len(ids_on(page.text)) == len(ids_on(client.get("/ui/punches").text)) > 0
    chosen = client.get("/ui/punches?employee_code=&source_kind=mobile&since=&until=")
    assert chosen.status_code == 200
    assert 'data-source="mobile"' in chosen.text and 'data-source="terminal"' not in chosen.text


def test_the_add_forms_default_time_is_the_sites_not_utc(client, keys, office, settings):
    assert settings.default_timezone == "UTC"  # the site, Berlin, must win over the default
    page = sign_in(client, keys.hr).get("/ui/punches").text
    shown = re.search(r'name="timestamp" value="([\d:T-]+)" data-zone="([\w/]+)"', page)
    assert shown is not None and shown.group(2) == BERLIN
    berlin_now = datetime.now(ZoneInfo(BERLIN)).replace(tzinfo=None)
    default = datetime.fromisoformat(shown.group(1))
    assert abs(default - berlin_now) < timedelta(minutes=2)
    assert abs(default - datetime.now(UTC).replace(tzinfo=None)) >= timedelta(minutes=50)


def test_the_date_filters_are_the_sites_days(client, keys, office, store, now):
    # 00:30 in Berlin on the 26th is 23:30 UTC on the 25th.
    late = raw_punch("1001", datetime(2026, 11, 26, 0, 30), state=1, device_code="door-1")
    assert ingest_batch(store.engine, [late], now=now, policy=store.policy).inserted == 1
    sign_in(client, keys.viewer)
    on_26 = client.get("/ui/punches?since=2026-11-26&until=2026-11-26").text
    on_25 = client.get(f"/ui/punches?since={WED}&until={WED}").text
    assert "2026-11-26 00:30:00" in on_26
    assert "2026-11-26 00:30:00" not in on_25 and "2026-11-25 17:30:00" in on_25


def test_a_punch_added_in_the_past_is_on_the_page_shown_after(client, keys, office, store, now):
    # Sixty newer punches: the first page of the whole list no longer reaches October.
    newer = [
        raw_punch("1001", datetime.combine(date(2026, 11, 2) + timedelta(days=n), time(12, m)))
        for n in range(20)
        for m in (1, 2, 3)
    ]
    assert ingest_batch(store.engine, newer, now=now, policy=store.policy).inserted == 60
    page = sign_in(client, keys.hr).get("/ui/punches")
    emp = office.employees["1004"]
    form = add_form(page.text, emp, "2026-10-05T08:58", "forgot the card", "past-0001-abc")
    added = client.post("/ui/punches/add", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    shown = client.get(added.headers["location"])
    punch_id = int(added.headers["location"].rsplit("#punch-", 1)[1])
    assert punch_id in ids_on(shown.text)
    assert "2026-10-05 08:58:00" in shown.text and "Punch added" in shown.text


def assert_page(answer, status: int, who: str | None) -> str:
    """An HTML error page with the given status, the nav and the user when signed in."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    html = answer.text
    assert f'data-status="{status}"' in html
    if who is None:
        assert "<nav>" not in html
    else:
        assert "<nav>" in html and 'href="/ui/punches"' in html
        assert re.search(rf'<span class="who">{who} · ', html), html
    return str(html)


def test_invalid_forms_and_parameters_are_pages_with_the_nav_and_user(client, keys, office):
    page = sign_in(client, keys.hr).get("/ui/punches")
    form = add_form(page.text, office.employees["1004"], "not a time", "x", "bad-0001-abc")
    html = assert_page(client.post("/ui/punches/add", data=form), 422, "hr")
    assert "timestamp" in html and "reason" in html  # each invalid field named
    assert_page(client.get("/ui/lateness?from=someday"), 422, "hr")
    assert_page(client.get("/ui/punches?source_kind=carrier-pigeon"), 422, "hr")
    assert_page(client.get("/ui/lateness?department=NOPE"), 404, "hr")
    first = min(ids_on(page.text))
    void = client.post(
        f"/ui/punches/{first}/void", data={"csrf": csrf_of(page.text), "reason": "ab"}
    )
    assert_page(void, 422, "hr")
    gone = client.post(
        "/ui/punches/999999/void", data={"csrf": csrf_of(page.text), "reason": "abc"}
    )
    assert_page(gone, 404, "hr")
    assert_page(client.get("/ui/punches/add"), 405, "hr")
    assert_page(client.post("/ui/punches/add", data={**form, "csrf": "forged"}), 422, "hr")


def test_unknown_ui_paths_get_the_404_page_and_the_api_keeps_json(client, keys, office):
    assert_page(client.get("/ui/nowhere"), 404, None)
    assert_page(client.get("/ui/employee/42/extra"), 404, None)
    sign_in(client, keys.viewer)
    html = assert_page(client.get("/ui/nowhere"), 404, "viewer")
    assert "Not found" in html
    zh = assert_page(client.get("/ui/nowhere?lang=zh"), 404, "viewer")
    assert "未找到" in zh
    assert_page(client.get("/ui/quarantine"), 403, "viewer")  # too weak a role
    api = client.get("/nowhere")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
