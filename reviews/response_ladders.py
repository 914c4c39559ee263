"""The two ladders of a missed-commitment response (rules 7 and 10), declared for okrly.ladder.

- A response not recorded by its ``due_at`` (RESPONSE_DAYS working days after it opened)
  climbs at RESPONSE_RUNG_HOURS after that: the accountable person and the holder → the
  leads above them (the holder's manager, the leads of the miss's team) → leadership.
  Recording it stops the ladder (response_record clears ``next_escalation_at``).
- An open next step past the end of its due date (in its owner's zone) climbs at
  NEXT_STEP_RUNG_HOURS after that: its owner → their manager (else a lead of the miss's
  team) → leadership. Marking it done stops it.

One ResponseReminder row per (response, subject, rung): a run twice notifies once. Neither
stops at the quarter's close: a key result missed at the close is answered after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from okrly.access import leadership_members, team_leads
from okrly.ladder import Ladder, LadderRun, Message, climb
from okrly.models import Profile, display_name
from reviews.models import MissResponse, NextStep, ResponseReminder
from reviews.responses import miss_team, next_step_start

if TYPE_CHECKING:
    from okrly.types import User

RUNG_LABELS = {1: "reminder", 2: "lead", 3: "leadership"}


def _manager(user: User) -> User | None:
    try:
        manager = user.profile.manager
    except Profile.DoesNotExist:
        return None
    return manager if manager is not None and manager.is_active else None


def _unique(users: list[User]) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        seen.setdefault(user.pk, user)
    return list(seen.values())


# --- the response, not recorded in time ---------------------------------------------------------

_RESPONSE_RELATED = (
    "accountable__profile__manager",
    "holder__profile__manager",
    "key_result__objective__team",
    "dependency__provider_team",
)


def _response_due(now: datetime) -> QuerySet[MissResponse]:
    return MissResponse.objects.filter(next_escalation_at__lte=now)


def _response_locked() -> QuerySet[MissResponse]:
    return MissResponse.objects.select_related(*_RESPONSE_RELATED)


def _response_start(response: MissResponse) -> datetime | None:
    return response.due_at if response.recorded_at is None else None


def _response_owed(response: MissResponse) -> Any:
    return None if response.recorded_at is not None else response


def _response_record(response: MissResponse, rung: int, now: datetime) -> ResponseReminder:
    return ResponseReminder.objects.create(
        response=response, subject=ResponseReminder.Subject.RESPONSE, rung=rung, sent_at=now
    )


def _response_recipients(response: MissResponse, rung: int, owed: Any) -> list[User]:
    if rung == 1:
        return _unique([response.accountable, *([response.holder] if response.holder else [])])
    if rung == 2:
        below = {response.accountable_id, response.holder_id}
        above: list[User] = []
        if response.holder is not None and (manager := _manager(response.holder)) is not None:
            above.append(manager)
        above += team_leads(miss_team(response.key_result, response.dependency))
        above = [u for u in _unique(above) if u.pk not in below]
        return above or leadership_members()
    return leadership_members()


def _response_message(response: MissResponse, rung: int, owed: Any, now: datetime) -> Message:
    who = display_name(response.accountable)
    late = (now - response.due_at).days
    problem = (
        f"the response to “{response.key_result.title}” ({response.get_kind_display().lower()})"
        f" is not recorded, {late} day{'s' if late != 1 else ''} past its deadline"
    )
    subjects = {
        1: f"Reminder: {problem}",
        2: f"Escalation to you as a lead: {problem}",
        3: f"Escalation to leadership: {problem}",
    }
    holder = display_name(response.holder) if response.holder else "nobody named"
    body = (
        f"{who} answers for the miss; the conversation is held by {holder}. "
        f"Committed: {response.committed} Delivered: {response.delivered} Rung {rung} of 3."
    )
    return Message(
        kind=f"response_{RUNG_LABELS[rung]}",
        subject=subjects[rung],
        body=body,
        link=response.get_absolute_url(),
    )


RESPONSE_LADDER: Ladder[MissResponse] = Ladder(
    rung_hours="RESPONSE_RUNG_HOURS",
    due=_response_due,
    locked=_response_locked,
    start=_response_start,
    record=_response_record,
    recipients=_response_recipients,
    message=_response_message,
    owed=_response_owed,
    count_field="notified",
)


# --- the next step, overdue ---------------------------------------------------------------------


def _step_due(now: datetime) -> QuerySet[NextStep]:
    return NextStep.objects.filter(next_escalation_at__lte=now)


def _step_locked() -> QuerySet[NextStep]:
    return NextStep.objects.select_related(
        "owner__profile__manager", *(f"response__{name}" for name in _RESPONSE_RELATED)
    )


def _step_owed(step: NextStep) -> Any:
    return None if step.done_at is not None else step


def _step_record(step: NextStep, rung: int, now: datetime) -> ResponseReminder:
    return ResponseReminder.objects.create(
        response=step.response,
        subject=ResponseReminder.Subject.NEXT_STEP,
        rung=rung,
        sent_at=now,
    )


def _step_recipients(step: NextStep, rung: int, owed: Any) -> list[User]:
    if rung == 1:
        return [step.owner]
    if rung == 2:
        manager = _manager(step.owner)
        if manager is not None:
            return [manager]
        response = step.response
        leads = team_leads(miss_team(response.key_result, response.dependency))
        return [u for u in leads if u.pk != step.owner_id] or leadership_members()
    return leadership_members()


def _step_message(step: NextStep, rung: int, owed: Any, now: datetime) -> Message:
    owner = display_name(step.owner)
    late = (timezone.localdate(now) - step.due).days
    problem = (
        f"the next step “{step.what[:80]}” is {late} day{'s' if late != 1 else ''} past "
        f"its due date ({step.due:%d %b})"
    )
    subjects = {
        1: f"Reminder: {problem}",
        2: f"{owner}: {problem}",
        3: f"Escalation to leadership: {owner}: {problem}",
    }
    response = step.response
    body = (
        f"Agreed in the response to “{response.key_result.title}” "
        f"({response.get_kind_display().lower()}). Rung {rung} of 3."
    )
    return Message(
        kind=f"next_step_{RUNG_LABELS[rung]}",
        subject=subjects[rung],
        body=body,
        link=response.get_absolute_url(),
    )


NEXT_STEP_LADDER: Ladder[NextStep] = Ladder(
    rung_hours="NEXT_STEP_RUNG_HOURS",
    due=_step_due,
    locked=_step_locked,
    start=next_step_start,
    record=_step_record,
    recipients=_step_recipients,
    message=_step_message,
    owed=_step_owed,
    count_field="notified",
)


def responses_escalate(*, now: datetime | None = None, limit: int = 500) -> LadderRun:
    """Climb both ladders one rung for every response or next step whose next rung is due."""
    now = now or timezone.now()
    first = climb(RESPONSE_LADDER, now=now, limit=limit)
    second = climb(NEXT_STEP_LADDER, now=now, limit=limit)
    return LadderRun(
        escalated=first.escalated + second.escalated,
        notifications=first.notifications + second.notifications,
        completed=first.completed + second.completed,
    )
