"""The endpoints push-mode terminals call (``/iclock/*``): text in, text out, no API keys.

Terminals are known by serial number (plus an optional per-terminal token); the work is done
in `collector.push`. Answers: ``OK`` (or options / commands) after a commit; a 4xx for a
request the terminal must not repeat as is; 503 when the store is unavailable, so the
terminal keeps its records and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import StoreDep
from collector.push import commands, terminals, uploads
from collector.push.ratelimit import RateLimiter
from collector.push.terminals import BodyTooLarge, PushError, RateLimited
from collector.runtime import Store, utcnow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/iclock", tags=["push terminals"], include_in_schema=False)
STORE_RETRY_AFTER_S = 10


def _params(request: Request) -> dict[str, str]:
    # Firmware and bridges differ in the case of parameter names (SN, sn, Sn).
    return {k.lower(): v for k, v in request.query_params.items()}


def _token(request: Request, params: dict[str, str]) -> str | None:
    return params.get("token") or request.headers.get("x-punchgate-token")


def _limit(request: Request, store: Store, serial: str | None) -> None:
    limiter: RateLimiter | None = getattr(request.app.state, "push_limiter", None)
    if limiter is None:
        s = store.settings
        limiter = RateLimiter(s.push_rate_per_s, s.push_rate_burst)
        request.app.state.push_limiter = limiter
    wait = limiter.check(serial or (request.client.host if request.client else "?"))
    if wait > 0:
        raise RateLimited(wait)


async def _body(request: Request, store: Store) -> str:
    limit = store.settings.push_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older firmware writes names in a legacy code page


def _error(exc: PushError) -> PlainTextResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return PlainTextResponse(f"ERROR: {exc}", status_code=exc.status, headers=headers)


async def _answer(call: Callable[[], Any]) -> PlainTextResponse:
    """Run the store work off the event loop and map its errors to what a terminal expects."""
    try:
        text = await run_in_threadpool(call)
    except PushError as exc:
        return _error(exc)
    except SQLAlchemyError as exc:
        return store_unavailable("iclock", exc)
    return PlainTextResponse(str(text))


def store_unavailable(what: str, exc: SQLAlchemyError) -> PlainTextResponse:
    """503 with Retry-After: the terminal keeps its records and sends them again."""
    log.warning("%s: store unavailable (%s); the terminal will retry", what, type(exc).__name__)
    return PlainTextResponse(
        "ERROR: store unavailable",
        status_code=503,
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


async def _guarded(
    request: Request, store: Store, work: Callable[[dict[str, str], str | None, str], Any]
) -> PlainTextResponse:
    params = _params(request)
    try:
        _limit(request, store, params.get("sn"))
        body = await _body(request, store) if request.method == "POST" else ""
    except PushError as exc:
        return _error(exc)
    token = _token(request, params)
    return await _answer(lambda: work(params, token, body))


@router.api_route("/cdata", methods=["GET", "POST"])
@router.api_route("/cdata/", methods=["GET", "POST"])
@router.api_route("/cdata.aspx", methods=["GET", "POST"])
async def cdata(request: Request, store: StoreDep) -> PlainTextResponse:
    """Handshake (GET) and uploads (POST ``table=ATTLOG|OPERLOG|…``)."""

    def work(params: dict[str, str], token: str | None, body: str) -> str:
        serial = params.get("sn", "")
        if request.method == "GET":
            return terminals.handshake(store, serial=serial, token=token, now=utcnow())
        table = params.get("table", "")
        if not table and body.upper().startswith("TABLE="):
            table = body.split("\n", 1)[0].split("=", 1)[1].strip()
        uploads.receive(
            store,
            serial=serial,
            token=token,
            table=table,
            stamp=params.get("stamp") or params.get("opstamp"),
            body=body,
            now=utcnow(),
        )
        return "OK"

    return await _guarded(request, store, work)


@router.get("/getrequest")
@router.get("/getrequest/")
@router.get("/getrequest.aspx")
async def getrequest(request: Request, store: StoreDep) -> PlainTextResponse:
    """The terminal's poll: queued commands as ``C:<id>:<command>`` lines, or ``OK``."""

    def work(params: dict[str, str], token: str | None, body: str) -> str:
        lines = commands.hand_out(
            store, serial=params.get("sn", ""), token=token, info=params.get("info"), now=utcnow()
        )
        return "\n".join(lines) + "\n" if lines else "OK"

    return await _guarded(request, store, work)


@router.post("/devicecmd")
@router.post("/devicecmd/")
@router.post("/devicecmd.aspx")
async def devicecmd(request: Request, store: StoreDep) -> PlainTextResponse:
    """Results of commands: ``ID=…&Return=…&CMD=…`` lines."""

    def work(params: dict[str, str], token: str | None, body: str) -> str:
        commands.record_results(
            store, serial=params.get("sn", ""), token=token, body=body, now=utcnow()
        )
        return "OK"

    return await _guarded(request, store, work)


@router.api_route("/registry", methods=["GET", "POST"])
@router.api_route("/registry/", methods=["GET", "POST"])
async def registry(request: Request, store: StoreDep) -> PlainTextResponse:
    """The terminal describes itself (newer firmware, before the handshake)."""

    def work(params: dict[str, str], token: str | None, body: str) -> str:
        return terminals.registry(
            store, serial=params.get("sn", ""), token=token, body=body, now=utcnow()
        )

    return await _guarded(request, store, work)


@router.get("/ping")
@router.get("/ping/")
async def ping(request: Request, store: StoreDep) -> PlainTextResponse:
    """A heartbeat between polls."""

    def work(params: dict[str, str], token: str | None, body: str) -> str:
        return terminals.heartbeat(store, serial=params.get("sn", ""), token=token, now=utcnow())

    return await _guarded(request, store, work)
