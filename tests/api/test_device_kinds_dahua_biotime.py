"""Dahua controllers and BioTime servers declared through the devices API reach the poller."""

from __future__ import annotations

from collector.poller.biotimedevices import load_biotime_devices
from collector.poller.dahuadevices import load_dahua_devices


def test_dahua_and_biotime_devices_made_through_the_api_are_loaded_with_their_passwords(
    admin, store
):
    dahua = admin.post(
        "/devices",
        json={
            "code": "gate",
            "kind": "dahua",
            "host": "127.0.0.1",
            "port": 8090,
            "comm_key": "dahua-pass",
            "options": {"username": "operator", "live": True},
        },
    )
    biotime = admin.post(
        "/devices",
        json={
            "code": "bt",
            "kind": "biotime",
            "host": "127.0.0.1",
            "comm_key": "bt-pass",
            "options": {"terminal_zones": {"SN1": "Asia/Shanghai"}},
        },
    )
    assert dahua.status_code == 201 and biotime.status_code == 201
    assert "dahua-pass" not in dahua.text and "bt-pass" not in biotime.text
    (gate,) = load_dahua_devices(store.engine, box=store.box)
    assert (gate.username, gate.password, gate.live, gate.port) == (
        "operator",
        "dahua-pass",
        True,
        8090,
    )
    (server,) = load_biotime_devices(store.engine, box=store.box)
    assert server.password == "bt-pass" and server.port == 80
    assert (server.zone_of("SN1"), server.zone_of("SN2")) == ("Asia/Shanghai", "UTC")
    refused = admin.post("/devices", json={"code": "x", "kind": "suprema"})
    assert refused.status_code == 422
