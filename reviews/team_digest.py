"""The teams' weekly digest in Slack and Teams (issue 16): once a week's check-in deadline has
passed, each team with a channel gets one message of who checked in, the new risks, the
needs its owners stated and the overdue dependencies it asked for or owes, one link each.
The leadership group's channels get the organisation's: one line per team, worst first.

The deadline is the week's check-in moment plus CHECKIN_MISSED_RUNG_HOURS[0] (when the
missed-check-in ladder first reminds an owner), in the latest zone among the team's
key-result owners, so that nobody's answer is still on its way. The hourly job posts the
latest week whose deadline has passed; a unique (team, quarter, week) row is written first,
so a rerun posts nothing, and a week missed while the job was down is not posted late.
Only teams with an enabled channel are read: the job's work follows the channels, not the
organisation's size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives.models import KeyResult, in_play_q
from okrly.channel_messages import Message
from okrly.channel_services import channel_post
from okrly.channels import Channel
from okrly.models import Quarter, Team
from reviews.digest import overdue_label, risk_label, section
from reviews.models import RiskItem, TeamDigest


@dataclass
class TeamDigestRun:
    posted: int = 0
    already: int = 0


@dataclass
class _KeyResult:
    pk: int
    title: str
    owner: str
    zone: str


@dataclass
class _Team:
    team: Team
    week: int
    deadline: datetime
    key_results: list[_KeyResult] = field(default_factory=list)


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _deadline(quarter: Quarter, week: int, zones: set[str]) -> datetime:
    grace = timedelta(hours=settings.CHECKIN_MISSED_RUNG_HOURS[0])
    return max(quarter.checkin_moment(week, zone) for zone in zones or {"UTC"}) + grace


def _latest_due_week(quarter: Quarter, zones: set[str], now: datetime) -> tuple[int, datetime]:
    """The latest week whose deadline has passed (0 when none has)."""
    for week in range(quarter.weeks, 0, -1):
        deadline = _deadline(quarter, week, zones)
        if deadline <= now:
            return week, deadline
    return 0, now


def teams_post_digests(*, now: datetime | None = None) -> TeamDigestRun:
    """Post each team's digest for the latest week whose deadline has passed, once.

    1. The teams with an enabled channel, and the active (or reviewing) quarters.
    2. Per quarter, the teams' key results in play with their owners' zones (one query):
       each team's latest week past its deadline; teams already posted for it drop out.
    3. What the due teams' week holds: check-ins, new risks, overdue dependencies (three
       queries whatever the number of teams).
    4. Per team, in its own savepoint: insert the unique row (a concurrent run that got
       there first makes this one skip), then queue the posts in the same transaction.

    The leadership group's channels get the organisation's digest (``_post_leadership``).
    """
    now = now or timezone.now()
    run = TeamDigestRun()
    team_ids: set[int | None] = set(
        Channel.objects.filter(disabled_at__isnull=True).values_list("team_id", flat=True)
    )
    if not team_ids:
        return run
    quarters = Quarter.objects.filter(
        status__in=[Quarter.Status.ACTIVE, Quarter.Status.REVIEWING], start__lte=now.date()
    )
    teams = Team.objects.in_bulk([pk for pk in team_ids if pk is not None])
    for quarter in quarters:
        if None in team_ids:
            _post_leadership(quarter, now, run)
        if not teams:
            continue
        due = _due_teams(quarter, teams, now)
        done = set(
            TeamDigest.objects.filter(
                quarter=quarter, team_id__in=due, week__in={d.week for d in due.values()}
            ).values_list("team_id", "week")
        )
        run.already += len(done)
        due = {pk: d for pk, d in due.items() if (pk, d.week) not in done}
        if due:
            _post(quarter, due, now, run)
    return run


def _insert(quarter: Quarter, team_id: int | None, week: int, items: list[Any]) -> Any:
    """The unique row, or None when another run wrote it first (its savepoint is undone,
    the caller's transaction goes on)."""
    try:
        with transaction.atomic():
            return TeamDigest.objects.create(
                team_id=team_id, quarter=quarter, week=week, items=items
            )
    except IntegrityError:
        return None


def _post_leadership(quarter: Quarter, now: datetime, run: TeamDigestRun) -> None:
    """The leadership group's digest: one line per team (worst first) with its check-ins,
    new risks and overdue dependencies, in six queries whatever the organisation's size, and
    only when it is due and not yet posted."""
    in_play = KeyResult.objects.in_play().filter(objective__quarter=quarter)
    zones = set(in_play.values_list("owner__profile__timezone", flat=True).distinct())
    week, deadline = _latest_due_week(quarter, {z or "UTC" for z in zones}, now)
    if not week:
        return
    if TeamDigest.objects.filter(team__isnull=True, quarter=quarter, week=week).exists():
        run.already += 1
        return

    def by_team(rows: Any) -> dict[int, int]:
        # Grouped by ``g`` (a team id); order_by() so no ordering column joins the GROUP BY.
        return dict(rows.order_by().annotate(n=Count("pk")).values_list("g", "n"))

    total = by_team(in_play.values(g=F("objective__team_id")))
    checked = by_team(
        CheckIn.objects.filter(in_play_q("key_result__"), key_result__objective__quarter=quarter)
        .filter(week=week)
        .values(g=F("key_result__objective__team_id"))
    )
    risks = by_team(
        RiskItem.objects.filter(
            quarter=quarter, in_play=True, at__gt=deadline - timedelta(days=7)
        ).values(g=F("team_id"))
    )
    overdue = by_team(
        Dependency.objects.filter(
            key_result__objective__quarter=quarter,
            status__in=Dependency.OPEN_STATUSES,
            due_date__lt=now.date(),
        ).values(g=F("requesting_team_id"))
    )
    rows = []
    for pk, name, slug in Team.objects.filter(pk__in={*total, *risks, *overdue}).values_list(
        "pk", "name", "slug"
    ):
        n, done, r, o = total.get(pk, 0), checked.get(pk, 0), risks.get(pk, 0), overdue.get(pk, 0)
        words = [f"{done} of {n} checked in"]
        words += [f"{r} new risk{'s' if r != 1 else ''}"] if r else []
        words += [f"{o} overdue dependenc{'ies' if o != 1 else 'y'}"] if o else []
        path = reverse("team_detail", args=[slug])
        rows.append(((-(n - done + r + o), name), (f"{name}: {', '.join(words)}", path)))
    dashboard = reverse("reviews:dashboard")
    items = section([item for _, item in sorted(rows)], "{} more teams: the dashboard", dashboard)
    all_n, all_done = sum(total.values()), sum(checked.get(pk, 0) for pk in total)
    message = Message(
        title=f"Organisation · week {week}: {all_done} of {all_n} checked in",
        link=dashboard,
        link_label="Open the dashboard",
        facts=[
            ("Checked in", f"{all_done} of {all_n}"),
            ("New risks", str(sum(risks.values()))),
            ("Overdue dependencies", str(sum(overdue.values()))),
        ],
        items=items,
    )
    with transaction.atomic():
        row = _insert(quarter, None, week, items)
        if row is None:
            run.already += 1
            return
        channel_post(key=f"team_digest:{row.pk}", message=message, leadership=True)
        run.posted += 1


def _due_teams(quarter: Quarter, teams: dict[int, Team], now: datetime) -> dict[int, _Team]:
    by_team: dict[int, list[_KeyResult]] = defaultdict(list)
    for pk, team_id, title, first, last, username, zone in (
        KeyResult.objects.in_play()
        .filter(objective__quarter=quarter, objective__team_id__in=list(teams))
        .order_by("objective__rank", "pk")
        .values_list(
            "pk",
            "objective__team_id",
            "title",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
            "owner__profile__timezone",
        )
    ):
        by_team[team_id].append(_KeyResult(pk, title, _name(first, last, username), zone or "UTC"))
    due: dict[int, _Team] = {}
    for team_id, team in teams.items():
        krs = by_team.get(team_id, [])
        week, deadline = _latest_due_week(quarter, {kr.zone for kr in krs}, now)
        if week:
            due[team_id] = _Team(team, week, deadline, krs)
    return due


def _post(quarter: Quarter, due: dict[int, _Team], now: datetime, run: TeamDigestRun) -> None:
    kr_ids = [kr.pk for t in due.values() for kr in t.key_results]
    weeks = {t.week for t in due.values()}
    checkins: dict[tuple[int, int], Any] = {
        (c.key_result_id, c.week): c
        for c in CheckIn.objects.filter(key_result_id__in=kr_ids, week__in=weeks)
        .select_related("need_person")
        .only(
            "key_result_id",
            "week",
            "status",
            "confidence",
            "need",
            "need_person__first_name",
            "need_person__last_name",
            "need_person__username",
        )
    }
    earliest = min(t.deadline for t in due.values()) - timedelta(days=7)
    risks: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    for kr_id, team_id, kind, title, answered, at in RiskItem.objects.filter(
        quarter=quarter, team_id__in=list(due), in_play=True, at__gt=earliest
    ).values_list("key_result_id", "team_id", "kind", "key_result__title", "answered", "at"):
        path = reverse("objectives:key_result", args=[kr_id])
        risks[team_id].append((at, risk_label(kind, title, answered), path))
    overdue: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for dep in (
        Dependency.objects.filter(
            Q(requesting_team_id__in=list(due)) | Q(provider_team_id__in=list(due)),
            key_result__objective__quarter=quarter,
            status__in=Dependency.OPEN_STATUSES,
            due_date__lt=now.date(),
        )
        .select_related("responsible")
        .order_by("due_date", "pk")
    ):
        for team_id in {dep.requesting_team_id, dep.provider_team_id} & set(due):
            overdue[team_id].append((overdue_label(dep), dep.get_absolute_url()))
    for team_id, team in sorted(due.items()):
        items, message = _message(team, checkins, risks[team_id], overdue[team_id])
        with transaction.atomic():
            # Insert first: a second job running at once fails here and posts nothing.
            row = _insert(quarter, team_id, team.week, items)
            if row is None:
                run.already += 1
                continue
            channel_post(key=f"team_digest:{row.pk}", message=message, team_ids=[team_id])
            run.posted += 1


def _message(
    team: _Team,
    checkins: dict[tuple[int, int], Any],
    risks: list[tuple[datetime, str, str]],
    overdue: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], Message]:
    since = team.deadline - timedelta(days=7)
    kr_path = {kr.pk: reverse("objectives:key_result", args=[kr.pk]) for kr in team.key_results}
    answered, missing, needs = [], [], []
    for kr in team.key_results:
        checkin = checkins.get((kr.pk, team.week))
        if checkin is None:
            missing.append((f"No check-in · {kr.title} ({kr.owner})", kr_path[kr.pk]))
            continue
        said = f"{checkin.get_status_display().lower()}, confidence {checkin.confidence}/10"
        answered.append((f"Checked in · {kr.title} ({kr.owner}: {said})", kr_path[kr.pk]))
        if checkin.need:
            person = checkin.need_person
            whom = (
                f" from {_name(person.first_name, person.last_name, person.username)}"
                if person is not None
                else ""
            )
            need = checkin.need if len(checkin.need) <= 200 else checkin.need[:199] + "…"
            needs.append((f"Need · {kr.owner}{whom}: {need}", kr_path[kr.pk]))
    new_risks = [(label, path) for at, label, path in sorted(risks, reverse=True) if at > since]
    team_path = team.team.get_absolute_url()
    items = [
        *section(answered + missing, "{} more key results: the team page", team_path),
        *section(new_risks, "{} more new risks: the risk feed", reverse("reviews:risks")),
        *section(needs, "{} more needs: the team page", team_path),
        *section(overdue, "{} more overdue dependencies: the dashboard", team_path),
    ]
    total = len(team.key_results)
    message = Message(
        title=f"{team.team.name} · week {team.week}: {len(answered)} of {total} checked in",
        lines=[] if items else ["No key results in play this week."],
        link=team_path,
        link_label="Open the team",
        facts=[
            ("Checked in", f"{len(answered)} of {total}"),
            ("New risks", str(len(new_risks))),
            ("Needs", str(len(needs))),
            ("Overdue dependencies", str(len(overdue))),
        ],
        items=items,
    )
    return items, message
