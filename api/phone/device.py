"""Who is punching: the bound phone named by the app's cookie, checked on every request."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.deps import SessionDep, StoreDep
from api.limits import check_rate
from collector.phoneapp import devices
from collector.phoneapp.devices import BoundPhone
from collector.phoneapp.punching import AppPunching
from collector.runtime import utcnow

COOKIE = "punchgate_app"
COOKIE_MAX_AGE = 400 * 86400  # browsers keep a cookie at most this long
_PUNCHING_LOCK = threading.Lock()


def current_phone(request: Request, store: StoreDep, session: SessionDep) -> BoundPhone:
    """The live phone the cookie names; 401 when there is none (unknown or revoked)."""
    token = request.cookies.get(COOKIE, "")
    now = utcnow()
    phone = devices.authenticate(session, token=token, now=now) if token else None
    if phone is None:
        raise HTTPException(status_code=401, detail="this phone is not enrolled (or was revoked)")
    check_rate(request, store, f"app-device:{phone.device_id}", who="phone")
    if devices.touch_due(phone, now):
        with store.sessions.begin() as writer:
            devices.touch(writer, device_id=phone.device_id, now=now)
    return phone


def app_punching(request: Request, store: StoreDep) -> AppPunching:
    """The app's one AppPunching, made on first use (the store may open after create_app)."""
    found: AppPunching | None = getattr(request.app.state, "app_punching", None)
    if found is None:
        with _PUNCHING_LOCK:
            found = getattr(request.app.state, "app_punching", None)
            if found is None:
                found = AppPunching(store)
                request.app.state.app_punching = found
    return found


PhoneDep = Annotated[BoundPhone, Depends(current_phone)]
PunchingDep = Annotated[AppPunching, Depends(app_punching)]
