"""The roster page: the API's resolved grid shown with colours, within the visitor's scope."""

from __future__ import annotations

import re

from tests.api.conftest import auth
from tests.ui.conftest import MON, TUE, csrf_of, sign_in

CELL = re.compile(r'data-date="([\d-]+)" data-code="([^"]*)" data-source="([^"]*)"')


def test_the_roster_page_shows_the_grid_the_api_resolves(client, keys, office):
    h = auth(keys.admin)
    made = client.post(
        "/shift-types",
        json={
            "code": "N",
            "name": "Night",
            "color": "#123456",
            "shift": {"start": "22:00", "end": "06:00"},
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    pattern = client.post(
        "/shift-patterns",
        json={"name": "ops", "kind": "cycle", "codes": "N -", "anchor": MON.isoformat()},
        headers=h,
    ).json()
    depts = {d["code"]: d["id"] for d in client.get("/departments", headers=h).json()}
    assigned = client.post(
        f"/departments/{depts['OPS']}/roster-assignments",
        json={"pattern_id": pattern["id"], "effective_from": MON.isoformat()},
        headers=h,
    )
    assert assigned.status_code == 201, assigned.text
    period = {"from": MON.isoformat(), "to": MON.replace(day=MON.day + 3).isoformat()}
    grid = client.get(f"/departments/{depts['OPS']}/roster", params=period, headers=h).json()
    page = sign_in(client, keys.scoped_hr).get(
        f"/ui/roster?from={period['from']}&to={period['to']}"
    )  # OPS is the scoped key's department
    assert page.status_code == 200, page.text
    shown = CELL.findall(page.text)
    expected = [
        (c["date"], c["code"] or "", c["source"] or "") for row in grid for c in row["days"]
    ]
    assert shown == expected and ("N" in {code for _, code, _ in shown})
    assert 'style="background: #123456"' in page.text and 'class="num shift rest"' in page.text
    other = client.get("/ui/roster?department=ENG")
    missing = client.get("/ui/roster?department=NOPE")
    assert other.status_code == missing.status_code == 404
    assert "1001" not in other.text  # ENG's people never appear
    chinese = client.get(f"/ui/roster?from={period['from']}&to={period['to']}&lang=zh")
    assert "排班" in chinese.text


def test_a_viewer_has_no_roster_page(client, keys, office):
    browser = sign_in(client, keys.viewer)
    assert 'href="/ui/roster"' not in browser.get("/ui/today").text
    assert browser.get("/ui/roster").status_code == 403


def test_hr_changes_a_day_on_the_page_and_gives_it_back_to_the_pattern(client, keys, office):
    h = auth(keys.admin)
    for code, shift in (
        ("E", {"start": "06:00", "end": "14:00"}),
        ("N", {"start": "22:00", "end": "06:00"}),
    ):
        made = client.post(
            "/shift-types", json={"code": code, "name": code, "shift": shift}, headers=h
        )
        assert made.status_code == 201, made.text
    pattern = client.post(
        "/shift-patterns",
        json={"name": "ops", "kind": "cycle", "codes": "E -", "anchor": MON.isoformat()},
        headers=h,
    ).json()
    depts = {d["code"]: d["id"] for d in client.get("/departments", headers=h).json()}
    client.post(
        f"/departments/{depts['OPS']}/roster-assignments",
        json={"pattern_id": pattern["id"], "effective_from": MON.isoformat()},
        headers=h,
    )
    browser = sign_in(client, keys.scoped_hr)
    view = f"from={MON}&to={MON.replace(day=MON.day + 3)}"
    page = browser.get(f"/ui/roster?{view}&employee=1003&day={TUE}")
    # A cell's link fills the form in with its employee and day.
    assert '<option value="1003" selected>' in page.text and f'value="{TUE}"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "employee": "1003",
        "day": TUE.isoformat(),
        "code": "N",
        "note": "swap with 1004",
        "from": MON.isoformat(),
        "to": MON.replace(day=MON.day + 3).isoformat(),
        "department": "OPS",
    }
    saved = browser.post("/ui/roster/day", data=form, follow_redirects=False)
    assert saved.status_code == 303 and "notice=roster_day_saved" in saved.headers["location"]
    shown = browser.get(saved.headers["location"])
    assert "The day is rostered" in shown.text
    grid = client.get(
        f"/departments/{depts['OPS']}/roster",
        params={"from": TUE.isoformat(), "to": TUE.isoformat()},
        headers=h,
    ).json()
    cell = next(r for r in grid if r["code"] == "1003")["days"][0]
    assert (cell["code"], cell["source"]) == ("N", "day_entry")

    # Refusals come back on the page: an unknown code, another department's employee.
    unknown = browser.post("/ui/roster/day", data={**form, "code": "Q"})
    assert unknown.status_code == 422 and "unknown shift code" in unknown.text
    foreign = browser.post("/ui/roster/day", data={**form, "employee": "1001"})
    assert foreign.status_code == 404 and "no employee with that code" in foreign.text
    forged = browser.post("/ui/roster/day", data={**form, "csrf": "x"})
    assert forged.status_code == 403

    back = browser.post("/ui/roster/day", data={**form, "code": ""}, follow_redirects=False)
    assert "notice=roster_day_cleared" in back.headers["location"]
    grid = client.get(
        f"/departments/{depts['OPS']}/roster",
        params={"from": TUE.isoformat(), "to": TUE.isoformat()},
        headers=h,
    ).json()
    cell = next(r for r in grid if r["code"] == "1003")["days"][0]
    assert (cell["code"], cell["source"]) == ("-", "department_pattern")
