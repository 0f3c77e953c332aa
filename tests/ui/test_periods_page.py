"""The pay-periods page: the checklist with reasons, closing through the form, payroll files."""

from __future__ import annotations

import re

from tests.collector.test_days import punches
from tests.collector.test_periods import WEEK1, office_weeks
from tests.ui.conftest import csrf_of, sign_in

CHECKLIST = "/ui/periods/checklist?calendar=weekly&start=2026-11-02"


def seeded(store, now):
    office_weeks(store, now)
    punches(store, now, (WEEK1, "09:00", 0))  # Monday: a lone in, an incomplete day
    from collector.days import process_dirty

    process_dirty(store.engine, now=now)


def test_hr_closes_a_period_through_the_checklist_and_downloads_its_payroll(
    client, keys, store, now
):
    seeded(store, now)
    browser = sign_in(client, keys.hr)
    listing = browser.get("/ui/periods")
    assert listing.status_code == 200 and 'data-calendar="weekly"' in listing.text
    assert 'href="/ui/periods"' in listing.text  # in the navigation
    page = browser.get(CHECKLIST)
    assert re.search(r'data-item="incomplete_days"[^>]*>.*?data-count="1"', page.text, re.S)
    assert 'name="override_incomplete_days"' in page.text
    form = {"csrf": csrf_of(page.text), "calendar": "weekly", "start": "2026-11-02"}
    refused = browser.post("/ui/periods/close", data=form, follow_redirects=False)
    assert refused.status_code == 409
    assert 'id="close-error"' in refused.text and "<nav>" in refused.text
    done = browser.post(
        "/ui/periods/close",
        data={**form, "override_incomplete_days": "Monday checked with the team"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui/periods?notice=closed"
    closed = browser.get("/ui/periods?notice=closed")
    csv = r'href="(/ui/periods/\d+/payroll\?profile=generic-wide-zh&(?:amp;)?format=csv)"'
    link = re.search(csv, closed.text)
    assert link is not None
    file = browser.get(link.group(1).replace("&amp;", "&"))
    assert file.status_code == 200 and file.content.startswith(b"\xef\xbb\xbf")
    assert file.content.decode("utf-8-sig").splitlines()[1].startswith("1001,")


def test_the_page_speaks_chinese_and_is_closed_to_department_keys(client, keys, store, now):
    seeded(store, now)
    zh = sign_in(client, keys.hr).get(CHECKLIST + "&lang=zh")
    assert "结算检查" in zh.text and "打卡不全的日子" in zh.text
    client.cookies.clear()
    scoped = sign_in(client, keys.scoped_hr).get("/ui/periods")
    assert scoped.status_code == 403
