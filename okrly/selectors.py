"""Reads for the core pages: inbox, team page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, Q, QuerySet

from okrly.models import Membership, Notification, Quarter, Team

if TYPE_CHECKING:
    from okrly.types import User


def inbox(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def teams_with_counts(quarter: Quarter | None) -> QuerySet[Team]:
    in_quarter = Q(objectives__quarter=quarter) if quarter else Q(pk__in=[])
    # Objectives and key results a trade-off dropped or deferred (rule 8) no longer count,
    # as for the team's limit and the dashboard (objectives.models.in_play_q says the same).
    return (
        Team.objects.select_related("lead", "lead__profile", "parent")
        .annotate(
            member_count=Count("memberships", distinct=True),
            objective_count=Count(
                "objectives",
                filter=in_quarter & Q(objectives__displaced_by__isnull=True),
                distinct=True,
            ),
            key_result_count=Count(
                "objectives__key_results",
                filter=in_quarter & Q(objectives__key_results__displaced_by__isnull=True),
                distinct=True,
            ),
        )
        .order_by("name")
    )


def team_detail(slug: str) -> Team:
    """The team with its lead, members and sub-teams; its objectives are a section that the
    objectives app registers (objectives/panels.py)."""
    return (
        Team.objects.select_related("lead", "lead__profile", "parent")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("user", "user__profile").order_by(
                    "-role", "user__first_name", "user__username"
                ),
            ),
            "children",
        )
        .get(slug=slug)
    )
