from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from okrly import registry, sql
from okrly.models import Notification

# Where a view that read the counts with its own reads (``nav_read``) leaves them.
_COUNTS = "_okrly_nav_counts"


@dataclass(frozen=True)
class NavCounts:
    """The navigation's counts: unread notifications, "Asked of me" items, and the counts
    other apps put beside their links (by view name; absent: no count for this user)."""

    unread: int = 0
    asked: int = 0
    links: dict[str, int] = field(default_factory=dict)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation's counts: one statement per signed-in page (none when the view read
    them already with its own reads, ``nav_read``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def counts() -> NavCounts:
        found = getattr(request, _COUNTS, None)
        return nav_read(user, request).get() if found is None else found

    def unread() -> int:
        return counts().unread

    return {"nav_counts": counts, "unread_count": unread}


def nav_read(user: Any, request: HttpRequest | None = None) -> sql.Read[NavCounts]:
    """The navigation's counts as one read to run with a page's others (``okrly.sql.run``):
    each count a scalar subquery of one SELECT. Given the request, the navigation then
    prints them without reading them again."""
    asked, params = registry.asked_count_sql(user)
    parts = [
        f"(SELECT COUNT(*) FROM {sql.table(Notification)} "
        "WHERE recipient_id = %s AND read_at IS NULL) AS unread",
        f"({asked}) AS asked",
    ]
    all_params: list[Any] = [user.pk, *params]
    views = []
    for i, (view, (count, _)) in enumerate(sorted(registry.nav_counts().items())):
        part, part_params = count(user)
        parts.append(f"({part}) AS link_{i}")
        all_params.extend(part_params)
        views.append(view)

    def build(found: list[Any]) -> NavCounts:
        row = found[0]
        counts = NavCounts(
            unread=int(row.unread),
            asked=int(row.asked or 0),
            links={
                view: int(value)
                for view, value in zip(views, row[2:], strict=True)
                if value is not None
            },
        )
        if request is not None:
            setattr(request, _COUNTS, counts)
        return counts

    return sql.Read("SELECT " + ", ".join(parts), all_params, build)
