"""HR's side of the punch app: enrolment links (with a QR code) and each employee's phones."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from api.auth import HrKey
from api.deps import RowId, SessionDep, TxDep
from api.phone.qr import enrolment_qr
from api.problems import PROBLEM_RESPONSES
from api.scope import HrEmployee, HrEmployeeTx
from collector.phoneapp import devices
from collector.runtime import utcnow

router = APIRouter(prefix="/employees", tags=["punch app"], responses=PROBLEM_RESPONSES)


class EnrolmentPublic(BaseModel):
    """A new enrolment: the link to open on the phone (once, before it expires) and its QR."""

    id: int
    employee_id: int
    link: str
    expires_at: datetime
    qr_svg: str  # the link as a QR code, an SVG document to show on HR's screen


class AppDevicePublic(BaseModel):
    """A phone bound to an employee (its token is never shown again)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    employee_id: int
    user_agent: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


@router.post("/{employee_id}/app-enrolments", status_code=201)
def create_enrolment(
    emp: HrEmployeeTx, key: HrKey, session: TxDep, request: Request
) -> EnrolmentPublic:
    """A one-time, short-lived link that binds the phone opening it to this employee."""
    made = devices.create_enrolment(
        session,
        employee=emp,
        now=utcnow(),
        ttl=timedelta(seconds=request.app.state.store.settings.app_enrolment_ttl_s),
        actor=key.actor,
    )
    link = str(request.url_for("app_enrol", code=made.code))
    return EnrolmentPublic(
        id=made.id,
        employee_id=emp.id,
        link=link,
        expires_at=made.expires_at,
        qr_svg=enrolment_qr(link),
    )


@router.get("/{employee_id}/app-devices")
def list_app_devices(emp: HrEmployee, session: SessionDep) -> list[AppDevicePublic]:
    """The employee's bound phones, newest first, revoked ones included."""
    return [AppDevicePublic.model_validate(d) for d in devices.list_devices(session, employee=emp)]


@router.delete("/{employee_id}/app-devices/{app_device_id}")
def revoke_app_device(
    emp: HrEmployeeTx, app_device_id: RowId, key: HrKey, session: TxDep
) -> AppDevicePublic:
    """Revoke a phone (lost, replaced): its next request is refused."""
    row = devices.revoke(
        session, employee=emp, device_id=app_device_id, now=utcnow(), actor=key.actor
    )
    return AppDevicePublic.model_validate(row)
