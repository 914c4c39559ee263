"""Working time: deadlines that say "5 working days" or "48 working hours" skip weekends.

A working day is Monday to Friday; working hours are the hours of those days, counted around
the clock in the person's own time zone (a deadline set on Friday afternoon with 48 working
hours falls on Tuesday afternoon, not on Sunday). Public holidays are not known here.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

SATURDAY = 5


def _is_working_day(moment: datetime) -> bool:
    return moment.weekday() < SATURDAY


def _next_working_midnight(moment: datetime) -> datetime:
    day = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    while not _is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_hours(start: datetime, hours: float, tz: str = "UTC") -> datetime:
    """``start`` plus ``hours`` of Monday-to-Friday time in zone ``tz`` (a start on a weekend
    counts from the next Monday's midnight). Returns an aware datetime in that zone."""
    zone = zoneinfo.ZoneInfo(tz)
    moment = start.astimezone(zone).replace(tzinfo=None)  # wall-clock arithmetic
    if not _is_working_day(moment):
        moment = _next_working_midnight(moment)
    left = timedelta(hours=hours)
    while left > timedelta(0):
        day_end = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if moment + left <= day_end:
            moment += left
            break
        left -= day_end - moment
        moment = _next_working_midnight(moment)
    return moment.replace(tzinfo=zone)


def add_working_days(start: datetime, days: int, tz: str = "UTC") -> datetime:
    """``start`` plus ``days`` working days (24 working hours each)."""
    return add_working_hours(start, days * 24, tz)
