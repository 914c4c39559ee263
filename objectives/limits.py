"""The priority limit (rule 8): how many objectives a team takes on in a quarter, and how many
key results an objective has. The services check it here, under a row lock on the team, so the
form, the admin and the API follow one rule and two leads adding at once cannot both pass.

- In a quarter being planned, going over the limit is refused with a message naming the limit
  and the team (code ``limit_reached``).
- Once the quarter is active, it is refused unless the addition is carried out by a trade-off
  decision (objectives.tradeoffs), code ``trade_off_required``.
- Items a trade-off dropped or deferred (``displaced_by``) no longer count.
"""

from __future__ import annotations

from objectives.models import KeyResult, Objective, TradeOff
from okrly import orgsettings
from okrly.errors import RuleBroken
from okrly.models import Quarter, Team


def objective_limit(team: Team, quarter: Quarter) -> int:
    """The quarter's limit for everyone when set, else the team's, else the default."""
    for limit in (quarter.objective_limit, team.objective_limit):
        if limit is not None:
            return int(limit)
    # A review's decision may have changed the default (okrly.orgsettings).
    return orgsettings.value("OBJECTIVE_LIMIT_DEFAULT")


def key_result_limit() -> int:
    return orgsettings.value("KEY_RESULT_LIMIT_DEFAULT")


def objectives_counted(team: Team, quarter: Quarter) -> int:
    return Objective.objects.filter(team=team, quarter=quarter, displaced_by=None).count()


def key_results_counted(objective: Objective) -> int:
    return KeyResult.objects.filter(objective=objective, displaced_by=None).count()


def lock_team(team: Team) -> None:
    # Every addition to a team's quarter takes the team's row lock first, then counts: a
    # second lead adding at the same moment waits and then sees the first one's objective.
    Team.objects.select_for_update().filter(pk=team.pk).exists()


def _refuse(*, what: str, limit: int, team: Team, quarter: Quarter, where: str) -> None:
    if quarter.status == Quarter.Status.ACTIVE:
        raise RuleBroken(
            f"{where} already has {limit} {what} (the limit) and {quarter.name} is under way: "
            "adding one now is a trade-off decision that says what it displaces.",
            field="title",
            code="trade_off_required",
            data={"limit": limit, "team": team.pk, "team_name": team.name},
        )
    raise RuleBroken(
        f"{where} already has {limit} {what}, the limit for {team.name} in {quarter.name}; "
        "drop or merge one before adding another.",
        field="title",
        code="limit_reached",
        data={"limit": limit, "team": team.pk, "team_name": team.name},
    )


def carried_by(trade_off: TradeOff | None, team: Team) -> bool:
    """The addition is what a decided trade-off of this team adds (and has not added yet)."""
    return bool(
        trade_off is not None
        and trade_off.status == TradeOff.Status.DECIDED
        and trade_off.team_id == team.pk
        and trade_off.added_objective_id is None
        and trade_off.added_key_result_id is None
    )


def require_room_for_objective(
    team: Team, quarter: Quarter, *, trade_off: TradeOff | None = None
) -> None:
    lock_team(team)
    if carried_by(trade_off, team):
        return
    limit = objective_limit(team, quarter)
    if objectives_counted(team, quarter) >= limit:
        _refuse(
            what="objectives" if limit != 1 else "objective",
            limit=limit,
            team=team,
            quarter=quarter,
            where=team.name,
        )


def require_room_for_key_result(
    objective: Objective, *, trade_off: TradeOff | None = None, adding: int = 1
) -> None:
    """Room for ``adding`` more key results (the admin's inline adds several at once)."""
    lock_team(objective.team)
    if carried_by(trade_off, objective.team):
        return
    limit = key_result_limit()
    counted = key_results_counted(objective) if objective.pk is not None else 0
    if counted + adding > limit:
        _refuse(
            what="key results" if limit != 1 else "key result",
            limit=limit,
            team=objective.team,
            quarter=objective.quarter,
            where=f"“{objective.title}”",
        )
