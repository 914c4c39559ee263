"""Needs named in check-ins, for "Asked of me" (one query)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checkins import selectors
from okrly import sql
from okrly.links import link
from okrly.registry import Action, AskedItem

if TYPE_CHECKING:
    from okrly.types import User


def asked_of(user: User) -> list[AskedItem]:
    items = []
    for need in selectors.needs_for(user):
        about = f" (dependency “{need.dependency}”)" if need.dependency is not None else ""
        owner = sql.full_name(need.owner_first, need.owner_last) or need.owner_username
        items.append(
            AskedItem(
                kind="Need from a check-in",
                title=need.need,
                detail=f"{owner} needs this for “{need.kr_title}”{about}, week {need.week}.",
                link=link("objectives:key_result", need.key_result_id),
                since=need.submitted_at,
                actions=[
                    Action(
                        "Mark handled",
                        link("checkins:need_handled", need.id),
                        "secondary",
                    )
                ],
            )
        )
    return items
