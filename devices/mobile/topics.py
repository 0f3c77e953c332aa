"""Every MQTT topic punchgate uses, defined once, with the parser that reads them back.

Native phones publish to ``<root>/punch/<employee_code>`` and hear receipts on
``<root>/ack/<employee_code>``; the service announces itself on ``<root>/status/<client_id>``.
An MQTT 5 phone may also name a response topic, answered only when it lies in its own
``<root>/replies/<employee_code>`` namespace (`Topics.reply_refusal`).
OwnTracks phones publish to ``<owntracks>/<user>/<device>`` and ``…/event``. Both roots are
configurable so tests on a shared broker stay apart.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

DEFAULT_ROOT = "punchgate/v1"
DEFAULT_OWNTRACKS_ROOT = "owntracks"
# A response topic longer than this is refused: phones name short private topics, and
# the service should not spend bandwidth on what is sent back to a stranger's choosing.
MAX_REPLY_TOPIC_BYTES = 256


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

    def replies(self, employee_code: str) -> str:
        """The namespace under which a phone's MQTT 5 response topics must lie."""
        return f"{self.root}/replies/{employee_code}"

    def reply_refusal(self, topic: str, employee_code: str) -> str | None:
        """Why `topic` may not carry receipts to `employee_code` (None when it may).

        The response topic is chosen by the phone, so it must not let a phone make the
        service publish where the phone itself could not (the broker's ACL gives each phone
        ``<root>/replies/<its code>/#``): not onto another employee's topics, not onto the
        service's own, not onto a wildcard or a ``$`` topic paho or the broker would refuse.
        """
        try:
            size = len(topic.encode("utf-8"))
        except UnicodeEncodeError:
            return "is not valid UTF-8"
        if size == 0:
            return "is empty"
        if size > MAX_REPLY_TOPIC_BYTES:
            return f"is longer than {MAX_REPLY_TOPIC_BYTES} bytes"
        if any(unicodedata.category(c) == "Cc" or c == "\ufeff" for c in topic):
            return "contains control characters"
        if "+" in topic or "#" in topic:
            return "contains a wildcard"
        if topic.startswith("$"):
            return "starts with $ (reserved for the broker)"
        own = self.replies(employee_code)
        if topic != own and not topic.startswith(f"{own}/"):
            return f"is not under {own}/"
        return None

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
