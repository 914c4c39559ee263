"""Writes to objectives and key results, with their rules, in one place."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction

from objectives.models import KeyResult, Objective
from okrly.access import require_manage_objectives
from okrly.errors import RuleBroken
from okrly.models import Quarter, Team, display_name
from okrly.services import notification_create

if TYPE_CHECKING:
    from okrly.types import User

OBJECTIVE_FIELDS = ("title", "means", "does_not_mean", "rank")
KEY_RESULT_FIELDS = (
    "title",
    "start_value",
    "target_value",
    "current_value",
    "unit",
    "direction",
    "owner",
)


def _check_quarter_open(quarter: Quarter) -> None:
    if quarter.status == Quarter.Status.CLOSED:
        raise RuleBroken(
            f"{quarter.name} is closed; add or change objectives in an open quarter.",
            field="quarter",
        )


def _check_owner(owner: object) -> User:
    """The owner as given, once it is one active person (rule 1)."""
    # Rule 1: exactly one accountable person, and a person who can act.
    if owner is None:
        raise RuleBroken("Choose the one person accountable for this key result.", field="owner")
    if not isinstance(owner, get_user_model()):
        raise RuleBroken("The owner must be a person, not a team.", field="owner")
    if not owner.is_active:
        raise RuleBroken(
            f"{owner.get_username()} is deactivated; choose an active person as owner.",
            field="owner",
        )
    return owner


def _check_metric(*, start: Decimal, target: Decimal, direction: str) -> None:
    if direction == KeyResult.Direction.INCREASE and not target > start:
        raise RuleBroken(
            f"The target ({target}) must be above the start ({start}) for a key result that "
            "increases; switch the direction to 'decrease' if lower is better.",
            field="target_value",
        )
    if direction == KeyResult.Direction.DECREASE and not target < start:
        raise RuleBroken(
            f"The target ({target}) must be below the start ({start}) for a key result that "
            "decreases.",
            field="target_value",
        )


@transaction.atomic
def objective_create(
    *,
    user: User,
    quarter: Quarter,
    team: Team,
    title: str,
    means: str = "",
    does_not_mean: str = "",
    rank: int | None = None,
) -> Objective:
    require_manage_objectives(user, team)
    _check_quarter_open(quarter)
    if not title.strip():
        raise RuleBroken("Give the objective a title.", field="title")
    if rank is None:
        rank = Objective.objects.filter(quarter=quarter, team=team).count() + 1
    return Objective.objects.create(
        quarter=quarter,
        team=team,
        title=title.strip(),
        means=means,
        does_not_mean=does_not_mean,
        rank=rank,
    )


@transaction.atomic
def objective_update(*, user: User, objective: Objective, **changes: Any) -> Objective:
    require_manage_objectives(user, objective.team)
    _check_quarter_open(objective.quarter)
    unknown = set(changes) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise RuleBroken(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "title" in changes and not str(changes["title"]).strip():
        raise RuleBroken("Give the objective a title.", field="title")
    for name, value in changes.items():
        setattr(objective, name, value)
    objective.save()
    return objective


def _notify_owner(key_result: KeyResult, by: User) -> None:
    notification_create(
        recipient=key_result.owner,
        kind="kr_assigned",
        subject=f"You are the owner of “{key_result.title}”",
        body=(
            f"{display_name(by)} made you the one person accountable for "
            f"this key result of “{key_result.objective.title}”."
        ),
        link=key_result.get_absolute_url(),
    )


@transaction.atomic
def key_result_create(
    *,
    user: User,
    objective: Objective,
    title: str,
    owner: User | None,
    target_value: Decimal,
    start_value: Decimal = Decimal(0),
    current_value: Decimal | None = None,
    unit: str = "",
    direction: str = KeyResult.Direction.INCREASE,
) -> KeyResult:
    require_manage_objectives(user, objective.team)
    _check_quarter_open(objective.quarter)
    if not title.strip():
        raise RuleBroken("Give the key result a title.", field="title")
    owner = _check_owner(owner)
    _check_metric(start=start_value, target=target_value, direction=direction)
    key_result = KeyResult.objects.create(
        objective=objective,
        title=title.strip(),
        owner=owner,
        start_value=start_value,
        target_value=target_value,
        current_value=start_value if current_value is None else current_value,
        unit=unit,
        direction=direction,
    )
    if owner.pk != user.pk:
        _notify_owner(key_result, user)
    return key_result


@transaction.atomic
def key_result_update(*, user: User, key_result: KeyResult, **changes: Any) -> KeyResult:
    objective = key_result.objective
    require_manage_objectives(user, objective.team)
    _check_quarter_open(objective.quarter)
    unknown = set(changes) - set(KEY_RESULT_FIELDS)
    if unknown:
        raise RuleBroken(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    owner = changes.pop("owner", key_result.owner)
    if owner is not None and owner.pk != key_result.owner_id:
        # Rule 2: ownership changes hands only when the new owner accepts (ownership app).
        raise RuleBroken(
            "Hand the key result over from its page instead: the new owner must accept, and "
            "until then the current owner stays accountable.",
            field="owner",
        )
    for name, value in changes.items():
        setattr(key_result, name, value)
    if not key_result.title.strip():
        raise RuleBroken("Give the key result a title.", field="title")
    _check_owner(key_result.owner)
    _check_metric(
        start=key_result.start_value,
        target=key_result.target_value,
        direction=key_result.direction,
    )
    key_result.save()
    return key_result
