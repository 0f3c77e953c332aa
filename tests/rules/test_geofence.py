"""Geofence decisions: circle and polygon tiers, edges, site choice, spoofing and timing flags."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from geopy.distance import geodesic, great_circle

from rules.geo import EARTH_RADIUS_M, haversine_m, parse_geojson, polygon_contains
from rules.geofence import Fence, Fix, FixPolicy, Outside, PreviousFix, Tier, decide, place
from rules.vocabulary import PunchFlag

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = FixPolicy()
HQ = (52.52, 13.405)


def north(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + math.degrees(metres / EARTH_RADIUS_M), lon


def east(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat, lon + math.degrees(metres / (EARTH_RADIUS_M * math.cos(math.radians(lat))))


def fix(lat: float, lon: float, acc: float = 5.0, **kw) -> Fix:
    kw.setdefault("taken_at", NOW - timedelta(seconds=30))
    return Fix(lat, lon, acc, **kw)


CIRCLE = Fence("hq", lat=HQ[0], lon=HQ[1], radius_m=150, max_accuracy_m=100)


@pytest.mark.parametrize(
    ("metres", "acc", "tier"),
    [
        (0, 5, Tier.INSIDE),
        (149, 5, Tier.INSIDE),
        (149, 99, Tier.INSIDE),
        (160, 5, Tier.OUTSIDE),
        (159.9, 10, Tier.LOW_ACCURACY),  # d - acc <= r: inside only within the accuracy
        (160.1, 10, Tier.OUTSIDE),
        (240, 95, Tier.LOW_ACCURACY),
        (260, 95, Tier.OUTSIDE),
        (10, 101, Tier.INACCURATE),
        (10, 100, Tier.INSIDE),
    ],
)
def test_circle_tiers(metres, acc, tier):
    assert place(fix(*north(*HQ, metres), acc=acc), CIRCLE).tier is tier


def test_point_on_the_circle_counts_as_inside():
    point = east(*HQ, 150)
    edge = Fence("hq", lat=HQ[0], lon=HQ[1], radius_m=haversine_m(*HQ, *point))
    assert place(fix(*point, acc=0), edge).tier is Tier.INSIDE
    assert place(fix(*east(*HQ, 150.05), acc=0), edge).tier is Tier.OUTSIDE


def test_haversine_is_geopys_great_circle_and_within_half_a_percent_of_the_geodesic():
    for metres in (1, 20, 150, 500, 2000, 50_000):
        p = north(*east(*HQ, metres), metres)
        assert haversine_m(*HQ, *p) == pytest.approx(great_circle(HQ, p).meters, rel=1e-9)
        exact = geodesic(HQ, p).meters
        assert abs(haversine_m(*HQ, *p) - exact) / exact < 0.005


# A 0.01° square (≈ 680 × 1110 m) with a 0.002° square hole in the middle.
SQUARE: dict[str, object] = {
    "type": "Polygon",
    "coordinates": [
        [[13.40, 52.51], [13.41, 52.51], [13.41, 52.52], [13.40, 52.52], [13.40, 52.51]],
        [[13.404, 52.514], [13.406, 52.514], [13.406, 52.516], [13.404, 52.516], [13.404, 52.514]],
    ],
}
POLY = Fence("yard", polygons=parse_geojson(SQUARE), max_accuracy_m=100)


@pytest.mark.parametrize(
    ("lat", "lon", "acc", "tier"),
    [
        (52.512, 13.402, 5, Tier.INSIDE),
        (52.515, 13.405, 5, Tier.OUTSIDE),  # in the hole (≈ 70 m from its edges)
        (52.515, 13.405, 80, Tier.LOW_ACCURACY),  # the hole's edge is within accuracy
        (52.52, 13.405, 0, Tier.INSIDE),  # on the outer edge
        (52.51, 13.40, 0, Tier.INSIDE),  # on a vertex
        (52.514, 13.405, 0, Tier.INSIDE),  # on the hole's edge
        (52.5205, 13.405, 0, Tier.OUTSIDE),  # ≈ 56 m north of the edge
        (52.5205, 13.405, 60, Tier.LOW_ACCURACY),
        (52.5205, 13.405, 50, Tier.OUTSIDE),
        (52.512, 13.402, 150, Tier.INACCURATE),
    ],
)
def test_polygon_tiers(lat, lon, acc, tier):
    assert place(fix(lat, lon, acc=acc), POLY).tier is tier


def test_multipolygon_and_feature_and_margin():
    doc: dict[str, object] = {
        "type": "Feature",
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [
                SQUARE["coordinates"],
                [[[13.50, 52.50], [13.51, 52.50], [13.51, 52.51], [13.50, 52.50]]],
            ],
        },
    }
    polys = parse_geojson(doc)
    assert len(polys) == 2
    assert place(fix(52.503, 13.508, acc=0), Fence("m", polygons=polys)).tier is Tier.INSIDE
    assert not polygon_contains(polys[1], 52.509, 13.501)
    margin = Fence("m", polygons=polys, radius_m=60)
    assert place(fix(52.5205, 13.405, acc=0), margin).tier is Tier.INSIDE


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "Point", "coordinates": [13.4, 52.5]},
        {"type": "Polygon", "coordinates": [[[13.4, 52.5], [13.5, 52.5], [13.4, 52.5]]]},
        {"type": "Polygon", "coordinates": [[[13.4, 95], [13.5, 52.5], [13.4, 52.6], [13.4, 95]]]},
    ],
)
def test_invalid_geojson_is_refused(bad):
    with pytest.raises(ValueError):
        parse_geojson(bad)


def test_nearest_containing_site_wins():
    a = Fence("a", lat=HQ[0], lon=HQ[1], radius_m=300)
    b_centre = east(*HQ, 200)
    b = Fence("b", lat=b_centre[0], lon=b_centre[1], radius_m=300)
    near_b = east(*HQ, 150 + 10)
    verdict = decide(fix(*near_b), [a, b], now=NOW, policy=POLICY)
    assert (verdict.accepted, verdict.site_code, verdict.decision) == (True, "b", Tier.INSIDE)
    assert verdict.distance_m == pytest.approx(40, abs=0.5)
    near_a = east(*HQ, 90)
    assert decide(fix(*near_a), [a, b], now=NOW, policy=POLICY).site_code == "a"


def test_outside_is_flagged_or_rejected_by_the_nearest_site():
    flag = Fence("flag", lat=HQ[0], lon=HQ[1], radius_m=100, outside=Outside.FLAG)
    far = north(*HQ, 400)
    verdict = decide(fix(*far), [flag], now=NOW, policy=POLICY)
    assert verdict.accepted and verdict.flags == PunchFlag.OUTSIDE_FENCE
    assert verdict.reason == "300 m outside the fence"
    reject = Fence("rej", lat=HQ[0], lon=HQ[1], radius_m=100, outside=Outside.REJECT)
    verdict = decide(fix(*far), [reject], now=NOW, policy=POLICY)
    assert not verdict.accepted and verdict.decision is Tier.REJECTED
    assert verdict.site_code == "rej"
    measured = decide(fix(*far), [reject], now=NOW, policy=POLICY, require_inside=False)
    assert measured.accepted and measured.flags == PunchFlag.NONE
    assert measured.decision is Tier.OUTSIDE and measured.distance_m == pytest.approx(400)


def test_too_inaccurate_is_rejected_with_reason():
    verdict = decide(fix(*HQ, acc=250), [CIRCLE], now=NOW, policy=POLICY)
    assert not verdict.accepted
    assert verdict.reason == "accuracy 250 m above the site maximum 100 m"


def test_bssid_proves_presence_even_outside_or_inaccurate():
    fence = Fence(
        "hq",
        lat=HQ[0],
        lon=HQ[1],
        radius_m=100,
        bssids=frozenset({"aa:bb"}),
        outside=Outside.REJECT,
    )
    verdict = decide(fix(*north(*HQ, 900), acc=400, bssid="aa:bb"), [fence], now=NOW, policy=POLICY)
    assert (verdict.accepted, verdict.decision) == (True, Tier.BSSID)
    assert verdict.flags == PunchFlag.BSSID_PROOF
    other = decide(fix(*north(*HQ, 900), bssid="cc:dd"), [fence], now=NOW, policy=POLICY)
    assert not other.accepted


def test_mock_location_is_flagged_not_dropped():
    verdict = decide(fix(*HQ, mock=True), [CIRCLE], now=NOW, policy=POLICY)
    assert verdict.accepted and verdict.flags == PunchFlag.MOCK_LOCATION


def test_impossible_speed_is_flagged():
    taken = NOW - timedelta(seconds=30)
    berlin_a_minute_ago = PreviousFix(*north(*HQ, 50_000), 10, taken - timedelta(minutes=1))
    verdict = decide(
        fix(*HQ, taken_at=taken), [CIRCLE], now=NOW, policy=POLICY, previous=berlin_a_minute_ago
    )
    assert verdict.flags == PunchFlag.IMPOSSIBLE_SPEED
    an_hour_ago = PreviousFix(*north(*HQ, 50_000), 10, taken - timedelta(hours=1))
    assert (
        decide(
            fix(*HQ, taken_at=taken), [CIRCLE], now=NOW, policy=POLICY, previous=an_hour_ago
        ).flags
        == PunchFlag.NONE
    )
    # Jitter within both fixes' accuracy is not travel, however short the interval.
    jitter = PreviousFix(*north(*HQ, 12), 10, taken)
    assert (
        decide(fix(*HQ, taken_at=taken), [CIRCLE], now=NOW, policy=POLICY, previous=jitter).flags
        == PunchFlag.NONE
    )


def test_repeated_coordinates_are_flagged():
    taken = NOW - timedelta(seconds=30)
    same = PreviousFix(HQ[0], HQ[1], 5, taken - timedelta(hours=9))
    verdict = decide(fix(*HQ, taken_at=taken), [CIRCLE], now=NOW, policy=POLICY, previous=same)
    assert verdict.flags == PunchFlag.REPEATED_COORDINATES
    moved = PreviousFix(HQ[0] + 1e-7, HQ[1], 5, taken - timedelta(hours=9))
    assert (
        decide(fix(*HQ, taken_at=taken), [CIRCLE], now=NOW, policy=POLICY, previous=moved).flags
        == PunchFlag.NONE
    )


@pytest.mark.parametrize(
    ("age", "accepted", "flags"),
    [
        (timedelta(minutes=-4), True, PunchFlag.NONE),
        (timedelta(minutes=-6), True, PunchFlag.FUTURE_TIMESTAMP),
        (timedelta(minutes=14), True, PunchFlag.NONE),
        (timedelta(minutes=16), True, PunchFlag.LATE_DELIVERY),
        (timedelta(days=34), True, PunchFlag.LATE_DELIVERY),
        (timedelta(days=36), False, PunchFlag.NONE),
    ],
)
def test_timing(age, accepted, flags):
    verdict = decide(fix(*HQ, taken_at=NOW - age), [CIRCLE], now=NOW, policy=POLICY)
    assert (verdict.accepted, verdict.flags) == (accepted, flags)
    if not accepted:
        assert verdict.reason == "fix is 36 days old (maximum 35)"


def test_no_fences_accepts_flagged():
    verdict = decide(fix(*HQ), [], now=NOW, policy=POLICY)
    assert verdict.accepted and verdict.site_code is None
    assert verdict.flags == PunchFlag.OUTSIDE_FENCE


def test_on_a_trip_day_outside_and_inaccurate_fixes_are_accepted_with_the_reason():
    reject = Fence("rej", lat=HQ[0], lon=HQ[1], radius_m=100, outside=Outside.REJECT)
    trip = "business trip on 2026-11-27"
    far = decide(fix(*north(*HQ, 400)), [reject], now=NOW, policy=POLICY, anywhere=trip)
    assert far.accepted and far.decision is Tier.OUTSIDE
    assert far.flags == PunchFlag.OUTSIDE_FENCE | PunchFlag.TRIP_DAY
    assert far.reason == f"300 m outside the fence; accepted: {trip}"
    fuzzy = decide(fix(*HQ, acc=250), [CIRCLE], now=NOW, policy=POLICY, anywhere=trip)
    assert fuzzy.accepted and fuzzy.reason.endswith(f"; accepted: {trip}")
    inside = decide(fix(*HQ), [reject], now=NOW, policy=POLICY, anywhere=trip)
    assert inside.decision is Tier.INSIDE and inside.reason == "inside the fence"
