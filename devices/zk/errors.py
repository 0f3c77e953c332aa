"""The project's device errors, and the one boundary that turns pyzk/socket errors into them.

DeviceError                      anything that went wrong talking to a terminal
├── DeviceUnreachable            no answer: refused, reset, unreachable host
│   └── DeviceTimeout            it stopped answering within the timeout
├── DeviceAuthError              it refused our comm key ("wrong comm key")
├── DeviceNotConnected           a command was sent outside a session
└── DeviceProtocolError          it answered, but not as the protocol says
    └── DeviceRefused            it answered a command with an error code
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from zk import exception as zk_exc


class DeviceError(Exception):
    """Talking to a device failed; the message is readable by an operator."""


class DeviceUnreachable(DeviceError):
    """The device did not answer (refused, reset, unreachable)."""


class DeviceTimeout(DeviceUnreachable):
    """The device stopped answering within the timeout."""


class DeviceAuthError(DeviceError):
    """The device refused the comm key."""


class DeviceNotConnected(DeviceError):
    """A command was sent without an open session."""


class DeviceProtocolError(DeviceError):
    """The device's answer did not follow the protocol (garbled, truncated, unexpected)."""


class DeviceRefused(DeviceProtocolError):
    """The device answered a command with an error code."""


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
