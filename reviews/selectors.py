"""Dashboard reads. Every figure is aggregated in the database (COUNT ... FILTER over
annotated key results and dependencies); Python only adds up per-team rows into their
department and shapes them for the page. Each function costs a fixed number of queries.

A key result a trade-off dropped or deferred (rule 8) has left every figure here: it is
neither failing, at risk nor missed, and what it was owed or asked for no longer counts
(``KeyResult.objects.in_play()`` / ``in_play_q`` in objectives/models.py; the verdict table
leaves it out by itself)."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from checkins.models import CheckIn, CheckInComment
from checkins.threads import Entry
from dependencies.models import Dependency, DependencyEvent, Escalation
from objectives.definitions import not_shared_by_team
from objectives.models import KeyResult, Objective, TradeOff, expected_percent, progress_percent
from okrly import access, sql
from okrly.access import leadership_group_name
from okrly.links import link
from okrly.models import Membership, Quarter, Team, ancestry
from ownership.accountability import AccountabilityResult, results_for
from ownership.models import KeyResultStatus, OwnershipNomination, TeamFigures
from ownership.status import FLAG_SELECT, flags, flags_from_row
from reviews.models import EarlyEscalation, MissResponse, NextStep, RiskItem

logger = logging.getLogger(__name__)

RISKY = [CheckIn.Status.AT_RISK, CheckIn.Status.OFF_TRACK]
SIGNALS = [
    "failing",
    "at_risk",
    "overdue",
    "escalations",
    "missed",
    "completion",
    "not_shared",
    "trade_offs",
]


def count(qs: QuerySet[Any], by: str) -> Any:
    """A correlated COUNT of ``qs`` grouped by ``by`` (0 when there are none), as a column."""
    return Coalesce(
        Subquery(
            qs.order_by().values(by).annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def dashboard_week(quarter: Quarter, today: date) -> int:
    """The quarter week the dashboard reports on (clamped to the quarter)."""
    return max(1, min(quarter.week_of(min(max(today, quarter.start), quarter.end)), quarter.weeks))


@dataclass
class Signals:
    key_results: int = 0
    failing: int = 0  # fail the Accountability Test
    at_risk: int = 0  # latest check-in at risk or off track
    checked_in: int = 0  # have this week's check-in
    missed: int = 0  # prompted this week, no check-in yet
    overdue: int = 0  # dependencies owed, committed and past due
    escalations: int = 0  # open dependencies on the escalation ladder
    objectives: int = 0  # the quarter's objectives in play (not displaced by a trade-off)
    not_shared: int = 0  # of those, definitions not acknowledged by all their group (rule 9)
    trade_offs: int = 0  # trade-offs decided this quarter (rule 8)
    # Teams with more than TRADE_OFF_WARN of them: 0 or 1 for a team, a count when added up
    # (a department's sum may be high while no single team of it is over).
    trade_off_warned: int = 0
    # Missed commitments of the quarter (MissResponse rows of key results in play) and how they
    # were answered (rule 10) and foreseen (rule 7); see _add_misses for the definitions.
    misses: int = 0
    surprises: int = 0  # misses never signalled before they were missed
    lead_weeks: list[float] = field(default_factory=list)  # per signalled miss
    responses_settled: int = 0  # recorded, or past their deadline (not-yet-due ones wait)
    responses_on_time: int = 0  # recorded by their deadline
    response_days: list[float] = field(default_factory=list)  # opened → recorded, per record
    steps_settled: int = 0  # next steps done, or past their due date
    steps_on_time: int = 0  # done by the end of their due date

    @property
    def completion(self) -> int:
        return round(100 * self.checked_in / self.key_results) if self.key_results else 0

    @property
    def surprise_rate(self) -> float | None:
        """The share (0 to 1) of the misses never signalled before; None without misses."""
        return round(self.surprises / self.misses, 3) if self.misses else None

    @property
    def surprise_percent(self) -> int | None:
        return round(100 * self.surprises / self.misses) if self.misses else None

    @property
    def median_lead_weeks(self) -> float | None:
        return _median(self.lead_weeks)

    @property
    def responses_on_time_percent(self) -> int | None:
        if not self.responses_settled:
            return None
        return round(100 * self.responses_on_time / self.responses_settled)

    @property
    def median_response_days(self) -> float | None:
        return _median(self.response_days)

    @property
    def steps_on_time_percent(self) -> int | None:
        return round(100 * self.steps_on_time / self.steps_settled) if self.steps_settled else None

    def add(self, other: Signals) -> None:
        # Field by field rather than a getattr loop: at 10× the organisation view adds up
        # thousands of teams on every request, and this ran at a third of the speed.
        self.key_results += other.key_results
        self.failing += other.failing
        self.at_risk += other.at_risk
        self.checked_in += other.checked_in
        self.missed += other.missed
        self.overdue += other.overdue
        self.escalations += other.escalations
        self.objectives += other.objectives
        self.not_shared += other.not_shared
        self.trade_offs += other.trade_offs
        self.trade_off_warned += other.trade_off_warned
        self.misses += other.misses
        self.surprises += other.surprises
        self.responses_settled += other.responses_settled
        self.responses_on_time += other.responses_on_time
        self.steps_settled += other.steps_settled
        self.steps_on_time += other.steps_on_time
        # Medians do not add up: the figures behind them do.
        if other.lead_weeks:
            self.lead_weeks = self.lead_weeks + other.lead_weeks
        if other.response_days:
            self.response_days = self.response_days + other.response_days

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "key_results": self.key_results,
            "failing_accountability_test": self.failing,
            "at_risk_by_checkin": self.at_risk,
            "overdue_dependencies": self.overdue,
            "open_escalations": self.escalations,
            "missed_checkins_this_week": self.missed,
            "checkin_completion_percent": self.completion,
            "objectives": self.objectives,
            "definitions_not_shared": self.not_shared,
            "trade_offs_this_quarter": self.trade_offs,
            "teams_over_trade_off_warn": self.trade_off_warned,
            "missed_commitments": self.misses,
            # Null when there is nothing to compute them from (no miss, no signalled miss, no
            # response settled yet), never a misleading 0.
            "surprise_rate": self.surprise_rate,
            "median_signal_lead_weeks": self.median_lead_weeks,
            "responses_on_time_percent": self.responses_on_time_percent,
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


@dataclass
class Row:
    team: Any  # Team, or a department (a top-level team)
    signals: Signals
    children: int = 0
    depth: int = 0


@dataclass
class OrgView:
    quarter: Quarter
    week: int
    today: date
    headline: Signals
    departments: list[Row] = field(default_factory=list)
    teams_by_department: dict[int, list[Row]] = field(default_factory=dict)


@dataclass
class LeaderRow:
    """One leader's consistency (rule 10): the missed commitments of their teams and how they
    were answered. Their teams: for a member of the leadership group, the whole organisation;
    for a team lead, the teams they lead and every team below them."""

    person: Any
    scope: str  # "Whole organisation", or the names of the teams they lead
    signals: Signals


def _team_signals(
    quarter: Quarter,
    today: date,
    week: int,
    teams: list[int] | None,
    *,
    by_department: bool = False,
) -> dict[int, Signals]:
    """Key-result signals by team, or by department (``by_department``: added up in the
    database, so the organisation view reads a row per department): one grouped query over
    the teams' figures (``ownership.models.TeamFigures``, a row per team and week, kept by
    the writes), trade-offs (one), definitions not shared (one) and the missed commitments
    (one): a fixed count whatever the size, and nothing recomputed per request that a write
    could have kept (issue 14)."""
    if teams is not None and not teams:
        # No team asked for: no figures (and no query).
        return {}
    params: dict[str, Any] = {"quarter": quarter.pk, "week": week, "today": today}
    team_list = "" if teams is None else sql.named(params, "team", teams)

    def by(alias: str) -> tuple[str, str, str]:
        # The grouping column, the join it needs and the teams' scope, for a table whose
        # team column is ``<alias>.team_id``.
        if by_department:
            group, join = "t.department_id", f"JOIN {sql.table(Team)} t ON t.id = {alias}.team_id"
        else:
            group, join = f"{alias}.team_id", ""
        scope = f" AND {alias}.team_id IN ({team_list})" if team_list else ""
        return group, join, scope

    (f_group, f_join, f_scope), (s_group, s_join, s_scope) = by("f"), by("s")
    # The teams' own rows (ownership.models.TeamFigures): the quarter's (week 0) and this
    # week's, added up by team or department. Plus the key results counted as passing whose
    # top-two dependency's date has passed since their status row was written (``kept_until``;
    # the partial index krstatus_kept_until holds only rows still counted as passing that a
    # date can fail, and statuses_refresh_task rewrites them within the quarter hour).
    figures = sql.rows(
        f"""
