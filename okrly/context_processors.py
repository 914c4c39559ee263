from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from okrly import sql
from okrly.models import Notification


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The unread badge in the navigation: one COUNT query per signed-in page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_count": lambda: unread_count(user)}


def unread_count(user: Any) -> int:
    """The user's unread notifications (``Notification.objects.unread()``), as SQL: every
    page runs it."""
    return int(
        sql.rows(
            f"SELECT COUNT(*) AS n FROM {sql.table(Notification)} "
            "WHERE recipient_id = %s AND read_at IS NULL",
            [user.pk],
        )[0].n
    )
