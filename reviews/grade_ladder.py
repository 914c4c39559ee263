"""The grading ladder (rule 7), declared for okrly.ladder: like a missed check-in's.

When a quarter starts reviewing (reviews.lifecycle), each key result gets an ungraded Grade
whose ladder starts then: GRADE_MISSED_RUNG_HOURS after that, while it is still ungraded, it
climbs owner → their manager (else a lead of their teams) → leadership, one GradeReminder row
per rung. Grading stops it (the service clears ``next_escalation_at``), and so does the
quarter's close. A key result displaced by a trade-off is graded automatically and never
climbs.

Grade has no column for when reviewing started, so ``start`` derives it from the rung just
scheduled: ``next_escalation_at`` is that start plus the hours of the rung it was due for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from okrly.access import leadership_members
from okrly.ladder import Ladder, LadderRun, Message, climb
from okrly.models import Quarter, display_name
from reviews.early_escalation_ladder import leads_of
from reviews.models import Grade, GradeReminder

if TYPE_CHECKING:
    from okrly.types import User

OWNER, LEAD, LEADERSHIP = 1, 2, 3


def _due(now: datetime) -> QuerySet[Grade]:
    return Grade.objects.filter(next_escalation_at__lte=now)


def _locked() -> QuerySet[Grade]:
    return Grade.objects.select_related("key_result__owner__profile__manager", "quarter")


def _expired(now: datetime) -> QuerySet[Grade]:
    return _due(now).exclude(quarter__status=Quarter.Status.REVIEWING)


def _stops(grade: Grade, now: datetime) -> bool:
    # Closed (or put back by an admin) after the ids were listed: nobody grades it any more.
    return grade.quarter.status != Quarter.Status.REVIEWING


def _owed(grade: Grade) -> bool:
    return grade.graded_at is None and grade.outcome != Grade.Outcome.DISPLACED


def _start(grade: Grade) -> datetime | None:
    """When reviewing started, from the rung just scheduled (see the module's docstring)."""
    hours = list(settings.GRADE_MISSED_RUNG_HOURS)
    scheduled = grade.escalation_rung - 1
    if grade.next_escalation_at is None or not 0 <= scheduled < len(hours):
        return None
    return grade.next_escalation_at - timedelta(hours=hours[scheduled])


def _record(grade: Grade, rung: int, now: datetime) -> GradeReminder:
    return GradeReminder.objects.create(grade=grade, rung=rung, sent_at=now)


def _recipients(grade: Grade, rung: int, owed: Any) -> list[User]:
    owner = grade.key_result.owner
    if rung == OWNER:
        return [owner]
    if rung == LEAD:
        return leads_of(owner) or leadership_members()
    return leadership_members()


def _message(grade: Grade, rung: int, owed: Any, now: datetime) -> Message:
    title = grade.key_result.title
    owner = display_name(grade.key_result.owner)
    subjects = {
        OWNER: f"Reminder: grade “{title}” for {grade.quarter.name}",
        LEAD: f"{owner} has not graded “{title}”",
        LEADERSHIP: f"Escalation: {owner} has not graded “{title}”",
    }
    return Message(
        kind=f"grade_missed_{rung}",
        subject=subjects[rung],
        body=(
            f"{grade.quarter.name} is in review and “{title}” has no grade yet: its final "
            f"value, what happened and what you would change about how we work. Rung {rung} of 3."
        ),
        link=reverse("home") if rung == OWNER else grade.key_result.get_absolute_url(),
    )


GRADE_LADDER: Ladder[Grade] = Ladder(
    rung_hours="GRADE_MISSED_RUNG_HOURS",
    due=_due,
    locked=_locked,
    start=_start,
    record=_record,
    recipients=_recipients,
    message=_message,
    owed=_owed,
    stops=_stops,
    expired=_expired,
    count_field="notified",
)


def grades_remind(*, now: datetime | None = None, limit: int = 500) -> LadderRun:
    """Climb one rung for every ungraded key result whose next rung is due
    (okrly.ladder.climb): owner → their manager or a team lead → leadership."""
    return climb(GRADE_LADDER, now=now or timezone.now(), limit=limit)
