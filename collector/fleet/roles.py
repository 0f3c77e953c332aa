"""The roles a `punchgate serve` process can take, and the push-only view of the API."""

from __future__ import annotations

import enum

from collector.service import ASGIApp, Message


class Role(enum.StrEnum):
    """One part of the service a process runs (`serve --roles`)."""

    API = "api"  # the HR API, web pages and the employee app (and the push endpoints)
    POLLER = "poller"  # ZK and Hikvision terminals it holds the lease of
    MQTT = "mqtt"  # phone messages (a shared-subscription member with several)
    PUSH = "push"  # the /iclock and /hik endpoints push terminals call
    DAYS = "days"  # attendance days; the close pass under the days-close lease
    OUTBOX = "outbox"  # delivery of outbox messages (claims with SKIP LOCKED)
    RETENTION = "retention"  # location and quarantine retention under its lease


ALL_ROLES: frozenset[Role] = frozenset(Role)


class RolesError(ValueError):
    """`--roles` names a role that does not exist, or none."""


def parse_roles(text: str | None) -> frozenset[Role]:
    """Roles from "api,poller,…" ("all" or empty: every role)."""
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    if not names or names == ["all"]:
        return ALL_ROLES
    unknown = sorted(set(names) - {r.value for r in Role})
    if unknown:
        known = ", ".join(r.value for r in Role)
        raise RolesError(f"unknown role(s) {', '.join(unknown)}; known: {known}")
    return frozenset(Role(n) for n in names)


# What a push-only process answers: the push terminals' endpoints and the health check.
PUSH_PREFIXES = ("/iclock/", "/hik/", "/health")


def push_only(app: ASGIApp) -> ASGIApp:
    """The API app narrowed to the push endpoints (404 for everything else)."""

    async def narrowed(scope: Message, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and not _is_push_path(str(scope.get("path", ""))):
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"not served by this node\n"})
            return
        await app(scope, receive, send)

    return narrowed


def _is_push_path(path: str) -> bool:
    return path == "/health" or any(path.startswith(p) for p in PUSH_PREFIXES)
