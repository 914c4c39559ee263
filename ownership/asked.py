"""Ownership's part of "Asked of me": nominations to answer (two queries)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from objectives.models import KeyResult
from okrly.models import Quarter
from okrly.registry import Action, AskedItem
from ownership.models import OwnershipNomination

if TYPE_CHECKING:
    from okrly.types import User


def asked_of(user: User) -> list[AskedItem]:
    items = []
    for nomination in OwnershipNomination.objects.filter(
        nominee=user, status=OwnershipNomination.Status.PENDING
    ).select_related("key_result", "nominated_by", "previous_owner"):
        kr = nomination.key_result
        by = nomination.nominated_by
        items.append(
            AskedItem(
                kind="Ownership handover",
                title=kr.title,
                detail=(
                    f"{by.get_full_name() if by else 'A lead'} nominates you as owner: "
                    f"{nomination.reason}"
                ),
                link=kr.get_absolute_url(),
                since=nomination.created_at,
                actions=[Action("Accept", reverse("ownership:accept", args=[kr.pk]))],
            )
        )
    answered = OwnershipNomination.objects.filter(
        nominee=user,
        status__in=[OwnershipNomination.Status.ACCEPTED, OwnershipNomination.Status.DECLINED],
    ).values("key_result_id")
    # A key result a trade-off dropped or deferred asks nobody to accept it any more.
    waiting = (
        KeyResult.objects.in_play()
        .filter(owner=user)
        .exclude(objective__quarter__status=Quarter.Status.CLOSED)
        .exclude(pk__in=answered)
        .exclude(nominations__status=OwnershipNomination.Status.PENDING)
        .select_related("objective__team")
    )
    for kr in waiting:
        items.append(
            AskedItem(
                kind="Ownership to accept",
                title=kr.title,
                detail=f"You were named owner of this {kr.objective.team.name} key result.",
                link=kr.get_absolute_url(),
                since=kr.created_at,
                actions=[Action("Accept", reverse("ownership:accept", args=[kr.pk]))],
            )
        )
    return items
