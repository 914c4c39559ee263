"""The dashboard headline's week-over-week change (issue 15).

``headlines_snapshot`` (beat, every quarter hour) writes each active quarter's headline
figures as its current week's ``HeadlineSnapshot``; the dashboard reads the previous week's
row and shows each figure's change since that week ended. Rewriting the same row is the
idempotence: a second run, or two beats, leave one row per quarter and week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from okrly.models import Quarter
from reviews.models import HeadlineSnapshot
from reviews.selectors import Signals, org_view

# The headline's figures (Signals' attributes) and whether a rise is good news.
HEADLINE: dict[str, bool] = {
    "failing": False,
    "at_risk": False,
    "overdue": False,
    "escalations": False,
    "missed": False,
    "completion": True,
    "not_shared": False,
    "responses_on_time_percent": True,
    "surprise_percent": False,
}


def figures(signals: Signals) -> dict[str, int | None]:
    return {key: getattr(signals, key) for key in HEADLINE}


def headlines_snapshot(*, today: date | None = None) -> int:
    """Write every active quarter's headline as its current week's row; the number written."""
    today = today or timezone.localdate()
    written = 0
    for quarter in Quarter.objects.filter(status=Quarter.Status.ACTIVE):
        view = org_view(quarter, today)
        values = figures(view.headline)
        try:
            with transaction.atomic():
                HeadlineSnapshot.objects.update_or_create(
                    quarter=quarter,
                    week=view.week,
                    defaults={"figures": values, "taken_at": timezone.now()},
                )
        except IntegrityError:
            # Another run inserted the row between this one's read and insert: update it.
            HeadlineSnapshot.objects.filter(quarter=quarter, week=view.week).update(
                figures=values, taken_at=timezone.now()
            )
        written += 1
    return written


@dataclass(frozen=True)
class Change:
    """One headline figure against the previous week's."""

    delta: int
    week: int
    before: int
    good: bool | None  # None: unchanged

    @property
    def arrow(self) -> str:
        return "▲" if self.delta > 0 else "▼" if self.delta < 0 else "="


def changes(signals: Signals, previous: HeadlineSnapshot | None) -> dict[str, Change]:
    """Each headline figure's change since the previous week's row; a figure that had no
    value then, or has none now (no misses yet), has no change to show."""
    if previous is None:
        return {}
    found: dict[str, Change] = {}
    for key, rise_is_good in HEADLINE.items():
        now, before = getattr(signals, key), previous.figures.get(key)
        if now is None or not isinstance(before, int):
            continue
        delta = now - before
        good = None if delta == 0 else (delta > 0) == rise_is_good
        found[key] = Change(delta=delta, week=previous.week, before=before, good=good)
    return found
