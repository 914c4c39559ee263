"""Shared definitions (rule 8): who must read an objective's definition, its versions, and
the acknowledgements that show each leader read it the same way.

The *definition group* is computed, never typed: the leadership group; the leads of the
objective's team; the leads of every team owning a key result under it or asked for something
by one (other apps add teams through ``okrly.registry.register_definition_teams``); and the
leads of every team whose objectives align to it, at any depth, so a divergent reading two
levels down is visible at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q

from objectives.models import (
    DEFINITION_FIELDS,
    DefinitionAcknowledgement,
    DefinitionVersion,
    Objective,
)
from okrly import registry
from okrly.access import LEAD, leadership_group_name

if TYPE_CHECKING:
    from okrly.types import User


def _aligned_team_ids(objective: Objective) -> set[int]:
    """Teams of every objective aligned to this one, at any depth (one query a level)."""
    ids: set[int] = set()
    seen: set[int] = {objective.pk}
    level = [objective.pk]
    while level:
        rows = list(
            Objective.objects.filter(parent_id__in=level)
            .exclude(pk__in=seen)
            .values_list("pk", "team_id")
        )
        level = [pk for pk, _ in rows]
        seen.update(level)
        ids.update(team_id for _, team_id in rows)
    return ids


def definition_team_ids(objective: Objective) -> set[int]:
    # Key results belong to the objective's team, so the teams they add are the ones they
    # depend on (registered by the dependencies app) and the aligned objectives' teams.
    ids = {objective.team_id}
    ids |= registry.definition_teams(objective)
    ids |= _aligned_team_ids(objective)
    return ids


def definition_group(objective: Objective) -> list[User]:
    """Everyone who must acknowledge the objective's definition, each once, by name."""
    team_ids = definition_team_ids(objective)
    return list(
        get_user_model()
        .objects.filter(
            Q(groups__name=leadership_group_name())
            | Q(led_teams__in=team_ids)
            | Q(memberships__team__in=team_ids, memberships__role=LEAD)
        )
        .filter(is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def current_version(objective: Objective) -> DefinitionVersion | None:
    return objective.definition_versions.order_by("-number").first()


def _snapshot(objective: Objective, *, number: int, author: User | None) -> DefinitionVersion:
    return DefinitionVersion.objects.create(
        objective=objective,
        number=number,
        author=author,
        **{name: getattr(objective, name) for name in DEFINITION_FIELDS},
    )


def publish_definition(*, objective: Objective, author: User | None) -> DefinitionVersion:
    """Record the objective's definition as it now stands (the services call this on create
    and after an edit). Until someone has acknowledged the current version it is still a
    draft and is rewritten in place; after the first acknowledgement an edit makes a new
    version, keeping the old one and its (now out-of-date) acknowledgements."""
    version = current_version(objective)
    if version is None:
        return _snapshot(objective, number=1, author=author)
    if all(getattr(version, f) == getattr(objective, f) for f in DEFINITION_FIELDS):
        return version
    if not version.acknowledgements.exists():
        for name in DEFINITION_FIELDS:
            setattr(version, name, getattr(objective, name))
        version.author = author
        version.save()
        return version
    return _snapshot(objective, number=version.number + 1, author=author)


@dataclass(frozen=True)
class DefinitionStatus:
    """Where an objective's definition stands: shared once every group member acknowledged
    the current version (an objective with no version yet is not shared)."""

    version: DefinitionVersion | None
    group: list[User]
    acknowledgements: list[DefinitionAcknowledgement]  # of the current version
    missing: list[User]

    @property
    def shared(self) -> bool:
        return self.version is not None and not self.missing


def definition_status(objective: Objective) -> DefinitionStatus:
    group = definition_group(objective)
    version = current_version(objective)
    acks: list[DefinitionAcknowledgement] = []
    if version is not None:
        acks = list(version.acknowledgements.select_related("person"))
    acknowledged = {ack.person_id for ack in acks}
    missing = [person for person in group if person.pk not in acknowledged]
    return DefinitionStatus(version, group, acks, missing)