SELECT {f_group} AS team_id,
       SUM(f.key_results) AS key_results, SUM(f.not_ok) AS not_ok, SUM(f.at_risk) AS at_risk,
       SUM(f.checked_in) AS checked_in, SUM(f.missed) AS missed,
       SUM(f.overdue) AS overdue, SUM(f.escalated) AS escalated, 0 AS lapsed
FROM {sql.table(TeamFigures)} f {f_join}
WHERE f.quarter_id = %(quarter)s AND f.week IN (0, %(week)s){f_scope}
GROUP BY {f_group}
UNION ALL
SELECT {s_group}, 0, 0, 0, 0, 0, 0, 0, COUNT(*)
FROM {sql.table(KeyResultStatus)} s {s_join}
WHERE s.quarter_id = %(quarter)s AND s.ok AND s.in_play AND s.kept_until IS NOT NULL
  AND s.kept_until < %(today)s{s_scope}
GROUP BY {s_group}""",
        params,
    )
    found: dict[int, Signals] = {}
    for row in figures:
        signals = found.setdefault(row.team_id, Signals())
        signals.key_results += int(row.key_results)
        signals.failing += int(row.not_ok) + int(row.lapsed)
        signals.at_risk += int(row.at_risk)
        signals.checked_in += int(row.checked_in)
        signals.missed += int(row.missed)
        signals.overdue += int(row.overdue)
        signals.escalations += int(row.escalated)
    _add_trade_offs(found, quarter, teams, by_department)
    _add_definitions(found, quarter, teams, by_department)
    _add_misses(found, quarter, today, teams, by_department=by_department)
    return found


WEEK_SECONDS = 7 * 24 * 3600


def miss_rows(
    quarter: Quarter,
    teams: list[int] | None,
    *,
    by_department: bool = False,
    subtree_of: int | None = None,
) -> list[Any]:
    """``miss_read``'s rows, read now."""
    return miss_read(quarter, teams, by_department=by_department, subtree_of=subtree_of).get()


def miss_read(
    quarter: Quarter,
    teams: list[int] | None,
    *,
    by_department: bool = False,
    subtree_of: int | None = None,
) -> sql.Read[list[Any]]:
    """The quarter's missed commitments (one query), each with its team (``team_id``: its
    department's id with ``by_department``), its response's and next step's dates, and the
    first signal of each kind raised before the miss was detected (``opened_at``):

    - ``signal_checkin``: a check-in of its key result at risk or off track, or flagged
      stated-vs-forecast;
    - ``signal_escalation``: an early escalation raised on its key result (or on the missed
      dependency);
    - ``signal_dependency``: a dependency of its key result (or the missed dependency)
      flagged at risk: a DependencyEvent whose ``to_status`` is ``at_risk``
      (dependencies.services.dependency_flag_risk writes it).

    A displaced key result's misses are left out, like every other figure (rule 8). SQL
    (``okrly.sql``): the organisation and team views run it on every request."""
    params: dict[str, Any] = {
        "quarter": quarter.pk,
        "risk_a": CheckIn.Status.AT_RISK.value,
        "risk_b": CheckIn.Status.OFF_TRACK.value,
        "at_risk": Dependency.Status.AT_RISK.value,
    }
    scope = "" if teams is None else f" AND o.team_id IN ({sql.named(params, 'team', teams)})"
    if subtree_of is not None:
        # The team and every team below it, walked down the tree by the database.
        params["top"] = subtree_of
        scope += f""" AND o.team_id IN (
    WITH RECURSIVE below(id) AS (
        SELECT r.id FROM {sql.table(Team)} r WHERE r.id = %(top)s
        UNION ALL
        SELECT c.id FROM {sql.table(Team)} c JOIN below ON c.parent_id = below.id
    )
    SELECT id FROM below)"""
    team = "t.department_id" if by_department else "o.team_id"
    # "dependency_id = NULL" is never true: a key-result miss matches on its key result only.
    return sql.Read(
        f"""
SELECT m.id AS pk, {team} AS team_id, m.opened_at, m.due_at, m.recorded_at,
       n.due AS step_due, n.done_at AS step_done_at,
       (SELECT c.submitted_at FROM {sql.table(CheckIn)} c
        WHERE c.key_result_id = m.key_result_id AND c.submitted_at < m.opened_at
          AND (c.status IN (%(risk_a)s, %(risk_b)s) OR c.forecast_flag)
        ORDER BY c.submitted_at LIMIT 1) AS signal_checkin,
       (SELECT e.raised_at FROM {sql.table(EarlyEscalation)} e
        WHERE (e.key_result_id = m.key_result_id OR e.dependency_id = m.dependency_id)
          AND e.raised_at < m.opened_at
        ORDER BY e.raised_at LIMIT 1) AS signal_escalation,
       (SELECT v.created_at FROM {sql.table(DependencyEvent)} v
        JOIN {sql.table(Dependency)} d ON d.id = v.dependency_id
        WHERE (d.key_result_id = m.key_result_id OR v.dependency_id = m.dependency_id)
          AND v.to_status = %(at_risk)s AND v.created_at < m.opened_at
        ORDER BY v.created_at LIMIT 1) AS signal_dependency
FROM {sql.table(MissResponse)} m
JOIN {sql.table(KeyResult)} k ON k.id = m.key_result_id
JOIN {sql.table(Objective)} o ON o.id = k.objective_id
JOIN {sql.table(Team)} t ON t.id = o.team_id
LEFT JOIN {sql.table(NextStep)} n ON n.response_id = m.id
WHERE m.quarter_id = %(quarter)s AND k.displaced_by_id IS NULL{scope}""",
        params,
        list,
        datetimes=("signal_checkin", "signal_escalation", "signal_dependency"),
    )


def first_signal(row: Any) -> datetime | None:
    found = [s for s in (row.signal_checkin, row.signal_escalation, row.signal_dependency) if s]
    return min(found) if found else None


