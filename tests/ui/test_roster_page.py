"""The roster page: the API's resolved grid shown with colours, within the visitor's scope."""

from __future__ import annotations

import re

from tests.api.conftest import auth
from tests.ui.conftest import MON, sign_in

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
