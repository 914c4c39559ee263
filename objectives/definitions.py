"""Shared definitions (rule 9): who must read an objective's definition, its versions, and
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

from objectives.models import (
    DEFINITION_FIELDS,
    DefinitionAcknowledgement,
    DefinitionVersion,
    Objective,
)
from okrly import registry
from okrly.access import LEAD, leadership_group_name
from okrly.models import Membership, Team

if TYPE_CHECKING:
    from okrly.types import User


def _aligned_team_ids(objectives: list[Objective]) -> dict[int, set[int]]:
    """For each objective, the teams of every objective aligned to it at any depth.

    One query: a parent is always in its child's quarter (objectives.services._check_parent),
    so the quarters' objectives hold every tree; the walk is in memory.
    """
    rows = list(
        Objective.objects.filter(quarter_id__in={o.quarter_id for o in objectives}).values_list(
            "pk", "parent_id", "team_id"
        )
    )
    children: dict[int, list[tuple[int, int]]] = {}
    for pk, parent_id, team_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append((pk, team_id))
    found: dict[int, set[int]] = {}
    for objective in objectives:
        teams: set[int] = set()
        seen = {objective.pk}
        stack = [objective.pk]
        while stack:  # ``seen`` stops a loop written past the service
            for pk, team_id in children.get(stack.pop(), []):
                if pk not in seen:
                    seen.add(pk)
                    teams.add(team_id)
                    stack.append(pk)
        found[objective.pk] = teams
    return found


def _groups(objectives: list[Objective]) -> dict[int, tuple[list[User], dict[int, str]]]:
    """Each objective's definition group, everyone once and by name, with why each person is
    in it ("Leadership", "Lead, Growth", "Lead, Platform (depended on)"): six queries in all."""
    contributed = registry.definition_teams([o.pk for o in objectives])
    aligned = _aligned_team_ids(objectives)
    # Key results belong to the objective's team, so the teams they add are the ones they
    # depend on (registered by the dependencies app) and the aligned objectives' teams.
    team_ids = {
        o.pk: {o.team_id} | contributed.get(o.pk, set()) | aligned[o.pk] for o in objectives
    }
    every_team = set().union(*team_ids.values()) if team_ids else set()
    leads: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    for team_id, lead_id, name in Team.objects.filter(pk__in=every_team).values_list(
        "pk", "lead_id", "name"
    ):
        names[team_id] = name
        if lead_id is not None:
            leads.setdefault(team_id, set()).add(lead_id)
    for team_id, user_id in Membership.objects.filter(
        team_id__in=every_team, role=LEAD
    ).values_list("team_id", "user_id"):
        leads.setdefault(team_id, set()).add(user_id)
    leadership = set(
        get_user_model()
        .objects.filter(groups__name=leadership_group_name())
        .values_list("pk", flat=True)
    )
    wanted = {
        o.pk: leadership.union(*(leads.get(t, set()) for t in team_ids[o.pk])) for o in objectives
    }
    people = list(
        get_user_model()
        .objects.filter(pk__in=set().union(*wanted.values()) if wanted else set(), is_active=True)
        .order_by("first_name", "last_name", "username")
    )
    found: dict[int, tuple[list[User], dict[int, str]]] = {}
    for o in objectives:
        group = [p for p in people if p.pk in wanted[o.pk]]
        roles: dict[int, list[str]] = {p.pk: [] for p in group}
        for pk in leadership & roles.keys():
            roles[pk].append("Leadership")
        for team_id in sorted(team_ids[o.pk], key=lambda t: (t != o.team_id, names.get(t, ""))):
            why = (
                ""
                if team_id == o.team_id
                else " (depended on)"
                if team_id in contributed.get(o.pk, set())
                else " (aligned below)"
            )
            for pk in leads.get(team_id, set()) & roles.keys():
                roles[pk].append(f"Lead, {names.get(team_id, '')}{why}")
        found[o.pk] = (group, {pk: " · ".join(r) for pk, r in roles.items()})
    return found


def definition_group(objective: Objective) -> list[User]:
    """Everyone who must acknowledge the objective's definition, each once, by name."""
    return _groups([objective])[objective.pk][0]


def current_version(objective: Objective) -> DefinitionVersion | None:
    return objective.definition_versions.order_by("-number").first()


def _snapshot(objective: Objective, *, number: int, author: User | None) -> DefinitionVersion:
    """A new version, with its acknowledgement ladder started; an older version's ladder
    stops (nobody is chased to read what no longer stands)."""
    # The ladder's declaration reads the group from this module, hence imported here.
    from objectives.reminders import ACK_LADDER

    version = DefinitionVersion.objects.create(
        objective=objective,
        number=number,
        author=author,
        **{name: getattr(objective, name) for name in DEFINITION_FIELDS},
    )
    # Counted from created_at, which exists once the row is written.
    version.next_escalation_at = ACK_LADDER.next_rung_at(version)
    version.save(update_fields=["next_escalation_at"])
    DefinitionVersion.objects.filter(objective=objective, next_escalation_at__isnull=False).exclude(
        pk=version.pk
    ).update(next_escalation_at=None)
    return version


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
        # Still a draft: rewritten in place, its ladder keeps counting from its created_at.
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
    roles: dict[int, str]  # why each member is in the group, by user id

    def role_of(self, person_id: int) -> str:
        return self.roles.get(person_id, "")

    @property
    def shared(self) -> bool:
        return self.version is not None and not self.missing


def definition_statuses(objectives: list[Objective]) -> dict[int, DefinitionStatus]:
    """Each objective's definition status by id, in a fixed number of queries (seven)."""
    if not objectives:
        return {}
    groups = _groups(objectives)
    current: dict[int, DefinitionVersion] = {}
    for row in DefinitionVersion.objects.filter(objective__in=objectives).order_by("number"):
        current[row.objective_id] = row  # the highest number wins
    acks: dict[int, list[DefinitionAcknowledgement]] = {}
    for ack in DefinitionAcknowledgement.objects.filter(
        version__in=list(current.values())
    ).select_related("person", "version"):
        acks.setdefault(ack.version_id, []).append(ack)
    statuses = {}
    for objective in objectives:
        version = current.get(objective.pk)
        readings = acks.get(version.pk, []) if version is not None else []
        acknowledged = {ack.person_id for ack in readings}
        group, roles = groups[objective.pk]
        missing = [person for person in group if person.pk not in acknowledged]
        statuses[objective.pk] = DefinitionStatus(version, group, readings, missing, roles)
    return statuses


def definition_status(objective: Objective) -> DefinitionStatus:
    return definition_statuses([objective])[objective.pk]