def _add_misses(
    found: dict[int, Signals],
    quarter: Quarter,
    today: date,
    teams: list[int] | None,
    *,
    by_department: bool = False,
    subtree_of: int | None = None,
    rows: list[Any] | None = None,
) -> None:
    """Missed commitments per team (one query, ``miss_rows``; ``subtree_of``: of that team
    and the teams below it; ``rows``: that query's rows, read already), and what is known of
    each:

    - surprise: never signalled before it was missed; else its lead time, the weeks from the
      first signal to the miss;
    - its response: settled once recorded or once its deadline has passed (a response still
      open and not yet due is neither on time nor late, and counts in neither part of the
      percentage); on time when recorded by ``due_at``; days to respond from ``opened_at``;
    - its next step: settled once done or once its due date is over; on time when done by
      the end of its due date (the local day)."""
    now = timezone.now()
    if rows is None:
        rows = miss_rows(quarter, teams, by_department=by_department, subtree_of=subtree_of)
    for row in rows:
        signals = found.setdefault(row.team_id, Signals())
        signals.misses += 1
        first = first_signal(row)
        if first is None:
            signals.surprises += 1
        else:
            signals.lead_weeks.append(
                round((row.opened_at - first).total_seconds() / WEEK_SECONDS, 1)
            )
        recorded = row.recorded_at
        if recorded is not None or row.due_at <= now:
            signals.responses_settled += 1
            signals.responses_on_time += int(recorded is not None and recorded <= row.due_at)
        if recorded is not None:
            days = (recorded - row.opened_at).total_seconds() / 86400
            signals.response_days.append(round(days, 1))
        due, done = row.step_due, row.step_done_at
        if due is not None and (done is not None or due < today):
            signals.steps_settled += 1
            signals.steps_on_time += int(done is not None and timezone.localdate(done) <= due)


def _add_trade_offs(
    found: dict[int, Signals], quarter: Quarter, teams: list[int] | None, by_department: bool
) -> None:
    """Decided trade-offs per team (one grouped query). Awaiting or refused ones displaced
    nothing yet; more than TRADE_OFF_WARN decided is itself a signal (rule 8)."""
    params: dict[str, Any] = {"quarter": quarter.pk, "decided": TradeOff.Status.DECIDED.value}
    scope = "" if teams is None else f" AND o.team_id IN ({sql.named(params, 'team', teams)})"
    # By team either way (a row per team that decided one: a handful), then added up by
    # department here when asked: a department's warning counts its teams over the limit.
    for row in sql.rows(
        f"""
SELECT o.team_id, t.department_id, COUNT(*) AS n
FROM {sql.table(TradeOff)} o JOIN {sql.table(Team)} t ON t.id = o.team_id
WHERE o.quarter_id = %(quarter)s AND o.status = %(decided)s{scope}
GROUP BY o.team_id, t.department_id""",
        params,
    ):
        # None: a team whose department is not set yet (org_view says so).
        key: Any = row.department_id if by_department else row.team_id
        signals = found.setdefault(key, Signals())
        signals.trade_offs += row.n
        signals.trade_off_warned += int(row.n > settings.TRADE_OFF_WARN)


def _add_definitions(
    found: dict[int, Signals], quarter: Quarter, teams: list[int] | None, by_department: bool
) -> None:
    """In-play objectives and those whose definition is not shared, per team: one grouped
    query over ``Objective.definition_shared``, which objectives.definitions keeps (the
    definition group is computed there only: leadership, leads, dependencies, alignment)."""
    grouped = not_shared_by_team(quarter.pk, teams, by_department=by_department)
    for team_id, (total, not_shared) in grouped.items():
        signals = found.setdefault(team_id, Signals())
        signals.objectives = total
        signals.not_shared = not_shared


def subtree(team: Team) -> list[Team]:
    """The team and every team below it (one query): they are all in its department, so
    only the department's teams are read, not the organisation's."""
    teams = [
        Team(id=row.id, name=row.name, slug=row.slug, parent_id=row.parent_id)
        for row in sql.rows(
            f"SELECT t.id, t.name, t.slug, t.parent_id FROM {sql.table(Team)} t "
            "WHERE t.department_id = %s",
            [team.department_id],
        )
    ]
    parent = {t.pk: t.parent_id for t in teams}
    # A team whose department is not set yet (the nightly job sets it) is its own subtree.
    return [t for t in teams if team.pk in ancestry(parent, t.pk)] or [team]


def org_view(quarter: Quarter, today: date, *, sort: str = "") -> OrgView:
    """Headline figures and one row per department, in a fixed number of queries (the
    departments with how many teams each has, then ``_team_signals``'s), each returning a
    row per department: the figures are added up by department in the database
    (``Team.department``), so nothing here walks the organisation's teams. The consistency per
    leader is its own page (``consistency_rows``): a row per leader grows with the
    organisation."""
    week = dashboard_week(quarter, today)
    team = sql.table(Team)
    # The departments (top-level teams) with how many teams each has below it (counted in
    # one pass over the teams, not once per department); the rows show them, so they are
    # built as teams (nothing is saved from here).
    by_pk: dict[int, Team] = {}
    for row in sql.rows(
        f"""
SELECT d.id, d.name, d.slug, d.department_id, COALESCE(b.below, 0) AS below
FROM {team} d
LEFT JOIN (
    SELECT department_id, COUNT(*) AS below FROM {team}
    WHERE parent_id IS NOT NULL GROUP BY department_id
) b ON b.department_id = d.id
WHERE d.parent_id IS NULL""",
        [],
    ):
        top = Team(
            id=row.id,
            name=row.name,
            slug=row.slug,
            parent_id=None,
            department_id=row.department_id,
        )
        top.below = row.below  # type: ignore[attr-defined]  # read below
        by_pk[row.id] = top
    per_department = _team_signals(quarter, today, week, None, by_department=True)
    view = OrgView(quarter=quarter, week=week, today=today, headline=Signals())
    rows = []
    for pk, signals in per_department.items():
        department = by_pk.get(pk) if pk is not None else None
        if department is None:
            # A team whose department is not set yet (created in bulk without
            # TeamQuerySet.refresh_departments, which the nightly job runs): counted in
            # the headline, shown in no row until then.
            logger.warning("Dashboard figures of teams without a department: %s", signals)
        else:
            children = department.below  # type: ignore[attr-defined]  # the annotation
            rows.append(Row(team=department, signals=signals, children=children))
        view.headline.add(signals)
    view.departments = sort_rows(rows, sort)
    return view


def consistency_rows(quarter: Quarter, today: date) -> list[LeaderRow]:
    """Rule 10's consistency, one row per leader: the teams (one query), the quarter's missed
    commitments by team (one), then ``leader_rows``' two."""
    teams = list(Team.objects.only("pk", "name", "parent_id", "lead_id"))
    per_team: dict[int, Signals] = {}
    _add_misses(per_team, quarter, today, None)
    return leader_rows(teams, per_team)


def leader_rows(teams: list[Team], per_team: dict[int, Signals]) -> list[LeaderRow]:
    """A row per leader: the leadership group's members and every team's leads (a named
    ``Team.lead`` or a member with the lead role), by name. Two queries whatever the size
    (the leads' memberships, then the people); the figures are the teams' own, added up
    over each leader's teams in memory."""
    led: dict[int, set[int]] = {}
    for team in teams:
        if team.lead_id is not None:
            led.setdefault(team.lead_id, set()).add(team.pk)
    for user_id, team_id in Membership.objects.filter(role=Membership.Role.LEAD).values_list(
        "user_id", "team_id"
    ):
        led.setdefault(user_id, set()).add(team_id)
    User = get_user_model()
    in_group = User.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__name=leadership_group_name()
    )
    people = list(
        User.objects.filter(is_active=True)
        .annotate(in_leadership=Exists(in_group))
        .filter(Q(in_leadership=True) | Q(pk__in=list(led)))
        .order_by("first_name", "last_name", "username")
    )
    parent = {t.pk: t.parent_id for t in teams}
    above_each = {t.pk: set(ancestry(parent, t.pk)) for t in teams}
    names = {t.pk: t.name for t in teams}
    rows = []
    for person in people:
        if person.in_leadership:
            scope_teams = set(above_each)
            scope = "Whole organisation"
        else:
            mine = led.get(person.pk, set())
            scope_teams = {pk for pk, above in above_each.items() if above & mine}
            # Named by the teams they lead (not those below, which follow from them).
            scope = ", ".join(sorted(names[pk] for pk in mine if pk in names))
        total = Signals()
        # Over the teams with figures (few: those with misses), not every team in scope.
        for pk, signals in per_team.items():
            if pk in scope_teams:
                total.add(signals)
        rows.append(LeaderRow(person=person, scope=scope, signals=total))
    return rows


