"""Dashboard reads: aggregated in the database, one query for every team at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest, Least

from okrly.models import Quarter, Team


def _kr_progress(prefix: str) -> Any:
    """Progress 0..1 of one key result row, clamped, computed in SQL."""
    start = F(f"{prefix}start_value")
    span = F(f"{prefix}target_value") - start
    done = ExpressionWrapper(
        Cast(F(f"{prefix}current_value") - start, FloatField()) / Cast(span, FloatField()),
        output_field=FloatField(),
    )
    return Case(
        When(**{f"{prefix}target_value": start}, then=Value(0.0)),
        default=Greatest(Value(0.0), Least(Value(1.0), done)),
        output_field=FloatField(),
    )


def team_progress(quarter: Quarter) -> QuerySet[Team]:
    in_quarter = Q(objectives__quarter=quarter)
    return (
        Team.objects.select_related("lead")
        .annotate(
            objective_count=Count("objectives", filter=in_quarter, distinct=True),
            key_result_count=Count("objectives__key_results", filter=in_quarter),
            progress_sum=Sum(_kr_progress("objectives__key_results__"), filter=in_quarter),
        )
        .filter(objective_count__gt=0)
        .order_by("name")
    )


@dataclass
class Totals:
    teams: int
    objectives: int
    key_results: int
    progress: int


def totals(rows: list[Any]) -> Totals:
    key_results = sum(r.key_result_count for r in rows)
    progress_sum = sum(r.progress_sum or 0 for r in rows)
    return Totals(
        teams=len(rows),
        objectives=sum(r.objective_count for r in rows),
        key_results=key_results,
        progress=round(100 * progress_sum / key_results) if key_results else 0,
    )
