"""Dependencies' contribution to "Asked of me" (one query whatever the count)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from dependencies import selectors
from dependencies.models import Dependency
from okrly import access, sql
from okrly.links import link
from okrly.registry import Action, AskedItem

if TYPE_CHECKING:
    from okrly.types import User


def _act(dep: Any, action: str) -> str:
    return reverse("dependencies:act", args=[dep.id, action])


def asked_of(user: User) -> list[AskedItem]:
    items = []
    for dep in selectors.awaiting_user(user):
        url = link("dependencies:detail", dep.id)
        responsible = sql.full_name(dep.responsible_first, dep.responsible_last)
        if dep.status == Dependency.Status.DELIVERED:
            items.append(
                AskedItem(
                    kind="Delivery to confirm",
                    title=dep.deliverable,
                    detail=f"{responsible} delivered it for “{dep.kr_title}”.",
                    link=url,
                    anchor=f"dependency-{dep.id}",
                    since=dep.awaiting_since,
                    actions=[Action("Confirm", _act(dep, "confirm"))],
                )
            )
        elif dep.status == Dependency.Status.COUNTERED and access.can_accept_counter(
            user, owner_id=dep.owner_id, awaiting_id=dep.awaiting_id
        ):
            proposal = dep.proposed_deliverable or dep.deliverable
            items.append(
                AskedItem(
                    kind="Counter-proposal",
                    title=proposal,
                    detail=(
                        f"{responsible} ({dep.provider_team}) proposes "
                        f"{dep.proposed_due_date:%d %b} instead of {dep.due_date:%d %b}."
                    ),
                    link=url,
                    anchor=f"dependency-{dep.id}",
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
            owner = sql.full_name(dep.owner_first, dep.owner_last)
            items.append(
                AskedItem(
                    kind="Dependency request",
                    title=dep.proposed_deliverable or dep.deliverable,
                    detail=(
                        f"{owner} ({dep.requesting_team}) needs it by {terms} for “{dep.kr_title}”."
                    ),
                    link=url,
                    anchor=f"dependency-{dep.id}",
                    since=dep.awaiting_since,
                    due=terms,
                    actions=[Action("Commit", _act(dep, "commit"))],
                )
            )
    return items
