"""Domain errors the service layer raises; the API maps them to HTTP in one handler.

DomainError
├── NotFound          (404) the named thing does not exist or is not visible
├── Conflict          (409) the request clashes with stored state
├── InvalidInput      (422) a value is unacceptable; names the field
└── PermissionDenied  (403) the caller's key may not do this
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the errors the service layer raises on purpose."""

    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str, *, field: str | None = None, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.errors = errors or ([{"field": field, "message": detail}] if field else [])


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller's scope cannot see it)."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with what is stored (duplicate code, still referenced…)."""

    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    """A value is unacceptable for a reason the schema alone cannot express."""

    status = 422
    title = "Invalid input"


class PermissionDenied(DomainError):
    """The caller's role or department scope does not allow this."""

    status = 403
    title = "Forbidden"
