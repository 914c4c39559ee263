"""Demo check-ins: past weeks of every key result, so timelines and charts have a history.

The current week is left for the demo users to fill in themselves."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from checkins import services
from checkins.models import CheckIn, CheckInPrompt
from objectives.models import KeyResult
from okrly.models import Quarter, user_timezone

RISKS = [
    "Hiring for the team is behind plan",
    "Depends on another team's roadmap",
    "Data quality makes the number hard to trust",
    "Scope keeps growing with every review",
    "Seasonal dip in December",
]


def seed(today: date) -> None:
    quarter = Quarter.objects.current(today)
    if quarter is None or not quarter.start <= today <= quarter.end:
        return
    week_now = quarter.week_of(today)
    key_results = KeyResult.objects.filter(objective__quarter=quarter).select_related(
        "owner__profile"
    )
    for index, kr in enumerate(key_results.order_by("pk")):
        done = set(CheckIn.objects.filter(key_result=kr).values_list("week", flat=True))
        # Some owners are a week behind; half have already checked in this week (not the key
        # result the demo's member, Ana, is meant to check in herself).
        last = week_now - 1 if index % 4 else week_now - 2
        if index % 2 and kr.title != "Raise activation within 7 days":
            last = week_now
        for week in range(1, max(last, 0) + 1):
            if week in done:
                continue  # safe to run twice
            share = Decimal(week) / Decimal(max(week_now - 1, 1))
            value = kr.start_value + (kr.current_value - kr.start_value) * share
            progress = kr.progress
            status = (
                "on_track" if progress >= 45 else ("at_risk" if progress >= 25 else "off_track")
            )
            # Written in its own week, soon after its prompt in the owner's zone (never
            # later than now), as the timeline shows it.
            written = quarter.checkin_moment(week, user_timezone(kr.owner)) + timedelta(
                minutes=30 + index % 30
            )
            services.checkin_submit(
                now=min(written, timezone.now()),
                user=kr.owner,
                key_result=kr,
                week=week,
                status=status,
                confidence=max(2, min(9, progress // 10 + (index % 3))),
                biggest_risk=RISKS[(index + week) % len(RISKS)],
                value=str(value.quantize(Decimal("0.01"))),
            )
        # The seeded history must not move the key result off its demo value.
        KeyResult.objects.filter(pk=kr.pk).update(current_value=kr.current_value)
    # This week's prompts have gone out (as beat would have sent them), so missed check-ins
    # show on the dashboard.
    moment = timezone.now()
    for owner_id in key_results.values_list("owner_id", flat=True).distinct():
        CheckInPrompt.objects.get_or_create(
            owner_id=owner_id,
            quarter=quarter,
            week=week_now,
            defaults={"due_at": moment, "sent_at": moment},
        )
