"""The demo's site agent: a branch-office door behind NAT, read by `punchgate-agent` logic.

The door (`door-branch`, a ZK terminal) is assigned to the agent `branch`, so the central
poller leaves it alone; the agent enrols with a one-time token over the demo's own HTTP
API, keeps what it reads in a buffer file beside the demo database and forwards it, as
`punchgate-agent run` does on a site box (docs/agent.md).
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from collector.agent.enrolment import create_agent, get_agent, new_token
from collector.agent.site.buffer import Buffer
from collector.agent.site.central import Central, CentralError
from collector.agent.site.runner import Agent, agent_version
from collector.agent.wire import EnrolRequest
from collector.errors import NotFound
from collector.settings import Settings
from collector.threadworker import ThreadWorker

log = logging.getLogger(__name__)
AGENT_CODE = "branch"
AGENT_DOOR = "door-branch"
TOKEN_TTL = timedelta(hours=1)


def demo_agent_token(session: Session, now: datetime) -> str:
    """The branch agent (made on the first run) and a fresh one-time token for it."""
    try:
        get_agent(session, AGENT_CODE)
    except NotFound:
        made = create_agent(
            session,
            code=AGENT_CODE,
            name="Branch office (behind NAT)",
            terminals=[AGENT_DOOR],
            options={"poll_interval_s": 5, "contact_interval_s": 5, "forward_interval_s": 1},
            now=now,
            ttl=TOKEN_TTL,
            actor="demo",
        )
        return made.token
    return new_token(session, code=AGENT_CODE, now=now, ttl=TOKEN_TTL, actor="demo").token


class DemoAgent(ThreadWorker):
    """Enrols the branch agent against the demo's API once it answers, then runs it."""

    name = "demo-agent"
    join_timeout_s = 15.0

    def __init__(self, settings: Settings, url: str, token: str, buffer_path: Path) -> None:
        super().__init__()
        self.settings, self.url, self.token, self.path = settings, url, token, buffer_path

    def _run(self) -> None:
        s = self.settings
        buffer = Buffer(
            self.path,
            max_rows=s.agent_buffer_max_rows,
            warn_ratio=s.agent_buffer_warn_ratio,
            min_free_bytes=s.agent_min_free_disk_mb * 1024 * 1024,
        )
        host, version = socket.gethostname(), agent_version()
        request = EnrolRequest(token=self.token, hostname=host, version=version)
        credential = None
        while credential is None and not self._stop.is_set():
            try:
                with Central(self.url) as central:
                    credential = central.enrol(request).credential
            except CentralError as exc:  # the API is still starting: try again shortly
                log.debug("demo agent: enrolment not yet possible: %s", exc)
                self._stop.wait(1.0)
        if credential is None:
            return
        buffer.put("central_url", self.url)
        buffer.put("agent", AGENT_CODE)
        buffer.put("credential", credential)
        with Central(self.url, credential=credential) as central:
            Agent(buffer, central, s).run(self._stop)
