"""Outbound targets: webhook endpoints and connectors, their subscriptions and sealed secrets."""

from __future__ import annotations

import base64
import secrets as token
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from collector.errors import InvalidInput, NotFound
from collector.outbound.events import EventType
from collector.sealing import SecretBox
from collector.store.models import OutboundTarget

KINDS = ("webhook", "erpnext", "odoo")
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret as Standard Webhooks shows them: whsec_ + 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class TargetInfo:
    """What a sender needs of one target, secrets opened."""

    id: int
    name: str
    kind: str
    url: str
    config: dict[str, Any]
    credentials: tuple[str, ...]  # plain secrets in force, newest first
    signers: tuple[Webhook, ...] = field(default=(), compare=False)


def load_targets(engine: Engine, box: SecretBox, *, now: datetime) -> dict[int, TargetInfo]:
    """Every enabled target, with the secrets still in force opened."""
    out: dict[int, TargetInfo] = {}
    with Session(engine) as session:
        for t in session.scalars(select(OutboundTarget).where(OutboundTarget.enabled.is_(True))):
            plain = tuple(
                box.open(s["secret"]) or ""
                for s in t.secrets
                if s.get("expires_at") is None or datetime.fromisoformat(s["expires_at"]) > now
            )
            signers = tuple(Webhook(p) for p in plain if p) if t.kind == "webhook" else ()
            out[t.id] = TargetInfo(
                t.id, t.name, t.kind, t.url, dict(t.config or {}), plain, signers
            )
    return out


def create_target(
    session: Session,
    *,
    name: str,
    kind: str,
    url: str,
    events: list[EventType],
    config: dict[str, Any],
    secret: str | None,
    box: SecretBox,
    now: datetime,
) -> tuple[OutboundTarget, str | None]:
    """Add a target; a webhook without a secret gets a new one (returned, shown once)."""
    if kind not in KINDS:
        raise ValueError(f"unknown target kind {kind!r}")
    check_config(kind, config)
    if kind == "webhook" and not secret:
        secret = new_secret()
    target = OutboundTarget(
        name=name,
        kind=kind,
        url=url,
        events=[e.value for e in events],
        secrets=[] if not secret else [{"secret": box.seal(secret), "expires_at": None}],
        config=config,
        enabled=True,
        created_at=now,
    )
    session.add(target)
    session.flush()
    return target, secret if kind == "webhook" else None


def check_config(kind: str, config: dict[str, Any]) -> None:
    """Refuse a connector configuration its sender could not use."""
    if kind == "erpnext" and "shift_types" in config:
        from collector.outbound.erpnext_shifts import shift_types  # imports this module

        try:
            shift_types(config)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="config") from exc


def find_target(session: Session, name: str) -> OutboundTarget | None:
    """The target of that name, if any."""
    return session.scalar(select(OutboundTarget).where(OutboundTarget.name == name))


def get_target(session: Session, target_id: int) -> OutboundTarget:
    """One target, or NotFound."""
    target = session.get(OutboundTarget, target_id)
    if target is None:
        raise NotFound(f"no outbound target {target_id}")
    return target


def rotate_secret(
    session: Session, target_id: int, *, box: SecretBox, now: datetime, overlap_s: int
) -> str:
    """A new signing secret; the previous ones keep signing for `overlap_s` seconds."""
    target = get_target(session, target_id)
    plain = new_secret()
    until = (now + timedelta(seconds=overlap_s)).isoformat()
    kept = [
        {"secret": s["secret"], "expires_at": s.get("expires_at") or until}
        for s in target.secrets
        if s.get("expires_at") is None or datetime.fromisoformat(s["expires_at"]) > now
    ]
    target.secrets = [{"secret": box.seal(plain), "expires_at": None}, *kept]
    return plain


def list_targets(session: Session) -> list[OutboundTarget]:
    """Every target, disabled ones included."""
    return list(session.scalars(select(OutboundTarget).order_by(OutboundTarget.id)))


def update_target(session: Session, target_id: int, **changes: Any) -> OutboundTarget:
    """Change a target's URL, events, config or enabled flag (None leaves a field as it is)."""
    target = get_target(session, target_id)
    if changes.get("config") is not None:
        check_config(target.kind, changes["config"])
    for name in ("url", "config"):
        if changes.get(name) is not None:
            setattr(target, name, changes[name])
    if changes.get("events") is not None:
        target.events = [EventType(e).value for e in changes["events"]]
    if changes.get("enabled") is not None:
        target.enabled = bool(changes["enabled"])
        if target.enabled:
            target.disabled_reason = None
        elif not target.disabled_reason:
            target.disabled_reason = "disabled by an admin"
    return target


def set_credential(session: Session, target_id: int, *, secret: str, box: SecretBox) -> None:
    """Replace a connector's credential (API key:secret, Odoo API key) at once."""
    target = get_target(session, target_id)
    target.secrets = [{"secret": box.seal(secret), "expires_at": None}]
