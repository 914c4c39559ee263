"""Reads for dependency pages, panels and "Asked of me", each a fixed number of queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import sql
from okrly.models import Team

if TYPE_CHECKING:
    from okrly.types import User


def with_people() -> QuerySet[Dependency]:
    return Dependency.objects.select_related(
        "responsible",
        "provider_team",
        "requesting_team",
        "awaiting",
        "key_result",
        "key_result__owner",
        "key_result__objective",
    )


def for_key_result(key_result: Any) -> list[Dependency]:
    return list(with_people().filter(key_result=key_result).order_by("rank"))


def promised_by_team(team: Any) -> list[Dependency]:
    """What the team has promised (or been asked for) by other teams, open items first."""
    return list(
        with_people()
        .filter(provider_team=team)
        .exclude(status__in=[Dependency.Status.DECLINED])
        .order_by("due_date", "pk")[:100]
    )


def awaiting_user(user: User) -> list[Any]:
    """Requests and counter-proposals waiting on the user, and deliveries to confirm, oldest
    first: rows of the dependency's own columns with the names the page words need
    (``responsible_*``, ``owner_*``, ``provider_team``, ``requesting_team``, ``kr_title``).
    SQL (``okrly.sql``): "Asked of me" runs it on every request."""
    dep, person, team, kr = (
        sql.table(Dependency),
        sql.table(get_user_model()),
        sql.table(Team),
        sql.table(KeyResult),
    )
    return sql.rows(
        f"""
SELECT d.id, d.status, d.deliverable, d.proposed_deliverable, d.due_date,
       d.proposed_due_date, d.awaiting_since, d.awaiting_id,
       r.first_name AS responsible_first, r.last_name AS responsible_last,
       pt.name AS provider_team, rt.name AS requesting_team,
       k.title AS kr_title, k.owner_id, o.first_name AS owner_first,
       o.last_name AS owner_last
FROM {dep} d
JOIN {person} r ON r.id = d.responsible_id
JOIN {team} pt ON pt.id = d.provider_team_id
JOIN {team} rt ON rt.id = d.requesting_team_id
JOIN {kr} k ON k.id = d.key_result_id
JOIN {person} o ON o.id = k.owner_id
WHERE {_AWAITING}
ORDER BY d.awaiting_since, d.id""",
        _awaiting_params(user),
    )


# What waits on a person, of dependencies ``d``: listed and counted alike.
_AWAITING = """d.awaiting_id = %s
  AND (d.status IN (%s, %s) OR (d.status = %s AND d.confirmed_at IS NULL))"""


def _awaiting_params(user: User) -> list[Any]:
    return [
        user.pk,
        Dependency.Status.REQUESTED.value,
        Dependency.Status.COUNTERED.value,
        Dependency.Status.DELIVERED.value,
    ]


def awaiting_count_sql(user: User) -> tuple[str, list[Any]]:
    """``len(awaiting_user(user))`` as a scalar SQL subquery (the navigation's count)."""
    return f"SELECT COUNT(*) FROM {sql.table(Dependency)} d WHERE {_AWAITING}", _awaiting_params(
        user
    )


def detail(pk: int) -> Dependency:
    return with_people().select_related("key_result__objective__quarter", "requested_by").get(pk=pk)


def dependent_teams(key_result_ids: list[int]) -> dict[int, set[int]]:
    """For each key result, the other teams whose open commitments (requested, countered,
    committed, at risk) serve it (one query): displacing it by a trade-off puts their work at
    risk, so they are told, and leadership must approve it (objectives.tradeoffs)."""
    open_statuses = [
        Dependency.Status.REQUESTED,
        Dependency.Status.COUNTERED,
        Dependency.Status.COMMITTED,
        Dependency.Status.AT_RISK,
    ]
    teams: dict[int, set[int]] = {}
    for key_result_id, team_id, requesting_id in Dependency.objects.filter(
        key_result_id__in=key_result_ids, status__in=open_statuses
    ).values_list("key_result_id", "provider_team_id", "requesting_team_id"):
        if team_id != requesting_id:
            teams.setdefault(key_result_id, set()).add(team_id)
    return teams


def definition_teams(objective_ids: list[int]) -> dict[int, set[int]]:
    """The teams asked for something by each objective's key results (one query): their leads
    join the objective's definition group, since they will trade their own work off against
    it. A declined request asks nothing of them any more."""
    teams: dict[int, set[int]] = {}
    for objective_id, team_id in (
        Dependency.objects.filter(key_result__objective_id__in=objective_ids)
        .exclude(status=Dependency.Status.DECLINED)
        .values_list("key_result__objective_id", "provider_team_id")
    ):
        teams.setdefault(objective_id, set()).add(team_id)
    return teams
