"""Schemas of the quarantine's housekeeping: dismissing items and counting them."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import BigRowId
from collector.quarantine import QuarantineFilter
from rules.vocabulary import SourceKind

DismissReason = Field(min_length=3, max_length=2000, description="why HR sets the item aside")


class DismissRequest(BaseModel):
    """Dismiss one item: HR has looked at it and will not reprocess it."""

    model_config = ConfigDict(extra="forbid")

    reason: str = DismissReason


class QuarantineMatch(BaseModel):
    """Which open items a bulk dismissal takes; at least one criterion is required."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000, description="exact reason")
    source_kind: SourceKind | None = None
    device_code: str | None = Field(default=None, max_length=64)
    since: AwareDatetime | None = Field(default=None, description="received at or after")
    until: AwareDatetime | None = Field(default=None, description="received before")
    through_id: BigRowId | None = Field(
        default=None, description="only items up to this id: those a count showed HR"
    )

    def to_filter(self) -> QuarantineFilter:
        """The store's filter of open items."""
        return QuarantineFilter(status="open", **self.model_dump())


class DismissMatchingRequest(BaseModel):
    """Dismiss every open item that matches, with one reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = DismissReason
    match: QuarantineMatch


class DismissedCount(BaseModel):
    """How many items a bulk dismissal set aside."""

    dismissed: int


class ReasonCount(BaseModel):
    """Items with one reason."""

    reason: str
    count: int


class SourceCount(BaseModel):
    """Items from one source kind and device (none for phones and imports without one)."""

    source_kind: str
    device_code: str | None
    count: int


class QuarantineCounts(BaseModel):
    """How many items match, the most frequent reasons and sources first."""

    total: int
    inputs: int  # bad inputs the items stand for (a flood's summary row counts them all)
    last_id: int | None
    by_reason: list[ReasonCount]
    by_source: list[SourceCount]
