"""One boundary maps every pyzk and socket exception into the DeviceError tree."""

from __future__ import annotations

import struct

import pytest
from zk import exception as zk_exc

from devices.zk import errors as e


def _pyzk_exception_classes() -> list[type[Exception]]:
    return [
        obj
        for obj in vars(zk_exc).values()
        if isinstance(obj, type)
        and issubclass(obj, Exception)
        and obj.__module__ == zk_exc.__name__
    ]


def test_every_pyzk_exception_class_is_mapped():
    classes = _pyzk_exception_classes()
    assert classes, "pyzk's exception module defines no exceptions?"
    missing = [c.__name__ for c in classes if c not in e.PYZK_ERRORS]
    assert missing == []


@pytest.mark.parametrize("cls", _pyzk_exception_classes())
def test_each_pyzk_exception_becomes_a_device_error_with_cause(cls):
    original = cls("something")
    with pytest.raises(e.DeviceError) as info, e.map_errors():
        raise original
    assert info.value.__cause__ is original
    assert isinstance(info.value, e.PYZK_ERRORS[cls])


@pytest.mark.parametrize(
    ("exc", "expected", "message"),
    [
        (zk_exc.ZKErrorResponse("Unauthenticated"), e.DeviceAuthError, "wrong comm key"),
        (zk_exc.ZKNetworkError("timed out"), e.DeviceTimeout, "timed out"),
        (zk_exc.ZKNetworkError("TCP packet invalid"), e.DeviceProtocolError, "garbled"),
        (zk_exc.ZKNetworkError("[Errno 32] Broken pipe"), e.DeviceUnreachable, "refused"),
        (TimeoutError("timed out"), e.DeviceTimeout, "timed out"),
        (ConnectionResetError("reset"), e.DeviceUnreachable, "network error"),
        (struct.error("unpack requires a buffer"), e.DeviceProtocolError, "garbled"),
    ],
)
def test_specific_mappings(exc, expected, message):
    with pytest.raises(expected, match=message) as info, e.map_errors():
        raise exc
    assert info.value.__cause__ is exc


def test_unrelated_exceptions_pass_through():
    with pytest.raises(KeyError), e.map_errors():
        raise KeyError("ours")
