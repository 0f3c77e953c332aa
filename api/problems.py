"""RFC 9457 problem details for every error: HTTP, validation, domain, and the unexpected."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from collector.errors import DomainError
from collector.sealing import SecretKeyError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Invalid input",
    429: "Too many requests",
    503: "Service unavailable",
    500: "Internal server error",
}


class FieldError(BaseModel):
    """One invalid field: where it is and what is wrong with it."""

    field: str | None = None
    message: str
    line: int | None = None
    column: int | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": TITLES[code]}
    for code in (401, 403, 404, 422)
}


def problem(
    status: int,
    *,
    detail: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("query", "limit") → "limit"; ("body", "employee", "code") → "employee.code"
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, RecursionError):
        # FastAPI's body reader (Python's json) gave up on a deeply nested body and said
        # only "error parsing the body": answer like any other undecodable JSON body.
        message = "the body is not JSON within limits: nested too deep"
        errors = [{"field": "body", "message": message}]
        return problem(422, detail=message, instance=request.url.path, errors=errors)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(
        exc.status_code,
        detail=detail,
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


def _where(doc: str | bytes, pos: int) -> tuple[int, int]:
    """The 1-based line and column of character `pos` in a JSON text."""
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    line = text.count("\n", 0, pos) + 1
    return line, pos - text.rfind("\n", 0, pos)


def _error(e: Any, body: Any) -> dict[str, Any]:
    # A body that is not JSON: FastAPI puts the character offset where a field name goes.
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid" and len(loc) == 2 and isinstance(body, str | bytes):
        line, column = _where(body, int(loc[1]))
        reason = (e.get("ctx") or {}).get("error") or e.get("msg", "")
        return {
            "field": "body",
            "message": f"not valid JSON at line {line}, column {column}: {reason}",
            "line": line,
            "column": column,
        }
    return {"field": _field(loc), "message": e.get("msg", "")}


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_error(e, exc.body) for e in exc.errors()]
    names = ", ".join(sorted({e["field"] for e in errors}))
    return problem(422, detail=f"invalid: {names}", instance=request.url.path, errors=errors)


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors or None,
    )


async def _store_down(request: Request, exc: Exception) -> Response:
    # The database is unreachable (not a bug in the request): say so and when to retry.
    log.warning(
        "store unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return problem(
        503,
        detail="the store is unavailable; retry shortly",
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


async def _unstorable(request: Request, exc: Exception) -> Response:
    # The database refused a value the schema let through (PostgreSQL: a NUL character in
    # text, a number out of the column's range): the request is at fault, not the server.
    log.info("unstorable value on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem(
        422,
        detail="a value cannot be stored (a NUL character, or a number out of range)",
        instance=request.url.path,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The trace goes to the server log; the client learns only that it failed.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500, detail="the server failed to handle this request", instance=request.url.path
    )


async def _no_secret_key(request: Request, exc: Exception) -> Response:
    # The server is not configured to seal comm keys (the message names the setting, never
    # a secret): the administrator must act, so it is not a client error nor a crash.
    log.warning("cannot seal or open a stored secret on %s: %s", request.url.path, exc)
    return problem(503, detail=str(exc), instance=request.url.path)


def install(app: FastAPI) -> None:
    """Map every kind of error to problem+json in one place."""
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(OperationalError, _store_down)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(SecretKeyError, _no_secret_key)
    app.add_exception_handler(Exception, _unexpected)
