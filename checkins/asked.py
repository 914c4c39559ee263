"""Needs named in check-ins, for "Asked of me" (one query)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from checkins import selectors
from okrly.registry import Action, AskedItem

if TYPE_CHECKING:
    from okrly.types import User


def asked_of(user: User) -> list[AskedItem]:
    items = []
    for check_in in selectors.needs_for(user):
        kr = check_in.key_result
        about = (
            f" (dependency “{check_in.need_dependency.deliverable}”)"
            if check_in.need_dependency
            else ""
        )
        items.append(
            AskedItem(
                kind="Need from a check-in",
                title=check_in.need,
                detail=(
                    f"{kr.owner.get_full_name() or kr.owner} needs this for “{kr.title}”"
                    f"{about}, week {check_in.week}."
                ),
                link=kr.get_absolute_url(),
                since=check_in.submitted_at,
                actions=[
                    Action(
                        "Mark handled",
                        reverse("checkins:need_handled", args=[check_in.pk]),
                        "secondary",
                    )
                ],
            )
        )
    return items
