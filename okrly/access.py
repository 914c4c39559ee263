"""Who may do what: one module, used by views, the API and services alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from okrly.errors import PermissionDenied

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
        raise PermissionDenied(
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


def is_team_member(user: Any, team: Team) -> bool:
    return bool(team.lead_id == user.pk or team.memberships.filter(user=user).exists())
