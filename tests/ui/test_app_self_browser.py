"""The app's self-service and the rest of the punch screen on a phone-sized Chromium: my
month's figures are the API's, in English and complete in Chinese; break buttons; trip days."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.ui.i18n import APP_LABELS
from collector.runtime import utcnow
from collector.store.models import Punch
from tests.api.conftest import Keys, auth
from tests.app_support import DEPOT, MONTH, AppOffice, seed_app_office, seed_month
from tests.ui.test_app_browser import controlled, enrolled, outcome, phone  # noqa: F401
from tests.ui.test_browser import chromium, live, shot  # noqa: F401  (fixtures)


@pytest.fixture
def app_office(store, now, keys: Keys) -> AppOffice:
    return seed_app_office(store, now)


def my_month(page, lang: str = "") -> dict[str, Any]:
    """Open my month for MONTH; returns what /app/month answers this phone."""
    page.goto(f"/app/my-month?month={MONTH}{lang}")
    page.wait_for_selector(f"body[data-loaded='{MONTH}']", timeout=10_000)
    found: dict[str, Any] = page.evaluate(
        f"fetch('/app/month?month={MONTH}', {{credentials: 'same-origin'}}).then(r => r.json())"
    )
    return found


def test_my_month_shows_the_apis_figures(phone, client, keys, app_office, store):  # noqa: F811
    seed_month(store, client, keys.hr, app_office)
    page = enrolled(phone, client, keys, app_office.ids["2001"])
    api = my_month(page)
    cells = page.eval_on_selector_all(
        "#cal .cell[data-status]", "cs => cs.map(c => [c.dataset.day, c.dataset.status])"
    )
    assert dict(cells) == {d["date"]: d["status"] for d in api["days"]}
    assert len(cells) >= 6
    legend = page.eval_on_selector_all(
        "#statuses li", "ls => ls.map(l => [l.dataset.status, Number(l.dataset.count)])"
    )
    assert dict(legend) == api["statuses"]
    wt = page.locator("#worked-target")
    assert int(wt.get_attribute("data-worked-s")) == api["worked_s"]
    assert int(wt.get_attribute("data-target-s")) == api["target_s"]
    assert page.locator("#late-days").inner_text() == str(api["late_days"]) == "1"
    change = page.locator("#balance dd[data-change]")
    assert int(change.get_attribute("data-s")) == api["balance"]["change_s"]
    leave = page.eval_on_selector_all(
        "#leave li[data-type]", "ls => ls.map(l => [l.dataset.type, Number(l.dataset.days)])"
    )
    assert dict(leave) == api["leave_days"] == {"annual": 1, "sick": 0.5, "business_trip": 1}
    assert "sick leave (morning)" not in page.locator("#leave").inner_text()  # a type's total
    page.click("#cal .cell[data-day='2026-10-02']")
    detail = page.locator("#day-detail")
    late = next(d for d in api["days"] if d["date"] == "2026-10-02")
    assert int(detail.locator("dd[data-late-s]").get_attribute("data-late-s")) == late["late_s"]
    assert "30 min" in detail.inner_text() and "10:30" in detail.inner_text()
    page.click("#cal .cell[data-day='2026-10-08']")
    assert "sick leave (morning)" in detail.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    shot(page, "app-my-month")
    # Offline, the service worker serves the page and the phone keeps the month last seen.
    controlled(page)
    phone.set_offline(True)
    page.reload()
    page.wait_for_selector(f"body[data-loaded='{MONTH}']", timeout=10_000)
    assert page.locator("#net").is_visible()
    assert page.locator("#cal .cell[data-status]").count() == len(cells)
    phone.set_offline(False)


def test_my_month_in_chinese_has_no_english_left(phone, client, keys, app_office, store):  # noqa: F811
    seed_month(store, client, keys.hr, app_office)
    page = enrolled(phone, client, keys, app_office.ids["2001"], lang="?lang=zh")
    my_month(page, "&lang=zh")
    page.click("#cal .cell[data-day='2026-10-02']")
    text = page.locator("body").inner_text()
    english = {en for en, zh in APP_LABELS.values() if "{" not in en and len(en) > 3}
    assert not [en for en in english if en in text]
    for zh in ("我的月度", "已工作 / 应工作", "工时余额", "已休假", "年假", "病假", "出差", "迟到"):
        assert zh in text, zh
    heads = page.eval_on_selector_all("#cal th", "hs => hs.map(h => h.textContent)")
    assert heads == ["一", "二", "三", "四", "五", "六", "日"]
    shot(page, "app-my-month-zh")


def test_break_buttons_when_the_policy_has_breaks(phone, client, keys, app_office, store):  # noqa: F811
    seed_month(store, client, keys.hr, app_office)  # Ana on flexitime with a break table
    page = enrolled(phone, client, keys, app_office.ids["2001"])
    outcome(page, "inside")
    assert page.locator("#break").is_hidden()  # not at work yet
    page.click("#punch")  # in
    page.wait_for_selector("#receipt[data-status=accepted]")
    page.wait_for_selector("#break:visible")
    assert page.locator("#break").inner_text() == "Start break"
    page.click("#break")
    page.wait_for_selector("#punch[data-kind=break_in]")
    assert page.locator("#punch").inner_text() == "End break" and page.locator("#break").is_hidden()
    shot(page, "app-on-break")
    page.click("#punch")  # the break's end
    page.wait_for_selector("#punch[data-kind=out]")
    page.wait_for_function("document.querySelectorAll('#day li:not(.muted)').length === 3")
    with store.sessions() as s:
        states = s.scalars(
            select(Punch.state).where(Punch.device_code.like("app-%")).order_by(Punch.id)
        ).all()
    assert states == ["in", "break_out", "break_in"]


def test_no_break_button_without_punched_breaks(phone, client, keys, app_office):  # noqa: F811
    page = enrolled(phone, client, keys, app_office.ids["3001"])  # no policy
    outcome(page, "inside")
    page.click("#punch")
    page.wait_for_selector("#punch[data-kind=out]")
    assert page.locator("#break").is_hidden()


def test_a_trip_day_punch_far_from_every_fence(phone, client, keys, app_office, store):  # noqa: F811
    today = utcnow().astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    res = client.post(
        f"/employees/{app_office.ids['2001']}/leave",
        json={"leave_type": "business_trip", "start_date": today},
        headers=auth(keys.hr),
    )
    assert res.status_code == 201, res.text
    phone.set_geolocation({"latitude": DEPOT[0] + 0.011, "longitude": DEPOT[1], "accuracy": 10})
    page = enrolled(phone, client, keys, app_office.ids["2001"])
    outcome(page, "trip")
    page.click("#punch")
    page.wait_for_selector("#receipt[data-status=accepted]")
    assert "trip or field-work day" in page.locator("#receipt").inner_text()
    shot(page, "app-trip")
