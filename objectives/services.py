"""Writes to objectives and key results, with their rules, in one place."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from objectives import definitions, limits, reminders
from objectives.models import (
    DEFINITION_FIELDS,
    DefinitionAcknowledgement,
    DefinitionVersion,
    KeyResult,
    Objective,
    TradeOff,
)
from okrly.access import can_acknowledge_definition, leadership_teams, require_manage_objectives
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, Team, display_name
from okrly.services import notification_create

if TYPE_CHECKING:
    from okrly.types import User

OBJECTIVE_FIELDS = ("title", "means", "does_not_mean", "tradeoff_rule", "rank", "parent")
READING_MIN_CHARS = 15
READING_TOO_SHORT = (
    "What will you do differently because of this? A bare 'OK' doesn't show you read it the "
    "same way — write at least 15 characters."
)
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
    # A reviewing quarter's work is over: its key results are graded (reviews.lifecycle), and a
    # change now would rewrite what is being graded.
    if quarter.status in (Quarter.Status.CLOSED, Quarter.Status.REVIEWING):
        raise RuleBroken(
            f"{quarter.name} is {quarter.get_status_display().lower()}; add or change "
            "objectives in an open quarter.",
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


def _team_ancestor_ids(team: Team) -> set[int]:
    """The ids of the teams above ``team`` (its parent, their parent, ...), one query a level."""
    ids: set[int] = set()
    node = team.parent
    # Team.clean refuses loops, but a loop written past it must not hang a request.
    while node is not None and node.pk not in ids and node.pk != team.pk:
        ids.add(node.pk)
        node = node.parent
    return ids


def _check_parent(
    *, objective: Objective | None, quarter: Quarter, team: Team, parent: Objective
) -> None:
    """Refuse a parent that does not make a tree of the quarter's objectives.

    1. Not itself, and not one of its own descendants (a cycle): walk up from the parent.
    2. The same quarter: alignment says what this quarter's work serves.
    3. Owned by a team above this one, or by the leadership team (company objectives), and
       never by the same team: an objective aligns upwards, not sideways.
    """
    if objective is not None and parent.pk == objective.pk:
        raise RuleBroken("An objective cannot align to itself.", field="parent")
    if parent.quarter_id != quarter.pk:
        raise RuleBroken(
            f"“{parent.title}” is in {parent.quarter.name}; an objective aligns to an objective "
            f"of its own quarter ({quarter.name}).",
            field="parent",
        )
    if objective is not None:
        seen: set[int] = set()
        node: Objective | None = parent
        while node is not None and node.pk not in seen:
            if node.pk == objective.pk:
                raise RuleBroken(
                    f"“{parent.title}” already aligns (through its parents) to “"
                    f"{objective.title}”; aligning it back would make a loop.",
                    field="parent",
                )
            seen.add(node.pk)
            node = node.parent
    if parent.team_id == team.pk:
        raise RuleBroken(
            f"“{parent.title}” is {team.name}'s own objective; align to an objective of a team "
            f"above {team.name} or of the leadership team.",
            field="parent",
        )
    above = _team_ancestor_ids(team)
    if parent.team_id in above or leadership_teams().filter(pk=parent.team_id).exists():
        return
    raise RuleBroken(
        f"“{parent.title}” belongs to {parent.team.name}, which is neither above {team.name} "
        "nor the leadership team; align to an objective of a team above it or to a company "
        "objective.",
        field="parent",
    )


def _lock_quarter(quarter: Quarter) -> None:
    # Two leads aligning A under B and B under A at once would each see no loop. Alignments
    # in one quarter take the quarter's row lock in turn, so the second sees the first.
    Quarter.objects.select_for_update().filter(pk=quarter.pk).exists()


@transaction.atomic
def objective_create(
    *,
    user: User,
    quarter: Quarter,
    team: Team,
    title: str,
    means: str = "",
    does_not_mean: str = "",
    tradeoff_rule: str = "",
    rank: int | None = None,
    parent: Objective | None = None,
    trade_off: TradeOff | None = None,
) -> Objective:
    """Add an objective to ``team``'s quarter. Past the team's limit this is refused, unless
    ``trade_off`` is the decided trade-off that adds it (objectives.tradeoffs)."""
    # The trade-off's decider (or the leader who approved it) had the right to add it.
    if not limits.carried_by(trade_off, team):
        require_manage_objectives(user, team)
    _check_quarter_open(quarter)
    if not title.strip():
        raise RuleBroken("Give the objective a title.", field="title")
    if parent is not None:
        _check_parent(objective=None, quarter=quarter, team=team, parent=parent)
    limits.require_room_for_objective(team, quarter, trade_off=trade_off)
    if rank is None:
        rank = Objective.objects.filter(quarter=quarter, team=team).count() + 1
    objective = Objective.objects.create(
        quarter=quarter,
        team=team,
        title=title.strip(),
        means=means,
        does_not_mean=does_not_mean,
        tradeoff_rule=tradeoff_rule,
        rank=rank,
        parent=parent,
    )
    version = definitions.publish_definition(objective=objective, author=user)
    if any(getattr(objective, name) for name in DEFINITION_FIELDS):
        _notify_definition_group(objective, version, user, changed=False)
    return objective


@transaction.atomic
def objective_update(*, user: User, objective: Objective, **changes: Any) -> Objective:
    require_manage_objectives(user, objective.team)
    _check_quarter_open(objective.quarter)
    unknown = set(changes) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise RuleBroken(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "title" in changes and not str(changes["title"]).strip():
        raise RuleBroken("Give the objective a title.", field="title")
    parent = changes.pop("parent", objective.parent)
    if parent is not None and parent.pk != objective.parent_id:
        _lock_quarter(objective.quarter)
        _check_parent(
            objective=objective, quarter=objective.quarter, team=objective.team, parent=parent
        )
    objective.parent = parent
    before = [getattr(objective, name) for name in DEFINITION_FIELDS]
    for name, value in changes.items():
        setattr(objective, name, value)
    objective.save()
    # Rule 9: a changed definition is a new version once anyone has acknowledged the old one.
    version = definitions.publish_definition(objective=objective, author=user)
    if before != [getattr(objective, name) for name in DEFINITION_FIELDS]:
        _notify_definition_group(objective, version, user, changed=True)
    return objective


def _notify_definition_group(
    objective: Objective, version: DefinitionVersion, by: User, *, changed: bool
) -> None:
    """Everyone in the definition group but its author is asked to read it (rule 9). The rows
    are written with the change, so a rolled-back edit notifies nobody; the e-mails leave
    after commit (notification_create)."""
    verb = "changed" if changed else "published"
    for person in definitions.definition_group(objective):
        if person.pk == by.pk:
            continue
        notification_create(
            recipient=person,
            kind="definition_changed" if changed else "definition_published",
            subject=f"Definition {verb}: “{objective.title}” (version {version.number})",
            body=(
                f"{display_name(by)} {verb} what “{objective.title}” means. Read it and say, "
                "in your own words, what you will do differently because of it."
            ),
            link=reverse("objectives:detail", args=[objective.pk]),
        )


@transaction.atomic
def objective_align(*, user: User, objective: Objective, parent: Objective | None) -> Objective:
    """Align ``objective`` to ``parent`` (or to nothing, with ``None``).

    1. The objective's team leads (and staff) may align it, as they may change it.
    2. Its quarter is open.
    3. The quarter's row lock is taken, then the parent is checked (_check_parent): no
       loop, same quarter, a team above this one or the leadership team.
    """
    require_manage_objectives(user, objective.team)
    _check_quarter_open(objective.quarter)
    if parent is not None:
        _lock_quarter(objective.quarter)
        _check_parent(
            objective=objective, quarter=objective.quarter, team=objective.team, parent=parent
        )
    objective.parent = parent
    objective.save(update_fields=["parent", "updated_at"])
    return objective


@transaction.atomic
def definition_acknowledge(
    *, user: User, objective: Objective, reading: str
) -> DefinitionAcknowledgement:
    """``user`` acknowledges the current definition of ``objective`` in their own words.

    1. Only a member of the objective's definition group, for themselves.
    2. The reading says what they will do differently: at least 15 characters.
    3. Once per version: acknowledging again changes nothing and says so.
    """
    group_ids = {person.pk for person in definitions.definition_group(objective)}
    if not can_acknowledge_definition(user, group_ids=group_ids):
        raise NotAllowed(
            f"Only the leaders who must share “{objective.title}”'s definition acknowledge it: "
            "leadership, the leads of its team, of the teams it depends on and of the teams "
            "aligned to it."
        )
    reading = (reading or "").strip()
    if len(reading) < READING_MIN_CHARS:
        raise RuleBroken(READING_TOO_SHORT, field="reading")
    # Lock the objective: two edits or an edit and an acknowledgement run one after the other,
    # so a reading always belongs to the version its author saw.
    Objective.objects.select_for_update().filter(pk=objective.pk).exists()
    version = definitions.current_version(objective) or definitions.publish_definition(
        objective=objective, author=None
    )
    if DefinitionAcknowledgement.objects.filter(version=version, person=user).exists():
        raise RuleBroken(
            f"You have already acknowledged version {version.number} of this definition.",
            field="reading",
        )
    acknowledgement = DefinitionAcknowledgement.objects.create(
        version=version, person=user, reading=reading
    )
    # The last reading the group owed ends the version's reminder ladder.
    reminders.reminders_stop_if_done(version, group_ids=group_ids)
    return acknowledgement


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
    trade_off: TradeOff | None = None,
) -> KeyResult:
    """Add a key result. Past KEY_RESULT_LIMIT_DEFAULT this is refused, unless ``trade_off``
    is the decided trade-off that adds it (objectives.tradeoffs)."""
    if not limits.carried_by(trade_off, objective.team):
        require_manage_objectives(user, objective.team)
    _check_quarter_open(objective.quarter)
    if not title.strip():
        raise RuleBroken("Give the key result a title.", field="title")
    owner = _check_owner(owner)
    _check_metric(start=start_value, target=target_value, direction=direction)
    if objective.displaced_by_id is not None:
        raise RuleBroken(
            f"“{objective.title}” was displaced by trade-off #{objective.displaced_by_id}; "
            "add key results to an objective still in play.",
            field="objective",
        )
    limits.require_room_for_key_result(objective, trade_off=trade_off)
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
