"""OwnTracks payloads: locations and region transitions become fixes; other types are ignored.

OwnTracks (Android/iOS) publishes JSON objects with a `_type`. Only `location` and
`transition` can be punches; `lwt`, `waypoint(s)`, `card`, `cmd`, `status`, `beacon`, …
are read as `Ignored` without error. OwnTracks sends no mock-location flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from devices.mobile.native import Latitude, Longitude, Metres
from devices.mobile.wire import PayloadError, load_object, validation_reason

Epoch = Annotated[int, Field(strict=False, gt=0, lt=100_000_000_000)]


def _epoch(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be epoch seconds")
    if not math.isfinite(value):  # NaN, or 1e999 which JSON decodes to infinity
        raise ValueError("must be epoch seconds")
    return int(value)


class _OwnTracks(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    lat: Latitude
    lon: Longitude
    tst: Epoch  # when the fix was taken
    acc: Metres = 0.0  # OwnTracks omits fields equal to zero
    tid: str | None = None
    topic: str | None = None  # some clients echo their topic; it must match the real one

    _tst = field_validator("tst", mode="before")(_epoch)

    @property
    def taken_at(self) -> datetime:
        """The fix time, aware UTC."""
        return datetime.fromtimestamp(self.tst, UTC)


class OwnTracksLocation(_OwnTracks):
    """A `location` message."""

    type_: Literal["location"] = Field(alias="_type")
    id_: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="_id")
    trigger: str | None = Field(default=None, alias="t")
    created_at: Epoch | None = None  # when the message was built; later when queued offline
    bssid: str | None = Field(default=None, alias="BSSID")
    ssid: str | None = Field(default=None, alias="SSID")
    inregions: list[str] = Field(default_factory=list)

    _created = field_validator("created_at", mode="before")(
        lambda v: None if v is None else _epoch(v)
    )

    @field_validator("bssid")
    @classmethod
    def _bssid(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None


class OwnTracksTransition(_OwnTracks):
    """A `transition` message: the phone entered or left a region it knows."""

    type_: Literal["transition"] = Field(alias="_type")
    event: Literal["enter", "leave"]
    desc: Annotated[str, Field(max_length=200)] = ""
    rid: str | None = None
    wtst: int | None = None
    trigger: str | None = Field(default=None, alias="t")


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed OwnTracks message of a type that is never a punch."""

    type: str


OwnTracksMessage = OwnTracksLocation | OwnTracksTransition | Ignored


def parse_owntracks(payload: bytes, *, topic: str) -> OwnTracksMessage:
    """Read an OwnTracks message received on `topic`, or raise PayloadError."""
    if not payload:
        return Ignored("empty")  # a cleared retained message
    data = load_object(payload)
    kind = data.get("_type")
    if not isinstance(kind, str):
        raise PayloadError("OwnTracks payload has no _type")
    model: type[OwnTracksLocation] | type[OwnTracksTransition]
    if kind == "location":
        model = OwnTracksLocation
    elif kind == "transition":
        model = OwnTracksTransition
    else:
        return Ignored(kind[:32])
    try:
        msg = model.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(validation_reason(exc)) from exc
    if msg.topic is not None and msg.topic != topic:
        raise PayloadError(f"payload names topic {msg.topic!r} but was published on {topic!r}")
    return msg
