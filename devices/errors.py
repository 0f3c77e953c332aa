"""The project's device errors, shared by every kind of terminal.

DeviceError                      anything that went wrong talking to a terminal
├── DeviceUnreachable            no answer: refused, reset, unreachable host
│   └── DeviceTimeout            it stopped answering within the timeout
├── DeviceAuthError              it refused our credentials (comm key, user and password)
├── DeviceNotConnected           a command was sent outside a session
└── DeviceProtocolError          it answered, but not as the protocol says
    └── DeviceRefused            it answered a command with an error code

Each protocol translates its library's exceptions into these at one boundary
(`devices.zk.errors.map_errors`, `devices.hikvision.client`).
"""

from __future__ import annotations


class DeviceError(Exception):
    """Talking to a device failed; the message is readable by an operator."""


class DeviceUnreachable(DeviceError):
    """The device did not answer (refused, reset, unreachable)."""


class DeviceTimeout(DeviceUnreachable):
    """The device stopped answering within the timeout."""


class DeviceAuthError(DeviceError):
    """The device refused our credentials."""


class DeviceNotConnected(DeviceError):
    """A command was sent without an open session."""


class DeviceProtocolError(DeviceError):
    """The device's answer did not follow the protocol (garbled, truncated, unexpected)."""


class DeviceRefused(DeviceProtocolError):
    """The device answered a command with an error code."""
