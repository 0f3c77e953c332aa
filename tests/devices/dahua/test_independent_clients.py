"""The emulator as independent Dahua CGI clients from PyPI see it.

`pydahua` (requests, HTTP Digest; the client Horilla HRMS ships) reads the system info, the
clock and the access-control records with `recordFinder.cgi`; `amcrest` (the Home Assistant
integration's library: Basic first, Digest after a 401) logs in with `magicBox.cgi` and
reads the `eventManager.cgi?action=attach` stream by its Content-Length framing.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devices.dahua.emulator import DahuaController, DahuaEmulator

pydahua = pytest.importorskip("pydahua", reason="pydahua is a test extra")
amcrest = pytest.importorskip("amcrest", reason="amcrest is a test extra")


@pytest.fixture
def served() -> Iterator[tuple[DahuaController, DahuaEmulator]]:
    controller = DahuaController(timezone="Europe/Berlin", password="indep-pass")
    controller.fill(60, seed=11)
    with DahuaEmulator(controller) as emulator:
        yield controller, emulator


def test_pydahua_logs_in_with_digest_and_reads_info_and_clock(served):
    controller, emulator = served
    api = pydahua.DahuaAPI(f"http://127.0.0.1:{emulator.port}", "admin", "indep-pass")
    info = api.get_system_info()
    assert info["status_code"] == 200 and info["serialNumber"] == controller.serial_number
    assert api.get_serial_number()["sn"] == controller.serial_number
    wall = datetime.strptime(api.get_system_time()["result"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
    clock = wall.replace(tzinfo=controller.zone)
    berlin = datetime.now(UTC).astimezone(controller.zone)
    assert abs(clock - berlin) < timedelta(seconds=30)
    refused = pydahua.DahuaAPI(f"http://127.0.0.1:{emulator.port}", "admin", "wrong")
    assert refused.get_system_info()["status_code"] == 401


def test_pydahua_reads_every_record_of_a_window(served):
    controller, emulator = served
    api = pydahua.DahuaAPI(f"http://127.0.0.1:{emulator.port}", "admin", "indep-pass")
    first = datetime.fromtimestamp(controller.records[0]["CreateTime"], UTC)
    last = datetime.fromtimestamp(controller.records[-1]["CreateTime"], UTC)
    logs = api.get_control_card_rec(start_time=first, end_time=last)
    assert int(logs["found"]) == len(controller.records) == len(logs["records"])
    got = [(int(r["rec_no"]), r["user_id"], int(r["method"])) for r in logs["records"]]
    want = [(r["RecNo"], r["UserID"], r["Method"]) for r in controller.records]
    assert got == want
    # its times are naive readings of CreateTime in the process's zone, as it writes them
    naive = logs["records"][0]["create_time"]
    assert naive.astimezone(UTC) == first
    middle = datetime.fromtimestamp(controller.records[30]["CreateTime"], UTC)
    tail = api.get_control_card_rec(start_time=middle, end_time=last)["records"]
    assert [int(r["rec_no"]) for r in tail] == [r["RecNo"] for r in controller.records[30:]]


def test_amcrest_logs_in_and_reads_access_control_events_from_the_stream(served):
    controller, emulator = served
    camera = amcrest.AmcrestCamera(
        "127.0.0.1", emulator.port, "admin", "indep-pass", retries_connection=1
    ).camera
    assert camera.serial_number == controller.serial_number
    rng = random.Random(4)
    timers = [threading.Timer(0.5 + i * 0.3, controller.punch_now, args=(rng,)) for i in range(2)]
    for timer in timers:
        timer.start()
    events = []
    for text in camera.event_stream("AccessControl", timeout_cmd=(5, 10)):
        if "Code=AccessControl" in text:
            events.append(text)
        if len(events) == 2:
            break
    for timer in timers:
        timer.join()
    datas = [json.loads(e.split(";data=", 1)[1]) for e in events]
    assert [d["UserID"] for d in datas] == [r["UserID"] for r in controller.records[-2:]]
    assert all(e.strip().startswith("Code=AccessControl;action=Pulse;index=0") for e in events)
