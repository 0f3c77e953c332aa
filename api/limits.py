"""Request limits of the HR API: body size (413) and a per-key rate (429), as problem+json."""

from __future__ import annotations

import math

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem
from collector.push.ratelimit import RateLimiter
from collector.runtime import Store

# /iclock and /hik have their own, larger limit (PUNCHGATE_PUSH_MAX_BODY_BYTES) and replies.
EXEMPT_PREFIXES = ("/iclock", "/hik/")


class _TooLarge(HTTPException):
    # An HTTPException: FastAPI's body reader re-raises those (others become a 400), and the
    # problem handler renders it like any other 413.
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is over {limit} bytes")


class BodySizeLimit:
    """Refuse request bodies over the store's `api_max_body_bytes` with 413 problem+json.

    A declared Content-Length over the limit is refused before reading; a chunked body is
    counted as it streams and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        store: Store | None = getattr(scope["app"].state, "store", None) if "app" in scope else None
        if store is None:
            await self.app(scope, receive, send)
            return
        limit = store.settings.api_max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _refuse(scope, receive, send, limit)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:  # too late for a status: the connection is cut instead
                raise
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem(
        413, detail=f"the request body is over {limit} bytes", instance=scope["path"]
    )
    await response(scope, receive, send)


def check_rate(request: Request, store: Store, key_id: int | str, *, who: str = "API key") -> None:
    """Take one request from the key's (or phone's) bucket; 429 with Retry-After when empty."""
    limiter: RateLimiter | None = getattr(request.app.state, "api_limiter", None)
    if limiter is None:
        s = store.settings
        limiter = RateLimiter(s.api_rate_per_s, s.api_rate_burst)
        request.app.state.api_limiter = limiter
    wait = limiter.check(str(key_id))
    if wait > 0:
        raise HTTPException(
            status_code=429,
            detail=f"too many requests for this {who}; slow down",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
