"""A small server-rendered SVG progress chart: no chart library, nothing to load."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from okrly.numbers import plain_number


def _number(value: Decimal) -> str:
    """60.00 → "60", 49.50 → "49.5": as the pages show numbers."""
    return plain_number(value)


@dataclass(frozen=True)
class ChartPoint:
    week: int
    value: Decimal
    risky: bool


def progress_svg(
    *,
    start: Decimal,
    target: Decimal,
    weeks: int,
    points: list[ChartPoint],
    forecast: Decimal | None,
    # Wide enough for a full-width panel: the SVG keeps its aspect ratio, so a narrow box
    # under the CSS height cap would be drawn as a small strip in the middle.
    width: int = 900,
    height: int = 200,
) -> SafeString:
    """Values by week (0 = start), the target as a dashed line, the forecast as a dotted one.
    Every number is computed here, so the markup holds no user text but the aria-label."""
    pad = 28
    values = [start, target, *(p.value for p in points)] + (
        [forecast] if forecast is not None else []
    )
    low, high = min(values), max(values)
    if high == low:
        high = low + 1

    def x(week: float) -> float:
        return pad + (width - 2 * pad) * week / max(weeks, 1)

    def y(value: Decimal) -> float:
        return height - pad - float((value - low) / (high - low)) * (height - 2 * pad)

    series = [(0, start), *((p.week, p.value) for p in points)]
    path = " ".join(f"{x(w):.1f},{y(v):.1f}" for w, v in series)
    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-target"/>',
            pad,
            f"{y(target):.1f}",
            width - pad,
            f"{y(target):.1f}",
        ),
        format_html('<polyline points="{}" class="chart-line"/>', path),
    ]
    if forecast is not None and points:
        last = points[-1]
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-forecast"/>',
                f"{x(last.week):.1f}",
                f"{y(last.value):.1f}",
                f"{x(weeks):.1f}",
                f"{y(forecast):.1f}",
            )
        )
    for p in points:
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="4" class="{}"><title>Week {}: {}</title></circle>',
                f"{x(p.week):.1f}",
                f"{y(p.value):.1f}",
                "chart-dot risky" if p.risky else "chart-dot",
                p.week,
                _number(p.value),
            )
        )
    parts.append(
        format_html(
            '<text x="{}" y="{}" class="chart-label">target {}</text>',
            width - pad,
            f"{y(target) - 6:.1f}",
            _number(target),
        )
    )
    body = mark_safe("".join(parts))
    return format_html(
        '<svg class="progress-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        width,
        height,
        f"Progress over {len(points)} check-ins, target {_number(target)}",
        body,
    )
