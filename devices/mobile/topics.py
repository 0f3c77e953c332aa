"""Every MQTT topic punchgate uses, defined once, with the parser that reads them back.

Native phones publish to ``<root>/punch/<employee_code>`` and hear receipts on
``<root>/ack/<employee_code>``; the service announces itself on ``<root>/status/<client_id>``.
OwnTracks phones publish to ``<owntracks>/<user>/<device>`` and ``…/event``. Both roots are
configurable so tests on a shared broker stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ROOT = "punchgate/v1"
DEFAULT_OWNTRACKS_ROOT = "owntracks"


@dataclass(frozen=True, slots=True)
class NativeTopic:
    """A native punch topic: the employee code comes from here, never from the payload."""

    employee_code: str


@dataclass(frozen=True, slots=True)
class OwnTracksTopic:
    """An OwnTracks publish topic: user and device from the path, `event` for transitions."""

    user: str
    device: str
    event: bool = False


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic layout under a pair of roots."""

    root: str = DEFAULT_ROOT
    owntracks_root: str = DEFAULT_OWNTRACKS_ROOT

    def punch(self, employee_code: str) -> str:
        """Where a phone publishes its native punches."""
        return f"{self.root}/punch/{employee_code}"

    def ack(self, employee_code: str) -> str:
        """Where the service answers a phone with receipts."""
        return f"{self.root}/ack/{employee_code}"

    def status(self, client_id: str) -> str:
        """The retained online/offline status of a consumer."""
        return f"{self.root}/status/{client_id}"

    def owntracks(self, user: str, device: str) -> str:
        """Where an OwnTracks phone publishes locations."""
        return f"{self.owntracks_root}/{user}/{device}"

    def owntracks_event(self, user: str, device: str) -> str:
        """Where an OwnTracks phone publishes region transitions."""
        return f"{self.owntracks_root}/{user}/{device}/event"

    def subscriptions(self) -> list[str]:
        """The filters the consumer subscribes to."""
        return [
            f"{self.root}/punch/+",
            f"{self.owntracks_root}/+/+",
            f"{self.owntracks_root}/+/+/event",
        ]

    def parse(self, topic: str) -> NativeTopic | OwnTracksTopic | None:
        """What a received topic names; None for topics that are not ours to read."""
        head = f"{self.root}/punch/"
        if topic.startswith(head):
            code = topic[len(head) :]
            return NativeTopic(code) if code and "/" not in code else None
        head = f"{self.owntracks_root}/"
        if topic.startswith(head):
            parts = topic[len(head) :].split("/")
            if len(parts) == 2 and all(parts):
                return OwnTracksTopic(parts[0], parts[1])
            if len(parts) == 3 and parts[2] == "event" and parts[0] and parts[1]:
                return OwnTracksTopic(parts[0], parts[1], event=True)
        return None
