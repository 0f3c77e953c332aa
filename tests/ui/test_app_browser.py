"""The punch app on a phone-sized Chromium: enrolment by link, the preview inside, outside and
with poor accuracy, punches queued offline and stored once with the time they were taken."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from collector.store.models import Punch
from tests.api.conftest import Keys
from tests.app_support import DEPOT, HQ, AppOffice, enrolment_link, seed_app_office
from tests.ui.test_browser import chromium, live, shot  # noqa: F401  (fixtures)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def app_office(store, now, keys: Keys) -> AppOffice:
    return seed_app_office(store, now)


@pytest.fixture
def phone(chromium, live):  # noqa: F811
    """A phone-sized context allowed to read an emulated position (inside hq to start)."""
    context = chromium.new_context(
        base_url=live,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": HQ[0], "longitude": HQ[1], "accuracy": 10},
        permissions=["geolocation"],
    )
    yield context
    context.close()


def controlled(page) -> None:
    """Wait until the service worker controls the page (reloading it once if needed).

    A page that was navigating while the worker activated is not claimed by it; a real
    phone's next visit is controlled, and so is the page after one reload.
    """
    page.evaluate("navigator.serviceWorker.ready.then(() => null)")
    if page.evaluate("navigator.serviceWorker.controller === null"):
        page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10_000)


def enrolled(phone, client, keys: Keys, employee_id: int, lang: str = ""):
    """Open a fresh enrolment link on the phone, confirm, and land on the punch screen."""
    page = phone.new_page()
    page.goto(enrolment_link(client, keys.hr, employee_id) + lang)
    page.click("#enrol")
    page.wait_for_url("**/app")
    page.click("#privacy-ok")
    return page


def outcome(page, expected: str) -> None:
    page.wait_for_selector(f"#will[data-outcome={expected}]", timeout=10_000)


def test_enrol_by_link_preview_and_receipts(phone, client, keys, app_office, store):
    page = enrolled(phone, client, keys, app_office.ids["2001"])
    # The name comes from /app/day once the screen has loaded: wait for it, then read it.
    page.wait_for_selector("#who:has-text('Ana')", timeout=10_000)
    assert "Ana" in page.locator("#who").inner_text()
    outcome(page, "inside")
    assert "hq" in page.locator("#site").inner_text()
    shot(page, "app-inside")
    page.click("#punch")
    page.wait_for_selector("#receipt[data-status=accepted]")
    assert "hq" in page.locator("#receipt").inner_text()
    page.wait_for_function("document.querySelectorAll('#day li:not(.muted)').length === 1")
    shot(page, "app-receipt")

    phone.set_geolocation({"latitude": HQ[0] + 0.003, "longitude": HQ[1], "accuracy": 10})
    page.click("#locate")
    outcome(page, "outside_flagged")
    assert "m" in page.locator("#site").inner_text()
    shot(page, "app-outside-flagged")

    phone.set_geolocation({"latitude": HQ[0], "longitude": HQ[1], "accuracy": 400})
    page.click("#locate")
    outcome(page, "accuracy_too_poor")
    shot(page, "app-poor-accuracy")

    phone.set_geolocation({"latitude": DEPOT[0] + 0.011, "longitude": DEPOT[1], "accuracy": 10})
    page.click("#locate")
    outcome(page, "outside_rejected")
    page.click("#punch")
    page.wait_for_selector("#receipt[data-status=rejected]")
    assert "outside the fence" in page.locator("#receipt .why").inner_text()
    shot(page, "app-rejected")
    with store.sessions() as s:
        assert s.scalars(select(Punch.employee_code)).all() == ["2001"]


def test_offline_punches_wait_and_are_stored_once_with_their_time(
    phone, client, keys, app_office, store
):
    page = enrolled(phone, client, keys, app_office.ids["2002"])
    controlled(page)
    outcome(page, "inside")  # after a reload too: the fix is taken again
    phone.set_offline(True)
    before = datetime.now(UTC)
    page.click("#punch")  # in
    page.wait_for_selector("#queue-count:text('1')")
    page.click("#punch")  # out
    page.wait_for_selector("#queue-count:text('2')")
    taken = datetime.now(UTC)
    assert page.locator("#net").is_visible()
    page.reload()  # offline: the service worker serves the screen, IndexedDB keeps the queue
    page.wait_for_selector("#queue-count:text('2')")
    assert page.locator("#queue li").count() == 2
    shot(page, "app-offline-queue")
    with store.sessions() as s:
        assert s.scalar(select(Punch.id)) is None
    time.sleep(1.5)  # so that "sent" and "taken" differ clearly
    phone.set_offline(False)
    page.wait_for_selector("#queue-count:text('0')", timeout=20_000)
    page.wait_for_selector("#receipt[data-status=accepted]")
    shot(page, "app-back-online")
    page.reload()  # nothing is sent twice
    page.wait_for_selector("#queue-count:text('0')")
    with store.sessions() as s:
        rows = s.execute(select(Punch.occurred_at, Punch.state).order_by(Punch.occurred_at)).all()
    assert [r[1] for r in rows] == ["in", "out"]
    assert all(before.replace(microsecond=0) <= r[0] <= taken for r in rows)


def test_the_app_in_chinese(phone, client, keys, app_office):
    page = enrolled(phone, client, keys, app_office.ids["2001"], lang="?lang=zh")
    page.goto("/app?lang=zh")
    outcome(page, "inside")
    assert page.locator("#punch").inner_text() == "上班打卡"
    assert page.locator("#will").inner_text() == "在围栏内：打卡将被接受。"
    page.click("#punch")
    page.wait_for_selector("#receipt[data-status=accepted]")
    assert "回执" in page.locator("#receipt").inner_text()
    shot(page, "app-zh")
