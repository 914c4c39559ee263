"""Per-team trend: check-in completion (bars) and average confidence (line), as SVG."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from reviews.selectors import TrendPoint


def trend_svg(
    points: list[TrendPoint], weeks: int, *, width: int = 420, height: int = 110
) -> SafeString:
    pad, bar_gap = 18, 3
    slot = (width - 2 * pad) / max(weeks, 1)

    def y_pct(pct: float) -> float:
        return height - pad - (height - 2 * pad) * pct / 100

    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="trend-bar">'
        "<title>Week {}: {}% checked in</title></rect>",
        (
            (
                f"{pad + slot * (p.week - 1) + bar_gap:.1f}",
                f"{y_pct(p.completion):.1f}",
                f"{max(slot - 2 * bar_gap, 1):.1f}",
                f"{(height - 2 * pad) * p.completion / 100:.1f}",
                p.week,
                p.completion,
            )
            for p in points
        ),
    )
    line = " ".join(
        f"{pad + slot * (p.week - 0.5):.1f},{y_pct(p.confidence * 10):.1f}"
        for p in points
        if p.confidence is not None
    )
    return format_html(
        '<svg class="trend-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="trend-axis"/>{}'
        '<polyline points="{}" class="trend-line"/></svg>',
        width,
        height,
        "Check-in completion (bars) and average confidence (line) by week",
        pad,
        height - pad,
        width - pad,
        height - pad,
        bars,
        line,
    )
