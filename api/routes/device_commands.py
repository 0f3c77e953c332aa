"""Commands for push terminals, queued by HR: sync the roster, set the clock, reboot, clear."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import HrKey, Principal
from api.deps import RowId, SessionDep, TxDep
from api.problems import PROBLEM_RESPONSES
from collector import audit
from collector.errors import Conflict, InvalidInput, NotFound
from collector.masterdata.common import fetch
from collector.push.commands import (
    CommandError,
    CommandRefused,
    CommandView,
    get_command,
    list_commands,
    queue_command,
)
from collector.runtime import utcnow
from collector.store.models import Device

router = APIRouter(tags=["device commands"], responses=PROBLEM_RESPONSES)


def _unscoped(key: Principal) -> None:
    # A terminal serves every department, and its roster commands carry every employee's
    # code and name, so no department-scoped key may read or queue them.
    key.scope.check_everyone("device commands")


class CommandCreate(BaseModel):
    """A command for a push terminal, with the reason HR gives for it."""

    kind: Literal["sync_roster", "set_clock", "reboot", "info", "clear_log"]
    # For sync_roster: also delete people on the terminal who are not employees here.
    prune: bool = False
    reason: str = Field(min_length=1, max_length=500)


@router.get("/devices/{device_id}/commands")
def list_device_commands(
    device_id: RowId, key: HrKey, session: SessionDep, status: str | None = None
) -> list[CommandView]:
    """A terminal's commands, newest first."""
    _unscoped(key)
    device = fetch(session, Device, device_id, "device")
    return list_commands(session, device_code=device.code, status=status)


@router.post("/devices/{device_id}/commands", status_code=201)
def create_device_command(
    device_id: RowId, body: CommandCreate, key: HrKey, session: TxDep
) -> list[CommandView]:
    """Queue a command; the terminal collects it at its next poll. Clearing the log is
    refused until the terminal's full upload is confirmed."""
    _unscoped(key)
    device = fetch(session, Device, device_id, "device")
    now = utcnow()
    try:
        views = queue_command(
            session,
            device_code=device.code,
            kind=body.kind,
            requested_by=key.actor,
            now=now,
            prune=body.prune,
        )
    except CommandRefused as exc:
        raise Conflict(str(exc)) from exc
    except CommandError as exc:
        raise InvalidInput(str(exc), field="kind") from exc
    audit.record(
        session,
        actor=key.actor,
        action=f"command:{body.kind}",
        entity="device",
        entity_id=device.id,
        now=now,
        reason=body.reason,
        details={"commands": [v.id for v in views], "prune": body.prune},
    )
    return views


@router.get("/commands/{command_id}")
def get_device_command(command_id: RowId, key: HrKey, session: SessionDep) -> CommandView:
    """One command and its result."""
    _unscoped(key)
    found = get_command(session, command_id=command_id)
    if found is None:
        raise NotFound(f"no command {command_id}")
    return found
