"""Site agents: HR admins create, list, re-token and revoke them; agents enrol, report and forward.

Admin routes (`/agents`) take an admin API key. The agent's own routes (`/agent/v1/…`) take
the agent's credential as `Authorization: Bearer <credential>` (enrolment takes the one-time
token in its body); a revoked or unknown credential gets 401. The work is done in
`collector.agent`: `enrolment`, `config` (the configuration pushed on each contact and the
health reported with it) and `handoff` (a batch committed once, answered with its id).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.auth import AdminKey
from api.deps import SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from collector.agent import config, enrolment, handoff
from collector.agent.enrolment import AgentIdentity
from collector.agent.wire import (
    AgentConfig,
    Batch,
    BatchReceipt,
    EnrolReply,
    EnrolRequest,
    Health,
)
from collector.runtime import utcnow
from collector.store.models import SiteAgent

router = APIRouter(tags=["site agents"], responses=PROBLEM_RESPONSES)
agent_bearer = HTTPBearer(auto_error=False)
CODE = r"^[A-Za-z0-9_.-]{1,64}$"


class AgentOptions(BaseModel):
    """Intervals and batch size pushed to the agent; unset ones follow the central settings."""

    model_config = ConfigDict(extra="forbid")

    poll_interval_s: float | None = Field(default=None, gt=0, le=86_400)
    contact_interval_s: float | None = Field(default=None, gt=0, le=3600)
    forward_interval_s: float | None = Field(default=None, gt=0, le=3600)
    batch_size: int | None = Field(default=None, ge=1, le=10_000)

    def values(self) -> dict[str, float | int]:
        """The options that were set."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class AgentCreate(BaseModel):
    """A new site agent and the terminals (device codes) it reads."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE)
    name: str = Field(default="", max_length=200)
    terminals: list[str] = Field(default_factory=list, max_length=1000)
    options: AgentOptions = Field(default_factory=AgentOptions)


class AgentUpdate(BaseModel):
    """Changes to an agent; it picks them up at its next contact."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    terminals: list[str] | None = Field(default=None, max_length=1000)
    options: AgentOptions | None = None


class AgentPublic(BaseModel):
    """An agent, its terminals and its health (its secrets are never shown)."""

    code: str
    name: str
    options: dict[str, float | int]
    terminals: list[str]
    created_at: datetime
    enrolled_at: datetime | None
    enrolment_pending: bool  # a one-time token was issued and not yet exchanged
    revoked_at: datetime | None
    version: str | None
    hostname: str | None
    last_contact_at: datetime | None
    clock_skew_s: float | None
    buffer_depth: int | None
    buffer_capacity: int | None
    oldest_buffered_at: datetime | None
    warning: str | None


class EnrolmentToken(BaseModel):
    """A one-time enrolment token: give it to `punchgate agent enrol` on the agent's box."""

    agent: str
    token: str
    expires_at: datetime


def _public(session: Session, row: SiteAgent) -> AgentPublic:
    return AgentPublic(
        code=row.code,
        name=row.name,
        options=dict(row.options or {}),
        terminals=enrolment.terminal_codes(session, row.id),
        created_at=row.created_at,
        enrolled_at=row.enrolled_at,
        enrolment_pending=row.enrol_token_hash is not None,
        revoked_at=row.revoked_at,
        version=row.version,
        hostname=row.hostname,
        last_contact_at=row.last_contact_at,
        clock_skew_s=row.clock_skew_s,
        buffer_depth=row.buffer_depth,
        buffer_capacity=row.buffer_capacity,
        oldest_buffered_at=row.oldest_buffered_at,
        warning=row.warning,
    )


def _ttl(store: StoreDep) -> timedelta:
    return timedelta(seconds=store.settings.agent_enrol_ttl_s)


@router.post("/agents", status_code=201)
def create_agent(
    body: AgentCreate, key: AdminKey, session: TxDep, store: StoreDep
) -> EnrolmentToken:
    """Create an agent for its terminals; the answer holds its one-time enrolment token."""
    made = enrolment.create_agent(
        session,
        code=body.code,
        name=body.name,
        terminals=body.terminals,
        options=body.options.values(),
        now=utcnow(),
        ttl=_ttl(store),
        actor=key.actor,
    )
    return EnrolmentToken(agent=made.agent, token=made.token, expires_at=made.expires_at)


@router.get("/agents")
def list_agents(_: AdminKey, session: SessionDep) -> list[AgentPublic]:
    """Every agent with its terminals and health, revoked ones included."""
    return [_public(session, row) for row in enrolment.list_agents(session)]


@router.get("/agents/{code}")
def get_agent(code: str, _: AdminKey, session: SessionDep) -> AgentPublic:
    """One agent with its terminals and health."""
    return _public(session, enrolment.get_agent(session, code))


@router.patch("/agents/{code}")
def update_agent(code: str, body: AgentUpdate, key: AdminKey, session: TxDep) -> AgentPublic:
    """Rename an agent, change its terminals or options (pushed at its next contact)."""
    row = enrolment.update_agent(
        session,
        code=code,
        now=utcnow(),
        actor=key.actor,
        name=body.name,
        terminals=body.terminals,
        options=body.options.values() if body.options is not None else None,
    )
    return _public(session, row)


@router.post("/agents/{code}/enrolment-token", status_code=201)
def new_token(code: str, key: AdminKey, session: TxDep, store: StoreDep) -> EnrolmentToken:
    """A new one-time token (to move the agent to another box; the old one stops on use)."""
    made = enrolment.new_token(session, code=code, now=utcnow(), ttl=_ttl(store), actor=key.actor)
    return EnrolmentToken(agent=made.agent, token=made.token, expires_at=made.expires_at)


@router.post("/agents/{code}/revoke")
def revoke_agent(code: str, key: AdminKey, session: TxDep) -> AgentPublic:
    """Refuse the agent from its next request on (its terminals stay assigned)."""
    row = enrolment.revoke(session, code=code, now=utcnow(), actor=key.actor)
    return _public(session, row)


def current_agent(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(agent_bearer)],
) -> AgentIdentity:
    """The agent whose credential the request carries; 401 otherwise."""
    found = enrolment.authenticate(
        session, credential=credentials.credentials if credentials is not None else ""
    )
    if found is None:
        raise HTTPException(
            status_code=401,
            detail="the agent credential is unknown or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


CurrentAgent = Annotated[AgentIdentity, Depends(current_agent)]


@router.post("/agent/v1/enrol")
def enrol(body: EnrolRequest, session: TxDep) -> EnrolReply:
    """Exchange a one-time token for the agent's long-lived credential."""
    code, credential = enrolment.redeem(
        session, token=body.token, now=utcnow(), hostname=body.hostname, version=body.version
    )
    return EnrolReply(agent=code, credential=credential)


@router.post("/agent/v1/contact")
def contact(
    body: Health, agent: CurrentAgent, store: StoreDep, session: SessionDep, request: Request
) -> AgentConfig:
    """Keep the agent's health and its terminals' status; answer with its configuration."""
    address = request.client.host if request.client else None
    config.record_health(store, agent, body, now=utcnow(), address=address)
    return config.agent_config(session, store, agent)


@router.post("/agent/v1/batches")
def forward(body: Batch, agent: CurrentAgent, store: StoreDep) -> BatchReceipt:
    """Commit a batch of the agent's punches once; answer with its id when it is committed."""
    return handoff.receive_batch(store, agent, body, now=utcnow())
