"""The check-in forecast: a least-squares line through the start value and every check-in,
and whether it falls short of the target (the stated-vs-forecast flag)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from checkins.models import CheckIn
from objectives.models import KeyResult
from okrly.params import decimal_limits

# What a check-in's forecast column holds: numeric(14, 2).
FORECAST_MAX, _ = decimal_limits(CheckIn, "forecast_value")


def forecast_value(
    *, start_value: Decimal, points: list[tuple[int, Decimal]], last_week: int
) -> Decimal | None:
    """Project the value at the quarter's last week with a least-squares line.

    The key result's start value counts as week 0, then one point per check-in (week, value).
    With fewer than two distinct weeks there is no trend, and no forecast.
    """
    series = [(0, start_value), *points]
    if len({w for w, _ in series}) < 2:
        return None
    n = Decimal(len(series))
    xs = [Decimal(w) for w, _ in series]
    ys = [Decimal(v) for _, v in series]
    mean_x = sum(xs, Decimal(0)) / n
    mean_y = sum(ys, Decimal(0)) / n
    sxx = sum(((x - mean_x) ** 2 for x in xs), Decimal(0))
    sxy = sum(((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)), Decimal(0))
    slope = sxy / sxx
    projected = mean_y + slope * (Decimal(last_week) - mean_x)
    return projected.quantize(Decimal("0.01"))


def storable_forecast(projected: Decimal | None) -> Decimal | None:
    """The projection as the check-in stores it: None when beyond what its column holds.

    Values that fit can still project past numeric(14,2) (7e11 in week 7 heads for 1.3e12).
    Such a line is no forecast anyone can use, and storing it would fail the whole check-in;
    the stated-vs-forecast flag still compares the exact projection with the target.
    """
    if projected is None or projected.copy_abs() > FORECAST_MAX:
        return None
    return projected


def misses_target(key_result: Any, projected: Decimal) -> bool:
    """Whether the projection falls short of the target by more than the margin, a share of
    the distance from start to target (CHECKIN_FORECAST_MARGIN)."""
    span = abs(key_result.target_value - key_result.start_value)
    margin = span * Decimal(str(settings.CHECKIN_FORECAST_MARGIN))
    if key_result.direction == KeyResult.Direction.INCREASE:
        return projected < key_result.target_value - margin
    return projected > key_result.target_value + margin


def preview(
    key_result: Any, others: dict[int, Decimal], week: int, value: Decimal, last_week: int
) -> tuple[Decimal | None, bool]:
    """What submitting ``value`` for ``week`` would forecast, given the key result's other
    weeks' values, and whether the projection misses the target (an "on track" answer
    would be flagged). The card prints it; its script recomputes it as the value is typed
    (static/js/okrly.js, the same least-squares line)."""
    points = [(w, v) for w, v in others.items() if w != week]
    projected = forecast_value(
        start_value=key_result.start_value, points=[*points, (week, value)], last_week=last_week
    )
    return projected, projected is not None and misses_target(key_result, projected)
