"""Schemas of punches, corrections, the quarantine and the audit log."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from api.deps import BigRowId, RowId
from collector.store.models import Punch
from rules.vocabulary import PunchFlag, PunchState


@functools.lru_cache(maxsize=1024)
def flag_names(mask: int) -> tuple[str, ...]:
    """PunchFlag.names_of, memoised: few masks occur, and walking the enum per row is slow."""
    return tuple(PunchFlag.names_of(mask))


class PunchPublic(BaseModel):
    """A punch as the API shows it; coordinates and raw payload only to hr and admin."""

    id: int
    employee_code: str
    employee_id: int | None
    occurred_at: datetime
    tz: str
    local_date: str
    source_kind: str
    device_code: str | None
    verify: str
    state: str
    flags: list[str]
    site_code: str | None
    geo_decision: str | None
    voids_punch_id: int | None
    note: str | None
    received_at: datetime
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = None
    raw: str | None = None

    @classmethod
    def of(cls, p: Punch | Row[Any], *, private: bool) -> PunchPublic:
        """The public form of a stored punch; `private` adds GPS and raw."""
        return cls.model_validate(punch_fields(p, private=private))


# The fields every caller sees, and those only hr and admin see (None for viewers).
PUBLIC_FIELDS = (
    "id",
    "employee_code",
    "employee_id",
    "occurred_at",
    "tz",
    "local_date",
    "source_kind",
    "device_code",
    "verify",
    "state",
    "flags",
    "site_code",
    "geo_decision",
    "voids_punch_id",
    "note",
    "received_at",
)
PRIVATE_FIELDS = ("lat", "lon", "accuracy_m", "distance_m", "raw")
_HIDDEN = dict.fromkeys(PRIVATE_FIELDS)


def punch_fields(p: Punch | Row[Any], *, private: bool) -> dict[str, Any]:
    """A punch's public fields as plain values (the lists skip model validation for speed)."""
    out = {name: getattr(p, name) for name in PUBLIC_FIELDS}
    out["local_date"] = out["local_date"].isoformat()
    out["flags"] = list(flag_names(out["flags"]))
    out.update({name: getattr(p, name) for name in PRIVATE_FIELDS} if private else _HIDDEN)
    return out


def page_json(rows: list[Row[Any]], next_cursor: str | None, *, private: bool) -> bytes:
    """A page of punch rows (selected as `page_columns(private)`) as PunchPage JSON.

    Straight from the rows to orjson: a page of models validated (twice, with FastAPI's
    response check) or json.dumps with a fallback per datetime cost more than the query.
    """
    items = []
    names = rows[0]._fields if rows else ()
    for row in rows:
        item = dict(zip(names, row, strict=True))
        item["flags"] = list(flag_names(item["flags"]))
        if not private:
            item.update(_HIDDEN)
        items.append(item)
    # OPT_UTC_Z writes UTC times with "Z", the way pydantic does; dates as YYYY-MM-DD.
    return orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)


def page_columns(private: bool) -> tuple[str, ...]:
    """The punch columns a page selects: no coordinates or raw payload for viewers."""
    return PUBLIC_FIELDS + PRIVATE_FIELDS if private else PUBLIC_FIELDS


class PunchPage(BaseModel):
    """A page of punches and the cursor of the next page (null on the last)."""

    items: list[PunchPublic]
    next_cursor: str | None


Reason = Field(min_length=3, max_length=2000, description="Why the correction is made.")
IdempotencyKey = Field(
    default=None,
    min_length=8,
    max_length=200,
    description="A client key; repeating a request with it changes nothing.",
)


class CorrectionAdd(BaseModel):
    """HR adds a punch the terminal missed; a time without offset is the site's local time."""

    model_config = ConfigDict(extra="forbid")

    employee_id: RowId
    timestamp: datetime
    state: Literal["in", "out", "break_out", "break_in", "overtime_in", "overtime_out"]
    reason: str = Reason
    idempotency_key: str | None = IdempotencyKey

    @property
    def punch_state(self) -> PunchState:
        """The state as the vocabulary's enum."""
        return PunchState(self.state)


class CorrectionVoid(BaseModel):
    """HR cancels a wrong punch; the punch stays stored, a void punch names it."""

    model_config = ConfigDict(extra="forbid")

    punch_id: BigRowId
    reason: str = Reason
    idempotency_key: str | None = IdempotencyKey


class QuarantinePublic(BaseModel):
    """A quarantined input and why it could not become a punch."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    source_kind: str
    device_code: str | None
    reference: str | None
    reason: str
    raw: str | None = None
    status: str
    resolved_at: datetime | None
    punch_id: int | None
    replayable: bool
    note: str | None = None  # why HR dismissed it
    # A flood's summary row stands for several bad inputs; raw is cut, raw_size is the whole.
    input_count: int = 1
    raw_size: int | None = None


class ReprocessRequest(BaseModel):
    """Fields to set before replaying an item (e.g. the right employee code or zone)."""

    model_config = ConfigDict(extra="forbid")

    employee_code: str | None = Field(default=None, min_length=1, max_length=64)
    tz: str | None = Field(default=None, min_length=1, max_length=64)
    state: str | None = Field(default=None, max_length=32)
    device_code: str | None = Field(default=None, max_length=64)


class AuditPublic(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    reason: str | None
    details: dict[str, Any]
