"""What the HTTP device clients share: targets that hide the password, one error boundary."""

from __future__ import annotations

import httpx
import pytest

from devices.biotime.client import BioTimeTarget
from devices.dahua.client import DahuaTarget
from devices.errors import DeviceError, DeviceProtocolError, DeviceTimeout, DeviceUnreachable
from devices.hikvision.client import ISAPITarget
from devices.httpclient import HTTPTarget, transport_errors


@pytest.mark.parametrize("kind", [ISAPITarget, DahuaTarget, BioTimeTarget])
def test_no_target_shows_its_password(kind: type[HTTPTarget]) -> None:
    target = kind("10.0.0.9", 8443, username="ops", password="pa55-word", https=True)
    for text in (repr(target), str(target), repr([target])):
        assert "pa55-word" not in text
        assert text.count(f"{kind.__name__}(https://10.0.0.9:8443, user=ops") == 1


def test_each_vendor_keeps_its_own_page_size() -> None:
    sizes = {kind: kind("h").page_size for kind in (ISAPITarget, DahuaTarget, BioTimeTarget)}
    assert sizes == {ISAPITarget: 30, DahuaTarget: 500, BioTimeTarget: 500}


@pytest.mark.parametrize(
    ("raised", "dropped", "expected", "words"),
    [
        (httpx.ConnectTimeout("slow"), ("disconnected",), DeviceTimeout, "waiting for the peer"),
        (httpx.ConnectError("refused"), ("disconnected",), DeviceUnreachable, "network error"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            ("disconnected",),
            DeviceUnreachable,
            "connection dropped",
        ),
        (
            httpx.RemoteProtocolError("peer closed connection (incomplete chunked read)"),
            ("disconnected",),
            DeviceProtocolError,
            "garbled reply",
        ),
        (
            httpx.RemoteProtocolError("peer closed connection (incomplete chunked read)"),
            ("disconnected", "incomplete"),
            DeviceUnreachable,
            "connection dropped",
        ),
    ],
)
def test_transport_errors_become_device_errors(
    raised: Exception, dropped: tuple[str, ...], expected: type[DeviceError], words: str
) -> None:
    with pytest.raises(DeviceError) as info, transport_errors("the peer", dropped):
        raise raised
    assert type(info.value) is expected and words in str(info.value)
    assert info.value.__cause__ is raised


def test_device_errors_and_other_failures_pass_through() -> None:
    refused = DeviceUnreachable("already ours")
    with pytest.raises(DeviceUnreachable) as info, transport_errors("the peer"):
        raise refused
    assert info.value is refused
    with pytest.raises(KeyError), transport_errors("the peer"):
        raise KeyError("a bug, not the link")
