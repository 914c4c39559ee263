from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from okrly import sql
from okrly.models import Notification

# Where a view that read the count with its own reads (``unread_read``) leaves it.
_UNREAD = "_okrly_unread_count"


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The unread badge in the navigation: one COUNT query per signed-in page (none more
    when the view read it already, ``unread_read``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        found = getattr(request, _UNREAD, None)
        return unread_count(user) if found is None else int(found)

    return {"unread_count": count}


def unread_count(user: Any) -> int:
    """The user's unread notifications (``Notification.objects.unread()``), as SQL: every
    page runs it."""
    return unread_read(user).get()


def unread_read(user: Any, request: HttpRequest | None = None) -> sql.Read[int]:
    """``unread_count`` as a read to run with a page's others (``okrly.sql.run``); given the
    request, the navigation then prints it without reading it again."""

    def count(found: list[Any]) -> int:
        n = int(found[0].n)
        if request is not None:
            setattr(request, _UNREAD, n)
        return n

    return sql.Read(
        f"SELECT COUNT(*) AS n FROM {sql.table(Notification)} "
        "WHERE recipient_id = %s AND read_at IS NULL",
        [user.pk],
        count,
    )
