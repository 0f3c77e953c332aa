"""What the centre pushes to an agent on each contact, and the health the agent reports back.

The agent contacts the centre (outbound only) every `contact_interval_s`: it sends its
health and its terminals' status, and gets its configuration back — the terminals it reads
(with their secrets, which it needs to talk to them) and its intervals. A terminal's status
lands on its device row like a centrally polled terminal's, so the devices report and
/metrics show it the same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from collector.agent.enrolment import AgentIdentity
from collector.agent.wire import AgentConfig, Health, TerminalConfig
from collector.poller.terminals import TerminalConfigError, mark_status, open_secret
from collector.runtime import Store
from collector.store.models import Device, SiteAgent, SiteAgentBatch, SiteAgentTerminal

log = logging.getLogger(__name__)


def agent_config(session: Session, store: Store, agent: AgentIdentity) -> AgentConfig:
    """The agent's configuration as it stands now."""
    settings = store.settings
    row = session.get(SiteAgent, agent.id)
    options: dict[str, Any] = dict(row.options or {}) if row is not None else {}
    devices = session.scalars(
        select(Device)
        .join(SiteAgentTerminal, SiteAgentTerminal.device_id == Device.id)
        .where(SiteAgentTerminal.agent_id == agent.id, Device.enabled.is_(True))
        .order_by(Device.code)
    )
    terminals = []
    for device in devices:
        try:
            secret = open_secret(store.box, device.comm_key_secret)
        except TerminalConfigError as exc:
            log.warning("terminal %s of agent %s: %s", device.code, agent.code, exc)
            continue
        terminals.append(
            TerminalConfig(
                code=device.code,
                kind="hik" if device.kind == "hik" else "zk",
                host=device.host or "",
                port=device.port or (80 if device.kind == "hik" else 4370),
                transport=device.transport or "auto",
                timezone=device.timezone or "UTC",
                direction_mode=device.direction_mode or "auto",
                options=dict(device.options or {}),
                secret=secret,
            )
        )
    body: dict[str, Any] = {
        "agent": agent.code,
        "poll_interval_s": float(options.get("poll_interval_s", settings.zk_poll_interval_s)),
        "contact_interval_s": float(
            options.get("contact_interval_s", settings.agent_contact_interval_s)
        ),
        "forward_interval_s": float(
            options.get("forward_interval_s", settings.agent_forward_interval_s)
        ),
        "batch_size": int(options.get("batch_size", settings.agent_batch_size)),
        "terminals": [t.model_dump() for t in terminals],
    }
    version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return AgentConfig(config_version=version, **body)


def record_health(
    store: Store, agent: AgentIdentity, health: Health, *, now: datetime, address: str | None
) -> None:
    """Keep the agent's health, and each of its terminals' status on the terminal's row."""
    skew = (health.clock - now).total_seconds()
    with store.engine.begin() as conn:
        conn.execute(
            update(SiteAgent)
            .where(SiteAgent.id == agent.id)
            .values(
                version=health.version or None,
                hostname=health.hostname or address,
                last_contact_at=now,
                clock_skew_s=skew,
                buffer_depth=health.buffer_depth,
                buffer_capacity=health.buffer_capacity,
                oldest_buffered_at=health.oldest_buffered_at,
                warning=health.warning,
            )
        )
        mine = set(
            conn.scalars(
                select(Device.code)
                .join(SiteAgentTerminal, SiteAgentTerminal.device_id == Device.id)
                .where(SiteAgentTerminal.agent_id == agent.id)
            )
        )
        # Committed batch ids older than the retention are forgotten here, once per contact.
        cutoff = now - timedelta(days=store.settings.agent_batch_retention_days)
        conn.execute(
            delete(SiteAgentBatch).where(
                SiteAgentBatch.agent_id == agent.id, SiteAgentBatch.committed_at < cutoff
            )
        )
    for terminal in health.terminals:
        if terminal.code not in mine:
            continue  # an agent reports only on its own terminals
        values: dict[str, Any] = terminal.model_dump(
            exclude={"code", "schema_version", "last_seen_at"}, exclude_none=True
        )
        values.setdefault("last_error", None)
        if terminal.last_seen_at is not None:
            # The agent's clock, brought to ours.
            values["last_seen_at"] = terminal.last_seen_at - timedelta(seconds=skew)
        if terminal.clock_skew_s is not None:
            # Measured against the agent's clock; against ours it is off by the agent's too.
            values["clock_skew_s"] = terminal.clock_skew_s + skew
        if terminal.status == "unknown":
            values.pop("status")
        mark_status(store.engine, terminal.code, now=now, **values)