def team_outcomes(quarter: Quarter, team: Team, today: date) -> Signals:
    """``team_outcomes_read``'s figures, read now."""
    return team_outcomes_read(quarter, team.pk, today).get()


def team_outcomes_read(quarter: Quarter, team_id: int, today: date) -> sql.Read[Signals]:
    """The missed commitments of a team and the teams below it (so a department's view is the
    whole department's), surprise rate and lead time with them: one query."""

    def total(rows: list[Any]) -> Signals:
        found: dict[int, Signals] = {}
        _add_misses(found, quarter, today, None, subtree_of=team_id, rows=rows)
        added = Signals()
        for signals in found.values():
            added.add(signals)
        return added

    read = miss_read(quarter, None, subtree_of=team_id)
    return sql.Read(read.sql, read.params, total, datetimes=read.datetimes)


def department_teams(
    quarter: Quarter, today: date, department: Team, *, sort: str = ""
) -> list[Row]:
    """The teams under one department, for the htmx expand (13 queries whatever the size)."""
    week = dashboard_week(quarter, today)
    # The department and every team below it. A top-level team's are its department's
    # teams; a sub-team's id (a link or an API call) gives its own subtree, not nothing.
    members = subtree(department)
    per_team = _team_signals(quarter, today, week, [t.pk for t in members])
    rows = [Row(team=t, signals=per_team.get(t.pk, Signals()), depth=1) for t in members]
    # A team without key results still shows when it owes something overdue or escalated:
    # its figures are in the department's row, so the expanded rows must add up to it.
    # So do its objectives whose definition is not shared and its trade-offs.
    shown = [
        r
        for r in rows
        if r.signals.key_results
        or r.signals.overdue
        or r.signals.escalations
        or r.signals.objectives
        or r.signals.trade_offs
        or r.signals.misses
    ]
    return sort_rows(shown, sort)


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    """By a signal, largest first (``-signal``: smallest first); ties, and no sort, in name
    order either way (reversing the whole tuple would list ties Z to A)."""
    key = sort.lstrip("-")
    if key in SIGNALS:
        sign = 1 if sort.startswith("-") else -1
        return sorted(rows, key=lambda r: (sign * getattr(r.signals, key), r.team.name))
    return sorted(rows, key=lambda r: r.team.name)


# --- team view ---------------------------------------------------------------------------------


def team_header(pk: int, quarter: Quarter) -> Team | None:
    """``team_header_read``'s team, read now."""
    return team_header_read(pk, quarter).get()


def team_header_read(pk: int, quarter: Quarter) -> sql.Read[Team | None]:
    """The team view's team (None when there is none) with what its head prints, in one
    statement: its lead (``lead_person``, a ``okrly.sql.Person``, or None), its parent's
    name (``parent_name``) and the trade-offs it decided in the quarter (``decided_trade_offs``, as
    the heatmap counts them)."""
    person = sql.table(get_user_model())
    return sql.Read(
        f"""
SELECT t.id, t.name, t.slug, t.parent_id, t.department_id, t.lead_id, p.name AS parent_name,
       l.username, l.first_name, l.last_name,
       (SELECT COUNT(*) FROM {sql.table(TradeOff)} o
        WHERE o.team_id = t.id AND o.quarter_id = %(quarter)s AND o.status = %(decided)s)
       AS trade_offs
FROM {sql.table(Team)} t
LEFT JOIN {sql.table(Team)} p ON p.id = t.parent_id
LEFT JOIN {person} l ON l.id = t.lead_id
WHERE t.id = %(team)s""",
        {"team": pk, "quarter": quarter.pk, "decided": TradeOff.Status.DECIDED.value},
        _team_of_header,
    )


def _team_of_header(found: list[Any]) -> Team | None:
    if not found:
        return None
    row = found[0]
    team = Team(
        id=row.id,
        name=row.name,
        slug=row.slug,
        parent_id=row.parent_id,
        department_id=row.department_id,
        lead_id=row.lead_id,
    )
    team.parent_name = row.parent_name  # type: ignore[attr-defined]  # the head prints them
    team.decided_trade_offs = int(row.trade_offs)  # type: ignore[attr-defined]
    team.lead_person = (  # type: ignore[attr-defined]
        None
        if row.lead_id is None
        else sql.Person(row.lead_id, row.username, row.first_name, row.last_name)
    )
    return team


class TeamRow:
    """A key result's row of the team view: what the row shows, with its figures from the
    key result's status row (``KeyResultStatus``, kept by every write)."""

    __slots__ = (
        "acct_checkin_status",
        "current_value",
        "deps_committed",
        "deps_escalated",
        "deps_open",
        "flags",
        "latest_confidence",
        "latest_week",
        "open_needs",
        "owner",
        "pk",
        "start_value",
        "target_value",
        "title",
        "unit",
    )

    def __init__(self, row: Any, today: date) -> None:
        self.pk = row.id
        self.title = row.title
        self.start_value = sql.decimal(row.start_value)
        self.target_value = sql.decimal(row.target_value)
        self.current_value = sql.decimal(row.current_value)
        self.unit = row.unit
        self.owner = sql.Person(row.owner_id, row.username, row.first_name, row.last_name)
        self.acct_checkin_status = row.latest_checkin_status
        self.latest_confidence = row.latest_checkin_confidence
        self.latest_week = row.latest_checkin_week
        self.deps_open = row.deps_open
        self.deps_committed = row.deps_committed
        self.deps_escalated = row.deps_escalated
        self.open_needs = row.open_needs
        # The Accountability Test's inputs, read with the row (None: no status row yet).
        self.flags = flags_from_row(row, today)

    @property
    def progress(self) -> int:
        return progress_percent(self.start_value, self.target_value, self.current_value)

    def get_absolute_url(self) -> str:
        return link("objectives:key_result", self.pk)


