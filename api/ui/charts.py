"""Charts drawn as inline SVG on the server: no script, no request anywhere."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, width: int = 460) -> Markup:
    """Horizontal bars of rates in [0, 1], one per label, with the percentage written."""
    row, left, right = 28, 90, 60
    height = max(1, len(bars)) * row + 10
    top = max([v for _, v in bars] + [0.0])
    scale = 1.0 if top <= 0 else max(top, 0.05)
    inner = width - left - right
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (name, value) in enumerate(bars):
        y = 5 + i * row
        w = 0.0 if scale == 0 else inner * value / scale
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" class="axis">'
            f"{escape(name)}</text>"
            f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 10}" rx="3" '
            f'fill="{PALETTE[0]}"><title>{escape(name)}: {_pct(value)}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 17}" class="value">{_pct(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name, its colour, and a rate (or None, not plotted) per label."""

    name: str
    colour: str
    values: Sequence[float | None]


def colour_of(index: int) -> str:
    """The palette's colour for a line's fixed position (0 is the overall line)."""
    return PALETTE[index % len(PALETTE)]


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    provisional: Sequence[bool] = (),
    width: int = 520,
    height: int = 260,
) -> Markup:
    """Rates in [0, 1] over `labels` (weeks), one polyline per series, with a legend.

    A provisional label (a week still in progress) is starred, and its points are hollow
    and joined by a dashed line, so a figure that may still change does not read as final.
    """
    left, right, top, bottom = 44, 36, 12, 56
    inner_w, inner_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    ceiling = max([*values, 0.05])
    ceiling = min(1.0, ceiling * 1.15)
    step = inner_w / max(1, len(labels) - 1)
    open_ = [i < len(provisional) and provisional[i] for i in range(len(labels))]

    def x(i: int) -> float:
        return left + (i * step if len(labels) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return top + inner_h * (1 - v / ceiling)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for k in range(5):
        v = ceiling * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
            f'class="axis">{v * 100:.0f}%</text>'
        )
    for i, name in enumerate(labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="axis">{escape(name)}{"*" if open_[i] else ""}</text>'
        )
    legend_x = float(left)
    for line in series:
        colour = line.colour
        points = [(i, x(i), y(v), v) for i, v in enumerate(line.values) if v is not None]
        settled = [(px, py) for i, px, py, _ in points if not open_[i]]
        if len(settled) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in settled)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
            )
        for (i, px, py, _), (j, qx, qy, _) in itertools.pairwise(points):
            if open_[i] or open_[j]:
                parts.append(
                    f'<line x1="{px:.1f}" y1="{py:.1f}" x2="{qx:.1f}" y2="{qy:.1f}" '
                    f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/>'
                )
        for i, px, py, v in points:
            fill = "#fff" if open_[i] else colour
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{fill}" stroke="{colour}" '
                f'data-series="{escape(line.name)}" data-week="{escape(labels[i])}" '
                f'data-rate="{v}"{" data-provisional" if open_[i] else ""}>'
                f"<title>{escape(line.name)}: {_pct(v)}</title></circle>"
            )
        # Legend entries side by side, each as wide as its name (CJK glyphs are wider).
        lx, ly = legend_x, height - 18
        legend_x += 28 + sum(13 if ord(ch) > 0x2E80 else 7 for ch in line.name)
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{ly - 4}" class="axis">{escape(line.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
