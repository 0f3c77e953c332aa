"""The endpoint Hikvision terminals post their events to (ISAPI `httpHosts`), no API keys.

`POST /hik/{code}` takes a notification as JSON or multipart (the JSON part kept, pictures
dropped) and answers 200 only after the commit; 403 for a wrong source or token, 404 for an
unknown device, 413 for a body over the push limit, 503 while the store is away (the terminal
posts again). The work is done in `collector.push.hik`.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import StoreDep
from api.routes.iclock import store_unavailable
from collector.push.hik import receive_hik
from collector.push.terminals import BodyTooLarge, PushError
from collector.runtime import utcnow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/hik", tags=["push terminals"], include_in_schema=False)


@router.post("/{code}")
async def notification(code: str, request: Request, store: StoreDep) -> PlainTextResponse:
    """One event notification from the terminal configured as device `code`."""
    limit = store.settings.push_max_body_bytes
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"body over {limit} bytes")
            chunks.append(chunk)
        outcome = await run_in_threadpool(
            receive_hik,
            store,
            code=code,
            token=request.query_params.get("token"),
            client_host=request.client.host if request.client else None,
            body=b"".join(chunks),
            content_type=request.headers.get("content-type", ""),
            now=utcnow(),
        )
    except PushError as exc:
        return PlainTextResponse(f"ERROR: {exc}", status_code=exc.status)
    except SQLAlchemyError as exc:
        return store_unavailable("hik", exc)
    log.debug("hik %s: %s", code, outcome)
    return PlainTextResponse("OK")
