"""The dependency ladder (rule 7), declared for okrly.ladder: what it escalates for and when.

An unanswered request escalates DEPENDENCY_UNANSWERED_DAYS after it started waiting on the
person responsible; a promise escalates once its due date has passed. Either climbs
reminder → the providing team's lead → leadership, at DEPENDENCY_ESCALATION_RUNG_HOURS after
that start, one Escalation row per (dependency, trigger, rung). A closed quarter ends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from dependencies.models import Dependency, Escalation
from okrly import registry
from okrly.access import leadership_members, team_leads
from okrly.ladder import Ladder, LadderRun, Message, climb
from okrly.models import Quarter, display_name, local_today, user_timezone
from okrly.zones import end_of_day

if TYPE_CHECKING:
    from okrly.types import User

S = Dependency.Status
T = Dependency.Trigger

# The run's counts (escalated, notifications); the beat task reports them.
EscalationRun = LadderRun

RUNG_LABELS = {1: "reminder", 2: "team lead", 3: "leadership"}


def ladder_start(dep: Dependency) -> tuple[str, datetime | None]:
    """What the ladder escalates for now, and when that started (None: nothing to escalate)."""
    waiting_on_provider = dep.status in (S.REQUESTED, S.COUNTERED) and (
        dep.awaiting_id == dep.responsible_id
    )
    if waiting_on_provider and dep.awaiting_since is not None:
        return T.UNANSWERED, dep.awaiting_since + timedelta(
            days=settings.DEPENDENCY_UNANSWERED_DAYS
        )
    if dep.status in Dependency.PROMISED_STATUSES:
        # Due all day where the responsible person is: overdue from their midnight.
        return T.OVERDUE, end_of_day(dep.due_date, user_timezone(dep.responsible))
    return "", None


def reschedule(dep: Dependency) -> None:
    """Set the next rung's time from the state (every transition calls this). A new trigger
    starts the ladder at rung 0; the same trigger keeps the rungs already reached (a rung is
    never repeated)."""
    trigger, _ = ladder_start(dep)
    if trigger != dep.escalation_trigger and trigger:
        dep.escalation_trigger = trigger
        dep.escalation_rung = 0
    dep.next_escalation_at = DEPENDENCY_LADDER.next_rung_at(dep)


def _recipients(dep: Dependency, rung: int, owed: Any) -> list[User]:
    if rung == Escalation.Rung.RESPONSIBLE:
        return [dep.responsible]
    if rung == Escalation.Rung.TEAM_LEAD:
        return team_leads(dep.provider_team) or leadership_members()
    return leadership_members()


def _message(dep: Dependency, rung: int, owed: Any, now: datetime) -> Message:
    who = display_name(dep.responsible)
    if dep.escalation_trigger == T.UNANSWERED:
        waited = (now - dep.awaiting_since).days if dep.awaiting_since else 0
        problem = f"“{dep.deliverable}” has waited {waited} days for an answer from {who}"
    else:
        late = (local_today(dep.responsible, now) - dep.due_date).days
        days = f"{late} day{'s' if late != 1 else ''}"
        problem = f"“{dep.deliverable}” is {days} past its due date ({dep.due_date:%d %b})"
    if rung == 1:
        subject = f"Reminder: {problem}"
    elif rung == 2:
        subject = f"Escalation to you as {dep.provider_team.name} lead: {problem}"
    else:
        subject = f"Escalation to leadership: {problem}"
    body = (
        f"{dep.provider_team.name} → {dep.requesting_team.name}, for the key result "
        f"“{dep.key_result.title}” owned by {display_name(dep.key_result.owner)}. Rung {rung} of 3."
    )
    kind = f"escalation_{RUNG_LABELS[rung].replace(' ', '_')}"
    return Message(kind=kind, subject=subject, body=body, link=dep.get_absolute_url())


def _channels(dep: Dependency, rung: int) -> tuple[list[int], bool]:
    # The providing team's channels hear of it when it reaches their lead (not the private
    # reminder before); leadership's channels too when it reaches leadership.
    if rung < Escalation.Rung.TEAM_LEAD:
        return [], False
    return [dep.provider_team_id], rung >= Escalation.Rung.LEADERSHIP


def _record(dep: Dependency, rung: int, now: datetime) -> Escalation:
    row = Escalation.objects.create(
        dependency=dep, trigger=dep.escalation_trigger, rung=rung, sent_at=now
    )
    # Rule 10: a promise still undelivered when its ladder reaches the top rung is a missed
    # commitment; its response opens with the rung, in the same transaction (a request never
    # answered was never promised: leadership hears of it, but it is not a miss). After the
    # rung row, so that a run that lost the rung to another opens nothing either.
    if rung == len(DEPENDENCY_LADDER.hours) and dep.escalation_trigger == T.OVERDUE:
        registry.report_miss(
            kind=registry.MISS_DEPENDENCY_UNDELIVERED, key_result=dep.key_result, dependency=dep
        )
    return row


def _stops(dep: Dependency, now: datetime) -> bool:
    # Closed after the ids were listed: stop here, like the rows ``expired`` cleared. And a
    # key result a trade-off dropped or deferred (rule 8) has left the counts: what it asked
    # for is no longer chased up to leadership (the trade-off told the providing team's leads
    # to check whether it is still needed).
    return (
        dep.key_result.objective.quarter.status == Quarter.Status.CLOSED
        or dep.key_result.displaced_by_id is not None
    )


DEPENDENCY_LADDER: Ladder[Dependency] = Ladder(
    rung_hours="DEPENDENCY_ESCALATION_RUNG_HOURS",
    due=Dependency.objects.due_for_escalation,
    locked=Dependency.objects.with_parties,
    start=lambda dep: ladder_start(dep)[1],
    record=_record,
    recipients=_recipients,
    message=_message,
    stops=_stops,
    expired=Dependency.objects.due_in_closed_quarters,
    count_field="recipients",
    channels=_channels,
)


def dependencies_escalate(*, now: datetime | None = None, limit: int = 500) -> EscalationRun:
    """Climb one rung for every dependency whose next rung is due (okrly.ladder.climb).

    A closed quarter ends the ladder, as it ends the missed-check-in one: its due rows are
    cleared in one statement and never listed, so nothing climbs to leadership for a quarter
    that is over, and the job's cost does not grow with them. (What was delivered late or
    broken in a closed quarter belongs to the missed-commitment responses, rule 10: a break
    opens one in dependency_break, and the top rung of an overdue promise opens one here.)
    """
    return climb(DEPENDENCY_LADDER, now=now or timezone.now(), limit=limit)
