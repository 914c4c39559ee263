"""Early escalation (rule 7: early escalation is expected and safe): the services.

An owner, or anyone on a key result's team, raises trouble before it is a miss: what is at
risk (the key result, optionally one of its dependencies), the decision or help needed, from
a named person, by when. The named person answers (decided / helping) or redirects it to
someone else; the answer deadline carries over a redirect. The deadline is the earlier of
ESCALATION_ANSWER_HOURS working hours after raising and the end of the date asked for, both
in the named person's own time zone; past it, the ladder (reviews/early_escalation_ladder.py)
climbs: the named person, their lead, leadership.

Raising one is a good thing and never counts against the owner: nothing here touches the key
result, its check-ins or any "at risk" state.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import access, orgsettings, sql
from okrly.channel_messages import Message
from okrly.channel_services import channel_post
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, display_name, local_today
from okrly.services import notification_create
from okrly.workdays import add_working_hours
from reviews.early_escalation_ladder import EARLY_ESCALATION_LADDER
from reviews.models import EarlyEscalation, EscalationHop, EscalationNorm

if TYPE_CHECKING:
    from okrly.types import User

NEED_MAX = 2000
ANSWER_MAX = 4000
Status = EarlyEscalation.Status
ANSWERS = (Status.DECIDED, Status.HELPING)


def _zone(user: User) -> str:
    profile = getattr(user, "profile", None)
    return profile.timezone if profile is not None else "UTC"


def answer_due(raised_at: datetime, needed_by: date, tz: str) -> datetime:
    """The earlier of ESCALATION_ANSWER_HOURS working hours after ``raised_at`` and the end
    of ``needed_by`` (its last instant: a date is asked for all day), in zone ``tz``."""
    zone = zoneinfo.ZoneInfo(tz)
    by_norm = add_working_hours(raised_at, orgsettings.value("ESCALATION_ANSWER_HOURS"), tz)
    if needed_by >= date.max:
        return by_norm
    end_of_day = datetime.combine(needed_by + timedelta(days=1), time.min, tzinfo=zone)
    return min(by_norm, end_of_day)


def current_norm() -> str:
    """The escalation norm shown beside the Escalate button (the newest row; one query)."""
    # SQL (okrly.sql): My week asks for it on every request.
    found = sql.rows(
        f"SELECT n.text FROM {sql.table(EscalationNorm)} n ORDER BY n.updated_at DESC, n.id DESC "
        "LIMIT 1",
        [],
    )
    return found[0].text if found else ""


def _check_person(person: User, *, raiser_id: int, me: User, field: str) -> None:
    """The named person: active, neither the one naming them nor the raiser, and in the
    office today where they are (else the message says so and who to pick instead)."""
    if not person.is_active:
        raise RuleBroken(
            f"{display_name(person)} no longer has an account; name someone else.", field=field
        )
    if person.pk == me.pk:
        raise RuleBroken("Name someone other than yourself.", field=field)
    if person.pk == raiser_id:
        raise RuleBroken(
            f"{display_name(person)} raised this escalation; name someone who can decide or help.",
            field=field,
        )
    today = local_today(person)
    if person.profile.is_out_of_office(today):
        until = person.profile.out_of_office_until
        raise RuleBroken(
            f"{display_name(person)} is out of office until {until:%a %d %b %Y}: an "
            "escalation waiting on them would not be answered in time. Name someone else "
            "(their lead, or whoever covers for them).",
            field=field,
            code="out_of_office",
            data={"person": person.pk, "until": f"{until:%Y-%m-%d}"},
        )


def _notify_asked(escalation: EarlyEscalation, *, subject: str) -> None:
    due = escalation.answer_due_at.astimezone(zoneinfo.ZoneInfo(_zone(escalation.asked_of)))
    notification_create(
        recipient=escalation.asked_of,
        kind="early_escalation",
        subject=subject,
        body=(
            f"For the key result “{escalation.key_result.title}”: {escalation.need}\n"
            f"An answer is due by {due:%a %d %b, %H:%M} ({_zone(escalation.asked_of)}): "
            "decided, helping, or redirect it to the person who can."
        ),
        link=escalation.get_absolute_url(),
    )


@transaction.atomic
def escalation_raise(
    *,
    user: User,
    key_result: KeyResult,
    need: str,
    asked_of: User,
    needed_by: date,
    dependency: Dependency | None = None,
) -> EarlyEscalation:
    """Raise an early escalation on ``key_result`` to ``asked_of`` (see the module)."""
    objective = key_result.objective
    if not access.can_raise_escalation(user, owner_id=key_result.owner_id, team=objective.team):
        raise NotAllowed(
            f"Only the key result's owner or a member of {objective.team.name} raises an "
            "escalation for it."
        )
    if objective.quarter.status == Quarter.Status.CLOSED:
        raise RuleBroken(f"{objective.quarter.name} is closed: there is nothing left to save.")
    need = need.strip()
    if not need:
        raise RuleBroken("Say what decision or help is needed.", field="need")
    if len(need) > NEED_MAX:
        raise RuleBroken(f"Keep it under {NEED_MAX} characters.", field="need")
    if dependency is not None and dependency.key_result_id != key_result.pk:
        raise RuleBroken("Choose one of this key result's own dependencies.", field="dependency")
    _check_person(asked_of, raiser_id=user.pk, me=user, field="asked_of")
    now = timezone.now()
    if needed_by < local_today(user, now):
        raise RuleBroken(
            "The date an answer is needed by cannot be in the past.", field="needed_by"
        )
    escalation = EarlyEscalation(
        key_result=key_result,
        dependency=dependency,
        raised_by=user,
        need=need,
        asked_of=asked_of,
        needed_by=needed_by,
        raised_at=now,
        answer_due_at=answer_due(now, needed_by, _zone(asked_of)),
    )
    escalation.next_escalation_at = EARLY_ESCALATION_LADDER.next_rung_at(escalation)
    escalation.save()
    _notify_asked(
        escalation,
        subject=f"{display_name(user)} asks you for a decision or help on “{key_result.title}”",
    )
    # The raising team's Slack or Teams channels hear of it (issue 16): raising early is
    # normal, and the team sees it as it happens. One post per escalation, in this transaction.
    channel_post(
        key=f"early_escalation:{escalation.pk}",
        message=Message(
            title=f"{display_name(user)} escalated early: “{key_result.title}”",
            lines=[
                escalation.need,
                f"Asked of {display_name(asked_of)}, needed by {needed_by:%a %d %b %Y}.",
            ],
            link=escalation.get_absolute_url(),
            link_label="Open the escalation",
        ),
        team_ids=[objective.team_id],
    )
    return escalation


def _locked(escalation: EarlyEscalation) -> EarlyEscalation:
    return (
        EarlyEscalation.objects.select_for_update(of=("self",))
        .select_related("key_result", "raised_by", "asked_of__profile")
        .get(pk=escalation.pk)
    )


def _require_named(user: User, escalation: EarlyEscalation, verb: str) -> None:
    if escalation.status != Status.OPEN:
        raise RuleBroken(
            f"This escalation was already answered ({escalation.get_status_display().lower()})."
        )
    if not access.can_answer_escalation(user, asked_of_id=escalation.asked_of_id, is_open=True):
        raise NotAllowed(
            f"Only {display_name(escalation.asked_of)}, the person it is asked of, {verb} it."
        )


@transaction.atomic
def escalation_answer(
    *, user: User, escalation: EarlyEscalation, status: str, answer: str
) -> EarlyEscalation:
    """The named person answers: decided (with the decision) or helping (with what). The
    ladder stops; the raiser is told."""
    escalation = _locked(escalation)
    _require_named(user, escalation, "answers")
    if status not in ANSWERS:
        raise RuleBroken("Choose “decided” or “helping”.", field="status")
    answer = answer.strip()
    if not answer:
        raise RuleBroken(
            "Say what was decided." if status == Status.DECIDED else "Say how you are helping.",
            field="answer",
        )
    if len(answer) > ANSWER_MAX:
        raise RuleBroken(f"Keep it under {ANSWER_MAX} characters.", field="answer")
    escalation.status = status
    escalation.answer = answer
    escalation.answered_by = user
    escalation.answered_at = timezone.now()
    escalation.next_escalation_at = None
    escalation.save(
        update_fields=["status", "answer", "answered_by", "answered_at", "next_escalation_at"]
    )
    word = "decided" if status == Status.DECIDED else "is helping"
    notification_create(
        recipient=escalation.raised_by,
        kind="early_escalation_answered",
        subject=f"{display_name(user)} {word}: “{escalation.key_result.title}”",
        body=answer,
        link=escalation.get_absolute_url(),
    )
    return escalation


@transaction.atomic
def escalation_redirect(
    *, user: User, escalation: EarlyEscalation, to: User, note: str
) -> EarlyEscalation:
    """The named person hands the escalation to someone who can answer it. The deadline and
    the rungs already reached carry over (a redirect never buys time); a hop records it."""
    escalation = _locked(escalation)
    _require_named(user, escalation, "redirects")
    _check_person(to, raiser_id=escalation.raised_by_id, me=user, field="to")
    note = note.strip()
    if len(note) > NEED_MAX:
        raise RuleBroken(f"Keep it under {NEED_MAX} characters.", field="note")
    EscalationHop.objects.create(
        escalation=escalation, from_person=user, to_person=to, note=note, at=timezone.now()
    )
    escalation.asked_of = to
    escalation.save(update_fields=["asked_of"])
    who = display_name(user)
    _notify_asked(
        escalation,
        subject=f"{who} redirected an escalation on “{escalation.key_result.title}” to you",
    )
    notification_create(
        recipient=escalation.raised_by,
        kind="early_escalation_redirected",
        subject=f"{who} redirected your escalation to {display_name(to)}",
        body=note or "No note.",
        link=escalation.get_absolute_url(),
    )
    return escalation
