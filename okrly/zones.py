"""The viewer's time zone: every date and time a page shows is in the signed-in person's own
zone (their profile's), and a time carries the zone's abbreviation.

``ViewerZoneMiddleware`` activates the zone for the request, so Django's ``date`` filter and
``timezone.localtime`` convert to it. The zone is read lazily: a page that shows no time
costs no query for it, and one that does costs one at most (``user_timezone`` keeps it on the
user; My week has read it already for the person's week).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from okrly.models import user_timezone


class ViewerZone(tzinfo):
    """A time zone that becomes the viewer's on first use."""

    def __init__(self, user: Any) -> None:
        self._user = user
        self._zone: zoneinfo.ZoneInfo | None = None

    def zone(self) -> zoneinfo.ZoneInfo:
        if self._zone is None:
            self._zone = zoneinfo.ZoneInfo(user_timezone(self._user))
        return self._zone

    def _as_zone(self, dt: datetime | None) -> datetime | None:
        return None if dt is None else dt.replace(tzinfo=self.zone())

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return self.zone().utcoffset(self._as_zone(dt))

    def dst(self, dt: datetime | None) -> timedelta | None:
        return self.zone().dst(self._as_zone(dt))

    def tzname(self, dt: datetime | None) -> str | None:
        return self.zone().tzname(self._as_zone(dt))

    def fromutc(self, dt: datetime) -> datetime:
        # The real zone finds the wall time (and its fold, in a repeated hour); the result
        # keeps this object as its zone so the offset is asked of the same rules.
        return self.zone().fromutc(dt.replace(tzinfo=self.zone())).replace(tzinfo=self)

    def __repr__(self) -> str:
        return f"ViewerZone({self._zone!r})"


class ViewerZoneMiddleware:
    """Show times in the signed-in viewer's zone; anonymous pages keep the server's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(ViewerZone(user))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def local_time(moment: datetime, zone: tzinfo | None = None) -> str:
    """A moment as people read it, in ``zone`` (default: the viewer's, active for the
    request) with its abbreviation: "Tue 8 Dec, 09:00 PST". Zones without a letter
    abbreviation show their offset ("+0545" for Asia/Kathmandu)."""
    local = timezone.localtime(moment, zone)
    return f"{local:%a} {local.day} {local:%b, %H:%M} {local.tzname()}"


def end_of_day(day: date, zone: str) -> datetime | None:
    """The first instant after ``day`` in ``zone``: a date is due all day, where the person it
    is due from lives. None for the last day a date can hold (9999-12-31): it has no day
    after, and is never overdue."""
    if day >= date.max:
        return None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zoneinfo.ZoneInfo(zone))
