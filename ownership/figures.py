"""Each team's dashboard figures (``TeamFigures``, issue 14), added up from its key results'
status rows and the dependencies it owes, rewritten with them in the same transaction.

``compute`` is the from-scratch sum for some teams (one grouped statement over their status
rows, the prompts their owners were sent and the dependencies they owe that count);
``refresh`` locks the teams, computes and rewrites their rows. ``ownership.status.refresh``
calls it for every team a status write can change (the key results' teams before and after,
and the teams they ask of); the prompt job reports the owners it prompted
(``okrly.registry.prompts_sent``).

Concurrency: two transactions changing key results of one team each sum the team's rows. On
PostgreSQL each first locks the team's row (``FOR NO KEY UPDATE``, which leaves the key
share a foreign key insert takes alone); in READ COMMITTED the sum's statement then starts
after the other transaction has committed, so it sees that one's status rows as well as its
own, and no write is lost. The teams of one call are locked in id order. SQLite runs one
writer at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.utils import timezone

from checkins.models import CheckIn, CheckInPrompt
from dependencies.models import Dependency
from okrly import sql
from okrly.models import Team
from ownership.models import KeyResultStatus, TeamFigures

# The figures of a (quarter, team, week) row, in the model's order.
FIGURES = (
    "key_results",
    "not_ok",
    "at_risk",
    "overdue",
    "escalated",
    "checked_in",
    "missed",
    "checkins",
    "confidence",
)
AT_RISK = (CheckIn.Status.AT_RISK.value, CheckIn.Status.OFF_TRACK.value)
# IN lists are cut to this many ids (SQLite's parameter limit is 999 on old builds).
CHUNK = 500


@dataclass
class Figures:
    key_results: int = 0
    not_ok: int = 0
    at_risk: int = 0
    overdue: int = 0
    escalated: int = 0
    checked_in: int = 0
    missed: int = 0
    checkins: int = 0
    confidence: int = 0

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURES}


Key = tuple[int, int, int]  # quarter, team, week


def compute(team_ids: list[int], today: date) -> dict[Key, Figures]:
    """What these teams' rows should hold on ``today``: only rows with a figure other than 0
    (a week nobody checked in or was prompted has none; a quarter with neither key results
    nor dependencies owed has none). One statement, each part grouped in the database: the
    key results in play by quarter and team, their latest check-ins by week, the prompted
    owners' key results without that week's check-in, every check-in of theirs by week with
    its confidence (the team view's trend), and the dependencies the teams owe that are
    overdue or escalated (read from the two partial indexes' conditions)."""
    if not team_ids:
        return {}
    params: dict[str, Any] = {"today": today}
    teams = sql.named(params, "team", team_ids)
    status, prompt = sql.table(KeyResultStatus), sql.table(CheckInPrompt)
    risky = sql.constants(AT_RISK)
    promised = sql.constants(s.value for s in Dependency.PROMISED_STATUSES)
    opened = sql.constants(s.value for s in Dependency.OPEN_STATUSES)
    overdue = f"d.status IN ({promised}) AND d.due_date < %(today)s"
    escalated = f"d.status IN ({opened}) AND d.escalation_rung > 0"
    found: dict[Key, Figures] = defaultdict(Figures)
    for row in sql.rows(
        f"""
SELECT 'quarter' AS part, s.quarter_id, s.team_id, 0 AS week, COUNT(*) AS a,
       SUM(CASE WHEN s.ok THEN 0 ELSE 1 END) AS b,
       SUM(CASE WHEN s.checkin_status IN ({risky}) THEN 1 ELSE 0 END) AS c
FROM {status} s WHERE s.team_id IN ({teams}) AND s.in_play
GROUP BY s.quarter_id, s.team_id
UNION ALL
SELECT 'checked', s.quarter_id, s.team_id, s.checkin_week, COUNT(*), 0, 0
FROM {status} s WHERE s.team_id IN ({teams}) AND s.in_play AND s.checkin_week IS NOT NULL
GROUP BY s.quarter_id, s.team_id, s.checkin_week
UNION ALL
SELECT 'missed', s.quarter_id, s.team_id, p.week, COUNT(*), 0, 0
FROM {status} s
JOIN {prompt} p ON p.owner_id = s.owner_id AND p.quarter_id = s.quarter_id
 AND p.sent_at IS NOT NULL
WHERE s.team_id IN ({teams}) AND s.in_play
  AND (s.checkin_week IS NULL OR s.checkin_week <> p.week)
GROUP BY s.quarter_id, s.team_id, p.week
UNION ALL
SELECT 'trend', s.quarter_id, s.team_id, c.week, COUNT(*), SUM(c.confidence), 0
FROM {status} s JOIN {sql.table(CheckIn)} c ON c.key_result_id = s.key_result_id
WHERE s.team_id IN ({teams}) AND s.in_play
GROUP BY s.quarter_id, s.team_id, c.week
UNION ALL
SELECT 'owed', s.quarter_id, d.provider_team_id, 0,
       SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END),
       SUM(CASE WHEN {escalated} THEN 1 ELSE 0 END), 0
FROM {sql.table(Dependency)} d
JOIN {status} s ON s.key_result_id = d.key_result_id
WHERE d.provider_team_id IN ({teams}) AND s.in_play AND (({overdue}) OR ({escalated}))
GROUP BY s.quarter_id, d.provider_team_id""",
        params,
    ):
        figures = found[row.quarter_id, row.team_id, row.week]
        if row.part == "quarter":
            figures.key_results, figures.not_ok = int(row.a), int(row.b)
            figures.at_risk = int(row.c)
        elif row.part == "checked":
            figures.checked_in = int(row.a)
        elif row.part == "missed":
            figures.missed = int(row.a)
        elif row.part == "trend":
            figures.checkins, figures.confidence = int(row.a), int(row.b)
        else:
            figures.overdue, figures.escalated = int(row.a), int(row.b)
    return dict(found)


def refresh(team_ids: Iterable[int | None], *, today: date | None = None) -> None:
    """Rewrite these teams' rows, every quarter's, from what the database now holds. Called
    inside the transaction of the change."""
    ids = sorted({int(pk) for pk in team_ids if pk is not None})
    today = today or timezone.localdate()
    for start in range(0, len(ids), CHUNK):
        _refresh(ids[start : start + CHUNK], today)


def _lock(ids: list[int]) -> None:
    """The teams' rows, in id order, until the transaction ends (see the module's notes)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.id FROM {sql.table(Team)} t WHERE t.id IN ({sql.placeholders(ids)}) "
                "ORDER BY t.id FOR NO KEY UPDATE",
                ids,
            )


def _refresh(ids: list[int], today: date) -> None:
    _lock(ids)
    found = compute(ids, today)
    TeamFigures.objects.filter(team_id__in=ids).delete()
    TeamFigures.objects.bulk_create(
        [
            TeamFigures(
                quarter_id=quarter, team_id=team, week=week, computed_on=today, **f.values()
            )
            for (quarter, team, week), f in sorted(found.items())
        ]
    )


def refresh_all(*, today: date | None = None) -> None:
    """Every team's rows (a new installation, the bench's bulk seed, the migration)."""
    today = today or timezone.localdate()
    TeamFigures.objects.all().delete()
    refresh(Team.objects.values_list("pk", flat=True), today=today)


def prompts_sent(quarter_id: int, week: int, owner_ids: list[int]) -> None:
    """The prompt job sent these owners their prompt for ``week`` (``okrly.registry.
    prompts_sent``, a batch at a time, in the batch's transaction): each of their key results
    in play without that week's check-in is one more missed for its team and week. Added,
    not counted again: the job claims only prompts nobody sent, so none of these was counted
    before, and a batch's owners span hundreds of teams whose every owner a recount would
    read again for each batch."""
    status = sql.table(KeyResultStatus)
    for start in range(0, len(owner_ids), CHUNK):
        chunk = owner_ids[start : start + CHUNK]
        owners = sql.placeholders(chunk)
        mine = f"s.quarter_id = %s AND s.owner_id IN ({owners})"
        if connection.vendor == "postgresql":
            # The teams' locks first, in id order, as ``refresh`` takes them.
            sql.rows(
                f"SELECT t.id FROM {sql.table(Team)} t WHERE t.id IN "
                f"(SELECT s.team_id FROM {status} s WHERE {mine}) ORDER BY t.id "
                "FOR NO KEY UPDATE",
                [quarter_id, *chunk],
            )
        columns, selected, params = sql.insert_columns(
            TeamFigures,
            {"week": week, "computed_on": timezone.localdate()},
            {"quarter": "s.quarter_id", "team": "s.team_id", "missed": "COUNT(*)"},
        )
        table = sql.table(TeamFigures)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {selected} FROM {status} s "
                f"WHERE {mine} AND s.in_play AND (s.checkin_week IS NULL OR s.checkin_week <> %s) "
                "GROUP BY s.quarter_id, s.team_id "
                "ON CONFLICT (quarter_id, week, team_id) DO UPDATE "
                f"SET missed = {table}.missed + EXCLUDED.missed, "
                "computed_on = EXCLUDED.computed_on",
                [*params, quarter_id, *chunk, week],
            )


def prompted(quarter_id: int, week: int, owner_ids: list[int]) -> None:
    """These owners' prompts for ``week`` were saved or deleted one by one (the admin, a
    script): their teams' missed check-ins of that week, counted again for those teams and
    that week alone."""
    teams: set[int] = set()
    for start in range(0, len(owner_ids), CHUNK):
        chunk = owner_ids[start : start + CHUNK]
        teams.update(
            KeyResultStatus.objects.filter(quarter_id=quarter_id, owner_id__in=chunk)
            .values_list("team_id", flat=True)
            .distinct()
        )
    ids = sorted(teams)
    today = timezone.localdate()
    for start in range(0, len(ids), CHUNK):
        _prompted(quarter_id, week, ids[start : start + CHUNK], today)


def _prompted(quarter_id: int, week: int, ids: list[int], today: date) -> None:
    _lock(ids)
    # A key result is missed that week when its owner was prompted for it and its latest
    # check-in is of another week (or there is none), as ``compute`` counts it.
    missed = {
        row.team_id: int(row.n)
        for row in sql.rows(
            f"""
SELECT s.team_id, COUNT(*) AS n
FROM {sql.table(KeyResultStatus)} s
JOIN {sql.table(CheckInPrompt)} p
  ON p.owner_id = s.owner_id AND p.quarter_id = s.quarter_id AND p.week = %s
 AND p.sent_at IS NOT NULL
WHERE s.quarter_id = %s AND s.in_play AND s.team_id IN ({sql.placeholders(ids)})
  AND (s.checkin_week IS NULL OR s.checkin_week <> %s)
GROUP BY s.team_id""",
            [week, quarter_id, *ids, week],
        )
    }
    TeamFigures.objects.bulk_create(
        [
            TeamFigures(quarter_id=quarter_id, team_id=team, week=week, missed=n, computed_on=today)
            for team, n in sorted(missed.items())
        ],
        update_conflicts=True,
        unique_fields=["quarter", "week", "team"],
        update_fields=["missed", "computed_on"],
    )
    # The teams with none missed (a prompt deleted): the week's row keeps only its check-ins,
    # and goes when it has nothing left.
    none = [team for team in ids if team not in missed]
    rows = TeamFigures.objects.filter(quarter_id=quarter_id, week=week, team_id__in=none)
    rows.update(missed=0)
    rows.filter(checked_in=0, checkins=0).delete()
