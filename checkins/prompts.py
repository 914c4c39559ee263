"""The weekly check-in prompt job: each owner is prompted once a week, at the quarter's
check-in day and hour in their own time zone, and the prompt starts the missed ladder."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from checkins import links
from checkins.missed import MISSED_LADDER
from checkins.models import CheckInPrompt
from objectives.models import KeyResult, in_play_q
from okrly import registry, sql
from okrly.models import Notification, Profile, Quarter
from okrly.services import notifications_queue_email


@dataclass
class PromptRun:
    prompts: int = 0
    batches: int = 0
    zones_due: list[str] = field(default_factory=list)


def _prompt_moment(local_now: datetime, weekday: int, hour: int) -> datetime:
    """The latest check-in moment (weekday at hour, local time) at or before ``local_now``."""
    days_back = (local_now.weekday() - weekday) % 7
    day = local_now.date() - timedelta(days=days_back)
    moment = datetime.combine(day, time(hour), tzinfo=local_now.tzinfo)
    if moment > local_now:
        moment -= timedelta(days=7)
    return moment


def _due_zones(
    quarter: Quarter, zones: list[str], now: datetime
) -> dict[str, tuple[int, datetime]]:
    """For each time zone whose check-in moment has come within the grace period: the week
    of the quarter it is for (from the moment's local date) and the moment itself."""
    grace = timedelta(hours=settings.CHECKIN_PROMPT_GRACE_HOURS)
    due: dict[str, tuple[int, datetime]] = {}
    for zone in zones:
        local_now = now.astimezone(ZoneInfo(zone))
        moment = _prompt_moment(local_now, quarter.checkin_weekday, quarter.checkin_hour)
        # Real hours, in UTC: two datetimes in the same zone subtract as wall-clock times,
        # an hour off when the clocks changed in between. Missed by *more* than the grace:
        # not sent.
        if now.astimezone(UTC) - moment.astimezone(UTC) > grace:
            continue
        day = moment.date()
        if quarter.start <= day <= quarter.end:
            due[zone] = (quarter.week_of(day), moment)
    return due


def checkins_send_prompts(*, now: datetime | None = None, batch_size: int = 500) -> PromptRun:
    """Prompt every owner once a week at the quarter's check-in hour in their own zone.

    1. For each active quarter, one query lists the time zones of its owners; the zones whose
       check-in moment has come (within CHECKIN_PROMPT_GRACE_HOURS) are due, each for a week.
    2. Per due zone, owners not out of office and without a prompt row for that week are read
       in batches (an anti-join on the unique (owner, quarter, week) index).
    3. Per batch, in one transaction: insert the prompt rows (conflicts ignored), claim the
       unsent ones with a token in one UPDATE, write the in-app notifications in one INSERT,
       and queue their e-mails (after commit) as tasks that each send over one connection.
       A second run or a second worker finds the rows claimed and sends nothing; a batch
       that fails leaves no prompt row behind, so the next run sends it.
    """
    now = now or timezone.now()
    run = PromptRun()
    User = get_user_model()
    for quarter in Quarter.objects.filter(status=Quarter.Status.ACTIVE):
        # Owners of a key result still in play: one a trade-off dropped or deferred asks for
        # no check-in (rule 8). One filter() call, so both conditions hold for the same row.
        owners = User.objects.filter(
            in_play_q("owned_key_results__"),
            is_active=True,
            owned_key_results__objective__quarter=quarter,
        )
        zones = list(
            Profile.objects.filter(user__in=owners).values_list("timezone", flat=True).distinct()
        )
        due = _due_zones(quarter, zones, now)
        run.zones_due.extend(sorted(due))
        for zone, (week, moment) in due.items():
            day = moment.date()
            prompted = CheckInPrompt.objects.filter(
                owner=OuterRef("pk"), quarter=quarter, week=week
            )
            candidates = (
                owners.filter(profile__timezone=zone)
                .exclude(profile__out_of_office_until__gte=day)
                .annotate(prompted=Exists(prompted))
                .filter(prompted=False)
                .distinct()
                .order_by("pk")
            )
            while True:
                batch = list(candidates.values_list("pk", flat=True)[:batch_size])
                if not batch:
                    break
                run.prompts += _prompt_batch(quarter, week, moment, batch, now)
                run.batches += 1
    return run


def _prompt_batch(
    quarter: Quarter, week: int, moment: datetime, owner_ids: list[int], now: datetime
) -> int:
    # In UTC: adding hours to a local time adds wall-clock hours, and the rungs are real
    # hours after the moment (the ladder adds the later ones to the stored, UTC, due_at).
    due_at = moment.astimezone(UTC)
    token = uuid.uuid4()
    owners = sql.placeholders(owner_ids)
    users = f"FROM {sql.table(get_user_model())} u WHERE u.id IN ({owners})"
    # One transaction for the rows and the notifications: a prompt row committed without its
    # notification would hide the owner from every later run (the anti-join), unprompted
    # but still on the missed-check-in ladder. Written in SQL, a statement each for the
    # batch: the ORM's bulk_create built a model instance and prepared every field of each
    # of 20,000 prompts and as many notifications, most of the job's time (issue 14).
    with transaction.atomic(), connection.cursor() as cursor:
        columns, selected, params = sql.insert_columns(
            CheckInPrompt,
            {
                "quarter": quarter.pk,
                "week": week,
                "due_at": due_at,
                "next_escalation_at": MISSED_LADDER.rung_at(due_at, 0),
            },
            {"owner": "u.id"},
        )
        cursor.execute(
            f"INSERT INTO {sql.table(CheckInPrompt)} ({columns}) SELECT {selected} {users} "
            "ON CONFLICT DO NOTHING",
            [*params, *owner_ids],
        )
        # Claimed: the rows of this batch nobody has sent (a second run or worker finds
        # them taken and sends nothing).
        cursor.execute(
            f"UPDATE {sql.table(CheckInPrompt)} SET claim = %s, sent_at = %s "
            f"WHERE quarter_id = %s AND week = %s AND owner_id IN ({owners}) "
            "AND claim IS NULL RETURNING owner_id",
            [
                sql.param(CheckInPrompt, "claim", token),
                sql.param(CheckInPrompt, "sent_at", now),
                quarter.pk,
                week,
                *owner_ids,
            ],
        )
        claimed = sorted(row[0] for row in cursor.fetchall())
        if not claimed:
            return 0
        # The dashboard's figures count a prompted owner's key results not yet checked in.
        registry.prompts_sent(quarter.pk, week, claimed)
        columns, selected, params = sql.insert_columns(
            Notification,
            {
                "kind": "checkin_prompt",
                "subject": f"Week {week} check-in: three questions per key result",
                "body": (
                    "Are you on track? What is the biggest risk? What do you need from "
                    "someone else? It takes under a minute."
                ),
                "link": reverse("home"),
                "created_at": timezone.now(),
            },
            {"recipient": "u.id"},
        )
        cursor.execute(
            f"INSERT INTO {sql.table(Notification)} ({columns}) SELECT {selected} "
            f"FROM {sql.table(get_user_model())} u WHERE u.id IN ({sql.placeholders(claimed)}) "
            "ORDER BY u.id RETURNING id",
            [*params, *claimed],
        )
        notifications_queue_email(sorted(row[0] for row in cursor.fetchall()))
    return len(claimed)


def prompt_email_context(notifications: list[Notification]) -> dict[int, dict[str, Any]]:
    """Each prompt e-mail's links: one signed link per key result the owner checks in on, for
    the week of the prompt that notification announced (the owner's latest prompt sent at or
    before it). Signed when the e-mail is sent, not in the prompt job: 20,000 owners' prompts
    stay a few statements (issue 14), and the 7 days run from the e-mail itself. Two queries
    for the whole batch."""
    if not notifications:
        return {}
    owner_ids = sorted({n.recipient_id for n in notifications})
    latest = max(n.created_at for n in notifications)
    earliest = min(n.created_at for n in notifications)
    prompts: dict[int, list[tuple[datetime, int, int]]] = {}
    for owner_id, sent_at, quarter_id, week in (
        CheckInPrompt.objects.filter(
            owner_id__in=owner_ids,
            sent_at__lte=latest,
            # The job writes the prompt row just before its notification; a day covers a
            # retried e-mail without reading a quarter's worth of rows.
            sent_at__gte=earliest - timedelta(days=1),
        )
        .order_by("owner_id", "-sent_at")
        .values_list("owner_id", "sent_at", "quarter_id", "week")
    ):
        if sent_at is not None:  # (the filter on it already excludes unsent rows)
            prompts.setdefault(owner_id, []).append((sent_at, quarter_id, week))
    key_results: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for pk, title, owner_id, quarter_id in (
        KeyResult.objects.in_play()
        .filter(
            owner_id__in=owner_ids,
            objective__quarter_id__in={q for rows in prompts.values() for _, q, _ in rows},
        )
        .order_by("objective__team__name", "objective__rank", "pk")
        .values_list("pk", "title", "owner_id", "objective__quarter_id")
    ):
        key_results.setdefault((owner_id, quarter_id), []).append((pk, title))
    found: dict[int, dict[str, Any]] = {}
    for notification in notifications:
        prompt = next(
            (
                p
                for p in prompts.get(notification.recipient_id, [])
                if p[0] <= notification.created_at
            ),
            None,
        )
        if prompt is None:
            continue
        _, quarter_id, week = prompt
        found[notification.pk] = {
            "items_title": f"Check in for week {week} (each link opens its card; valid "
            f"{links.LINK_MAX_AGE.days} days):",
            "items": [
                (title, links.signed_path(pk, week))
                for pk, title in key_results.get((notification.recipient_id, quarter_id), [])
            ],
        }
    return found
