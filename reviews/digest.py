"""The leaders' weekly digest (issue 15): each leader, on Monday from LEADER_DIGEST_HOUR in
their own zone, gets one e-mail of what changed in their teams since last week (new risks,
last week's missed check-ins, overdue dependencies) and what waits on them, one link per item.

A leader is a team's lead (with its sub-teams) or a member of the leadership group (every
team). The job runs every 15 minutes (zones with 30- and 45-minute offsets); a unique
(leader, Monday) row is written first and the e-mails are queued after it commits, in
batches over one connection each. A leader whose Monday passed while the job was down gets
no digest late: next Monday's covers the week again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import registry
from okrly.access import LEAD, leadership_group_name
from okrly.models import Membership, Notification, Profile, Quarter, Team, display_name
from okrly.services import notifications_queue_email
from reviews.models import LeaderDigest, RiskItem

# Past this many items a section ends with one link to the list behind it.
SECTION_LIMIT = 15


@dataclass
class DigestRun:
    sent: int = 0
    quiet: int = 0  # due, nothing changed: the row is written, no e-mail
    already: int = 0


@dataclass
class _Scope:
    teams: set[int] = field(default_factory=set)
    everything: bool = False

    def covers(self, *team_ids: int) -> bool:
        return self.everything or any(t in self.teams for t in team_ids)


def _leaders() -> dict[int, _Scope]:
    """Every active leader and the teams they see: a lead's teams with every team below
    them, everyone's for the leadership group. Three queries."""
    parent = dict(Team.objects.values_list("pk", "parent_id"))
    children: dict[int, list[int]] = defaultdict(list)
    for pk, up in parent.items():
        if up is not None:
            children[up].append(pk)

    def below(pk: int) -> set[int]:
        found, todo = set(), [pk]
        while todo:
            node = todo.pop()
            if node not in found:
                found.add(node)
                todo.extend(children.get(node, []))
        return found

    scopes: dict[int, _Scope] = defaultdict(_Scope)
    led = list(Team.objects.filter(lead__isnull=False).values_list("lead_id", "pk"))
    led += list(Membership.objects.filter(role=LEAD).values_list("user_id", "team_id"))
    for user_id, team_id in led:
        scopes[user_id].teams |= below(team_id)
    for user_id in (
        get_user_model()
        .objects.filter(groups__name=leadership_group_name())
        .values_list("pk", flat=True)
    ):
        scopes[user_id].everything = True
    return dict(scopes)


def _mondays(leader_ids: list[int], now: datetime) -> dict[int, date]:
    """The leaders whose Monday digest hour has come, in their own zone, with that Monday."""
    hour = settings.LEADER_DIGEST_HOUR
    due: dict[int, date] = {}
    for user_id, zone in Profile.objects.filter(
        user_id__in=leader_ids, user__is_active=True
    ).values_list("user_id", "timezone"):
        local = now.astimezone(ZoneInfo(zone))
        if local.weekday() == 0 and local.hour >= hour:
            due[user_id] = local.date()
    return due


# The items' words, shared with the teams' digest in Slack and Teams (reviews/team_digest.py).
def risk_label(kind: str, title: str, answered: bool) -> str:
    said = RiskItem.Kind(kind).label
    return f"New risk · {said}: {title}" + ("" if answered else " (not answered yet)")


def overdue_label(dep: Dependency) -> str:
    return (
        f"Overdue dependency · {dep.deliverable} (due {dep.due_date:%d %b}, "
        f"{display_name(dep.responsible)})"
    )


@dataclass
class _Week:
    """What changed in one quarter, read once for every leader with the same Monday."""

    risks: list[tuple[int, str, str]]  # (team, label, path)
    missed: list[tuple[int, str, str]]
    overdue: list[tuple[tuple[int, int], str, str]]  # ((requesting, provider), label, path)
    week: int


def _read_week(quarter: Quarter, monday: date, now: datetime) -> _Week:
    """Three queries: the risk items whose latest signal came in the last 7 days, last
    week's key results without a check-in (owed: they existed at its check-in moment), and
    open dependencies past their due date."""
    since = now - timedelta(days=7)
    risks = [
        (
            team_id,
            risk_label(kind, title, answered),
            reverse("objectives:key_result", args=[kr_id]),
        )
        for kr_id, team_id, kind, title, answered in RiskItem.objects.filter(
            quarter=quarter, in_play=True, at__gte=since
        )
        .order_by("-at", "key_result_id")
        .values_list("key_result_id", "team_id", "kind", "key_result__title", "answered")
    ]
    this_week = quarter.week_of(monday) if quarter.start <= monday <= quarter.end else 0
    last_week = this_week - 1
    missed: list[tuple[int, str, str]] = []
    if last_week >= 1:
        moment = quarter.checkin_moment(last_week, "UTC")
        checked = CheckIn.objects.filter(key_result=OuterRef("pk"), week=last_week)
        for kr_id, team_id, title, first, last, username in (
            KeyResult.objects.in_play()
            .filter(objective__quarter=quarter, created_at__lte=moment)
            .exclude(Exists(checked))
            .order_by("objective__team__name", "pk")
            .values_list(
                "pk",
                "objective__team_id",
                "title",
                "owner__first_name",
                "owner__last_name",
                "owner__username",
            )
        ):
            owner = f"{first} {last}".strip() or username
            label = f"Missed week {last_week} check-in · {title} ({owner})"
            missed.append((team_id, label, reverse("objectives:key_result", args=[kr_id])))
    overdue = []
    for dep in (
        Dependency.objects.filter(
            key_result__objective__quarter=quarter,
            status__in=Dependency.OPEN_STATUSES,
            due_date__lt=monday,
        )
        .select_related("responsible")
        .order_by("due_date", "pk")
    ):
        label = overdue_label(dep)
        overdue.append(
            ((dep.requesting_team_id, dep.provider_team_id), label, dep.get_absolute_url())
        )
    return _Week(risks=risks, missed=missed, overdue=overdue, week=this_week)


