"""API-key authentication and the per-route minimum role.

Every route declares the least role it needs with one of the dependency aliases below
(`ViewerKey`, `ManagerKey`, `HrKey`, `AdminKey`, `MetricsReader`); the access test reads that
declaration from each route, so the rule table lives only here and in the routes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep, StoreDep
from api.limits import check_rate
from collector.apikeys import Role, authenticate, granted_role, touch, touch_due
from collector.masterdata.scope import Scope
from collector.runtime import utcnow

bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")
# The pages' way in: sign-in, the stylesheet, the icon, and /docs (it sends to /ui/docs).
OPEN_PATHS = ("/health", "/ui/sign-in", "/ui/static/style.css", "/favicon.ico", "/docs")
# Push terminals, the punch app's phones and site agents authenticate by their own schemes.
OPEN_PREFIXES = ("/iclock", "/hik/", "/app", "/agent/")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, name, role and department scope."""

    key_id: int
    name: str
    role: Role
    department_id: int | None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"apikey:{self.key_id}:{self.name}"

    @property
    def scope(self) -> Scope:
        """The employees this caller may see (its department's, or everyone's)."""
        return Scope(self.department_id)

    @property
    def sees_private(self) -> bool:
        """Whether GPS coordinates and raw payloads may be shown."""
        return self.role.allows(Role.HR)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


class Requirement:
    """A dependency that admits callers whose key has at least `role`."""

    def __init__(self, role: Role, *, allow_addresses: bool = False) -> None:
        self.role = role
        # /metrics may also be read from configured addresses without a key.
        self.allow_addresses = allow_addresses

    def __call__(
        self,
        request: Request,
        store: StoreDep,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
        header_key: Annotated[str | None, Depends(header_scheme)],
    ) -> Principal:
        """Authenticate the request's key and check its role."""
        token = credentials.credentials if credentials is not None else header_key
        if not token:
            if self.allow_addresses and _address_allowed(
                request, store.settings.metrics_allowed_ips
            ):
                return Principal(key_id=0, name="address", role=self.role, department_id=None)
            raise _unauthorized("an API key is required (Authorization: Bearer <key>)")
        # The lookup shares the request's read session (one connection per request).
        now = utcnow()
        key = authenticate(session, token, now=now)
        if key is None:
            raise _unauthorized("the API key is unknown, malformed or revoked")
        principal = Principal(
            key_id=key.id,
            name=key.name,
            role=granted_role(key.role, key.department_id),
            department_id=key.department_id,
        )
        if touch_due(key, now):
            with store.sessions.begin() as writer:
                touch(writer, key_id=key.id, now=now)
        check_rate(request, store, key.id)
        if not principal.role.allows(self.role):
            raise HTTPException(
                status_code=403, detail=f"this needs a key with role {self.role.value} or higher"
            )
        return principal


def _address_allowed(request: Request, allowed: list[str]) -> bool:
    if not allowed or request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allowed)


ViewerKey = Annotated[Principal, Depends(Requirement(Role.VIEWER))]
ManagerKey = Annotated[Principal, Depends(Requirement(Role.MANAGER))]
HrKey = Annotated[Principal, Depends(Requirement(Role.HR))]
AdminKey = Annotated[Principal, Depends(Requirement(Role.ADMIN))]
MetricsReader = Annotated[Principal, Depends(Requirement(Role.ADMIN, allow_addresses=True))]
