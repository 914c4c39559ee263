"""Quarters on the set-up page: the next one prefilled from the current, and activation
with one active quarter at a time (okrly 0008's partial unique index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.db import IntegrityError, transaction

from okrly import access, registry
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter

if TYPE_CHECKING:
    from okrly.types import User

# The column is a smallint; Django's PositiveSmallIntegerField stops at 32767.
_SMALLINT_MAX = 32767


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def calendar_quarter(day: date) -> tuple[date, date, str]:
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    end = _add_months(start, 3) - timedelta(days=1)
    return start, end, f"{start.year} Q{(start.month - 1) // 3 + 1}"


def next_quarter_initial(today: date) -> dict[str, Any]:
    """The form's prefill: the quarter after the latest one (its dates a calendar quarter when
    the latest was one, else as long as it), with its check-in day and hour; the calendar
    quarter of today when there is none yet."""
    latest = Quarter.objects.order_by("-end").first()
    if latest is None:
        start, end, name = calendar_quarter(today)
        return {"name": name, "start": start, "end": end, "checkin_weekday": 0, "checkin_hour": 9}
    start = latest.end + timedelta(days=1)
    if (latest.start, latest.end) == calendar_quarter(latest.start)[:2]:
        _, end, name = calendar_quarter(start)
    else:
        end = start + (latest.end - latest.start)
        name = f"{start:%b %Y} – {end:%b %Y}"
    return {
        "name": name,
        "start": start,
        "end": end,
        "checkin_weekday": latest.checkin_weekday,
        "checkin_hour": latest.checkin_hour,
        "objective_limit": latest.objective_limit,
    }


class QuarterForm(forms.ModelForm):
    checkin_hour = forms.IntegerField(
        label="Check-in hour",
        min_value=0,
        max_value=23,
        help_text="Hour of the day (0–23) in each owner's own time zone.",
    )
    objective_limit = forms.IntegerField(
        label="Objective limit for every team",
        min_value=1,
        max_value=_SMALLINT_MAX,
        required=False,
        help_text="Overrides each team's objective limit this quarter; empty keeps them.",
    )

    class Meta:
        model = Quarter
        fields = ["name", "start", "end", "checkin_weekday", "checkin_hour", "objective_limit"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


def quarter_create(*, user: User, form: QuarterForm) -> Quarter:
    """A new quarter is planned; activating it is a separate, deliberate step."""
    if not access.can_set_up(user):
        raise NotAllowed("Only staff set up quarters.")
    quarter: Quarter = form.save(commit=False)
    quarter.status = Quarter.Status.PLANNING
    quarter.save()
    return quarter


@dataclass(frozen=True)
class ActiveElsewhere(Exception):
    """Another quarter is active: the page offers to start its review first."""

    other: Quarter


def quarter_activate(*, user: User, quarter: Quarter, review_other: bool = False) -> Quarter:
    """Make ``quarter`` the active one. With another active, raise ``ActiveElsewhere`` unless
    ``review_other``: then the other starts its review (reviews app, via the registry) and
    this one becomes active, in one transaction."""
    if not access.can_set_up(user):
        raise NotAllowed("Only staff activate quarters.")
    if quarter.status != Quarter.Status.PLANNING:
        raise RuleBroken(
            f"{quarter.name} is {quarter.get_status_display().lower()}; only a quarter being "
            "planned can be activated.",
            field="status",
        )
    with transaction.atomic():
        other = (
            Quarter.objects.select_for_update()
            .filter(status=Quarter.Status.ACTIVE)
            .exclude(pk=quarter.pk)
            .first()
        )
        # Without the offer taken (or an install that can't start reviews) nothing changes.
        if other is not None and not (review_other and registry.start_review(other)):
            raise ActiveElsewhere(other)
        try:
            with transaction.atomic():
                moved = Quarter.objects.filter(
                    pk=quarter.pk, status=Quarter.Status.PLANNING
                ).update(status=Quarter.Status.ACTIVE)
        except IntegrityError:
            # Another admin activated a quarter between the read and the write.
            current = Quarter.objects.filter(status=Quarter.Status.ACTIVE).first()
            if current is None:
                raise
            raise ActiveElsewhere(current) from None
        if not moved:
            raise RuleBroken(f"{quarter.name} is no longer being planned.", field="status")
    quarter.refresh_from_db()
    return quarter
