"""The pages without a browser: figures equal the API's, sign-in, CSRF, privacy, language."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from collector.runtime import utcnow
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import Device, Lease, Punch
from rules.vocabulary import SourceKind
from tests.api.conftest import auth
from tests.ui.conftest import MON, TUE, WED, add_form, csrf_of, sign_in

ROW = re.compile(r'<tr data-employee="(\d+)" data-group="(\w+)">.*?class="badge s-(\w+)"', re.S)


def api(client, keys, path):
    answer = client.get(path, headers=auth(keys.admin))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_today_shows_the_board_the_api_reports(client, keys, office):
    board = api(client, keys, f"/reports/board?date={TUE}")["rows"]
    page = sign_in(client, keys.viewer).get(f"/ui/today?day={TUE}")
    assert page.status_code == 200
    shown = {code: (group, status) for code, group, status in ROW.findall(page.text)}
    assert {code: status for code, (_, status) in shown.items()} == {
        r["employee_code"]: r["status"] for r in board
    }
    # 1003 came at 10:40 (flexitime's latest start is 10:00): late, like the API says.
    assert shown["1003"][1] == "late"
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page.text))
    assert int(counts["late"]) == sum(r["late_minutes"] > 0 for r in board) >= 1
    assert int(counts["out"]) == sum(r["last_out"] is not None for r in board)
    assert '<meta http-equiv="refresh"' in page.text


def test_lateness_page_matches_the_api_and_its_export(client, keys, office):
    period = f"from={MON}&to={WED}"
    by_dept = api(client, keys, f"/reports/lateness?{period}&by=department")["rows"]
    by_emp = api(client, keys, f"/reports/lateness?{period}")["rows"]
    sign_in(client, keys.viewer)
    page = client.get(f"/ui/lateness?{period}")
    assert page.status_code == 200
    rates = dict(re.findall(r'data-department="(\w*)">.*?data-rate="([\d.]+)"', page.text, re.S))
    assert rates == {r["department"]: str(r["lateness_rate"]) for r in by_dept}
    assert any(float(v) > 0 for v in rates.values())
    late = dict(re.findall(r'data-employee="(\d+)">.*?data-late-days="(\d+)"', page.text, re.S))
    assert late == {r["employee_code"]: str(r["late_days"]) for r in by_emp}
    assert page.text.count("<svg") == 2  # the bars and the weekly trend, drawn on the server
    csv_page = client.get(f"/ui/lateness/export?format=csv&{period}")
    csv_api = client.get(f"/reports/lateness?{period}&format=csv", headers=auth(keys.admin))
    assert csv_page.status_code == 200
    # The same rows; the page's file is headed in the page's language.
    assert csv_page.text.splitlines()[1:] == csv_api.text.splitlines()[1:]
    assert csv_page.text.splitlines()[0].startswith("\ufeffEmployee id,Code,Name,Department")
    xlsx = client.get(f"/ui/lateness/export?format=xlsx&{period}&department=OPS")
    assert xlsx.content[:2] == b"PK"  # a zip: the workbook


def test_employee_month_shows_each_day_and_a_chosen_day_as_the_api(client, keys, office):
    emp = office.employees["1003"]
    day = api(client, keys, f"/reports/employee-day?employee_id={emp}&date={TUE}")
    page = sign_in(client, keys.viewer).get(
        f"/ui/employee?employee_id={emp}&month=2026-11&day={TUE}"
    )
    assert page.status_code == 200
    statuses = dict(re.findall(r'data-day="([\d-]+)" data-status="(\w*)"', page.text))
    assert statuses[str(TUE)] == day["result"]["status"] == "late"
    assert statuses["2026-11-01"] == ""  # before the policy: nothing computed
    table = page.text.split('id="day-punches"')[1].split("</table>")[0]
    assert table.count("<tr") - 1 == len(day["punches"]) == 2
    assert day["policy"]["name"] in page.text
    assert 'id="balance"' in page.text  # flexitime keeps a balance


def test_signing_in_out_and_the_cookie(client, keys, office):
    answer = client.get("/ui/punches?device=door-1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=%2Fui%2Fpunches%3Fdevice%3Ddoor-1"
    form = client.get("/ui/sign-in")
    bad = client.post("/ui/sign-in", data={"api_key": "pg_x_y", "csrf": csrf_of(form.text)})
    assert bad.status_code == 401 and "revoked" in bad.text
    assert client.get("/ui/today", follow_redirects=False).status_code == 303
    page = client.get("/ui/sign-in")
    done = client.post(
        "/ui/sign-in",
        data={"api_key": keys.hr, "csrf": csrf_of(page.text), "next": "/ui/punches?device=door-1"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/ui/punches?device=door-1"
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
    assert "secure" not in cookie  # plain http here; see the https test
    today = client.get("/ui/today")
    assert today.status_code == 200
    out = client.post("/ui/sign-out", data={"csrf": csrf_of(today.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/ui/today", follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(app, keys):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as browser:
        sign_in(browser, keys.viewer)
        assert browser.get("/ui/today").status_code == 200
        page = browser.get("/ui/sign-in")
        assert "secure" in page.headers["set-cookie"].lower()


def test_next_never_leaves_the_site(client, keys, office):
    page = client.get("/ui/sign-in")
    done = client.post(
        "/ui/sign-in",
        data={"api_key": keys.hr, "csrf": csrf_of(page.text), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/ui/today"


def test_forms_without_the_sessions_csrf_token_are_refused(client, keys, office, store):
    page = client.get("/ui/sign-in")
    assert client.post("/ui/sign-in", data={"api_key": keys.hr}).status_code == 403
    assert (
        client.post("/ui/sign-in", data={"api_key": keys.hr, "csrf": "x" * 20}).status_code == 403
    )
    assert csrf_of(page.text)
    sign_in(client, keys.hr)
    with store.sessions() as s:
        before = s.scalar(select(Punch.id).order_by(Punch.id.desc()).limit(1))
        target = s.scalar(select(Punch.id).where(Punch.employee_code == "1001").limit(1))
    form = {
        "employee_id": office.employees["1001"],
        "timestamp": "2026-11-20T09:00",
        "state": "in",
        "reason": "forgot to punch",
    }
    for token in (None, "", "not-the-token"):
        data = form if token is None else {**form, "csrf": token}
        assert client.post("/ui/punches/add", data=data).status_code == 403
        void = {"reason": "wrong", **({} if token is None else {"csrf": token})}
        assert client.post(f"/ui/punches/{target}/void", data=void).status_code == 403
        assert client.post("/ui/quarantine/1/reprocess", data=void).status_code == 403
    with store.sessions() as s:
        assert s.scalar(select(Punch.id).order_by(Punch.id.desc()).limit(1)) == before


def test_viewers_see_no_coordinates_and_no_forms(client, keys, office):
    sign_in(client, keys.viewer)
    page = client.get("/ui/punches?employee_code=1002")
    assert page.status_code == 200
    assert "phone-1002" in page.text and "inside" in page.text  # site and decision
    assert "52.52001" not in page.text and "13.40495" not in page.text
    assert "/ui/punches/add" not in page.text and "/void" not in page.text
    assert client.get("/ui/quarantine").status_code == 403
    sign_in(client, keys.hr)
    page = client.get("/ui/punches?employee_code=1002")
    assert "52.52001, 13.40495" in page.text and "/ui/punches/add" in page.text
    row = page.text.split("phone-1002")[1].split("</tr>")[0]
    assert ">35<" in row and ">12<" in row  # distance and accuracy in metres


def test_hr_adds_and_voids_a_punch_and_reprocesses_through_the_forms(client, keys, office):
    sign_in(client, keys.hr)
    page = client.get("/ui/punches")
    emp = office.employees["1004"]
    form = add_form(page.text, emp, "2026-11-25T09:12", "terminal was down", "form-0001-abc")
    added = client.post("/ui/punches/add", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    again = client.post("/ui/punches/add", data=form, follow_redirects=False)
    assert again.status_code == 303  # the same form sent twice adds one punch
    listed = api(client, keys, "/punches?employee_code=1004&source_kind=manual")["items"]
    assert [(p["note"], p["occurred_at"]) for p in listed] == [
        ("terminal was down", "2026-11-25T08:12:00Z")  # 09:12 in Berlin
    ]
    shown = client.get(added.headers["location"])
    assert "Punch added" in shown.text and f'id="punch-{listed[0]["id"]}"' in shown.text
    void = client.post(
        f"/ui/punches/{listed[0]['id']}/void",
        data={"csrf": csrf_of(shown.text), "reason": "entered twice"},
        follow_redirects=False,
    )
    assert void.status_code == 303
    voids = [
        p for p in api(client, keys, "/punches?employee_code=1004")["items"] if p["voids_punch_id"]
    ]
    assert [(v["voids_punch_id"], v["note"]) for v in voids] == [(listed[0]["id"], "entered twice")]
    # The quarantine: the fixable item (its device now declared) becomes a punch.
    items = api(client, keys, "/quarantine")
    assert len(items) == 2
    fixable = next(i for i in items if i["device_code"] == "door-9")
    page = client.get("/ui/quarantine")
    assert "unknown timezone" in page.text
    done = client.post(
        f"/ui/quarantine/{fixable['id']}/reprocess",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert [i["device_code"] for i in api(client, keys, "/quarantine")] == ["door-8"]
    stuck = next(i for i in items if i["device_code"] == "door-8")
    refused = client.post(
        f"/ui/quarantine/{stuck['id']}/reprocess", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 409 and "still not a punch" in refused.text


def test_devices_page_shows_every_terminal_and_phones_together(client, keys, office):
    rows = api(client, keys, "/reports/devices")["rows"]
    page = sign_in(client, keys.viewer).get("/ui/devices")
    assert page.status_code == 200
    for r in rows:
        assert f'data-device="{r["device_code"]}"' in page.text
    assert 'data-skew="2.5"' in page.text and "50.0%" in page.text
    assert "connection timed out" in page.text
    assert 'data-phones="1"' in page.text


def test_pulled_terminals_of_every_kind_show_which_collector_polls_them(
    client, keys, office, store
):
    now = utcnow()
    with store.sessions.begin() as s:
        s.add(Device(code="gate-hik", name="Gate", kind="hik", timezone="Europe/Berlin"))
        s.add(
            Lease(
                key="terminal:gate-hik",
                owner="node-b",
                acquired_at=now,
                expires_at=now + timedelta(minutes=1),
            )
        )
    page = sign_in(client, keys.viewer).get("/ui/devices")
    pulled = page.text[page.text.index('id="pulled"') : page.text.index('id="pushed"')]
    row = re.search(r'data-device="gate-hik">(?:(?!</tr>).)*', pulled, re.S)
    assert row is not None and 'data-polled-by="node-b"' in row.group(0)
    assert "Hikvision" in row.group(0)


def test_language_switch_is_remembered(client, keys, office):
    sign_in(client, keys.viewer)
    zh = client.get(f"/ui/today?day={TUE}&lang=zh")
    assert "今日" in zh.text and "迟到" in zh.text and 'lang="zh-CN"' in zh.text
    again = client.get(f"/ui/lateness?from={MON}&to={WED}")
    assert "各部门迟到率" in again.text
    back = client.get("/ui/today?lang=en")
    assert "Not punched yet" in back.text


def test_scoped_keys_see_their_department_only(client, keys, office):
    sign_in(client, keys.scoped_viewer)
    page = client.get(f"/ui/today?day={TUE}")
    codes = {code for code, _, _ in ROW.findall(page.text)}
    assert codes == {"1003", "1004"}
    late = client.get(f"/ui/lateness?from={MON}&to={WED}&department=ENG")
    assert 'data-department="ENG"' not in late.text and 'data-department="OPS"' in late.text
    other = office.employees["1001"]
    assert client.get(f"/ui/employee?employee_id={other}").status_code == 404
    sign_in(client, keys.scoped_hr)
    assert client.get("/ui/quarantine").status_code == 403


def test_bad_parameters_are_pages_not_crashes(client, keys, office):
    sign_in(client, keys.viewer)
    reversed_period = client.get(f"/ui/lateness?from={WED}&to={MON}")
    assert reversed_period.status_code == 422 and "before" in reversed_period.text
    assert client.get("/ui/lateness?department=NOPE").status_code == 404
    assert client.get("/ui/punches?cursor=garbage").status_code == 422


def test_devices_page_shows_bad_input_per_terminal_and_for_phones(client, keys, office, store):
    topic = "punchgate/v1/punch/1001"
    bad = [
        QuarantineItem(SourceKind.PUSH, "not a PIN, time, status… record", f"x{i}", "lobby", f"{i}")
        for i in range(3)
    ]
    bad.append(
        QuarantineItem(SourceKind.MOBILE, "payload is not JSON", "?", None, topic, origin=topic)
    )
    ingest_batch(store.engine, bad, now=utcnow(), policy=store.policy)  # the last 24 h
    report = api(client, keys, "/reports/devices")["rows"]
    assert {r["device_code"]: r["bad_input_24h"] for r in report if r["bad_input_24h"]} == {
        "lobby": 3
    }
    page = sign_in(client, keys.viewer).get("/ui/devices")
    assert "Bad input (24 h)" in page.text
    assert re.search(r'data-device="lobby">(?:(?!</tr>).)*data-bad-input="3"', page.text, re.S)
    phones = page.text[page.text.index('id="phones"') :]
    assert 'data-bad-input="1"' in phones
