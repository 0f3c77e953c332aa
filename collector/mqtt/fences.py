"""Site fence settings (`Site.fence` JSON plus the site's circle or polygon) checked at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.geo import parse_geojson
from rules.geofence import Fence, Outside, PunchMode


class FenceSettings(BaseModel):
    """What HR sets per site in `Site.fence`."""

    model_config = ConfigDict(extra="forbid")

    # Fixes less precise than this (metres) are rejected at this site.
    max_accuracy_m: float = Field(default=150.0, gt=0)
    # Outside the fence: "reject" the punch, or "flag" it for review and keep it.
    outside: Outside = Outside.FLAG
    # OwnTracks: "transitions" (region enter/leave only) or "first_last" (fixes inside punch).
    punch_mode: PunchMode = PunchMode.TRANSITIONS
    # Wi-Fi access points (BSSIDs) whose presence proves the phone is on site.
    bssids: list[str] = Field(default_factory=list)
    # Metres of tolerance around a polygon fence.
    margin_m: float = Field(default=0.0, ge=0)
    # OwnTracks region names (`desc`) that mean this site, besides its code and name.
    regions: list[str] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SiteFence:
    """A site's fence for rules, its zone, and the region names phones use for it."""

    fence: Fence
    timezone: str
    region_names: frozenset[str]


def site_fence(
    *,
    code: str,
    name: str,
    timezone: str,
    lat: float | None,
    lon: float | None,
    radius_m: float | None,
    polygon: dict[str, Any] | None,
    fence: dict[str, Any] | None,
) -> SiteFence | None:
    """Build a site's fence; None when the site has no geometry. Raises ValueError when invalid."""
    try:
        cfg = FenceSettings.model_validate(fence or {})
    except ValidationError as exc:
        raise ValueError(
            f"site {code!r}: invalid fence settings: {exc.errors()[0]['msg']}"
        ) from exc
    polygons = parse_geojson(polygon) if polygon else ()
    if not polygons and (lat is None or lon is None or not radius_m):
        return None
    rules_fence = Fence(
        site_code=code,
        lat=lat,
        lon=lon,
        radius_m=cfg.margin_m if polygons else float(radius_m or 0),
        polygons=polygons,
        max_accuracy_m=cfg.max_accuracy_m,
        outside=cfg.outside,
        punch_mode=cfg.punch_mode,
        bssids=frozenset(b.strip().lower() for b in cfg.bssids),
    )
    names = {code.lower(), name.lower(), *(r.lower() for r in cfg.regions)}
    return SiteFence(rules_fence, timezone, frozenset(names))
