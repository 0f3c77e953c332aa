"""One received MQTT message → a punch to store, input to quarantine, or nothing (ignored).

Identity comes from the topic (which the broker's ACL let the phone write to), never from
the payload. Dedupe keys come from the message itself: native punches by the phone's `id`,
OwnTracks by (user, device, tst, _id), so QoS 1 redeliveries and retained copies land once.

OwnTracks `first_last` sites: every location fix inside the fence is stored as its own
punch (keyed by the fix, so exactly-once like any other message); the first inside fix of
the local day is stored as `in`, every later one as `out`. Nothing is ever updated, so a
redelivery, a crash between commit and PUBACK, or a replay cannot change a stored punch;
the day's evaluation reads the earliest `in` and the latest `out`, which is "first fix
inside = in, last fix inside = out" whatever order the fixes arrived in (a late fix older
than the stored `in` is stored as an `in` too, and the earliest one wins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from collector.mqtt.directory import Directory, Person
from collector.mqtt.fences import SiteFence
from collector.normalize import RawPunch, zone
from collector.store.ingest import QuarantineItem
from devices.mobile.native import parse_native
from devices.mobile.owntracks import Ignored, OwnTracksLocation, parse_owntracks
from devices.mobile.topics import NativeTopic, OwnTracksTopic, Topics
from devices.mobile.wire import PayloadError
from rules.geofence import (
    CONTAINING,
    Fence,
    Fix,
    FixPolicy,
    GeoDecision,
    PreviousFix,
    PunchMode,
    decide,
)
from rules.vocabulary import PunchFlag, PunchState, SourceKind, VerifyMethod


@dataclass(slots=True)
class Inbound:
    """A message as the network thread received it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool = False
    response_topic: str | None = None
    correlation: bytes | None = None
    generation: int = 0  # which connection it came on; acks only go back on that one
    received: float = 0.0  # monotonic clock at arrival, for latency figures


@dataclass(slots=True)
class Handled:
    """What to store for a message and whom to answer."""

    item: RawPunch | QuarantineItem | None  # None: a message that is never a punch
    reply_to: list[str] = field(default_factory=list)
    ref_id: str | None = None
    decision: GeoDecision | None = None
    response_topic_refused: str | None = None  # why the phone's response topic is not used


log = logging.getLogger(__name__)

STATES = {
    "in": PunchState.IN,
    "out": PunchState.OUT,
    "break_out": PunchState.BREAK_OUT,
    "break_in": PunchState.BREAK_IN,
    "auto": PunchState.UNKNOWN,
}


