"""What a dependency request or counter-proposal may ask: a person on another team, a
deliverable, a due date someone can commit to, and a free rank. Each check raises RuleBroken
naming the field, so a form shows the message beside it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly.access import is_team_member
from okrly.errors import RuleBroken
from okrly.models import Quarter, Team, display_name
from okrly.params import column_range

if TYPE_CHECKING:
    from okrly.types import User

# The rank column is a smallint: a larger rank cannot be stored (PostgreSQL refuses it).
RANK_MAX = column_range(Dependency, "rank")[1]
# How far past its quarter's end a due date may be: further off is no commitment to track.
FARTHEST_DUE = timedelta(days=366)


def check_due(due_date: date, quarter: Quarter) -> None:
    """Refuse a due date more than a year after the quarter ends (9999-12-31 was accepted
    once, and such a dependency could never be committed)."""
    if due_date - quarter.end > FARTHEST_DUE:
        raise RuleBroken(
            f"{due_date:%d %b %Y} is more than a year after {quarter.name} ends "
            f"({quarter.end:%d %b %Y}); choose a date someone can commit to.",
            field="due_date",
        )


def check_request(
    *,
    key_result: KeyResult,
    provider_team: Team,
    responsible: User | None,
    deliverable: str,
    due_date: date,
    rank: int | None,
    confirm_outside_quarter: bool,
) -> int:
    """Check a new request; return its rank (the next free one when none was chosen)."""
    objective = key_result.objective
    if provider_team.pk == objective.team_id:
        raise RuleBroken(
            f"{provider_team.name} is this key result's own team; a dependency is on another "
            "team. Choose the team that must deliver.",
            field="provider_team",
        )
    if responsible is None or not is_team_member(responsible, provider_team):
        who = display_name(responsible) if responsible is not None else "Nobody"
        raise RuleBroken(
            f"{who} is not on {provider_team.name}; choose the person on that team who will "
            "deliver (ask its lead if you don't know who).",
            field="responsible",
        )
    if not responsible.is_active:
        raise RuleBroken(f"{display_name(responsible)} is deactivated.", field="responsible")
    if not deliverable.strip():
        raise RuleBroken("Say what must be delivered.", field="deliverable")
    today = timezone.localdate()
    if due_date < today:
        raise RuleBroken(
            f"{due_date:%d %b %Y} is in the past; choose a date from today on.", field="due_date"
        )
    quarter = objective.quarter
    check_due(due_date, quarter)
    if not (quarter.start <= due_date <= quarter.end) and not confirm_outside_quarter:
        raise RuleBroken(
            f"{due_date:%d %b %Y} is outside {quarter.name} ({quarter.start:%d %b} – "
            f"{quarter.end:%d %b %Y}). Tick the box to confirm this date anyway.",
            field="confirm_outside_quarter",
        )
    taken = dict(
        Dependency.objects.filter(key_result=key_result).values_list("rank", "deliverable")
    )
    if rank is None:
        return (max(taken) if taken else 0) + 1
    if rank < 1:
        raise RuleBroken("Rank starts at 1 (the most important).", field="rank")
    if rank > RANK_MAX:
        raise RuleBroken(f"Rank goes up to {RANK_MAX}; choose a smaller rank.", field="rank")
    if rank in taken:
        raise RuleBroken(
            f"Rank {rank} is already “{taken[rank]}”; choose another rank.", field="rank"
        )
    return rank


def check_counter(*, dep: Dependency, due_date: date | None, deliverable: str) -> date:
    """Check a counter-proposal to ``dep``; return its date."""
    if due_date is None:
        raise RuleBroken("A counter-proposal needs the date you can deliver by.", field="due_date")
    if due_date < timezone.localdate():
        raise RuleBroken(
            f"{due_date:%d %b %Y} is in the past; propose a date from today on.", field="due_date"
        )
    check_due(due_date, dep.key_result.objective.quarter)
    if due_date == dep.due_date and (not deliverable.strip() or deliverable == dep.deliverable):
        raise RuleBroken(
            "That is what was asked; commit instead, or propose another date or deliverable.",
            field="due_date",
        )
    return due_date
