"""The app's JSON endpoints and its enrolment page; every one answers for the cookie's phone only.

No route takes an employee id, code or punch id: who is asked about is always the phone's
own employee, so there is nothing another employee could name. The one id a route takes, a
request's to withdraw it, is looked up among the phone's employee's own requests only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RowId, SessionDep, StoreDep, TxDep
from api.phone.device import COOKIE, COOKIE_MAX_AGE, PhoneDep, PunchingDep
from api.phone.pages import render_app
from api.schemas.requests import AppRequestWrite
from collector.errors import DomainError
from collector.normalize import zone
from collector.phoneapp import devices
from collector.phoneapp.myday import my_day, phone_zone, punches_breaks
from collector.phoneapp.mymonth import my_month
from collector.phoneapp.myrequests import ask, cancel_mine, my_requests
from collector.runtime import utcnow

router = APIRouter(prefix="/app", include_in_schema=False)
MAX_PUNCH_BYTES = 16 * 1024
MonthQ = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


@router.get("/enrol/{code}", name="app_enrol")
def enrol_page(code: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Ask before binding: link previews in chat apps open links, so GET changes nothing."""
    try:
        emp = devices.pending_enrolment(session, code=code, now=utcnow())
    except DomainError as exc:
        return render_app(request, "app_enrol.html", status=exc.status, problem=exc.detail)
    return render_app(request, "app_enrol.html", name=emp.name or emp.code, code=code)


@router.post("/enrol/{code}")
def enrol(code: str, request: Request, session: TxDep) -> Response:
    """Use the link up, bind this phone and send it to the punch screen."""
    try:
        token = devices.redeem(
            session, code=code, now=utcnow(), user_agent=request.headers.get("user-agent")
        )
    except DomainError as exc:  # refused before anything was written
        return render_app(request, "app_enrol.html", status=exc.status, problem=exc.detail)
    response = RedirectResponse("/app", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/app",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return response


@router.get("/me")
def me(phone: PhoneDep, store: StoreDep, session: SessionDep) -> dict[str, Any]:
    """Who this phone punches for, and whether today's policy has punched breaks."""
    tz = phone_zone(session, phone=phone, default_tz=store.settings.default_timezone)
    today = utcnow().astimezone(zone(tz)).date()
    return {
        "code": phone.employee_code,
        "name": phone.employee_name,
        "device": phone.device_id,
        "breaks": punches_breaks(session, phone=phone, day=today),
    }


@router.get("/preview")
def preview(
    phone: PhoneDep,
    punching: PunchingDep,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    acc: Annotated[float, Query(ge=0, le=1_000_000)],
) -> dict[str, Any]:
    """What a punch from this fix would come to, by the server's own geofence decision."""
    return asdict(punching.preview(phone, lat=lat, lon=lon, acc=acc, now=utcnow()))


@router.post("/punches")
async def punch(request: Request, phone: PhoneDep, punching: PunchingDep) -> Response:
    """Store one punch through the phone ingest; the receipt is sent after the commit."""
    body = await request.body()
    if len(body) > MAX_PUNCH_BYTES:
        return Response(status_code=413)
    receipt = await run_in_threadpool(punching.submit, phone, body, now=utcnow())
    return Response(receipt, media_type="application/json")


@router.get("/day")
def day(phone: PhoneDep, store: StoreDep, session: SessionDep) -> dict[str, Any]:
    """This phone's employee's punches today and the day's status."""
    found = my_day(session, phone=phone, now=utcnow(), default_tz=store.settings.default_timezone)
    return asdict(found)


@router.get("/month")
def month(
    phone: PhoneDep, store: StoreDep, session: SessionDep, month: MonthQ = None
) -> dict[str, Any]:
    """This phone's employee's month ('YYYY-MM', this month by default): HR's figures."""
    found = my_month(
        session,
        phone=phone,
        month=month,
        now=utcnow(),
        default_tz=store.settings.default_timezone,
    )
    return asdict(found)


@router.get("/requests")
def requests_list(phone: PhoneDep, session: SessionDep) -> list[dict[str, Any]]:
    """This phone's employee's requests, newest first, with state and the decider's comment."""
    return [asdict(r) for r in my_requests(session, phone=phone)]


@router.post("/requests", status_code=201)
def request_create(
    body: AppRequestWrite, phone: PhoneDep, session: TxDep, store: StoreDep
) -> dict[str, Any]:
    """Ask for the phone's employee; a retry with the same key returns the first request."""
    made = ask(
        session,
        phone=phone,
        data=body.data(),
        key=body.idempotency_key.lower(),
        now=utcnow(),
        policy=store.policy,
    )
    return asdict(made)


@router.post("/requests/{request_id}/cancel")
def request_cancel(
    request_id: RowId, phone: PhoneDep, session: TxDep, store: StoreDep
) -> dict[str, Any]:
    """Withdraw one's own pending request; any other request id is a 404."""
    done = cancel_mine(
        session, phone=phone, request_id=request_id, now=utcnow(), policy=store.policy
    )
    return asdict(done)
