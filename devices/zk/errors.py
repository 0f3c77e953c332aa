"""The one boundary that turns pyzk and socket errors into the device errors.

The tree itself (`DeviceError` and its subclasses) lives in `devices.errors`, shared by every
kind of terminal; it is re-exported here for the ZK driver's callers. A wrong comm key
becomes `DeviceAuthError("wrong comm key")`.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from zk import exception as zk_exc

from devices.errors import (
    DeviceAuthError,
    DeviceError,
    DeviceNotConnected,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
)

__all__ = [
    "PYZK_ERRORS",
    "DeviceAuthError",
    "DeviceError",
    "DeviceNotConnected",
    "DeviceProtocolError",
    "DeviceRefused",
    "DeviceTimeout",
    "DeviceUnreachable",
    "map_errors",
]


# Every exception class pyzk defines, and what it becomes; a test checks none is missing.
PYZK_ERRORS: dict[type[Exception], type[DeviceError]] = {
    zk_exc.ZKErrorConnection: DeviceNotConnected,
    zk_exc.ZKErrorResponse: DeviceRefused,
    zk_exc.ZKNetworkError: DeviceUnreachable,
    zk_exc.ZKError: DeviceError,
}


def _classify(exc: BaseException) -> DeviceError | None:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, zk_exc.ZKErrorResponse) and "unauth" in text.lower():
        return DeviceAuthError("wrong comm key")
    if isinstance(exc, zk_exc.ZKNetworkError):
        lowered = text.lower()
        if "timed out" in lowered:
            return DeviceTimeout("timed out waiting for the device")
        if "packet invalid" in lowered or "unpack" in lowered:
            return DeviceProtocolError(f"garbled reply: {text}")
        if "refused" in lowered or "errno 32" in lowered or "broken pipe" in lowered:
            return DeviceUnreachable(f"connection refused: {text}")
        return DeviceUnreachable(f"network error: {text}")
    for cls in type(exc).__mro__:
        target = PYZK_ERRORS.get(cls)
        if target is not None:
            return target(text)
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeviceTimeout("timed out waiting for the device")
    if isinstance(exc, ConnectionRefusedError):
        return DeviceUnreachable(f"connection refused: {text}")
    if isinstance(exc, OSError):
        return DeviceUnreachable(f"network error: {text}")
    if isinstance(exc, struct.error | IndexError | ValueError | TypeError | UnicodeError):
        # pyzk unpacks replies without checking their length or code first.
        return DeviceProtocolError(f"garbled reply: {type(exc).__name__}: {text}")
    return None


@contextmanager
def map_errors() -> Iterator[None]:
    """Run pyzk calls, turning their and the socket layer's exceptions into DeviceError."""
    try:
        yield
    except DeviceError:
        raise
    except Exception as exc:
        mapped = _classify(exc)
        if mapped is None:
            raise
        raise mapped from exc
