"""Rosters through the API: hr edits within its scope, the resolved roster of a department."""

from __future__ import annotations

from sqlalchemy import select

from collector.store.models import DirtyDay
from tests.api.conftest import auth

NIGHT = {"start": "22:00", "end": "06:00", "grace_late_min": 5, "checkout_after_min": 240}


def setup_roster(client, token: str) -> dict[str, int]:
    """Shift types E/N, a department FAC with one employee, OPS with one, a 2-day cycle."""
    h = auth(token)
    assert client.post(
        "/departments", json={"code": "FAC", "name": "Factory"}, headers=h
    ).is_success
    fac = client.post("/employees", json={"code": "4001", "department": "FAC"}, headers=h).json()
    ops = client.post("/employees", json={"code": "4002", "department": "OPS"}, headers=h).json()
    for body in (
        {"code": "E", "name": "Early", "shift": {"start": "06:00", "end": "14:00"}},
        {"code": "N", "name": "Night", "shift": NIGHT, "color": "#123456"},
    ):
        made = client.post("/shift-types", json=body, headers=h)
        assert made.status_code == 201, made.text
    pattern = client.post(
        "/shift-patterns",
        json={"name": "two", "kind": "cycle", "codes": "E N -", "anchor": "2026-11-02"},
        headers=h,
    )
    assert pattern.status_code == 201, pattern.text
    depts = {d["code"]: d["id"] for d in client.get("/departments", headers=h).json()}
    return {"fac": fac["id"], "ops": ops["id"], "pattern": pattern.json()["id"], **depts}


def test_hr_rosters_a_department_and_overrides_a_day(client, keys, admin, store):
    ids = setup_roster(client, keys.admin)
    h = auth(keys.hr)
    assigned = client.post(
        f"/departments/{ids['FAC']}/roster-assignments",
        json={"pattern_id": ids["pattern"], "effective_from": "2026-11-03"},
        headers=h,
    )
    assert assigned.status_code == 201, assigned.text
    swap = client.put(
        f"/employees/{ids['fac']}/roster-days/2026-11-05",
        json={"code": "N", "note": "swap"},
        headers=h,
    )
    assert swap.status_code == 200, swap.text
    grid = client.get(
        f"/departments/{ids['FAC']}/roster",
        params={"from": "2026-11-02", "to": "2026-11-06"},
        headers=h,
    )
    assert grid.status_code == 200, grid.text
    (row,) = grid.json()
    cells = [(c["code"], c["source"], c["rest"]) for c in row["days"]]
    assert cells == [
        (None, None, False),  # before the assignment
        ("N", "department_pattern", False),  # 3 Nov is day 2 of the cycle anchored on 2 Nov
        ("-", "department_pattern", True),
        ("N", "day_entry", False),
        ("N", "department_pattern", False),
    ]
    with store.sessions() as s:
        marked = {d.local_date.isoformat() for d in s.scalars(select(DirtyDay))}
    assert {"2026-11-04", "2026-11-05", "2026-11-06"} <= marked
    unknown = client.put(
        f"/employees/{ids['fac']}/roster-days/2026-11-05", json={"code": "Q"}, headers=h
    )
    assert unknown.status_code == 422 and "unknown shift code" in unknown.text
    bad = client.post(
        "/shift-patterns", json={"name": "x", "kind": "weekly", "codes": "E"}, headers=h
    )
    assert bad.status_code == 422 and "7 codes" in bad.text
    in_use = client.delete(f"/shift-patterns/{ids['pattern']}", headers=h)
    assert in_use.status_code == 409
    assert (
        client.delete(f"/employees/{ids['fac']}/roster-days/2026-11-05", headers=h).status_code
        == 204
    )
    assert (
        client.delete(f"/roster-assignments/{assigned.json()['id']}", headers=h).status_code == 204
    )
    assert client.delete(f"/shift-patterns/{ids['pattern']}", headers=h).status_code == 204


def test_a_scoped_hr_key_rosters_only_its_department(client, keys, admin):
    ids = setup_roster(client, keys.admin)
    h = auth(keys.scoped_hr)  # OPS
    shared = client.post("/shift-types", json={"code": "X", "rest": True}, headers=h)
    assert shared.status_code == 403
    other = client.get(
        f"/departments/{ids['FAC']}/roster",
        params={"from": "2026-11-02", "to": "2026-11-03"},
        headers=h,
    )
    missing = client.get(
        "/departments/999999/roster", params={"from": "2026-11-02", "to": "2026-11-03"}, headers=h
    )
    assert other.status_code == missing.status_code == 404
    foreign = client.put(
        f"/employees/{ids['fac']}/roster-days/2026-11-05", json={"code": "N"}, headers=h
    )
    assert foreign.status_code == 404
    own = client.put(
        f"/employees/{ids['ops']}/roster-days/2026-11-05", json={"code": "N"}, headers=h
    )
    assert own.status_code == 200, own.text
    mine = client.post(
        f"/departments/{ids['OPS']}/roster-assignments",
        json={"pattern_id": ids["pattern"], "effective_from": "2026-11-03"},
        headers=h,
    )
    assert mine.status_code == 201, mine.text
    theirs = client.post(
        f"/employees/{ids['fac']}/roster-assignments",
        json={"pattern_id": ids["pattern"], "effective_from": "2026-11-03"},
        headers=h,
    )
    assert theirs.status_code == 404
    # An assignment of another department cannot be removed (nor seen) by this key.
    fac = client.post(
        f"/departments/{ids['FAC']}/roster-assignments",
        json={"pattern_id": ids["pattern"], "effective_from": "2026-11-03"},
        headers=auth(keys.hr),
    ).json()
    assert client.delete(f"/roster-assignments/{fac['id']}", headers=h).status_code == 404
    viewer = client.get("/shift-types", headers=auth(keys.viewer))
    assert viewer.status_code == 403
