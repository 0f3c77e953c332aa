"""A device's pages read in batches, each stored with the cursor it reaches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from devices.errors import DeviceError

P = TypeVar("P")


def read_in_batches(
    pages: Iterable[P], take: Callable[[P], int], commit: Callable[[], None], every: int
) -> None:
    """Give each page to `take` (it answers how many records read wait to be stored); commit
    once `every` wait, and at the end.

    A failure while reading commits what was read before it, so the next sync resumes
    there; a crash loses only the uncommitted pages, which the next sync reads again.
    """
    try:
        for page in pages:
            if take(page) >= every:
                commit()
    except DeviceError:
        commit()
        raise
    commit()
