"""An emulator of ZK terminals speaking the real binary protocol on real TCP and UDP sockets."""

from devices.zk.emulator.server import EmulatorHost
from devices.zk.emulator.terminal import ClientConnection, Faults, Terminal, TerminalSpec

__all__ = ["ClientConnection", "EmulatorHost", "Faults", "Terminal", "TerminalSpec"]
