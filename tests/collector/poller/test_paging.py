"""Pages read in batches: a commit each `every` records, at the end, and before a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.poller.paging import read_in_batches
from devices.errors import DeviceUnreachable


class Batches:
    """Pages of n records each; records what each commit stored."""

    def __init__(self) -> None:
        self.pending = 0
        self.commits: list[int] = []

    def take(self, page: int) -> int:
        self.pending += page
        return self.pending

    def commit(self) -> None:
        self.commits.append(self.pending)
        self.pending = 0


def test_commits_once_every_records_wait_and_at_the_end():
    batches = Batches()
    read_in_batches([3, 3, 3, 3, 1], batches.take, batches.commit, 5)
    assert batches.commits == [6, 6, 1]


def test_an_empty_read_still_commits_once():
    batches = Batches()
    read_in_batches([], batches.take, batches.commit, 5)
    assert batches.commits == [0]  # the sync state and last_sync_at move all the same


def test_a_device_failure_commits_what_was_read_before_it():
    batches = Batches()

    def pages() -> Iterator[int]:
        yield from (4, 4, 2)
        raise DeviceUnreachable("link dropped")

    with pytest.raises(DeviceUnreachable):
        read_in_batches(pages(), batches.take, batches.commit, 5)
    assert batches.commits == [8, 2]


def test_any_other_failure_commits_nothing_more():
    batches = Batches()

    def pages() -> Iterator[int]:
        yield from (4, 4, 2)
        raise RuntimeError("a bug, not the device")

    with pytest.raises(RuntimeError):
        read_in_batches(pages(), batches.take, batches.commit, 5)
    assert batches.commits == [8]
