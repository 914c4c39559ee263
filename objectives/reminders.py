"""The acknowledgement ladder (rule 7 applied to rule 9), declared for okrly.ladder.

Publishing a definition version starts it (objectives.definitions.publish_definition):
DEFINITION_ACK_DAYS after the version was created, while any member of the objective's
definition group has not acknowledged it, it climbs at DEFINITION_ACK_RUNG_HOURS after that
start: the members who have not read it → their managers (else the leads of the objective's
team) → the leadership group, one DefinitionReminder row per rung. The last acknowledgement
ends it; so do a newer version (the old one is no longer what anyone must read) and a closed
quarter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from objectives import definitions
from objectives.models import DefinitionAcknowledgement, DefinitionReminder, DefinitionVersion
from okrly.access import leadership_members, team_leads
from okrly.ladder import Ladder, LadderRun, Message, climb
from okrly.models import Profile, Quarter, display_name

if TYPE_CHECKING:
    from okrly.types import User

# The run's counts (escalated, notifications, completed); the beat task reports them.
ReminderRun = LadderRun


def _newer_version() -> Exists:
    return Exists(
        DefinitionVersion.objects.filter(
            objective_id=OuterRef("objective_id"), number__gt=OuterRef("number")
        )
    )


def _due(now: datetime) -> QuerySet[DefinitionVersion]:
    return DefinitionVersion.objects.filter(next_escalation_at__lte=now)


def _expired(now: datetime) -> QuerySet[DefinitionVersion]:
    # Nobody acknowledges in a closed quarter, and an old version is no longer what the group
    # must read: stopped in one statement, never listed.
    return _due(now).filter(
        Q(objective__quarter__status=Quarter.Status.CLOSED) | Q(_newer_version())
    )


def _locked() -> QuerySet[DefinitionVersion]:
    return DefinitionVersion.objects.select_related("objective__team", "objective__quarter")


def ladder_start(version: DefinitionVersion) -> datetime | None:
    """The group has DEFINITION_ACK_DAYS from the version's publication to read it."""
    if version.created_at is None:
        return None
    return version.created_at + timedelta(days=settings.DEFINITION_ACK_DAYS)


def _stops(version: DefinitionVersion, now: datetime) -> bool:
    # Closed, or superseded, after the ids were listed: stop here, like ``expired``.
    superseded = DefinitionVersion.objects.filter(
        objective_id=version.objective_id, number__gt=version.number
    ).exists()
    return superseded or version.objective.quarter.status == Quarter.Status.CLOSED


def _missing(version: DefinitionVersion) -> list[User]:
    """The definition group's members who have not acknowledged this version (none: done)."""
    read = set(
        DefinitionAcknowledgement.objects.filter(version=version).values_list(
            "person_id", flat=True
        )
    )
    return [p for p in definitions.definition_group(version.objective) if p.pk not in read]


def _record(version: DefinitionVersion, rung: int, now: datetime) -> DefinitionReminder:
    return DefinitionReminder.objects.create(version=version, rung=rung, sent_at=now)


def _recipients(version: DefinitionVersion, rung: int, missing: list[User]) -> list[User]:
    if rung == 1:
        return missing
    if rung == 2:
        people: dict[int, User] = {}
        managers = {
            profile.user_id: profile.manager
            for profile in Profile.objects.filter(user__in=missing).select_related("manager")
        }
        leads: list[User] | None = None
        for person in missing:
            manager = managers.get(person.pk)
            if manager is not None and manager.is_active:
                people.setdefault(manager.pk, manager)
                continue
            if leads is None:
                leads = team_leads(version.objective.team)
            for lead in leads:
                if lead.pk != person.pk:
                    people.setdefault(lead.pk, lead)
        return list(people.values()) or leadership_members()
    return leadership_members()


def _message(version: DefinitionVersion, rung: int, missing: list[User], now: datetime) -> Message:
    objective = version.objective
    title = f"“{objective.title}” (version {version.number})"
    subjects = {
        1: f"Reminder: acknowledge the definition of {title}",
        2: f"{len(missing)} of its leaders have not acknowledged the definition of {title}",
        3: f"Escalation: the definition of {title} is still not shared",
    }
    days = (now - version.created_at).days
    names = ", ".join(display_name(person) for person in missing)
    return Message(
        kind=f"definition_ack_{rung}",
        subject=subjects[rung],
        body=(
            f"Published {days} days ago; not yet acknowledged by {names}. Until every leader "
            f"says in their own words what they will do differently, nobody knows whether "
            f"{objective.team.name}'s objective is read the same way. Rung {rung} of 3."
        ),
        link=reverse("objectives:detail", args=[objective.pk]),
    )


ACK_LADDER: Ladder[DefinitionVersion] = Ladder(
    rung_hours="DEFINITION_ACK_RUNG_HOURS",
    due=_due,
    locked=_locked,
    start=ladder_start,
    record=_record,
    recipients=_recipients,
    message=_message,
    owed=_missing,
    stops=_stops,
    expired=_expired,
    count_field="notified",
)


def definitions_remind(*, now: datetime | None = None, limit: int = 500) -> ReminderRun:
    """Climb the acknowledgement ladder one rung for each version whose next rung is due:
    the members who have not read it → their managers (or the team's leads) → leadership."""
    return climb(ACK_LADDER, now=now or timezone.now(), limit=limit)


def reminders_stop_if_done(version: DefinitionVersion, *, group_ids: set[int]) -> None:
    """Once every member of the group has acknowledged ``version``, its ladder stops
    (definition_acknowledge calls this in its transaction)."""
    read = set(
        DefinitionAcknowledgement.objects.filter(version=version).values_list(
            "person_id", flat=True
        )
    )
    if group_ids <= read and version.next_escalation_at is not None:
        DefinitionVersion.objects.filter(pk=version.pk).update(next_escalation_at=None)
        version.next_escalation_at = None
