"""Dependencies' contribution to "Asked of me" (two queries whatever the count)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from dependencies import selectors
from dependencies.models import Dependency
from okrly import access
from okrly.registry import Action, AskedItem

if TYPE_CHECKING:
    from okrly.types import User


def _act(dep: Dependency, action: str) -> str:
    return reverse("dependencies:act", args=[dep.pk, action])


def asked_of(user: User) -> list[AskedItem]:
    items = []
    for dep in selectors.awaiting_user(user):
        kr = dep.key_result
        if dep.status == Dependency.Status.DELIVERED:
            items.append(
                AskedItem(
                    kind="Delivery to confirm",
                    title=dep.deliverable,
                    detail=f"{dep.responsible.get_full_name()} delivered it for “{kr.title}”.",
                    link=dep.get_absolute_url(),
                    since=dep.awaiting_since,
                    actions=[Action("Confirm", _act(dep, "confirm"))],
                )
            )
        elif dep.status == Dependency.Status.COUNTERED and access.can_accept_counter(
            user, owner_id=kr.owner_id, awaiting_id=dep.awaiting_id
        ):
            proposal = dep.proposed_deliverable or dep.deliverable
            items.append(
                AskedItem(
                    kind="Counter-proposal",
                    title=proposal,
                    detail=(
                        f"{dep.responsible.get_full_name()} ({dep.provider_team.name}) proposes "
                        f"{dep.proposed_due_date:%d %b} instead of {dep.due_date:%d %b}."
                    ),
                    link=dep.get_absolute_url(),
                    since=dep.awaiting_since,
                    due=f"{dep.proposed_due_date:%d %b %Y}",
                    actions=[Action("Accept", _act(dep, "accept"))],
                )
            )
        else:
            terms = (
                f"{dep.proposed_due_date:%d %b}"
                if dep.status == Dependency.Status.COUNTERED
                else f"{dep.due_date:%d %b}"
            )
            items.append(
                AskedItem(
                    kind="Dependency request",
                    title=dep.proposed_deliverable or dep.deliverable,
                    detail=(
                        f"{kr.owner.get_full_name()} ({dep.requesting_team.name}) needs it by "
                        f"{terms} for “{kr.title}”."
                    ),
                    link=dep.get_absolute_url(),
                    since=dep.awaiting_since,
                    due=terms,
                    actions=[Action("Commit", _act(dep, "commit"))],
                )
            )
    return items
