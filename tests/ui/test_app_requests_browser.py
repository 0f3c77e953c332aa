"""My requests on a phone-sized Chromium: a form per kind, the list with states, limits and
invalid input shown, a lost answer retried without a second request, HR's decision shown,
and the screen complete in Chinese."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.ui.i18n import APP_LABELS
from collector.days import assign_policy
from collector.runtime import utcnow
from collector.store.models import EmployeeRequest, Policy
from tests.api.conftest import Keys, auth
from tests.app_support import AppOffice, seed_app_office
from tests.rules.helpers import FLEX_DOC
from tests.ui.test_app_browser import controlled, enrolled, phone  # noqa: F401  (fixtures)
from tests.ui.test_browser import chromium, live, shot  # noqa: F401  (fixtures)


@pytest.fixture
def app_office(store, now, keys: Keys) -> AppOffice:
    return seed_app_office(store, now)


def today() -> date:
    return utcnow().astimezone(ZoneInfo("Europe/Berlin")).date()


def my_requests(page, lang: str = ""):
    page.click("#tab-requests")
    page.wait_for_url("**/app/my-requests*")
    page.wait_for_selector("body[data-loaded]", timeout=10_000)
    if lang:
        page.goto("/app/my-requests" + lang)
        page.wait_for_selector("body[data-loaded]", timeout=10_000)
    return page


def ask_missed(page, day: date, hhmm: str, state: str, reason: str) -> None:
    page.click(".kind[data-kind=missed_punch]")
    page.fill("input[name=punch_date]", day.isoformat())
    page.fill("input[name=punch_time]", hhmm)
    page.select_option("select[name=state]", state)
    page.fill("textarea[name=reason]", reason)
    page.click("#send")


def rows(store) -> list[EmployeeRequest]:
    with store.sessions() as s:
        return list(s.scalars(select(EmployeeRequest).order_by(EmployeeRequest.id)))


def test_ask_each_kind_and_see_them_listed(phone, client, keys, app_office, store):  # noqa: F811
    page = my_requests(enrolled(phone, client, keys, app_office.ids["2001"]))
    assert page.locator("#mine li.muted").inner_text() == "No requests yet."
    yesterday = today() - timedelta(days=1)
    ask_missed(page, yesterday, "08:05", "break_out", "forgot the break")
    page.wait_for_selector("#mine li[data-kind=missed_punch][data-state=pending]")
    assert page.locator("#ask-done").is_visible()
    item = page.locator("#mine li[data-kind=missed_punch]").inner_text()
    assert f"{yesterday} 08:05 · Start of break" in item and "Pending" in item

    page.click(".kind[data-kind=leave]")
    assert page.locator("input[name=punch_date]").is_hidden()
    start = today() + timedelta(days=7)
    page.select_option("select[name=leave_type]", "sick")
    page.fill("input[name=start_date]", start.isoformat())
    page.select_option("select[name=part]", "am")
    page.fill("textarea[name=reason]", "doctor")
    page.click("#send")
    page.wait_for_selector("#mine li[data-kind=leave]")
    assert (
        f"sick leave · {start} · morning" in page.locator("#mine li[data-kind=leave]").inner_text()
    )

    page.click(".kind[data-kind=business_trip]")
    assert page.locator("select[name=leave_type]").is_hidden()
    page.fill("input[name=start_date]", (today() + timedelta(days=14)).isoformat())
    page.fill("input[name=end_date]", (today() + timedelta(days=16)).isoformat())
    page.fill("textarea[name=reason]", "customer visit")
    page.click("#send")
    page.wait_for_selector("#mine li[data-kind=business_trip]")
    kinds = page.eval_on_selector_all("#mine li[data-id]", "ls => ls.map(l => l.dataset.kind)")
    assert kinds == ["business_trip", "leave", "missed_punch"]  # newest first
    api = page.evaluate("fetch('/app/requests').then(r => r.json())")
    assert [r["kind"] for r in api] == kinds
    made = rows(store)
    assert [(r.kind, r.employee_id) for r in made] == [
        ("missed_punch", app_office.ids["2001"]),
        ("leave", app_office.ids["2001"]),
        ("business_trip", app_office.ids["2001"]),
    ]
    assert made[0].details["state"] == "break_out" and made[1].details["part"] == "am"
    for width in (360, 430):
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "app-my-requests")

    # Withdrawn from the list while pending.
    page.click("#mine li[data-kind=leave] .cancel")
    page.wait_for_selector("#mine li[data-kind=leave][data-state=cancelled]")
    assert page.locator("#mine li[data-kind=leave] .cancel").count() == 0
    assert [r.state for r in rows(store)] == ["pending", "cancelled", "pending"]


def test_limits_and_invalid_input_are_shown(phone, client, keys, app_office, store):  # noqa: F811
    with store.sessions.begin() as s:
        doc = {**FLEX_DOC, "requests": {"per_month": {"missed_punch": 1}}}
        flex = Policy(name="flex", kind="flexitime", document=doc, updated_at=utcnow())
        s.add(flex)
        s.flush()
        assign_policy(
            s,
            employee_id=app_office.ids["2001"],
            policy_id=flex.id,
            effective_from=today() - timedelta(days=60),
            today=today(),
        )
    page = my_requests(enrolled(phone, client, keys, app_office.ids["2001"]))
    # Nothing typed: the page names what is missing and sends nothing.
    page.click("#send")
    need = page.locator("#ask-problem")
    assert need.is_visible() and "Date, Time, Reason" in need.inner_text()
    # In the future: the server's reason, naming the field.
    ask_missed(page, today() + timedelta(days=3), "08:00", "in", "later")
    page.wait_for_selector("#ask-problem[data-status='422']")
    assert "cannot be in the future" in need.inner_text()
    ask_missed(page, today() - timedelta(days=1), "08:00", "in", "first")
    page.wait_for_selector("#mine li[data-kind=missed_punch]")
    ask_missed(page, today() - timedelta(days=1), "17:00", "out", "second")
    page.wait_for_selector("#ask-problem[data-status='409']")
    assert "Monthly limit reached: at most 1 missed punch request a month" in need.inner_text()
    shot(page, "app-my-requests-limit")
    assert len(rows(store)) == 1


def test_a_lost_answer_is_retried_without_a_second_request(phone, client, keys, app_office, store):  # noqa: F811
    page = my_requests(enrolled(phone, client, keys, app_office.ids["2001"]))
    lost = {"n": 0}

    def drop_first_answer(route):
        # The request reaches the server; its answer never reaches the phone.
        if lost["n"] == 0 and route.request.method == "POST":
            lost["n"] += 1
            route.fetch()
            route.abort("connectionreset")
            return
        route.continue_()

    page.route("**/app/requests", drop_first_answer)
    ask_missed(page, today() - timedelta(days=2), "09:00", "in", "bus late")
    page.wait_for_selector("#net:visible")
    assert len(rows(store)) == 1  # stored, though the phone heard nothing
    page.click("#send")  # the employee tries again
    page.wait_for_selector("#ask-done:visible")
    assert lost["n"] == 1
    made = rows(store)
    assert len(made) == 1
    assert page.locator("#ask-done").get_attribute("data-id") == str(made[0].id)
    page.wait_for_selector(f"#mine li[data-id='{made[0].id}']")
    assert page.locator("#mine li[data-id]").count() == 1


def test_hrs_decision_is_shown_with_the_comment(phone, client, keys, app_office, store):  # noqa: F811
    page = my_requests(enrolled(phone, client, keys, app_office.ids["2001"]))
    ask_missed(page, today() - timedelta(days=1), "08:00", "in", "terminal down")
    page.wait_for_selector("#mine li[data-kind=missed_punch]")
    [row] = rows(store)
    res = client.post(
        f"/requests/{row.id}/approve", json={"comment": "ok, seen"}, headers=auth(keys.manager)
    )
    assert res.status_code == 200, res.text
    page.reload()
    page.wait_for_selector("#mine li[data-state=approved]", timeout=10_000)
    item = page.locator("#mine li[data-state=approved]").inner_text()
    assert "Approved" in item and "Approver's comment: ok, seen" in item
    assert page.locator("#mine .cancel").count() == 0


def test_my_requests_in_chinese_has_no_english_left(phone, client, keys, app_office, store):  # noqa: F811
    page = enrolled(phone, client, keys, app_office.ids["2001"], lang="?lang=zh")
    my_requests(page, "?lang=zh")
    ask_missed(page, today() - timedelta(days=1), "08:00", "break_in", "忘记打卡")
    page.wait_for_selector("#mine li[data-kind=missed_punch]")
    page.click(".kind[data-kind=leave]")
    page.click("#send")  # nothing filled in: the problem in Chinese too
    text = page.locator("body").inner_text()
    english = {en for en, zh in APP_LABELS.values() if "{" not in en and len(en) > 3}
    assert not [en for en in english if en in text]
    for zh in (
        "我的申请",
        "补卡",
        "请假",
        "出差",
        "待审批",
        "结束休息",
        "年假",
        "提交申请",
        "请填写",
    ):
        assert zh in text, zh
    options = page.eval_on_selector_all("select[name=part] option", "os => os.map(o => o.text)")
    assert options == ["全天", "上午", "下午"]
    shot(page, "app-my-requests-zh")


def test_my_requests_opens_offline_with_the_list_last_seen(phone, client, keys, app_office):  # noqa: F811
    page = my_requests(enrolled(phone, client, keys, app_office.ids["2001"]))
    ask_missed(page, today() - timedelta(days=1), "08:00", "in", "terminal down")
    page.wait_for_selector("#mine li[data-kind=missed_punch]")
    controlled(page)
    # The worker caches my requests just after it takes control.
    page.wait_for_function(
        "caches.match('/app/static/requests.js').then(r => !!r)", timeout=10_000, polling=200
    )
    phone.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-loaded='1']", timeout=10_000)
    assert page.locator("#net").is_visible()
    assert page.locator("#mine li[data-kind=missed_punch]").count() == 1
    phone.set_offline(False)
