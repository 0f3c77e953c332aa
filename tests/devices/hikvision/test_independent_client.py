"""The emulator as an independent ISAPI client sees it: PyPI's `hikvisionapi` (requests).

It probes `/ISAPI/System/status` with Basic auth, falls back to Digest on 401, and reads
XML into dicts with xmltodict; the event search it sends as JSON like any integrator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devices.hikvision.emulator import HikEmulator, HikTerminal

hikvisionapi = pytest.importorskip("hikvisionapi", reason="hikvisionapi is a test extra")


@pytest.fixture
def served() -> Iterator[tuple[HikTerminal, HikEmulator]]:
    terminal = HikTerminal(timezone="Europe/Berlin", password="indep-pass")
    terminal.fill(75, seed=11)
    with HikEmulator(terminal) as emulator:
        yield terminal, emulator


def test_hikvisionapi_logs_in_with_digest_and_reads_device_info(served):
    terminal, emulator = served
    api = hikvisionapi.Client(f"http://127.0.0.1:{emulator.port}", "admin", "indep-pass")
    info = api.System.deviceInfo(method="get")["DeviceInfo"]
    assert info["serialNumber"] == terminal.serial_number and info["model"] == terminal.model
    clock = api.System.time(method="get")["Time"]["localTime"]
    assert abs(datetime.fromisoformat(clock) - datetime.now(UTC)) < timedelta(seconds=30)


def test_hikvisionapi_pages_the_whole_event_log(served):
    terminal, emulator = served
    api = hikvisionapi.Client(f"http://127.0.0.1:{emulator.port}", "admin", "indep-pass")
    position, serials = 0, []
    while True:
        cond = {
            "AcsEventCond": {
                "searchID": "independent",
                "searchResultPosition": position,
                "maxResults": 100,  # the emulator caps it at 30, as the firmware does
                "major": 5,
                "minor": 0,
                "startTime": "2000-01-01T00:00:00+01:00",
                "endTime": "2037-12-31T23:59:59+01:00",
            }
        }
        text = api.AccessControl.AcsEvent(
            method="post", params={"format": "json"}, json=cond, present="text"
        )
        page = json.loads(text)["AcsEvent"]
        serials += [e["serialNo"] for e in page.get("InfoList", [])]
        position += page["numOfMatches"]
        if page["responseStatusStrg"] != "MORE":
            break
    assert serials == [e["serialNo"] for e in terminal.events]


def test_hikvisionapi_with_a_wrong_password_gets_401(served):
    _, emulator = served
    requests = pytest.importorskip("requests")
    with pytest.raises(requests.HTTPError, match="401"):
        hikvisionapi.Client(f"http://127.0.0.1:{emulator.port}", "admin", "nope")
