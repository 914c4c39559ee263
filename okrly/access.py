"""Who may do what: one module, used by views, the API and services alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from okrly.errors import NotAllowed

if TYPE_CHECKING:
    from okrly.models import Team


def leadership_group_name() -> str:
    return str(settings.LEADERSHIP_GROUP)


def is_leadership(user: Any) -> bool:
    if not user.is_authenticated:
        return False
    # groups are prefetched on request.user by nothing; one small query when asked.
    return bool(user.groups.filter(name=leadership_group_name()).exists())


def leads_team(user: Any, team: Team) -> bool:
    """The team's named lead, or a member with the lead role."""
    if not user.is_authenticated:
        return False
    if team.lead_id == user.pk:
        return True
    return bool(team.memberships.filter(user=user, role="lead").exists())


def can_manage_objectives(user: Any, team: Team) -> bool:
    """Team leads (and staff, who configure the organisation) create and edit objectives."""
    return bool(user.is_authenticated and (user.is_staff or leads_team(user, team)))


def require_manage_objectives(user: Any, team: Team) -> None:
    if not can_manage_objectives(user, team):
        raise NotAllowed(
            f"Only a lead of {team.name} (or an administrator) can change its objectives and "
            "key results."
        )


def team_leads(team: Team) -> list[Any]:
    """The team's named lead and every member with the lead role (one query)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    return list(
        get_user_model()
        .objects.filter(Q(led_teams=team) | Q(memberships__team=team, memberships__role="lead"))
        .filter(is_active=True)
        .distinct()
    )


def leadership_members() -> list[Any]:
    from django.contrib.auth import get_user_model

    return list(
        get_user_model().objects.filter(groups__name=leadership_group_name(), is_active=True)
    )


@dataclass(frozen=True)
class PeopleLed:
    """The people a user leads (see ``can_lead``), asked once per page: ``person_id in led``."""

    everyone_but: int | None = None  # leadership leads everyone except themselves
    ids: frozenset[int] = frozenset()

    def __contains__(self, person_id: object) -> bool:
        if self.everyone_but is not None:
            return person_id != self.everyone_but
        return person_id in self.ids


def people_led_by(user: Any) -> PeopleLed:
    """Everyone ``user`` may nudge and reply to: the people they manage, the members of every
    team they lead, or everyone when they are in the leadership group; never themselves.

    Two queries at most, whatever the page shows, so a list can ask it of every row.
    """
    from django.db.models import Q

    from okrly.models import Membership, Profile, Team

    if not user.is_authenticated:
        return PeopleLed()
    if is_leadership(user):
        return PeopleLed(everyone_but=user.pk)
    led_teams = Team.objects.filter(
        Q(lead=user) | Q(memberships__user=user, memberships__role=Membership.Role.LEAD)
    ).values("pk")
    ids = set(
        Membership.objects.filter(team__in=led_teams).values_list("user_id", flat=True)
    ).union(Profile.objects.filter(manager=user).values_list("user_id", flat=True))
    ids.discard(user.pk)
    return PeopleLed(ids=frozenset(ids))


def can_lead(user: Any, person: Any) -> bool:
    """A leader for this person: their manager, a lead of one of their teams, or leadership.

    The services that nudge and reply enforce it; pages ask ``people_led_by`` (the same rule)
    to offer those actions only where they will be accepted.
    """
    return person.pk in people_led_by(user)


def is_team_member(user: Any, team: Team) -> bool:
    return bool(team.lead_id == user.pk or team.memberships.filter(user=user).exists())
