"""The quarantine: input that could not become a punch, listed, counted, replayed or dismissed.

`listing` reads it (filters, counts by reason and source, each item's zone), `replay`
reprocesses an item once its cause is fixed, `dismissal` sets aside what HR will not
replay; old dismissed items are deleted by `collector.retention`.
"""

from __future__ import annotations

from collector.quarantine.dismissal import dismiss, dismiss_matching
from collector.quarantine.listing import (
    STATUSES,
    Counts,
    QuarantineFilter,
    counts,
    item_zones,
    list_items,
)
from collector.quarantine.replay import register_reparser, reprocess

__all__ = [
    "STATUSES",
    "Counts",
    "QuarantineFilter",
    "counts",
    "dismiss",
    "dismiss_matching",
    "item_zones",
    "list_items",
    "register_reparser",
    "reprocess",
]
