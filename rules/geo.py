"""Distances on the earth and point-in-polygon for GeoJSON fences (pure).

Distances are great-circle metres on geopy's sphere (`geopy.distance.EARTH_RADIUS`), by the
haversine formula written out here: it gives what `geopy.distance.great_circle` gives (to
1e-9), within 0.5 % of the WGS-84 geodesic at fence distances, far below GPS error (the
tests check both against geopy). It is written out rather than called for speed, measured
by bench/bench_rules.py (three runs on the shared 2-core machine): a fence decision (one
site and the previous fix, two distances) took 11–16 µs of CPU with it, 30–51 µs with
`great_circle` (geopy builds two `Point`s per call) and 230–255 µs with `geodesic`, while
the MQTT ingest process spends 70–110 µs per punch in all (bench/bench_mqtt.py). geopy's
sphere would add a fifth to a third to every phone punch and its geodesic more than double
it, for decisions that would not change.

Polygons are GeoJSON: rings of (lon, lat); the first ring of each polygon is its outline
and the others are holes.
"""

from __future__ import annotations

import math

from geopy.distance import EARTH_RADIUS

EARTH_RADIUS_M: float = float(EARTH_RADIUS) * 1000  # geopy's mean radius, in metres
EDGE_TOLERANCE_M = 0.01  # a point this close to an edge counts as on it, hence inside

Point = tuple[float, float]  # (lon, lat), GeoJSON order
Ring = tuple[Point, ...]
Polygon = tuple[Ring, ...]  # outline first, then holes


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (geopy's `great_circle`, without its `Point`s)."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _ring_contains(ring: Ring, x: float, y: float) -> bool:
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygon_contains(polygon: Polygon, lat: float, lon: float) -> bool:
    """Even-odd test over the outline and holes (edges are decided by `distance_to_edge_m`)."""
    if not polygon or not _ring_contains(polygon[0], lon, lat):
        return False
    return not any(_ring_contains(hole, lon, lat) for hole in polygon[1:])


def distance_to_edge_m(polygon: Polygon, lat: float, lon: float) -> float:
    """Shortest distance in metres from the point to any ring of the polygon."""
    # A local flat projection centred on the point: exact enough across an office fence.
    ky = math.radians(1.0) * EARTH_RADIUS_M
    kx = ky * math.cos(math.radians(lat))
    best = math.inf
    for ring in polygon:
        n = len(ring)
        for i in range(n):
            ax, ay = (ring[i - 1][0] - lon) * kx, (ring[i - 1][1] - lat) * ky
            bx, by = (ring[i][0] - lon) * kx, (ring[i][1] - lat) * ky
            dx, dy = bx - ax, by - ay
            span = dx * dx + dy * dy
            t = 0.0 if span == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / span))
            px, py = ax + t * dx, ay + t * dy
            best = min(best, math.hypot(px, py))
    return best


def distance_outside_m(polygons: tuple[Polygon, ...], lat: float, lon: float) -> float:
    """0 when the point is inside (or on the edge of) any polygon, else metres to the nearest."""
    best = math.inf
    for polygon in polygons:
        edge = distance_to_edge_m(polygon, lat, lon)
        if edge <= EDGE_TOLERANCE_M or polygon_contains(polygon, lat, lon):
            return 0.0
        best = min(best, edge)
    return best


def centroid(polygons: tuple[Polygon, ...]) -> tuple[float, float]:
    """Mean of the outline vertices as (lat, lon): a centre for ranking overlapping sites."""
    pts = [p for polygon in polygons for p in polygon[0][:-1] or polygon[0]]
    return (sum(p[1] for p in pts) / len(pts), sum(p[0] for p in pts) / len(pts))


def parse_geojson(doc: dict[str, object]) -> tuple[Polygon, ...]:
    """GeoJSON Polygon or MultiPolygon (or a Feature holding one) as polygons; ValueError if not."""
    if doc.get("type") == "Feature":
        geometry = doc.get("geometry")
        if not isinstance(geometry, dict):
            raise ValueError("GeoJSON Feature without a geometry")
        doc = geometry
    kind = doc.get("type")
    coords = doc.get("coordinates")
    if kind == "Polygon":
        raw = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        raw = coords
    else:
        raise ValueError(f"GeoJSON type {kind!r} is not a Polygon or MultiPolygon")
    out: list[Polygon] = []
    for poly in raw:
        if not isinstance(poly, list) or not poly:
            raise ValueError("a polygon needs at least one ring")
        rings: list[Ring] = []
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValueError("a ring needs at least four positions")
            pts: list[Point] = []
            for pos in ring:
                if not isinstance(pos, list | tuple) or len(pos) < 2:
                    raise ValueError("a position is [lon, lat]")
                lon, lat = float(pos[0]), float(pos[1])
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError(f"position {pos!r} is out of range")
                pts.append((lon, lat))
            rings.append(tuple(pts))
        out.append(tuple(rings))
    return tuple(out)
