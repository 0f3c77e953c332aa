"""A Hikvision terminal that is pulled and pushes, against a real uvicorn server.

The poll registers the push URL in the terminal's httpHosts (again after a reboot made the
firmware forget it); the emulated terminal posts each new event there; pull and push
together store every punch exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from collector.store.models import Punch
from tests.collector.poller.conftest import punch_count
from tests.collector.poller.hikvision.conftest import hik_poller, punches_expected
from tests.push_support import live_server


def new_punches(terminal, count: int, start: datetime) -> None:
    for i in range(count):
        when = start + timedelta(minutes=i)
        terminal.add_event(when, minor=75, employee=str(3001 + i % 7), status="checkIn")
        terminal.add_event(when + timedelta(seconds=1), minor=21)  # the door opens


@pytest.mark.parametrize("multipart", [False, True])
def test_pull_registers_push_and_both_paths_store_each_punch_once(zk_store, hik, multipart):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    with live_server(zk_store) as (url, _):
        options = {"push_url": f"{url}/hik/both?token=s3", "push_token": "s3"}
        terminal = hik("both", events=40, options=options, multipart=multipart)
        terminal.faults.forget_hosts_on_reboot = True
        poller = hik_poller(zk_store, "both")
        first = poller.poll()
        assert first is not None and "push host registered" in first.reason
        assert [h.address for h in terminal.http_hosts] == [options["push_url"]]

        new_punches(terminal, 10, start)  # posted by the terminal
        assert terminal.pusher is not None and terminal.pusher.drain()
        assert terminal.pusher.delivered == 20  # door events are posted too
        assert punch_count(zk_store, "both") == punches_expected(terminal)

        terminal.reboot()  # forgets where to post: the next punches are not pushed
        new_punches(terminal, 5, start + timedelta(minutes=30))
        assert punch_count(zk_store, "both") < punches_expected(terminal)
        second = poller.poll()  # pulls what was missed and registers again
        assert second is not None and "push host registered" in second.reason
        assert second.inserted == 5 and second.duplicates == 10  # pushed ones, pulled again
        new_punches(terminal, 3, start + timedelta(minutes=60))
        assert terminal.pusher.drain()
    assert punch_count(zk_store, "both") == punches_expected(terminal)
    with zk_store.sessions() as s:
        kinds = set(s.scalars(select(Punch.source_kind).where(Punch.device_code == "both")))
    assert kinds == {"terminal", "push"}
