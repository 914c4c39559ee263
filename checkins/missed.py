"""The missed-check-in ladder (rule 7), declared for okrly.ladder.

Each weekly prompt (checkins/prompts.py) starts it: CHECKIN_MISSED_RUNG_HOURS after the
owner's check-in moment, while any of their key results lacks that week's check-in, it
climbs owner → their manager (or a team lead) → leadership, one MissedCheckIn row per rung.
Checking in every key result stops it, and so do a closed quarter and an owner who went out
of office after the prompt. Reaching rung 1 establishes the week as missed; the
MISSED_CHECKINS_RESPONSE-th such week in a row for a key result reports a missed commitment
(rule 10, okrly.registry.report_miss).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckInPrompt, MissedCheckIn
from objectives.models import KeyResult
from okrly import registry
from okrly.access import leadership_members, team_leads
from okrly.ladder import Ladder, LadderRun, Message, climb
from okrly.models import Quarter, display_name, local_today

if TYPE_CHECKING:
    from okrly.types import User

# The run's counts (escalated, completed); the beat task reports them.
MissedRun = LadderRun


def _due(now: datetime) -> QuerySet[CheckInPrompt]:
    return CheckInPrompt.objects.filter(next_escalation_at__lte=now)


def _locked() -> QuerySet[CheckInPrompt]:
    return CheckInPrompt.objects.select_related("owner__profile__manager", "quarter")


def _stops(prompt: CheckInPrompt, now: datetime) -> bool:
    # Nobody can check in for a closed quarter, and an owner who went out of office after
    # the prompt is not chased.
    owner_away = prompt.owner.profile.is_out_of_office(local_today(prompt.owner, now))
    # Reviewing too: the quarter's check-ins are over, its key results are graded instead.
    over = prompt.quarter.status in (Quarter.Status.CLOSED, Quarter.Status.REVIEWING)
    return over or owner_away


def _missing(prompt: CheckInPrompt) -> list[KeyResult]:
    """The owner's key results still without this week's check-in (none: the ladder is
    done). Displaced ones are owed nothing: a trade-off took them out of the counts."""
    return list(
        KeyResult.objects.in_play()
        .filter(owner=prompt.owner, objective__quarter=prompt.quarter)
        .exclude(checkins__week=prompt.week)
        .select_related("objective__team")
    )


def _record(prompt: CheckInPrompt, rung: int, now: datetime) -> MissedCheckIn:
    row = MissedCheckIn.objects.create(prompt=prompt, rung=rung, sent_at=now)
    if rung == MissedCheckIn.Rung.OWNER:
        report_missed_in_a_row(prompt)
    return row


def report_missed_in_a_row(prompt: CheckInPrompt) -> list[KeyResult]:
    """Rule 10: a key result without a check-in for MISSED_CHECKINS_RESPONSE weeks in a row is
    a missed commitment. A week is established as missed when its prompt's ladder reaches the
    first rung with the check-in still missing (this is called then, after that rung's row,
    in the same transaction); when the weeks before it were missed too, for the same key
    result, its response opens (once per key result and quarter, whatever follows). A week
    the owner was not prompted for (out of office) breaks the run. Two queries, three for a
    report. Returns the key results reported."""
    weeks = settings.MISSED_CHECKINS_RESPONSE
    first = prompt.week - weeks + 1
    if weeks < 1 or first < 1:
        return []
    earlier = set(range(first, prompt.week))
    prompted = dict(
        MissedCheckIn.objects.filter(
            prompt__owner_id=prompt.owner_id,
            prompt__quarter_id=prompt.quarter_id,
            prompt__week__in=earlier,
            rung=MissedCheckIn.Rung.OWNER,
        ).values_list("prompt__week", "prompt__due_at")
    )
    if set(prompted) != earlier:
        return []
    prompted[prompt.week] = prompt.due_at
    missing = list(
        KeyResult.objects.in_play()
        .filter(owner_id=prompt.owner_id, objective__quarter_id=prompt.quarter_id)
        # One added after the run's first prompt was not owed that week's check-in.
        .filter(created_at__lte=prompted[first])
        .exclude(checkins__week__in=range(first, prompt.week + 1))
        .select_related("owner", "objective__team")
    )
    for key_result in missing:
        registry.report_miss(
            kind=registry.MISS_CHECKINS, key_result=key_result, quarter=prompt.quarter
        )
    return missing


def _recipients(prompt: CheckInPrompt, rung: int, missing: list[KeyResult]) -> list[User]:
    if rung == MissedCheckIn.Rung.OWNER:
        return [prompt.owner]
    if rung == MissedCheckIn.Rung.MANAGER:
        manager = prompt.owner.profile.manager
        if manager is not None and manager.is_active:
            return [manager]
        leads: dict[int, User] = {}
        for kr in missing:
            for lead in team_leads(kr.objective.team):
                if lead.pk != prompt.owner_id:
                    leads[lead.pk] = lead
        return list(leads.values()) or leadership_members()
    return leadership_members()


def _message(prompt: CheckInPrompt, rung: int, missing: list[KeyResult], now: datetime) -> Message:
    owner = display_name(prompt.owner)
    subjects = {
        1: f"Reminder: your week {prompt.week} check-in is missing",
        2: f"{owner} has not checked in for week {prompt.week}",
        3: f"Escalation: {owner} has not checked in for week {prompt.week}",
    }
    titles = ", ".join(f"“{kr.title}”" for kr in missing)
    return Message(
        kind=f"checkin_missed_{rung}",
        subject=subjects[rung],
        body=f"No check-in yet for {titles}. Rung {rung} of 3.",
        link=reverse("home") if rung == 1 else missing[0].get_absolute_url(),
    )


MISSED_LADDER: Ladder[CheckInPrompt] = Ladder(
    rung_hours="CHECKIN_MISSED_RUNG_HOURS",
    due=_due,
    locked=_locked,
    start=lambda prompt: prompt.due_at,
    record=_record,
    recipients=_recipients,
    message=_message,
    owed=_missing,
    stops=_stops,
    completed_field="completed_at",
)


def checkins_escalate_missed(*, now: datetime | None = None, limit: int = 500) -> MissedRun:
    """Climb the missed-check-in ladder one rung for each prompt whose next rung is due:
    owner → manager (or team lead) → leadership. Stops as soon as the check-ins are in."""
    return climb(MISSED_LADDER, now=now or timezone.now(), limit=limit)


def missed_stop_if_done(*, user: User, quarter: Quarter, week: int) -> None:
    """Once every key result of ``user`` has its check-in for ``week``, that week's ladder
    stops (checkin_submit calls this in its transaction)."""
    missing = (
        KeyResult.objects.in_play()
        .filter(owner=user, objective__quarter=quarter)
        .exclude(checkins__week=week)
    )
    if not missing.exists():
        CheckInPrompt.objects.filter(owner=user, quarter=quarter, week=week).update(
            completed_at=timezone.now(), next_escalation_at=None
        )
