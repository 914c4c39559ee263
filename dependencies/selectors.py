"""Reads for dependency pages, panels and "Asked of me", each a fixed number of queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from dependencies.models import Dependency

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


def awaiting_user(user: User) -> list[Dependency]:
    """Requests and counter-proposals waiting on the user, and deliveries to confirm."""
    return list(
        with_people()
        .filter(awaiting=user)
        .filter(
            Q(status__in=[Dependency.Status.REQUESTED, Dependency.Status.COUNTERED])
            | Q(status=Dependency.Status.DELIVERED, confirmed_at__isnull=True)
        )
        .order_by("awaiting_since", "pk")
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