class Decider:
    """Turns messages into punches using the directory and the fix policy."""

    def __init__(self, directory: Directory, topics: Topics, policy: FixPolicy) -> None:
        self.directory = directory
        self.topics = topics
        self.policy = policy

    def handle(self, msg: Inbound, conn: Connection, now: datetime) -> Handled:
        """Decide one message (never raises for bad input)."""
        where = self.topics.parse(msg.topic)
        if isinstance(where, NativeTopic):
            return self._native(msg, where, conn, now)
        if isinstance(where, OwnTracksTopic):
            return self._owntracks(msg, where, conn, now)
        # Not a topic we subscribe to (amqtt has been seen to deliver others' retained
        # messages): nobody sent it to us, so it is neither a punch nor bad phone input.
        log.debug("ignoring a message on %s, not a punch topic", msg.topic)
        return Handled(None)

    def quarantine(self, msg: Inbound, reason: str, device: str | None = None) -> QuarantineItem:
        """The message as a quarantine item with the reason."""
        return QuarantineItem(
            source_kind=SourceKind.MOBILE,
            reason=reason,
            raw=msg.payload.decode("utf-8", "replace"),
            device_code=device,
            reference=msg.topic,
            origin=msg.topic,  # the phone, as the broker's ACL knows it (bounds its floods)
        )

    def _native(self, msg: Inbound, where: NativeTopic, conn: Connection, now: datetime) -> Handled:
        code = where.employee_code
        reply, refused = self._reply_topics(msg, code)
        try:
            punch = parse_native(msg.payload, employee_code=code)
        except PayloadError as exc:
            bad = self.quarantine(msg, exc.reason)
            return Handled(bad, reply, exc.ref_id, response_topic_refused=refused)
        person = self.directory.person(code)
        if person is None:
            bad = self.quarantine(msg, f"no employee has code {code!r}")
            return Handled(bad, reply, punch.id, response_topic_refused=refused)
        fix = Fix(punch.lat, punch.lon, punch.acc, punch.ts, punch.mock, punch.bssid)
        previous = self.directory.previous_fix(conn, code, fix.taken_at)
        verdict = self.decide_punch(conn, person, fix, now=now, previous=previous)
        device = punch.device[:64] if punch.device else None
        if not verdict.accepted:
            return Handled(
                self.quarantine(msg, f"rejected: {verdict.reason}", device),
                reply,
                punch.id,
                verdict,
                response_topic_refused=refused,
            )
        raw = self._punch(msg, person, fix, verdict, STATES[punch.kind], f"n:{punch.id}", device)
        return Handled(raw, reply, punch.id, verdict, response_topic_refused=refused)

    def decide_punch(
        self,
        conn: Connection,
        person: Person,
        fix: Fix,
        *,
        now: datetime,
        previous: PreviousFix | None,
    ) -> GeoDecision:
        """The one verdict on a phone punch (MQTT and the app's punches and preview alike)."""
        verdict = decide(fix, self._fences(), now=now, policy=self.policy, previous=previous)
        if verdict.decision in CONTAINING or verdict.site_code is None:
            return verdict
        # Outside every fence: on a trip or field-work day anywhere will do, flagged as such.
        day = fix.taken_at.astimezone(zone(person.timezone)).date()
        away = self.directory.away_reason(conn, person.code, day)
        if away is None:
            return verdict
        return decide(
            fix, self._fences(), now=now, policy=self.policy, previous=previous, anywhere=away
        )

    def _reply_topics(self, msg: Inbound, code: str) -> tuple[list[str], str | None]:
        """Where a native punch's receipt goes, and why its response topic is refused."""
        reply = [self.topics.ack(code)]
        if msg.response_topic is None:
            return reply, None
        problem = self.topics.reply_refusal(msg.response_topic, code)
        if problem is None:
            reply.append(msg.response_topic)
            return reply, None
        # The punch is still stored and answered on the ack topic, which says why.
        log.warning(
            "refusing response topic %r of a message on %s: it %s",
            msg.response_topic[:120],
            msg.topic,
            problem,
        )
        return reply, f"response topic {problem}"

    def _owntracks(
        self, msg: Inbound, where: OwnTracksTopic, conn: Connection, now: datetime
    ) -> Handled:
        device = where.device[:64]
        try:
            parsed = parse_owntracks(msg.payload, topic=msg.topic)
        except PayloadError as exc:
            return Handled(self.quarantine(msg, exc.reason, device))
        if isinstance(parsed, Ignored):
            return Handled(None)
        person = self.directory.owntracks_person(where.user)
        if person is None:
            return Handled(
                self.quarantine(msg, f"no employee has OwnTracks user {where.user!r}", device)
            )
        fix = Fix(parsed.lat, parsed.lon, parsed.acc, parsed.taken_at, False, None)
        ident = f"{where.user}/{where.device}/{parsed.tst}"
        if isinstance(parsed, OwnTracksLocation):
            fix = Fix(parsed.lat, parsed.lon, parsed.acc, parsed.taken_at, False, parsed.bssid)
            return self._location(msg, person, fix, f"otl:{ident}/{parsed.id_ or ''}", conn, now)
        site = self.directory.site_for_region(parsed.desc)
        if site is None:  # a private region (home, gym…): not a work event
            return Handled(None)
        previous = self.directory.previous_fix(conn, person.code, fix.taken_at)
        verdict = decide(
            fix,
            [site.fence],
            now=now,
            policy=self.policy,
            previous=previous,
            require_inside=parsed.event == "enter",
        )
        if not verdict.accepted:
            return Handled(
                self.quarantine(msg, f"rejected: {verdict.reason}", device), decision=verdict
            )
        if verdict.site_code is None:
            verdict = GeoDecision(
                True,
                verdict.decision,
                verdict.reason,
                site.fence.site_code,
                verdict.distance_m,
                verdict.flags,
            )
        state = PunchState.IN if parsed.event == "enter" else PunchState.OUT
        ref = f"ott:{ident}/{parsed.event}/{site.fence.site_code}"
        return Handled(self._punch(msg, person, fix, verdict, state, ref, device), decision=verdict)

    def _location(
        self, msg: Inbound, person: Person, fix: Fix, ref: str, conn: Connection, now: datetime
    ) -> Handled:
        modes = [s for s in self.directory.sites if s.fence.punch_mode is PunchMode.FIRST_LAST]
        if not modes:
            return Handled(None)
        previous = self.directory.previous_fix(conn, person.code, fix.taken_at)
        verdict = decide(
            fix, [s.fence for s in modes], now=now, policy=self.policy, previous=previous
        )
        if not verdict.accepted or verdict.decision not in CONTAINING or not verdict.site_code:
            return Handled(None)  # a fix away from work is not a punch attempt
        site = self.directory.site(verdict.site_code)
        assert site is not None
        day = fix.taken_at.astimezone(zone(site.timezone)).date()
        earlier = self.directory.earliest_inside(
            conn, person.code, verdict.site_code, day, fix.taken_at
        )
        self.directory.note_inside(person.code, verdict.site_code, day, fix.taken_at)
        state = PunchState.OUT if earlier else PunchState.IN
        return Handled(
            self._punch(msg, person, fix, verdict, state, ref, msg.topic.split("/")[-1][:64]),
            decision=verdict,
        )

    def _fences(self) -> list[Fence]:
        return [s.fence for s in self.directory.sites]

    def _punch(
        self,
        msg: Inbound,
        person: Person,
        fix: Fix,
        verdict: GeoDecision,
        state: PunchState,
        ref: str,
        device: str | None,
    ) -> RawPunch:
        site: SiteFence | None = (
            self.directory.site(verdict.site_code) if verdict.site_code else None
        )
        self.directory.remember_fix(
            person.code, PreviousFix(fix.lat, fix.lon, fix.accuracy_m, fix.taken_at)
        )
        return RawPunch(
            employee_code=person.code,
            timestamp=fix.taken_at,
            source_kind=SourceKind.MOBILE,
            tz=site.timezone if site else person.timezone,
            device_code=device,
            verify=VerifyMethod.GPS,
            state=state,
            lat=fix.lat,
            lon=fix.lon,
            accuracy_m=fix.accuracy_m,
            site_code=verdict.site_code,
            distance_m=None if verdict.distance_m is None else round(verdict.distance_m, 1),
            geo_decision=verdict.decision.value,
            flags=int(verdict.flags),
            source_ref=ref[:200],
            raw=msg.payload.decode("utf-8", "replace"),
        )


def flag_names(flags: int) -> list[str]:
    """Flag names for a receipt (most punches have none: skip the enum walk)."""
    return PunchFlag.names_of(flags) if flags else []
