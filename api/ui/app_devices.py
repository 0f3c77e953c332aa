"""The employee page's punch app card: HR creates an enrolment link (with its QR code) and
revokes a lost phone in one click."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from api.deps import RowId, StoreDep
from api.phone.qr import enrolment_qr
from api.ui.render import page_errors, render
from api.ui.scope import HrPageEmployee
from api.ui.session import HrPage
from collector.phoneapp import devices
from collector.runtime import utcnow
from collector.store.models import Employee

router = APIRouter(prefix="/ui/employee", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]


@router.post("/app-enrolment")
def create_enrolment(
    request: Request, viewer: HrPage, store: StoreDep, emp: HrPageEmployee, csrf: Csrf = ""
) -> Response:
    """Show a fresh one-time link and its QR code for the employee's phone."""
    viewer.check_csrf(csrf)
    ttl = timedelta(seconds=store.settings.app_enrolment_ttl_s)
    with store.sessions.begin() as session, page_errors():
        row = session.get(Employee, emp.id)
        assert row is not None
        made = devices.create_enrolment(
            session, employee=row, now=utcnow(), ttl=ttl, actor=viewer.principal.actor
        )
    link = str(request.url_for("app_enrol", code=made.code))
    # segno writes the SVG itself from the link; nothing of it comes from the visitor.
    qr = Markup(enrolment_qr(link, scale=5))
    return render(request, "app_enrolment.html", viewer, emp=emp, link=link, qr=qr, made=made)


@router.post("/app-devices/{app_device_id}/revoke")
def revoke(
    app_device_id: RowId, viewer: HrPage, store: StoreDep, emp: HrPageEmployee, csrf: Csrf = ""
) -> Response:
    """Revoke a phone: its next request is refused."""
    viewer.check_csrf(csrf)
    with store.sessions.begin() as session, page_errors():
        row = session.get(Employee, emp.id)
        assert row is not None
        devices.revoke(
            session,
            employee=row,
            device_id=app_device_id,
            now=utcnow(),
            actor=viewer.principal.actor,
        )
    return RedirectResponse(f"/ui/employee?employee_id={emp.id}#app-devices", status_code=303)