class TeamKeyResults(sql.Paged):
    """The team's key results in play, in their objectives' order, each a ``TeamRow`` with
    every per-row figure (a slice is one query for its rows; ``count`` one query).

    The Accountability Test is not among the columns: the page and the API run
    ``accountability_for`` on the page's rows anyway (its badges need the reasons). SQL
    (``okrly.sql``): the team view runs it on every request."""

    def __init__(self, quarter: Quarter, team_id: int, today: date) -> None:
        self.today = today
        self.params = {"quarter": quarter.pk, "team": team_id}
        self.source = (
            f"FROM {sql.table(KeyResult)} k "
            f"JOIN {sql.table(Objective)} o ON o.id = k.objective_id "
            "WHERE o.quarter_id = %(quarter)s AND o.team_id = %(team)s "
            "AND k.displaced_by_id IS NULL"
        )

    def count(self) -> int:
        return int(sql.rows(f"SELECT COUNT(*) AS n {self.source}", self.params)[0].n)

    def _rows(self, limit: int | None, offset: int) -> list[TeamRow]:
        return [TeamRow(row, self.today) for row in self._read(limit, offset).get()]

    def page(self, number: Any, per_page: int) -> Page[Any]:
        return self.page_read(number, per_page).get()

    def page_read(self, number: Any, per_page: int) -> sql.Read[Page[Any]]:
        """``Paginator(self, per_page).get_page(number)`` in one statement: the rows of the
        page with the team's count beside them (a window count), where the paginator reads
        the count first and the rows second. Past the last page (or below the first), the
        last page, as ``get_page`` gives it, for two more."""
        try:
            wanted = int(number) if number is not None else 1
        except (TypeError, ValueError):
            wanted = 1
        # A number past any organisation's pages (a 25-digit one would overflow OFFSET's
        # bigint) is past the last page: read as the first, then found empty.
        within = 1 <= wanted <= 10**9
        read = self._read(per_page, (wanted - 1) * per_page if within else 0)

        def page(found: list[Any]) -> Page[Any]:
            return self._page(found if within else [], wanted, per_page)

        return sql.Read(read.sql, read.params, page)

    def _page(self, found: list[Any], wanted: int, per_page: int) -> Page[Any]:
        paginator = Paginator(cast(Any, self), per_page)
        if found:
            total = int(found[0].total)
        else:
            total = self.count()
            last = max(1, -(-total // per_page))
            if wanted != 1 or total:
                wanted = last
                found = self._read(per_page, (wanted - 1) * per_page).get()
        paginator.count = total  # counted above, not by the paginator
        return Page([TeamRow(row, self.today) for row in found], wanted, paginator)

    def _read(self, limit: int | None, offset: int) -> sql.Read[list[Any]]:
        page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
        # The status row is always there (every write keeps it); LEFT JOIN all the same, so
        # a key result a bulk insert wrote without one still shows, with zeros.
        source = self.source.replace(
            "WHERE",
            f"JOIN {sql.table(get_user_model())} u ON u.id = k.owner_id "
            f"LEFT JOIN {sql.table(KeyResultStatus)} s ON s.key_result_id = k.id WHERE",
            1,
        )
        return sql.Read(
            f"""
SELECT k.id, k.title, k.start_value, k.target_value, k.current_value, k.unit, k.owner_id,
       u.username, u.first_name, u.last_name, k.latest_checkin_status,
       k.latest_checkin_confidence, k.latest_checkin_week, COALESCE(s.deps_open, 0) AS deps_open,
       COALESCE(s.deps_committed, 0) AS deps_committed,
       COALESCE(s.open_escalations, 0) AS deps_escalated,
       COALESCE(s.open_needs, 0) AS open_needs, {FLAG_SELECT}, COUNT(*) OVER () AS total
{source}
ORDER BY o.rank, k.id{page}""",
            self.params,
            list,
        )


@dataclass(frozen=True)
class TeamPace:
    """The team's key results against a linear pace by this week (issue 15): the average
    progress and how many are behind, on or ahead of pace, by the same measure (and the
    same 5-point margin) as each row's note."""

    key_results: int
    progress: int  # average percent of the way, 0-100
    expected: int  # percent a linear pace expects by this week
    behind: int
    on_pace: int
    ahead: int

    @property
    def gap(self) -> int:
        return self.progress - self.expected


PACE_MARGIN = 5


def team_pace_read(quarter: Quarter, team_id: int, week: int) -> sql.Read[TeamPace | None]:
    """Every key result in play of the team (its own, as the table lists them): start,
    target and value, one statement; the percentages are the rows' own formula
    (``objectives.models.progress_percent``), so the summary agrees with the notes."""

    def pace(found: list[Any]) -> TeamPace | None:
        if not found or not week:
            return None
        expected = expected_percent(week, quarter.weeks)
        progress = [
            progress_percent(
                Decimal(str(r.start_value)),
                Decimal(str(r.target_value)),
                Decimal(str(r.current_value)),
            )
            for r in found
        ]
        gaps = [p - expected for p in progress]
        return TeamPace(
            key_results=len(progress),
            progress=round(sum(progress) / len(progress)),
            expected=expected,
            behind=sum(1 for g in gaps if g < -PACE_MARGIN),
            on_pace=sum(1 for g in gaps if abs(g) <= PACE_MARGIN),
            ahead=sum(1 for g in gaps if g > PACE_MARGIN),
        )

    return sql.Read(
        f"SELECT k.start_value, k.target_value, k.current_value FROM {sql.table(KeyResult)} k "
        f"JOIN {sql.table(Objective)} o ON o.id = k.objective_id "
        "WHERE o.quarter_id = %s AND o.team_id = %s AND k.displaced_by_id IS NULL",
        [quarter.pk, team_id],
        pace,
    )


def team_accountability(rows: list[TeamRow], today: date) -> dict[int, AccountabilityResult]:
    """The Accountability Test for the team view's rows, from the inputs read with them (a
    key result without a status row reads its own: ``ownership.status.flags``)."""
    known = {row.pk: row.flags for row in rows if row.flags is not None}
    missing = [row.pk for row in rows if row.flags is None]
    if missing:
        known.update(flags(missing, today))
    return results_for(known, today)


def team_key_results(quarter: Quarter, team: Team, today: date) -> TeamKeyResults:
    """The team's key results with every per-row figure (``TeamKeyResults``)."""
    return TeamKeyResults(quarter, team.pk, today)


@dataclass
class TeamPromise:
    """A dependency the team owes another team, as the team view lists it."""

    pk: int
    deliverable: str
    status: str
    confirmed_at: datetime | None
    due_date: date
    escalation_rung: int
    requesting_team: str  # its name
    responsible: sql.Person

    def get_absolute_url(self) -> str:
        return link("dependencies:detail", self.pk)


def team_promises(quarter: Quarter, team: Team) -> list[TeamPromise]:
    """``team_promises_read``'s dependencies, read now."""
    return team_promises_read(quarter, team.pk).get()


def _promises(found: list[Any]) -> list[TeamPromise]:
    return [
        TeamPromise(
            pk=row.id,
            deliverable=row.deliverable,
            status=row.status,
            confirmed_at=row.confirmed_at,
            due_date=row.due_date,
            escalation_rung=row.escalation_rung,
            requesting_team=row.requesting_team,
            responsible=sql.Person.of(row, "r_"),
        )
        for row in found
    ]


def team_promises_read(quarter: Quarter, team_id: int) -> sql.Read[list[TeamPromise]]:
    """Dependencies the team owes other teams, open ones, soonest due first (one query). Not
    those of a displaced key result: they are out of the team's overdue figure too. The
    quarter's key results in play are their status rows. SQL (``okrly.sql``): the team view
    runs it on every request.

    The page's 25 are picked first, the status row read by its key for each open
    dependency of the team and the requesting team's name for each of the 25 (scalar
    subqueries, which PostgreSQL runs as index lookups per row): written as joins, the
    planner hashed the whole status, team and user tables for them, 2–3 ms at 1× where the
    lookups take 0.5."""
    open_statuses = sql.constants(s.value for s in Dependency.OPEN_STATUSES)
    return sql.Read(
        f"""
SELECT d.id, d.deliverable, d.status, d.confirmed_at, d.due_date, d.escalation_rung,
       (SELECT t.name FROM {sql.table(Team)} t WHERE t.id = d.requesting_team_id)
       AS requesting_team, {sql.Person.columns("u", "r_")}
FROM (
    SELECT d.id, d.deliverable, d.status, d.confirmed_at, d.due_date, d.escalation_rung,
           d.requesting_team_id, d.responsible_id
    FROM {sql.table(Dependency)} d
    WHERE d.provider_team_id = %(team)s AND d.status IN ({open_statuses})
      AND (SELECT s.in_play AND s.quarter_id = %(quarter)s
           FROM {sql.table(KeyResultStatus)} s WHERE s.key_result_id = d.key_result_id)
    ORDER BY d.due_date, d.id
    LIMIT 25
) d
JOIN {sql.table(get_user_model())} u ON u.id = d.responsible_id
ORDER BY d.due_date, d.id""",
        {"team": team_id, "quarter": quarter.pk},
        _promises,
    )


@dataclass
class TrendPoint:
    week: int
    completion: int
    confidence: float | None


def team_trend(quarter: Quarter, team: Team, today: date, key_results: int) -> list[TrendPoint]:
    """``trend_points`` of ``team_trend_read``, read now."""
    return trend_points(team_trend_read(quarter, team.pk).get(), quarter, today, key_results)


def team_trend_read(quarter: Quarter, team_id: int) -> sql.Read[dict[int, Any]]:
    """Check-ins and their average confidence per week, as the team's kept figures hold them
    (``TeamFigures``' ``checkins`` and ``confidence`` of each week: the check-ins of the
    team's key results in play, rewritten by every check-in; SQL: the team view runs it on
    every request, a row a week where grouping the check-ins took 0.9 ms at 1×)."""
    return sql.Read(
        f"""
SELECT f.week, f.checkins AS n, f.confidence
FROM {sql.table(TeamFigures)} f
WHERE f.quarter_id = %(quarter)s AND f.team_id = %(team)s AND f.week > 0 AND f.checkins > 0""",
        {"quarter": quarter.pk, "team": team_id},
        lambda found: {r.week: r for r in found},
    )


def trend_points(
    rows: dict[int, Any], quarter: Quarter, today: date, key_results: int
) -> list[TrendPoint]:
    """Check-in completion (of ``key_results``) and average confidence per week so far."""
    week = dashboard_week(quarter, today)
    points = []
    for w in range(1, week + 1):
        row = rows.get(w)
        n = row.n if row else 0
        points.append(
            TrendPoint(
                week=w,
                completion=round(100 * n / key_results) if key_results else 0,
                confidence=round(row.confidence / n, 1) if row else None,
            )
        )
    return points


# --- people view -------------------------------------------------------------------------------


# The figures of a person's row, in the page's column order.
PEOPLE_FIGURES = (
    "owes_dependencies",
    "owes_needs",
    "owes_nominations",
    "missing_checkins",
    "missing_acceptances",
    "owed_dependencies",
    "owed_needs",
    "raised_escalations",
    "answered_escalations_on_time",
)


class PersonFigures(sql.Person):
    """One person's row of "Who owes what": who (``okrly.sql.Person``) and every figure of
    ``PEOPLE_FIGURES``, with how many key results they own in the quarter (in play: why they
    are listed, not a column)."""

    __slots__ = ("owns_key_results", *PEOPLE_FIGURES, "nudged_by")
    owns_key_results: int
    owes_dependencies: int
    owes_needs: int
    owes_nominations: int
    missing_checkins: int
    missing_acceptances: int
    owed_dependencies: int
    owed_needs: int
    raised_escalations: int
    answered_escalations_on_time: int

    # Who nudged them today, if anyone (the people view sets it).
    nudged_by: str | None

    def __init__(self, row: Any) -> None:
        super().__init__(row[0], row[1], row[2], row[3])
        for name, value in zip(self.__slots__[:-1], row[4:], strict=True):
            setattr(self, name, value)
        self.nudged_by = None


class People(sql.Paged):
    """Who owes what (``people``): everyone with a figure, in name order, each with every
    figure. Pages and counts are read as the paginators ask for them (a slice is one query
    for its rows; ``count`` one query), so a page costs the same in any organisation.

    SQL (``okrly.sql``), not the ORM: the page runs it on every request, and the ORM took
    longer to compile its ten correlated counts than PostgreSQL took to run them. Each count
    is an index probe by person; what a person owns comes from the key results' status rows
    (``KeyResultStatus``, one per key result, kept by every write), never recomputed from the
    check-ins, nominations and dependencies of every key result. A key result a trade-off
    dropped or deferred (not ``in_play``) no longer counts for anyone, except the early
    escalations raised on it (rule 7: raising one is to the raiser's credit)."""

    def __init__(self, quarter: Quarter, today: date, *, team: Team | None = None) -> None:
        status, dep, checkin, nomination, escalation, kr, objective = (
            sql.table(KeyResultStatus),
            sql.table(Dependency),
            sql.table(CheckIn),
            sql.table(OwnershipNomination),
            sql.table(EarlyEscalation),
            sql.table(KeyResult),
            sql.table(Objective),
        )
        self.params: dict[str, Any] = {
            "quarter": quarter.pk,
            "week": dashboard_week(quarter, today),
            **{f"open{i}": s.value for i, s in enumerate(Dependency.OPEN_STATUSES)},
        }
        open_statuses = ", ".join(f"%(open{i})s" for i in range(len(Dependency.OPEN_STATUSES)))
        # This quarter's key results in play, by key result id (the status row's key).
        in_play = (
            f"JOIN {status} s ON s.key_result_id = x.key_result_id "
            "AND s.quarter_id = %(quarter)s AND s.in_play"
        )
        owned = (
            f"FROM {status} s WHERE s.quarter_id = %(quarter)s AND s.owner_id = u.id AND s.in_play"
        )
        # need_person IS NOT NULL is implied by the match on a person; said, it lets the
        # database use the partial index of open needs.
        sources = {
            "owes_dependencies": (
                f"FROM {dep} x {in_play} WHERE x.responsible_id = u.id "
                f"AND x.status IN ({open_statuses})"
            ),
            "owes_needs": (
                f"FROM {checkin} x {in_play} WHERE x.need_person_id IS NOT NULL "
                "AND x.need_person_id = u.id AND x.need_handled_at IS NULL"
            ),
            "owes_nominations": (
                f"FROM {nomination} x {in_play} WHERE x.nominee_id = u.id "
                # A literal: the partial index of pending nominations serves it.
                f"AND x.status = {sql.constants([OwnershipNomination.Status.PENDING.value])}"
            ),
            "raised_escalations": (
                f"FROM {escalation} e JOIN {kr} k ON k.id = e.key_result_id "
                f"JOIN {objective} o ON o.id = k.objective_id "
                "WHERE o.quarter_id = %(quarter)s AND e.raised_by_id = u.id"
            ),
            # Answered on time: by the person named when it was answered, by its due time.
            "answered_escalations_on_time": (
                f"FROM {escalation} e JOIN {kr} k ON k.id = e.key_result_id "
                f"JOIN {objective} o ON o.id = k.objective_id "
                "WHERE o.quarter_id = %(quarter)s AND e.answered_by_id = u.id "
                "AND e.answered_at IS NOT NULL AND e.answered_at <= e.answer_due_at"
            ),
        }
        figures = {
            **{name: f"(SELECT COUNT(*) {where})" for name, where in sources.items()},
            # The latest check-in's week: none for the dashboard's week means none yet (a
            # check-in is never for a week to come).
            "missing_checkins": (
                f"(SELECT COUNT(*) {owned} "
                "AND (s.checkin_week IS NULL OR s.checkin_week <> %(week)s))"
            ),
            "owns_key_results": f"(SELECT COUNT(*) {owned})",
            "missing_acceptances": f"(SELECT COUNT(*) {owned} AND NOT s.accepted)",
            "owed_dependencies": f"(SELECT COALESCE(SUM(s.deps_open), 0) {owned})",
            "owed_needs": f"(SELECT COALESCE(SUM(s.open_needs), 0) {owned})",
        }
        self.columns = ", ".join(
            f"{figures[name]} AS {name}" for name in ("owns_key_results", *PEOPLE_FIGURES)
        )
        # Who is listed: anyone with a figure of their own. Walked in name order (the
        # person_name index) and tested one by one, a page stops after its rows. Each test is
        # a probe that stops at its first row; not EXISTS, which PostgreSQL answers by
        # reading every row of each source into a hash first (the whole organisation's).
        listed = " OR ".join(
            f"(SELECT 1 {where} LIMIT 1) IS NOT NULL" for where in [owned, *sources.values()]
        )
        self.where = f"u.is_active AND ({listed})"
        if team is not None:
            membership = sql.table(Membership)
            self.where += (
                f" AND EXISTS (SELECT 1 FROM {membership} m "
                "WHERE m.user_id = u.id AND m.team_id = %(team)s)"
            )
            self.params["team"] = team.pk
        self.users = sql.table(get_user_model())

    def _rows(self, limit: int | None, offset: int) -> list[PersonFigures]:
        page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
        found = sql.rows(
            f"SELECT u.id, u.username, u.first_name, u.last_name, {self.columns} "
            f"FROM {self.users} u WHERE {self.where} "
            f"ORDER BY u.first_name, u.last_name, u.username{page}",
            self.params,
        )
        return [PersonFigures(row) for row in found]

    def count(self) -> int:
        """How many are listed (the API's pages say it)."""
        return self._count("")

    def count_upto(self, cap: int) -> int:
        """How many are listed, counted no further than ``cap + 1`` (one more says there are
        more), so the count costs the same in any organisation."""
        return self._count(f" ORDER BY u.first_name, u.last_name, u.username LIMIT {int(cap) + 1}")

    def _count(self, cut: str) -> int:
        found = sql.rows(
            f"SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM {self.users} u "
            f"WHERE {self.where}{cut}) listed",
            self.params,
        )
        return int(found[0].n)


def people(quarter: Quarter, today: date, *, team: Team | None = None) -> People:
    """Who owes what: one row per person with every figure (``People``)."""
    return People(quarter, today, team=team)


# --- risk feed ---------------------------------------------------------------------------------


def weeks_before_end(quarter: Quarter, at: datetime) -> int:
    """Whole weeks from ``at`` (its local day) to the quarter's last day; 0 in the last week."""
    return max(0, (quarter.end - timezone.localdate(at)).days // 7)


@dataclass
class FeedCheckIn:
    """A check-in of the risk feed: what its item prints (``reviews.templatetags.dashboard.
    feed_item``), its key result's and people's names flattened, and its thread
    (``thread``: its entries, ``checkins.threads.Entry``)."""

    pk: int
    status: str
    confidence: int
    forecast_flag: bool
    week: int
    submitted_at: datetime
    biggest_risk: str
    need: str
    need_person: str | None  # the person's name, when the need names one
    key_result_id: int
    kr_title: str
    owner_id: int
    owner: str  # the owner's name
    owner_first_name: str
    team: str
    thread: list[Entry] = field(default_factory=list)


def _feed_checkins(ids: list[int]) -> list[FeedCheckIn]:
    """The page's check-ins (one query) and their replies (one more, when there are any):
    SQL (``okrly.sql``), since the feed runs it on every request."""
    if not ids:
        return []
    marks = sql.placeholders(ids)
    person = sql.table(get_user_model())
    found = {
        row.id: FeedCheckIn(
            pk=row.id,
            status=row.status,
            confidence=row.confidence,
            forecast_flag=bool(row.forecast_flag),
            week=row.week,
            submitted_at=row.submitted_at,
            biggest_risk=row.biggest_risk,
            need=row.need,
            need_person=None
            if row.need_person_id is None
            else sql.person(row.need_first, row.need_last, row.need_username),
            key_result_id=row.key_result_id,
            kr_title=row.title,
            owner_id=row.owner_id,
            owner=sql.person(row.owner_first, row.owner_last, row.owner_username),
            owner_first_name=row.owner_first,
            team=row.team,
        )
        for row in sql.rows(
            f"""
SELECT c.id, c.status, c.confidence, c.forecast_flag, c.week, c.submitted_at,
       c.biggest_risk, c.need, c.need_person_id, n.first_name AS need_first,
       n.last_name AS need_last, n.username AS need_username, c.key_result_id, k.title,
       k.owner_id, o.first_name AS owner_first, o.last_name AS owner_last,
       o.username AS owner_username, t.name AS team
FROM {sql.table(CheckIn)} c
JOIN {sql.table(KeyResult)} k ON k.id = c.key_result_id
JOIN {person} o ON o.id = k.owner_id
JOIN {sql.table(Objective)} j ON j.id = k.objective_id
JOIN {sql.table(Team)} t ON t.id = j.team_id
LEFT JOIN {person} n ON n.id = c.need_person_id
WHERE c.id IN ({marks})""",
            ids,
        )
    }
    # Their threads. Not skipped when no check-in has one: a page's query count must not
    # depend on it.
    for entry in sql.rows(
        f"""
SELECT a.check_in_id, a.body, a.seen, a.by_leader, a.created_at, l.first_name, l.last_name,
       l.username
FROM {sql.table(CheckInComment)} a JOIN {person} l ON l.id = a.author_id
WHERE a.check_in_id IN ({marks})
ORDER BY a.created_at, a.id""",
        ids,
    ):
        found[entry.check_in_id].thread.append(
            Entry(
                sql.person(entry.first_name, entry.last_name, entry.username),
                entry.body,
                bool(entry.seen),
                bool(entry.by_leader),
                entry.created_at,
            )
        )
    return list(found.values())


@dataclass
class FeedEscalation:
    """A dependency's escalation in the risk feed: what its item prints."""

    pk: int
    rung: int
    trigger: str
    sent_at: datetime
    dependency_id: int
    deliverable: str
    responsible: sql.Person
    provider_team: str

    def get_trigger_display(self) -> str:
        return str(Dependency.Trigger(self.trigger).label)

    def dependency_url(self) -> str:
        return link("dependencies:detail", self.dependency_id)


@dataclass
class FeedEarly:
    """An early escalation in the risk feed (rule 7)."""

    pk: int
    status: str
    need: str
    raised_at: datetime
    key_result_id: int
    kr_title: str
    team: str
    raised_by: sql.Person
    asked_of: sql.Person

    def get_status_display(self) -> str:
        return str(EarlyEscalation.Status(self.status).label)

    def key_result_url(self) -> str:
        return link("objectives:key_result", self.key_result_id)


def _feed_escalations(ids: list[int]) -> list[FeedEscalation]:
    if not ids:
        return []
    return [
        FeedEscalation(
            pk=row.id,
            rung=row.rung,
            trigger=row.trigger,
            sent_at=row.sent_at,
            dependency_id=row.dependency_id,
            deliverable=row.deliverable,
            responsible=sql.Person.of(row, "r_"),
            provider_team=row.team,
        )
        for row in sql.rows(
            f"""
SELECT e.id, e.rung, e.trigger, e.sent_at, e.dependency_id, d.deliverable,
       {sql.Person.columns("r", "r_")}, t.name AS team
FROM {sql.table(Escalation)} e
JOIN {sql.table(Dependency)} d ON d.id = e.dependency_id
JOIN {sql.table(get_user_model())} r ON r.id = d.responsible_id
JOIN {sql.table(Team)} t ON t.id = d.provider_team_id
WHERE e.id IN ({sql.placeholders(ids)})""",
            ids,
        )
    ]


def _feed_early(ids: list[int]) -> list[FeedEarly]:
    if not ids:
        return []
    person = sql.table(get_user_model())
    return [
        FeedEarly(
            pk=row.id,
            status=row.status,
            need=row.need,
            raised_at=row.raised_at,
            key_result_id=row.key_result_id,
            kr_title=row.title,
            team=row.team,
            raised_by=sql.Person.of(row, "b_"),
            asked_of=sql.Person.of(row, "a_"),
        )
        for row in sql.rows(
            f"""
SELECT x.id, x.status, x.need, x.raised_at, x.key_result_id, k.title, t.name AS team,
       {sql.Person.columns("b", "b_")}, {sql.Person.columns("a", "a_")}
FROM {sql.table(EarlyEscalation)} x
JOIN {sql.table(KeyResult)} k ON k.id = x.key_result_id
JOIN {sql.table(Objective)} j ON j.id = k.objective_id
JOIN {sql.table(Team)} t ON t.id = j.team_id
JOIN {person} b ON b.id = x.raised_by_id
JOIN {person} a ON a.id = x.asked_of_id
WHERE x.id IN ({sql.placeholders(ids)})""",
            ids,
        )
    ]


# The earlier risky weeks an item lists; the rest are on its key result's timeline.
EARLIER_SHOWN = 5


@dataclass
class FeedItem:
    kind: str  # checkin | escalation | early (an early escalation, rule 7)
    at: Any
    obj: Any
    # An early escalation is shown as a good thing (rule 7): how early it was raised.
    weeks_early: int | None = None
    # One item per key result (issue 15): whether a leader answered since its latest signal,
    # the check-in whose thread answers it, and the signals before the latest, collapsed.
    answered: bool = False
    thread: FeedCheckIn | None = None
    earlier: int = 0
    earlier_checkins: list[Any] = field(default_factory=list)
    key_result_id: int | None = None


@dataclass
class FeedFilter:
    """The risk feed's filters: a team with its sub-teams (their ids), the latest signal's
    kind, and only the items no leader has answered since."""

    teams: list[int] | None = None
    kind: str = ""
    unanswered: bool = False
    # Key results whose latest check-in is at risk or off track (the headline's and the
    # heatmap's "at risk" count, whatever their latest signal).
    latest_risky: bool = False


def _feed_where(quarter: Quarter, chosen: FeedFilter) -> tuple[str, list[Any]]:
    where = ["r.quarter_id = %s", "r.in_play"]
    params: list[Any] = [quarter.pk]
    if chosen.teams is not None:
        where.append(
            f"r.team_id IN ({sql.placeholders(chosen.teams)})" if chosen.teams else "1 = 0"
        )
        params.extend(chosen.teams)
    if chosen.kind:
        where.append("r.kind = %s")
        params.append(chosen.kind)
    if chosen.unanswered:
        where.append("NOT r.answered")
    if chosen.latest_risky:
        where.append(
            f"r.key_result_id IN (SELECT s.key_result_id FROM {sql.table(KeyResultStatus)} s "
            f"WHERE s.checkin_status IN ({sql.constants(s.value for s in RISKY)}))"
        )
    return " AND ".join(where), params


def unanswered_count(quarter: Quarter, *, cap: int = 99) -> int:
    """How many of the quarter's risk items no leader has answered since their latest signal
    (the Dashboard tab's count), counted no further than ``cap + 1`` (one index range)."""
    where, params = _feed_where(quarter, FeedFilter(unanswered=True))
    return int(
        sql.rows(
            f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {sql.table(RiskItem)} r WHERE {where} "
            f"LIMIT {int(cap) + 1}) found",
            params,
        )[0].n
    )


def nav_unanswered_sql(user: Any) -> tuple[str, list[Any]]:
    """The navigation's count beside Dashboard: the Risk feed tab's figure (the unanswered
    items of the active quarter, else of the newest reviewing one, counted to 100), for
    people who lead someone (they answer them); NULL, no count, for everyone else."""
    leads, params = access.leads_someone_sql(user)
    quarter = sql.table(Quarter)
    return (
        f"SELECT CASE WHEN {leads} THEN (SELECT COUNT(*) FROM (SELECT 1 FROM "
        f"{sql.table(RiskItem)} r WHERE r.quarter_id = (SELECT q.id FROM {quarter} q "
        "WHERE q.status IN (%s, %s) ORDER BY q.status = %s DESC, q.start DESC LIMIT 1) "
        "AND r.in_play AND NOT r.answered LIMIT 100) found) END",
        [
            *params,
            Quarter.Status.ACTIVE.value,
            Quarter.Status.REVIEWING.value,
            Quarter.Status.ACTIVE.value,
        ],
    )


def risk_feed(
    quarter: Quarter,
    *,
    offset: int,
    limit: int,
    cap: int | None = None,
    chosen: FeedFilter | None = None,
) -> tuple[list[FeedItem], int]:
    """One item per key result with a risk signal (``RiskItem``), its latest signal first:
    a check-in at risk, off track or contradicted by its forecast, a dependency's
    escalation, or an early escalation. One count, one page of items, then the page's
    details: its check-ins and threads (two queries), escalations, early escalations, and
    the earlier risky check-ins collapsed under each item (one query each).

    ``cap``: count no further than ``offset + cap + 1`` items, so the count costs the same
    in any organisation; a total of ``offset + cap + 1`` then means "more than
    ``offset + cap``". Without it, the exact total."""
    where, params = _feed_where(quarter, chosen or FeedFilter())
    table = sql.table(RiskItem)
    cut = "" if cap is None else f" LIMIT {int(offset + cap + 1)}"
    total_count = sql.rows(
        f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} r WHERE {where}{cut}) found", params
    )[0].n
    page = sql.rows(
        f"SELECT r.key_result_id, r.kind, r.at, r.signal_id, r.check_in_id, r.answered, "
        f"r.earlier FROM {table} r WHERE {where} ORDER BY r.at DESC, r.key_result_id DESC "
        f"LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    checkin_kinds = {RiskItem.Kind.AT_RISK, RiskItem.Kind.OFF_TRACK, RiskItem.Kind.FORECAST}
    check_in_ids = {row.check_in_id for row in page if row.check_in_id is not None}
    checkins = {c.pk: c for c in _feed_checkins(sorted(check_in_ids))}
    escalations = {
        e.pk: e
        for e in _feed_escalations(
            [r.signal_id for r in page if r.kind == RiskItem.Kind.ESCALATION]
        )
    }
    early = {
        e.pk: e for e in _feed_early([r.signal_id for r in page if r.kind == RiskItem.Kind.EARLY])
    }
    before: dict[int, list[Any]] = {}
    with_earlier = [r.key_result_id for r in page if r.earlier]
    if with_earlier:
        for row in sql.rows(
            f"SELECT c.id, c.key_result_id, c.week, c.status, c.confidence, c.forecast_flag, "
            f"c.biggest_risk FROM {sql.table(CheckIn)} c "
            f"WHERE c.key_result_id IN ({sql.placeholders(with_earlier)}) "
            f"AND (c.status IN ({sql.constants(s.value for s in RISKY)}) OR c.forecast_flag) "
            "ORDER BY c.week DESC",
            with_earlier,
        ):
            before.setdefault(row.key_result_id, []).append(row)
    items = []
    for row in page:
        at = row.at
        obj: Any
        if row.kind in checkin_kinds:
            kind, obj = "checkin", checkins[row.signal_id]
        elif row.kind == RiskItem.Kind.ESCALATION:
            kind, obj = "escalation", escalations[row.signal_id]
        else:
            kind, obj = "early", early[row.signal_id]
        items.append(
            FeedItem(
                kind,
                at,
                obj,
                weeks_before_end(quarter, at) if kind == "early" else None,
                answered=bool(row.answered),
                thread=checkins.get(row.check_in_id) if kind != "checkin" else None,
                earlier=row.earlier,
                earlier_checkins=[
                    c for c in before.get(row.key_result_id, []) if c.id != row.signal_id
                ][:EARLIER_SHOWN],
                key_result_id=row.key_result_id,
            )
        )
    return items, total_count
