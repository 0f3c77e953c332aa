"""Is this phone at a work site? Fence tiers, site choice and spoofing flags (pure).

Per site, a fix falls in one tier (d = metres from the centre for a circle, metres
outside the outline for a polygon; r = radius, or the polygon's margin):

- `bssid`: the phone sees a Wi-Fi access point on the site's allow-list (presence proven
  without GPS; flagged BSSID_PROOF);
- too inaccurate: `acc` above the site's maximum;
- `inside`: d ≤ r;
- `low_accuracy`: d − acc ≤ r (inside only thanks to the accuracy radius; flagged);
- `outside`: otherwise.

The nearest containing site wins; with none, the nearest site's `outside` setting rejects
the punch or accepts it flagged OUTSIDE_FENCE. Travel speed, repeated coordinates, future
and late timestamps add flags; a fix older than the maximum age is rejected.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rules.geo import Polygon, centroid, distance_outside_m, haversine_m
from rules.vocabulary import PunchFlag


class Outside(enum.StrEnum):
    """What happens to a punch outside every fence."""

    REJECT = "reject"
    FLAG = "flag"  # accept it, flagged for HR review


class PunchMode(enum.StrEnum):
    """Which OwnTracks messages punch at a site."""

    TRANSITIONS = "transitions"  # only region enter/leave events
    FIRST_LAST = "first_last"  # also location fixes: first inside = in, last inside = out


class Tier(enum.StrEnum):
    """Where a fix stands relative to one site (also the punch's stored decision)."""

    BSSID = "bssid"
    INSIDE = "inside"
    LOW_ACCURACY = "low_accuracy"
    OUTSIDE = "outside"
    INACCURATE = "inaccurate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Fence:
    """A site's fence and the policy HR chose for it."""

    site_code: str
    lat: float | None = None  # circle centre
    lon: float | None = None
    radius_m: float = 0.0  # circle radius, or margin around a polygon
    polygons: tuple[Polygon, ...] = ()  # when set, the fence is the polygon(s)
    max_accuracy_m: float = 150.0  # fixes vaguer than this are rejected
    outside: Outside = Outside.FLAG  # reject, or accept flagged, outside the fence
    punch_mode: PunchMode = PunchMode.TRANSITIONS  # which OwnTracks messages punch
    bssids: frozenset[str] = field(default_factory=frozenset)  # Wi-Fi that proves presence


@dataclass(frozen=True, slots=True)
class Fix:
    """One position a phone reported."""

    lat: float
    lon: float
    accuracy_m: float
    taken_at: datetime
    mock: bool = False
    bssid: str | None = None


@dataclass(frozen=True, slots=True)
class PreviousFix:
    """The employee's latest stored fix before this one."""

    lat: float
    lon: float
    accuracy_m: float
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class FixPolicy:
    """Tolerances for phone fixes."""

    max_speed_kmh: float = 300.0  # faster travel from the previous fix is flagged
    future_tolerance: timedelta = timedelta(minutes=5)  # later than now by more is flagged
    late_after: timedelta = timedelta(minutes=15)  # delivered later than this is flagged
    max_age: timedelta = timedelta(days=35)  # older fixes are rejected


@dataclass(frozen=True, slots=True)
class Placement:
    """A fix measured against one site."""

    site_code: str
    tier: Tier
    distance_m: float  # metres from the centre (circle) or outside the outline (polygon)
    rank_m: float  # metres from the site's centre, to pick among overlapping sites


@dataclass(frozen=True, slots=True)
class GeoDecision:
    """The verdict on one fix: accepted or not, where, how far, why, and flags."""

    accepted: bool
    decision: Tier
    reason: str
    site_code: str | None
    distance_m: float | None
    flags: PunchFlag


CONTAINING = (Tier.INSIDE, Tier.LOW_ACCURACY, Tier.BSSID)


def place(fix: Fix, fence: Fence) -> Placement:
    """Measure a fix against one fence."""
    if fence.polygons:
        d = distance_outside_m(fence.polygons, fix.lat, fix.lon)
        clat, clon = (
            (fence.lat, fence.lon)
            if fence.lat is not None and fence.lon is not None
            else centroid(fence.polygons)
        )
        rank = haversine_m(fix.lat, fix.lon, clat, clon)
    elif fence.lat is not None and fence.lon is not None:
        d = rank = haversine_m(fix.lat, fix.lon, fence.lat, fence.lon)
    else:
        return Placement(fence.site_code, Tier.OUTSIDE, float("inf"), float("inf"))
    r = fence.radius_m
    if fix.bssid is not None and fix.bssid in fence.bssids:
        tier = Tier.BSSID
    elif fix.accuracy_m > fence.max_accuracy_m:
        tier = Tier.INACCURATE
    elif d <= r:
        tier = Tier.INSIDE
    elif d - fix.accuracy_m <= r:
        tier = Tier.LOW_ACCURACY
    else:
        tier = Tier.OUTSIDE
    return Placement(fence.site_code, tier, d, rank)


def travel_flags(fix: Fix, previous: PreviousFix | None, policy: FixPolicy) -> PunchFlag:
    """Impossible speed and repeated coordinates against the previous fix."""
    if previous is None:
        return PunchFlag.NONE
    flags = PunchFlag.NONE
    if fix.lat == previous.lat and fix.lon == previous.lon:
        flags |= PunchFlag.REPEATED_COORDINATES
    # Both fixes may be off by their accuracy; only the distance beyond that is travel.
    travel = haversine_m(fix.lat, fix.lon, previous.lat, previous.lon)
    travel -= fix.accuracy_m + previous.accuracy_m
    seconds = abs((fix.taken_at - previous.taken_at).total_seconds())
    if travel > 0 and travel > policy.max_speed_kmh / 3.6 * max(seconds, 1.0):
        flags |= PunchFlag.IMPOSSIBLE_SPEED
    return flags


def timing(fix: Fix, *, now: datetime, policy: FixPolicy) -> tuple[PunchFlag, str | None]:
    """Flags for a fix's age, and a rejection reason when it is too old to take."""
    age = now - fix.taken_at
    if age > policy.max_age:
        return PunchFlag.NONE, f"fix is {age.days} days old (maximum {policy.max_age.days})"
    if -age > policy.future_tolerance:
        return PunchFlag.FUTURE_TIMESTAMP, None
    if age > policy.late_after:
        return PunchFlag.LATE_DELIVERY, None
    return PunchFlag.NONE, None


def decide(
    fix: Fix,
    fences: tuple[Fence, ...] | list[Fence],
    *,
    now: datetime,
    policy: FixPolicy,
    previous: PreviousFix | None = None,
    require_inside: bool = True,
    anywhere: str | None = None,
) -> GeoDecision:
    """Decide a fix against the sites; `require_inside=False` measures without rejecting.

    `anywhere` names why the employee may punch away from every site today (a business
    trip, field work): a fix outside the fences, or too inaccurate to place, is then
    accepted, flagged OUTSIDE_FENCE and TRIP_DAY, with that reason.
    """
    flags, too_old = timing(fix, now=now, policy=policy)
    flags |= travel_flags(fix, previous, policy)
    if fix.mock:
        flags |= PunchFlag.MOCK_LOCATION
    placements = [place(fix, f) for f in fences]
    by_code = {f.site_code: f for f in fences}
    if too_old is not None:
        return GeoDecision(False, Tier.REJECTED, too_old, None, None, flags)
    containing = [p for p in placements if p.tier in CONTAINING]
    if containing:
        best = min(containing, key=lambda p: p.rank_m)
        if best.tier is Tier.LOW_ACCURACY:
            flags |= PunchFlag.LOW_ACCURACY
        elif best.tier is Tier.BSSID:
            flags |= PunchFlag.BSSID_PROOF
        reason = {
            Tier.INSIDE: "inside the fence",
            Tier.LOW_ACCURACY: "inside only within the accuracy radius",
            Tier.BSSID: "presence proven by an allowed Wi-Fi BSSID",
        }[best.tier]
        return GeoDecision(True, best.tier, reason, best.site_code, best.distance_m, flags)
    if not placements:
        flags |= PunchFlag.OUTSIDE_FENCE
        return GeoDecision(True, Tier.OUTSIDE, "no work site has a fence", None, None, flags)
    nearest = min(placements, key=lambda p: p.distance_m - by_code[p.site_code].radius_m)
    fence = by_code[nearest.site_code]
    if not require_inside:  # e.g. leaving the site: being outside is the point
        return GeoDecision(
            True, nearest.tier, "measured only", nearest.site_code, nearest.distance_m, flags
        )
    if nearest.tier is Tier.INACCURATE:
        reason = (
            f"accuracy {fix.accuracy_m:.0f} m above the site maximum {fence.max_accuracy_m:.0f} m"
        )
        if anywhere is None:
            return GeoDecision(
                False, Tier.REJECTED, reason, fence.site_code, nearest.distance_m, flags
            )
    else:
        reason = f"{nearest.distance_m - fence.radius_m:.0f} m outside the fence"
    if anywhere is not None:
        flags |= PunchFlag.OUTSIDE_FENCE | PunchFlag.TRIP_DAY
        reason = f"{reason}; accepted: {anywhere}"
        return GeoDecision(True, Tier.OUTSIDE, reason, fence.site_code, nearest.distance_m, flags)
    if fence.outside is Outside.REJECT:
        return GeoDecision(False, Tier.REJECTED, reason, fence.site_code, nearest.distance_m, flags)
    flags |= PunchFlag.OUTSIDE_FENCE
    return GeoDecision(True, Tier.OUTSIDE, reason, fence.site_code, nearest.distance_m, flags)
