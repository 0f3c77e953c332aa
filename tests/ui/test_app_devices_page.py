"""HR's punch app card on the employee page: a link with its QR code, revoking a phone."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app_support import AppOffice, enrol, seed_app_office
from tests.ui.conftest import csrf_of, sign_in


def test_hr_makes_a_link_that_binds_a_phone_and_revokes_it(app, keys, store, now):
    office: AppOffice = seed_app_office(store, now)
    hr = sign_in(TestClient(app), keys.hr)
    emp = office.ids["2001"]
    page = hr.get(f"/ui/employee?employee_id={emp}")
    assert 'id="app-devices"' in page.text and "No phone enrolled." in page.text
    made = hr.post(
        f"/ui/employee/app-enrolment?employee_id={emp}", data={"csrf": csrf_of(page.text)}
    )
    assert made.status_code == 200 and "<svg" in made.text
    link = re.search(r'id="enrolment-link" href="([^"]+)"', made.text)
    assert link is not None
    phone = TestClient(app)
    path = "/" + link.group(1).split("/", 3)[3]
    assert phone.post(path, follow_redirects=False).status_code == 303
    assert phone.get("/app/me").json()["code"] == "2001"

    page = hr.get(f"/ui/employee?employee_id={emp}")
    device = re.search(r'data-app-device="(\d+)"', page.text)
    assert device is not None
    # Without the CSRF token nothing is revoked.
    revoke = f"/ui/employee/app-devices/{device.group(1)}/revoke?employee_id={emp}"
    assert hr.post(revoke, data={"csrf": "wrong"}).status_code == 403
    assert phone.get("/app/me").status_code == 200
    done = hr.post(revoke, data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert phone.get("/app/me").status_code == 401
    assert "revoked" in hr.get(f"/ui/employee?employee_id={emp}").text


def test_the_card_is_hrs_only_and_scoped(app, keys, store, now):
    office = seed_app_office(store, now)
    enrol(TestClient(app), keys.hr, office.ids["3001"])
    viewer = sign_in(TestClient(app), keys.viewer)
    page = viewer.get(f"/ui/employee?employee_id={office.ids['2001']}")
    assert page.status_code == 200 and 'id="app-devices"' not in page.text
    refused = viewer.post(
        f"/ui/employee/app-enrolment?employee_id={office.ids['2001']}",
        data={"csrf": csrf_of(page.text)},
    )
    assert refused.status_code == 403
    scoped = sign_in(TestClient(app), keys.scoped_hr)
    page = scoped.get(f"/ui/employee?employee_id={office.ids['2001']}")
    eng = office.ids["3001"]
    for path in (
        f"/ui/employee/app-enrolment?employee_id={eng}",
        f"/ui/employee/app-devices/1/revoke?employee_id={eng}",
    ):
        assert scoped.post(path, data={"csrf": csrf_of(page.text)}).status_code == 404