def section(rows: list[tuple[str, str]], more_label: str, more_path: str) -> list[tuple[str, str]]:
    if len(rows) <= SECTION_LIMIT:
        return rows
    return [*rows[:SECTION_LIMIT], (more_label.format(len(rows) - SECTION_LIMIT), more_path)]


def _items(leader: Any, scope: _Scope, week: _Week | None) -> tuple[list[tuple[str, str]], str]:
    """The leader's items, one link each, and the subject's summary of them."""
    items: list[tuple[str, str]] = []
    counts: list[str] = []
    feed = reverse("reviews:risks")
    if week is not None:
        risks = [(label, path) for team, label, path in week.risks if scope.covers(team)]
        missed = [(label, path) for team, label, path in week.missed if scope.covers(team)]
        overdue = [(label, path) for teams, label, path in week.overdue if scope.covers(*teams)]
        items += section(risks, "{} more new risks: the risk feed", feed)
        items += section(
            missed, "{} more missed check-ins: the dashboard", reverse("reviews:dashboard")
        )
        items += section(
            overdue, "{} more overdue dependencies: the dashboard", reverse("reviews:dashboard")
        )
        for n, word in (
            (len(risks), "new risk"),
            (len(missed), "missed check-in"),
            (len(overdue), "overdue dependency"),
        ):
            if n:
                counts.append(
                    f"{n} {word}" if n == 1 else f"{n} {word.replace('dependency', 'dependencie')}s"
                )
    asked = registry.asked_of(leader)
    awaited = [
        (
            f"Awaiting your answer · {a.kind}: {a.title}",
            f"{reverse('asked_of_me')}#{a.anchor}" if a.anchor else a.link,
        )
        for a in asked
    ]
    items += section(awaited, "{} more waiting on you: Asked of me", reverse("asked_of_me"))
    if awaited:
        counts.append(f"{len(awaited)} answer{'' if len(awaited) == 1 else 's'} awaited from you")
    return items, ", ".join(counts)


def leaders_send_digests(*, now: datetime | None = None) -> DigestRun:
    now = now or timezone.now()
    run = DigestRun()
    scopes = _leaders()
    due = _mondays(sorted(scopes), now)
    if not due:
        return run
    done = set(
        LeaderDigest.objects.filter(leader_id__in=due, monday__in=set(due.values())).values_list(
            "leader_id", "monday"
        )
    )
    due = {pk: monday for pk, monday in due.items() if (pk, monday) not in done}
    run.already = len(done)
    if not due:
        return run
    leaders = get_user_model().objects.in_bulk(list(due))
    weeks: dict[date, _Week | None] = {}
    notification_ids: list[int] = []
    with transaction.atomic():
        for leader_id, monday in sorted(due.items()):
            if monday not in weeks:
                quarter = Quarter.objects.filter(
                    status=Quarter.Status.ACTIVE, start__lte=monday, end__gte=monday
                ).first()
                weeks[monday] = _read_week(quarter, monday, now) if quarter else None
            leader = leaders[leader_id]
            items, summary = _items(leader, scopes[leader_id], weeks[monday])
            try:
                # Insert first: a second job (or beat) running at once fails here and sends
                # nothing; the savepoint keeps the batch's other leaders.
                with transaction.atomic():
                    digest = LeaderDigest.objects.create(leader=leader, monday=monday, items=items)
            except IntegrityError:
                run.already += 1
                continue
            if not items:
                run.quiet += 1
                continue
            week = weeks[monday]
            notification = Notification.objects.create(
                recipient=leader,
                kind="leader_digest",
                subject=f"Your week{f' {week.week}' if week and week.week else ''}: {summary}",
                body=(
                    "What changed in your teams since last week and what waits on you, one "
                    "link each."
                ),
                link=f"{reverse('reviews:risks')}?unanswered=1",
            )
            digest.notification = notification
            digest.save(update_fields=["notification"])
            notification_ids.append(notification.pk)
            run.sent += 1
        # After commit, in batches that each send over one connection.
        notifications_queue_email(notification_ids)
    return run


def digest_email_context(notifications: list[Notification]) -> dict[int, dict[str, Any]]:
    """The digest e-mail's items, one query for the batch."""
    return {
        notification_id: {"items_title": "One link per item:", "items": [tuple(i) for i in items]}
        for notification_id, items in LeaderDigest.objects.filter(
            notification_id__in=[n.pk for n in notifications]
        ).values_list("notification_id", "items")
    }
