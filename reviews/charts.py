"""Per-team trend: check-in completion (bars) and average confidence (line), as SVG."""

from __future__ import annotations

from typing import Any

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


# The quarter comparison's series: (attribute of a QuarterPoint, legend, CSS class).
QUARTER_SERIES = [
    ("average_score", "Average score", "qc-score"),
    ("surprise_rate", "Surprise rate", "qc-surprise"),
    ("responses_on_time", "Responses on time", "qc-responses"),
    ("decisions_done", "Decisions done", "qc-decisions"),
]


def quarters_svg(points: list[Any], *, width: int = 520, height: int = 170) -> SafeString:
    """The last quarters side by side: one group of four bars (0-100%) per quarter, a figure
    with nothing to compute from drawn as no bar (its title says "no data")."""
    pad, label_h = 18, 16
    # A group per quarter, never wider than a fourth of the chart (one quarter alone stays slim).
    group = (width - 2 * pad) / max(len(points), 4)
    bar = (group - 12) / len(QUARTER_SERIES)
    base = height - pad - label_h

    def rows() -> list[tuple[Any, ...]]:
        out = []
        for i, p in enumerate(points):
            for j, (attr, legend, css) in enumerate(QUARTER_SERIES):
                value = getattr(p, attr)
                h = (base - pad) * (value or 0) / 100
                out.append(
                    (
                        f"{pad + group * i + 6 + bar * j:.1f}",
                        f"{base - h:.1f}",
                        f"{max(bar - 2, 1):.1f}",
                        f"{h:.1f}",
                        css,
                        p.name,
                        legend,
                        "no data" if value is None else f"{value}%",
                    )
                )
        return out

    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{}: {} {}</title></rect>',
        rows(),
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="qc-label">{}</text>',
        ((f"{pad + group * i + 6:.1f}", height - pad + 2, p.name) for i, p in enumerate(points)),
    )
    return format_html(
        '<svg class="quarter-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="trend-axis"/>{}{}</svg>',
        width,
        height,
        "Average score, surprise rate, responses on time and decisions done, by quarter",
        pad,
        base,
        width - pad,
        base,
        bars,
        labels,
    )
