"""The early-escalation ladder (rule 7), declared for okrly.ladder.

An early escalation still unanswered at its answer deadline (``answer_due_at``: the earlier of
ESCALATION_ANSWER_HOURS working hours and the end of the date asked for) climbs the named
person → their lead (their manager, else a lead of their teams) → leadership, at
EARLY_ESCALATION_RUNG_HOURS after the deadline, one EarlyEscalationRung row per rung. An
answer stops it (the service clears ``next_escalation_at``; a row answered between the
listing and the lock is found owing nothing). A redirect keeps the deadline and the rungs
already reached. A closed quarter ends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from okrly.access import leadership_members
from okrly.ladder import Ladder, LadderRun, Message, climb
from okrly.models import Membership, Quarter, display_name
from reviews.models import EarlyEscalation, EarlyEscalationRung

if TYPE_CHECKING:
    from okrly.types import User

# The run's counts (escalated, notifications, completed); the beat task reports them.
EarlyEscalationRun = LadderRun

NAMED, LEAD, LEADERSHIP = 1, 2, 3


def _due(now: datetime) -> QuerySet[EarlyEscalation]:
    return EarlyEscalation.objects.filter(next_escalation_at__lte=now)


def _locked() -> QuerySet[EarlyEscalation]:
    return EarlyEscalation.objects.select_related(
        "asked_of__profile__manager", "raised_by", "key_result__objective__quarter"
    )


def _expired(now: datetime) -> QuerySet[EarlyEscalation]:
    return _due(now).filter(key_result__objective__quarter__status=Quarter.Status.CLOSED)


def _owed(escalation: EarlyEscalation) -> bool:
    return escalation.status == EarlyEscalation.Status.OPEN


def _stops(escalation: EarlyEscalation, now: datetime) -> bool:
    # Closed after the ids were listed: stop here, like the rows ``expired`` cleared.
    return escalation.key_result.objective.quarter.status == Quarter.Status.CLOSED


def _record(escalation: EarlyEscalation, rung: int, now: datetime) -> EarlyEscalationRung:
    return EarlyEscalationRung.objects.create(escalation=escalation, rung=rung, sent_at=now)


def leads_of(person: User) -> list[User]:
    """A person's lead: their manager, else the leads of the teams they are on (one query)."""
    manager = person.profile.manager
    if manager is not None and manager.is_active:
        return [manager]
    teams = Membership.objects.filter(user=person).values("team")
    return list(
        get_user_model()
        .objects.filter(
            Q(led_teams__in=teams)
            | Q(memberships__team__in=teams, memberships__role=Membership.Role.LEAD)
        )
        .filter(is_active=True)
        .exclude(pk=person.pk)
        .distinct()
    )


def _recipients(escalation: EarlyEscalation, rung: int, owed: Any) -> list[User]:
    if rung == NAMED:
        return [escalation.asked_of]
    if rung == LEAD:
        return leads_of(escalation.asked_of) or leadership_members()
    return leadership_members()


def _message(escalation: EarlyEscalation, rung: int, owed: Any, now: datetime) -> Message:
    who = display_name(escalation.asked_of)
    hours = max(0, int((now - escalation.answer_due_at).total_seconds() // 3600))
    late = f"{hours} hour{'s' if hours != 1 else ''} past its answer deadline"
    title = escalation.key_result.title
    subjects = {
        NAMED: f"Reminder: an escalation on “{title}” waits for your answer",
        LEAD: f"{who} has not answered an escalation on “{title}” ({late})",
        LEADERSHIP: f"Escalation to leadership: “{title}” waits for an answer from {who}",
    }
    return Message(
        kind=f"early_escalation_rung_{rung}",
        subject=subjects[rung],
        body=(
            f"{display_name(escalation.raised_by)} asked {who}: {escalation.need}\n"
            f"Needed by {escalation.needed_by:%d %b}. Rung {rung} of 3."
        ),
        link=escalation.get_absolute_url(),
    )


def _channels(escalation: EarlyEscalation, rung: int) -> tuple[list[int], bool]:
    # The raising team's channels (where it was announced) hear when it reaches a lead, and
    # leadership's channels at the top rung.
    if rung < LEAD:
        return [], False
    return [escalation.key_result.objective.team_id], rung >= LEADERSHIP


EARLY_ESCALATION_LADDER: Ladder[EarlyEscalation] = Ladder(
    rung_hours="EARLY_ESCALATION_RUNG_HOURS",
    due=_due,
    locked=_locked,
    start=lambda escalation: escalation.answer_due_at,
    record=_record,
    recipients=_recipients,
    message=_message,
    owed=_owed,
    stops=_stops,
    expired=_expired,
    count_field="notified",
    channels=_channels,
)


def early_escalations_escalate(
    *, now: datetime | None = None, limit: int = 500
) -> EarlyEscalationRun:
    """Climb one rung for every early escalation whose next rung is due (okrly.ladder.climb):
    named person → their lead → leadership. An answer stops it."""
    return climb(EARLY_ESCALATION_LADDER, now=now or timezone.now(), limit=limit)
