"""Site agents centrally: creation with a one-time token, its exchange, credentials, revocation.

An admin creates an agent and gets a one-time enrolment token (its sha256 stored, valid for
`agent_enrol_ttl_s`). The agent exchanges it once for a long-lived credential, of which only
the sha256 is stored: every agent request looks the hash up, so revoking an agent refuses
it from its next request on. Both secrets have 256 bits of entropy, so a fast hash is enough
(as for API keys and the punch app's phones). A revoked agent stays revoked: enrol a new one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from collector import audit
from collector.errors import Conflict, InvalidInput, NotFound
from collector.store.models import Device, SiteAgent, SiteAgentTerminal

TOKEN_MAX = 128  # a token or credential longer than this is not one of ours (ours are 43)
AGENT_KINDS = ("zk", "hik")  # pulled terminals an agent can read
TOUCH_EVERY = timedelta(seconds=10)  # last_contact_at is written at most this often by batches


TOKEN_PREFIX = "pgat_"  # one-time agent enrolment tokens


def digest(secret: str) -> str:
    """The stored form of an enrolment token or a credential."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToken:
    """A one-time enrolment token just made: shown once, never stored."""

    agent: str
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """The live agent a credential belongs to."""

    id: int
    code: str
    last_contact_at: datetime | None


def get_agent(session: Session, code: str) -> SiteAgent:
    """The agent with this code; NotFound otherwise."""
    row = session.scalar(select(SiteAgent).where(SiteAgent.code == code))
    if row is None:
        raise NotFound(f"no site agent {code!r}")
    return row


