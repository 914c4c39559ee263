from __future__ import annotations

from typing import Any

from django import template

from checkins.models import CheckIn

register = template.Library()


@register.filter
def heat(value: int, total: int) -> str:
    """Colour class for a bad-signal count relative to the team's key results."""
    if not value:
        return "heat-0"
    share = value / total if total else 1
    return "heat-1" if share < 0.1 else ("heat-2" if share < 0.25 else "heat-3")


@register.filter
def completion_heat(percent: int) -> str:
    return (
        "heat-0"
        if percent >= 80
        else ("heat-1" if percent >= 60 else ("heat-2" if percent >= 30 else "heat-3"))
    )


@register.simple_tag(takes_context=True)
def sort_link(context: Any, column: str) -> str:
    """The same page sorted by this column (descending first, then ascending)."""
    current = context.get("sort", "")
    target = f"-{column}" if current == column else column
    query = context["request"].GET.copy()
    query["sort"] = target
    return "?" + query.urlencode()


@register.filter
def checkin_label(status: str | None) -> str:
    """A stored check-in status as people read it ("off_track" → "Off track"): the team
    view's rows carry the annotated value, not a model instance with its display method."""
    return str(CheckIn.Status(status).label) if status in CheckIn.Status.values else ""


@register.simple_tag
def trade_off_warning(row: Any, warn: int) -> str:
    """Why a heatmap row's trade-offs are highlighted, in words ("" when they are not): a
    team over TRADE_OFF_WARN decided this quarter, or, for a department, how many of its
    teams are (its sum alone may be high while none of them is over)."""
    over = row.signals.trade_off_warned
    if not over:
        return ""
    if row.depth == 0 and row.children:
        teams = f"{over} team{'' if over == 1 else 's'}"
        return f"{teams} with more than {warn}: constant re-prioritisation"
    return f"more than {warn} this quarter: constant re-prioritisation"
