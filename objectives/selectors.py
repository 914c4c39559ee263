"""Reads for the objectives pages and API, with a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet

from objectives.models import KeyResult, Objective
from okrly.access import leadership_teams
from okrly.models import Quarter, Team
from okrly.params import BadParameter, id_param

if TYPE_CHECKING:
    from okrly.types import User


def key_results_with_owner() -> QuerySet[KeyResult]:
    return KeyResult.objects.select_related("owner", "owner__profile")


def team_objectives(team: Team, quarter: Quarter) -> QuerySet[Objective]:
    """The team page's objectives in one quarter, each with its key results and their owners
    (two queries however many there are)."""
    return (
        Objective.objects.filter(team=team, quarter=quarter)
        .order_by("rank", "pk")
        .prefetch_related(Prefetch("key_results", queryset=key_results_with_owner()))
    )


def objectives_for_quarter(quarter: Quarter) -> QuerySet[Objective]:
    return (
        Objective.objects.filter(quarter=quarter)
        .select_related("team", "quarter")
        .prefetch_related(Prefetch("key_results", queryset=key_results_with_owner()))
        .order_by("team__name", "rank", "pk")
    )


@dataclass
class TeamObjectives:
    team: Team
    objectives: list[Objective]


def objectives_grouped_by_team(quarter: Quarter) -> list[TeamObjectives]:
    """Three queries whatever the size: objectives+teams, key results+owners+profiles."""
    groups: dict[int, TeamObjectives] = {}
    for objective in objectives_for_quarter(quarter):
        group = groups.get(objective.team_id)
        if group is None:
            group = groups[objective.team_id] = TeamObjectives(objective.team, [])
        group.objectives.append(objective)
    return list(groups.values())


@dataclass
class AlignedObjective:
    """One node of the alignment tree: an objective and the objectives aligned to it."""

    objective: Objective
    children: list[AlignedObjective]


def alignment_tree(quarter: Quarter) -> list[AlignedObjective]:
    """The quarter's objectives as a tree, roots first: company, then departments, then teams.

    Four queries whatever the size: the teams (for their depth), the leadership team, the
    objectives with their teams, their key results with owners and profiles. The tree is
    built in memory.

    1. A team's depth is its distance from the top of the org chart (the leadership team and
       other top-level teams are 0); leadership teams sort before other top-level teams.
    2. An objective is a root when it has no parent in this quarter (the service never lets a
       parent be elsewhere; a row written past it still shows, as a root).
    3. Roots and each node's children are in (depth, team name, rank) order.
    """
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    leadership = set(leadership_teams().values_list("pk", flat=True))

    def depth(team_id: int) -> int:
        steps, node, seen = 0, parents.get(team_id), {team_id}
        while node is not None and node not in seen:
            seen.add(node)
            steps += 1
            node = parents.get(node)
        return steps

    objectives = list(objectives_for_quarter(quarter))
    nodes = {o.pk: AlignedObjective(o, []) for o in objectives}
    roots: list[AlignedObjective] = []
    for objective in sorted(
        objectives,
        key=lambda o: (
            depth(o.team_id),
            o.team_id not in leadership,
            o.team.name,
            o.rank,
            o.pk,
        ),
    ):
        node = nodes[objective.pk]
        parent = nodes.get(objective.parent_id) if objective.parent_id else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def quarter_for_request(quarter_id: Any, today: date) -> Quarter | None:
    """The quarter asked for (``?quarter=``), else the active one, else the newest."""
    if quarter_id:
        try:
            pk = id_param({"quarter": quarter_id}, "quarter")
        except BadParameter:
            return None
        return Quarter.objects.filter(pk=pk).first() if pk is not None else None
    return Quarter.objects.current(today) or Quarter.objects.order_by("-start").first()


def key_result_detail(pk: int) -> KeyResult:
    return (
        key_results_with_owner()
        .select_related("objective", "objective__team", "objective__quarter")
        .get(pk=pk)
    )


def my_key_results(user: User, quarter: Quarter) -> QuerySet[KeyResult]:
    return (
        key_results_with_owner()
        .filter(owner=user, objective__quarter=quarter)
        .select_related("objective", "objective__team")
        .order_by("objective__team__name", "objective__rank", "pk")
    )
