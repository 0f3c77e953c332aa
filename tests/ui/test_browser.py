"""The pages in a real browser: Debian's Chromium driven by Playwright against uvicorn.

No browser is ever downloaded: without /usr/bin/chromium these tests skip and say how to
install it (`apt-get install -y chromium`, which `.ci/browser` does in CI).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn

from collector.store.ingest import ingest_batch
from tests.api.conftest import auth
from tests.factories import raw_punch
from tests.ui.conftest import MON, TUE, WED

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

if not Path(CHROMIUM).exists():
    pytest.skip(
        "Chromium is not installed: run `apt-get install -y chromium` (or `bash .ci/browser`)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One headless Chromium for the module."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def live(app) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def page(chromium, live):
    """A fresh browser context (no cookies) on the live app."""
    context = chromium.new_context(base_url=live, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page, token: str) -> None:
    page.goto("/ui/today")  # a page needing a session sends the browser to sign in
    assert "/ui/sign-in?next=" in page.url
    page.fill("input[name=api_key]", token)
    page.click("form[action='/ui/sign-in'] button[type=submit]")
    page.wait_for_url("**/ui/today")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def api(client, keys, path):
    answer = client.get(path, headers=auth(keys.admin))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_page_shows_the_apis_figures(page, client, keys, office):
    sign_in(page, keys.viewer)
    board = api(client, keys, f"/reports/board?date={TUE}")["rows"]
    page.goto(f"/ui/today?day={TUE}")
    late = int(page.locator("[data-count=late]").inner_text())
    assert late == sum(r["late_minutes"] > 0 for r in board) >= 1
    for r in board:
        row = page.locator(f"#board tr[data-employee='{r['employee_code']}']")
        assert row.locator(f".badge.s-{r['status']}").count() == 1
    shot(page, "today")

    by_dept = api(client, keys, f"/reports/lateness?from={MON}&to={WED}&by=department")["rows"]
    page.goto("/ui/lateness")
    page.fill("input[name=from]", str(MON))
    page.fill("input[name=to]", str(WED))
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/ui/lateness?from=*")
    for r in by_dept:
        cell = page.locator(f"#departments tr[data-department='{r['department']}'] td").last
        assert cell.inner_text() == f"{r['lateness_rate'] * 100:.1f}%"
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart rect").count() >= len(by_dept)
    with page.expect_download() as download:
        page.click("#export-csv")
    exported = Path(download.value.path()).read_bytes()
    expected = client.get(
        f"/reports/lateness?from={MON}&to={WED}&format=csv", headers=auth(keys.admin)
    )
    assert exported.splitlines()[1:] == expected.content.splitlines()[1:]
    assert download.value.suggested_filename == f"lateness-by-employee_{MON}_{WED}.csv"
    shot(page, "lateness")

    emp = office.employees["1003"]
    day = api(client, keys, f"/reports/employee-day?employee_id={emp}&date={TUE}")
    page.goto(f"/ui/employee?employee_id={emp}&month=2026-11")
    page.click(f"a[data-day='{TUE}']")  # a click on a day shows its punches
    assert page.locator("#day-punches tbody tr").count() == len(day["punches"])
    assert page.locator("#day h2 .badge").inner_text() == "late"
    assert page.locator(".explanation li").count() == len(day["result"]["explanation"])
    shot(page, "employee-month")

    page.goto("/ui/punches")
    assert page.locator("#punches tbody tr").count() == len(api(client, keys, "/punches")["items"])
    assert page.locator("#add-punch").count() == 0  # a viewer gets no forms
    shot(page, "punches-viewer")

    page.goto("/ui/devices")
    for r in api(client, keys, "/reports/devices")["rows"]:
        assert page.locator(f"tr[data-device='{r['device_code']}']").count() == 1
    shot(page, "devices")


def test_hr_corrects_punches_reprocesses_and_switches_language(page, client, keys, office):
    sign_in(page, keys.hr)
    page.goto("/ui/punches")
    page.click("#add-punch summary")
    page.select_option("#add-punch select[name=employee_id]", str(office.employees["1004"]))
    page.fill("#add-punch input[name=timestamp]", "2026-11-25T09:12")
    page.select_option("#add-punch select[name=state]", "in")
    page.fill("#add-punch input[name=reason]", "terminal was down")
    page.click("#add-punch button[type=submit]")
    page.wait_for_url("**/ui/punches?notice=added*")
    [added] = api(client, keys, "/punches?employee_code=1004&source_kind=manual")["items"]
    assert added["occurred_at"] == "2026-11-25T08:12:00Z"
    row = page.locator(f"#punch-{added['id']}")
    assert "2026-11-25 09:12:00" in row.inner_text()  # shown in the site's zone
    shot(page, "punches-hr")

    row.locator("input[name=reason]").fill("entered twice")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/ui/punches?notice=voided_ok")
    assert "voided" in page.locator(f"#punch-{added['id']}").inner_text()
    voids = api(client, keys, "/punches?employee_code=1004&source_kind=manual")["items"]
    assert [v["voids_punch_id"] for v in voids if v["state"] == "void"] == [added["id"]]

    fixable = next(i for i in api(client, keys, "/quarantine") if i["device_code"] == "door-9")
    page.goto("/ui/quarantine")
    shot(page, "quarantine")
    page.locator(f"#quarantine tr[data-id='{fixable['id']}'] button[name=reprocess]").click()
    page.wait_for_url("**/ui/quarantine?notice=reprocessed_ok")
    assert page.locator(f"#quarantine tr[data-id='{fixable['id']}']").count() == 0
    assert [i["device_code"] for i in api(client, keys, "/quarantine")] == ["door-8"]

    page.goto(f"/ui/today?day={TUE}")
    page.click("a.lang")
    assert page.locator("nav a.active").inner_text() == "今日"
    page.goto(f"/ui/lateness?from={MON}&to={WED}")  # the choice is remembered
    assert page.locator("h1").inner_text() == "迟到统计"
    shot(page, "lateness-zh")
    page.goto(f"/ui/today?day={TUE}")
    shot(page, "today-zh")


def test_hr_dismisses_quarantine_one_item_and_many_after_confirming(
    page, client, keys, office, store, now
):
    sign_in(page, keys.hr)
    stuck = next(i for i in api(client, keys, "/quarantine") if i["device_code"] == "door-8")
    page.goto("/ui/quarantine")
    row = page.locator(f"#quarantine tr[data-id='{stuck['id']}']")
    row.locator("button[name=dismiss]").click()  # no reason: the browser keeps the form
    assert page.url.endswith("/ui/quarantine")
    row.locator("input[name=reason]").fill("old test terminal")
    row.locator("button[name=dismiss]").click()
    page.wait_for_url("**/ui/quarantine?notice=dismissed_ok")
    assert page.locator(f"#quarantine tr[data-id='{stuck['id']}']").count() == 0
    assert [i["device_code"] for i in api(client, keys, "/quarantine")] == ["door-9"]

    more = [
        raw_punch("1004", datetime(2026, 11, 25, 9, m), device_code="door-7", tz="Mars/Olympus")
        for m in (1, 2)
    ]
    assert ingest_batch(store.engine, more, now=now, policy=store.policy).quarantined == 2
    page.goto("/ui/quarantine")
    page.fill("#quarantine-filter input[name=reason]", "unknown timezone 'Mars/Olympus'")
    page.click("#quarantine-filter button[type=submit]")
    page.wait_for_url("**/ui/quarantine?*reason=*")
    assert page.locator("[data-total]").get_attribute("data-total") == "3"
    page.click("#dismiss-matching")
    page.wait_for_url("**/ui/quarantine/dismiss?*")
    assert page.locator("#dismiss-count").get_attribute("data-count") == "3"
    assert "hr · hr" in page.locator("header.nav .who").inner_text()
    shot(page, "quarantine-dismiss")
    page.fill("#dismiss-matching-form input[name=reason]", "zone typo, fixed on the terminals")
    page.click("#dismiss-matching-form button[type=submit]")
    page.wait_for_url("**/ui/quarantine?notice=dismissed_many&dismissed=3")
    assert api(client, keys, "/quarantine") == []
    page.goto("/ui/quarantine?status=dismissed")
    assert page.locator("#quarantine tbody tr[data-id]").count() == 4


PHONE_PAGES = [
    f"/ui/today?day={TUE}",
    f"/ui/lateness?from={MON}&to={WED}",
    f"/ui/employee?month=2026-11&day={TUE}",
    "/ui/punches",
    "/ui/devices",
    "/ui/quarantine",
    "/ui/roster",
    "/ui/periods",
    "/ui/requests",
    "/ui/nowhere",
]


@pytest.mark.parametrize("width", [360, 390, 430])
def test_pages_fit_a_phone_and_the_nav_is_reachable(chromium, live, client, keys, office, width):
    context = chromium.new_context(
        base_url=live, viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True
    )
    tab = context.new_page()
    missing: list[str] = []  # anything a page asked for and did not get (the icon, say)
    tab.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    try:
        sign_in(tab, keys.admin)  # the admin sees every page and every form
        for lang in ("en", "zh"):
            for path in PHONE_PAGES:
                tab.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
                wide = tab.evaluate("document.documentElement.scrollWidth")
                assert wide <= tab.evaluate("window.innerWidth") == width, (path, lang, wide)
                links = tab.locator("header nav a")
                assert links.count() == 9  # today … quarantine, roster, periods, requests
                for n in range(links.count()):
                    links.nth(n).scroll_into_view_if_needed()
                    assert links.nth(n).is_visible(), (path, n)
        tab.locator("header nav a[href='/ui/devices']").click()  # reachable by a tap
        tab.wait_for_url("**/ui/devices")
        shot(tab, f"phone-{width}-devices")
        tab.goto("/ui/punches?lang=zh")
        shot(tab, f"phone-{width}-punches-zh")
    finally:
        context.close()
    assert {m.split("?")[0].removeprefix(live) for m in missing} == {"/ui/nowhere"}


def test_the_favicon_is_served(page, client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    assert answer.content.startswith(b"<svg")
    page.goto("/ui/sign-in")
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"


def test_api_docs_render_for_an_admin_from_this_server_only(page, live, keys):
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    sign_in(page, keys.admin)
    page.click("a.api-docs")
    page.wait_for_url("**/ui/docs")
    punches = page.locator(".opblock-summary-path[data-path='/punches']").first
    punches.wait_for()
    assert page.locator("#swagger-ui").inner_text().startswith("punchgate")
    assert "Authorize" in page.locator("#swagger-ui").inner_text()
    shot(page, "api-docs")
    assert asked and [u for u in asked if not u.startswith(live)] == []


def test_hr_filters_with_blanks_and_adds_a_punch_months_back(page, client, keys, office):
    sign_in(page, keys.hr)
    page.goto("/ui/punches")
    shown = page.locator("#punches tbody tr").count()
    page.fill("form.filters input[name=employee_code]", "")
    page.select_option("form.filters select[name=source_kind]", "")  # "any source"
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/ui/punches?employee_code=*")
    assert "source_kind=&" in page.url and page.locator("#punches tbody tr").count() == shown
    page.select_option("form.filters select[name=source_kind]", "mobile")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**source_kind=mobile*")
    assert page.locator("#punches tbody tr").count() == 1
    # The add form's default time is the site's (Berlin), whatever the server's zone.
    page.goto("/ui/punches")
    page.click("#add-punch summary")
    stamp = page.locator("#add-punch input[name=timestamp]")
    assert stamp.get_attribute("data-zone") == "Europe/Berlin"
    page.select_option("#add-punch select[name=employee_id]", str(office.employees["1001"]))
    stamp.fill("2026-08-03T08:45")
    page.select_option("#add-punch select[name=state]", "in")
    page.fill("#add-punch input[name=reason]", "badge left at home")
    page.click("#add-punch button[type=submit]")
    page.wait_for_url("**/ui/punches?notice=added*")
    row = page.locator("#punches tbody tr", has_text="2026-08-03 08:45:00")
    assert row.count() == 1 and "manual" in row.inner_text()
    page.goto("/ui/lateness?from=not-a-date")  # a refusal is a page with the navigation
    assert page.locator("#error").get_attribute("data-status") == "422"
    assert page.locator("header nav a").count() == 9  # … roster, periods, requests
    assert "hr" in page.locator(".who").inner_text()
    shot(page, "error-page")


def test_a_manager_approves_from_the_inbox_and_the_count_drops(page, client, keys, office):
    made = []
    for code, reason in (("1003", "terminal was down"), ("1004", "forgot the badge")):
        answer = client.post(
            f"/employees/{office.employees[code]}/requests",
            json={
                "kind": "missed_punch",
                "timestamp": "2026-11-24T08:55:00",
                "state": "in",
                "reason": reason,
            },
            headers=auth(keys.hr),
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    sign_in(page, keys.scoped_manager)  # OPS: 1003 and 1004
    badge = page.locator("header nav [data-pending-requests]")
    assert badge.inner_text() == "2"
    page.click("header nav a[href='/ui/requests']")
    page.wait_for_url("**/ui/requests")
    row = page.locator(f"#requests tr[data-id='{made[0]}']")
    row.locator("form[action$='/approve'] input[name=comment]").fill("camera confirms")
    row.locator("button[name=approve]").click()
    page.wait_for_url("**/ui/requests?notice=request_approved")
    assert badge.inner_text() == "1"
    assert page.locator("#requests tbody tr[data-id]").count() == 1
    shot(page, "requests-inbox")
    got = client.get(f"/requests/{made[0]}", headers=auth(keys.hr)).json()
    assert (got["state"], got["comment"]) == ("approved", "camera confirms")
    assert got["decided_by"].endswith(":ops-manager") and "punch_id" in got["outcome"]