def create_agent(
    session: Session,
    *,
    code: str,
    name: str,
    terminals: Sequence[str],
    options: dict[str, float | int],
    now: datetime,
    ttl: timedelta,
    actor: str,
) -> NewToken:
    """A new agent with its terminals, and its one-time enrolment token."""
    if session.scalar(select(SiteAgent.id).where(SiteAgent.code == code)) is not None:
        raise Conflict(f"site agent {code!r} already exists", field="code")
    row = SiteAgent(code=code, name=name, options=dict(options), created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    set_terminals(session, agent=row, devices=terminals)
    audit.record(
        session,
        actor=actor,
        action="site_agent.create",
        entity="site_agent",
        entity_id=code,
        now=now,
        details={"terminals": sorted(terminals)},
    )
    return _issue(session, row, now=now, ttl=ttl)


def new_token(
    session: Session, *, code: str, now: datetime, ttl: timedelta, actor: str
) -> NewToken:
    """A fresh one-time token (the previous one stops working); refused for a revoked agent."""
    row = get_agent(session, code)
    if row.revoked_at is not None:
        raise Conflict(f"site agent {code!r} is revoked: create a new agent")
    audit.record(
        session,
        actor=actor,
        action="site_agent.token",
        entity="site_agent",
        entity_id=code,
        now=now,
    )
    return _issue(session, row, now=now, ttl=ttl)


def _issue(session: Session, row: SiteAgent, *, now: datetime, ttl: timedelta) -> NewToken:
    # Prefixed: a bare urlsafe token may start with "-", which a shell command line
    # (`punchgate-agent enrol URL TOKEN`) would read as an option.
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row.enrol_token_hash = digest(token)
    row.enrol_expires_at = now + ttl
    session.flush()
    return NewToken(row.code, token, now + ttl)


def redeem(
    session: Session, *, token: str, now: datetime, hostname: str, version: str
) -> tuple[str, str]:
    """Use up an enrolment token; returns the agent's code and its new credential.

    A second enrolment of the same agent (with a new token) replaces its credential:
    the box it was on can no longer send.
    """
    row = None
    if 0 < len(token) <= TOKEN_MAX:
        row = session.scalar(select(SiteAgent).where(SiteAgent.enrol_token_hash == digest(token)))
    # One answer for unknown, used, expired and revoked: a guess learns nothing.
    expires = row.enrol_expires_at if row is not None else None
    if row is None or row.revoked_at is not None or expires is None or expires <= now:
        raise NotFound("this enrolment token is unknown, used or expired")
    credential = secrets.token_urlsafe(32)
    # The conditional update makes "once" hold when two boxes present one token together.
    used = session.execute(
        update(SiteAgent)
        .where(SiteAgent.id == row.id, SiteAgent.enrol_token_hash == digest(token))
        .values(
            enrol_token_hash=None,
            enrol_expires_at=None,
            credential_hash=digest(credential),
            enrolled_at=now,
            hostname=hostname[:200],
            version=version[:64],
            last_contact_at=now,
        )
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("this enrolment token is unknown, used or expired")
    return row.code, credential


def authenticate(session: Session, *, credential: str) -> AgentIdentity | None:
    """The live agent a credential belongs to, or None (unknown or revoked)."""
    if not 0 < len(credential) <= TOKEN_MAX:
        return None
    row = session.execute(
        select(SiteAgent.id, SiteAgent.code, SiteAgent.last_contact_at).where(
            SiteAgent.credential_hash == digest(credential), SiteAgent.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else AgentIdentity(row[0], row[1], row[2])


def revoke(session: Session, *, code: str, now: datetime, actor: str) -> SiteAgent:
    """Refuse the agent from its next request on (again is harmless); its token dies too."""
    row = get_agent(session, code)
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = now, actor[:200]
        row.enrol_token_hash = row.enrol_expires_at = None
        audit.record(
            session,
            actor=actor,
            action="site_agent.revoke",
            entity="site_agent",
            entity_id=code,
            now=now,
        )
        session.flush()
    return row


def update_agent(
    session: Session,
    *,
    code: str,
    now: datetime,
    actor: str,
    name: str | None = None,
    terminals: Sequence[str] | None = None,
    options: dict[str, float | int] | None = None,
) -> SiteAgent:
    """Change an agent's name, terminals or options (pushed at its next contact), audited."""
    row = get_agent(session, code)
    details: dict[str, object] = {}
    if name is not None:
        row.name = details["name"] = name
    if options is not None:
        row.options = details["options"] = dict(options)
    if terminals is not None:
        set_terminals(session, agent=row, devices=terminals)
        details["terminals"] = sorted(set(terminals))
    audit.record(
        session,
        actor=actor,
        action="site_agent.update",
        entity="site_agent",
        entity_id=code,
        now=now,
        details=details,
    )
    session.flush()
    return row


def set_terminals(session: Session, *, agent: SiteAgent, devices: Sequence[str]) -> None:
    """Make `devices` (ZK or Hikvision terminals, codes) exactly the ones this agent reads."""
    wanted = sorted(set(devices))
    rows = list(
        session.execute(select(Device.id, Device.code, Device.kind).where(Device.code.in_(wanted)))
    )
    found = {code: (dev_id, kind) for dev_id, code, kind in rows}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput(f"no device {', '.join(missing)}", field="terminals")
    wrong = [c for c in wanted if found[c][1] not in AGENT_KINDS]
    if wrong:
        raise InvalidInput(
            f"an agent reads pulled terminals ({', '.join(AGENT_KINDS)}), not {', '.join(wrong)}",
            field="terminals",
        )
    ids = [found[c][0] for c in wanted]
    taken = session.execute(
        select(Device.code, SiteAgent.code)
        .join(SiteAgentTerminal, SiteAgentTerminal.device_id == Device.id)
        .join(SiteAgent, SiteAgent.id == SiteAgentTerminal.agent_id)
        .where(Device.id.in_(ids), SiteAgentTerminal.agent_id != agent.id)
    ).first()
    if taken is not None:
        raise Conflict(f"terminal {taken[0]} is read by agent {taken[1]}", field="terminals")
    session.execute(delete(SiteAgentTerminal).where(SiteAgentTerminal.agent_id == agent.id))
    session.add_all(SiteAgentTerminal(device_id=i, agent_id=agent.id) for i in ids)
    session.flush()


def terminal_codes(session: Session, agent_id: int) -> list[str]:
    """Codes of the terminals an agent reads."""
    return list(
        session.scalars(
            select(Device.code)
            .join(SiteAgentTerminal, SiteAgentTerminal.device_id == Device.id)
            .where(SiteAgentTerminal.agent_id == agent_id)
            .order_by(Device.code)
        )
    )


def list_agents(session: Session) -> list[SiteAgent]:
    """Every agent by code, revoked ones included."""
    return list(session.scalars(select(SiteAgent).order_by(SiteAgent.code)))
