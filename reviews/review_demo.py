"""The demo's previous quarter and its review (rule 11): the calendar quarter before today's,
closed, with its organisation review and two structural decisions taking effect now; the
current quarter's review has followed one of them up as *not done*, so the page, the
dashboard's decisions in force and the quarter comparison have something to show.

Idempotent: once the previous quarter's review is closed nothing is added again (the follow-up
is an update-or-create in the service)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from objectives.models import KeyResult, Objective
from okrly.demo import demo_quarter, quarter_bounds
from okrly.models import Quarter, Team
from reviews import review_services
from reviews.models import DecisionFollowUp, Grade, Review, StructuralDecision

PREVIOUS_OBJECTIVE = "Make planning start with dependencies"
DECISIONS = [
    (
        "Dependency requests are made in week 0, each with a named person",
        "Two of last quarter's misses came from dependencies asked for in week 6.",
        "tom",
        "No dependency of this quarter is requested after week 2.",
    ),
    (
        "Each team's lead reviews its check-ins every Monday",
        "Check-in completion fell under 70% in the second half of the quarter.",
        "priya",
        "Check-in completion stays above 85% every week.",
    ),
]
NOT_DONE_NOTE = "Half the teams still asked in week 4; nobody owned the week-0 session."


def _previous_bounds(current: Quarter) -> tuple[date, date]:
    return quarter_bounds(current.start - timedelta(days=1))


def seed(today: date) -> dict[str, int]:
    current = demo_quarter(today)
    if current is None:
        return {}
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["maya", "tom", "priya"])
    }
    maya = users["maya"]
    start, end = _previous_bounds(current)
    previous = Quarter.objects.filter(start=start).first() or Quarter.objects.create(
        name=f"{start.year} Q{(start.month - 1) // 3 + 1}",
        start=start,
        end=end,
        status=Quarter.Status.REVIEWING,
    )
    review = review_services.review_for(previous)
    if review.status == Review.Status.OPEN:
        _close_previous(previous, review, current, users)
    _follow_up(current, review, maya)
    return {"reviews": Review.objects.count()}


def _close_previous(
    previous: Quarter, review: Review, current: Quarter, users: dict[str, Any]
) -> None:
    maya = users["maya"]
    # A minimal quarter behind the review: one objective, two key results, graded. Written
    # with the ORM: the planning and grading services refuse a quarter that is already over.
    objective, _ = Objective.objects.get_or_create(
        quarter=previous,
        team=Team.objects.get(slug="leadership"),
        title=PREVIOUS_OBJECTIVE,
    )
    # Both achieved: a missed one would open a response at the close, and the demo's current
    # quarter has exactly one open response (tests/okrly/test_seed_demo.py).
    graded = [
        ("Dependencies requested by week 2", "0.75", Grade.Outcome.ACHIEVED),
        ("Weekly check-in completion", "0.85", Grade.Outcome.ACHIEVED),
    ]
    key_results = []
    for title, score, outcome in graded:
        kr, _ = KeyResult.objects.get_or_create(
            objective=objective,
            title=title,
            defaults={"target_value": Decimal(100), "owner": maya, "unit": "%"},
        )
        Grade.objects.update_or_create(
            key_result=kr,
            defaults={
                "quarter": previous,
                "final_value": Decimal(score) * 100,  # start 0, target 100
                "score": Decimal(score),
                "outcome": outcome,
                "what_happened": "See the review.",
                "graded_by": maya,
                "graded_at": timezone.now(),
            },
        )
        key_results.append(kr)
    if previous.status != Quarter.Status.REVIEWING:
        Quarter.objects.filter(pk=previous.pk).update(status=Quarter.Status.REVIEWING)
        previous.status = Quarter.Status.REVIEWING
    for (what, why, owner, check), kr in zip(DECISIONS, key_results, strict=True):
        if not review.decisions.filter(what_changes=what).exists():
            review_services.decision_add(
                user=maya,
                review=review,
                what_changes=what,
                why=why,
                owner=users[owner],
                takes_effect=current,
                success_check=check,
                follow_up_on=current.start + timedelta(days=45),
                key_result=kr,
            )
    review_services.review_close(user=maya, review=review)


def _follow_up(current: Quarter, previous_review: Review, maya: Any) -> None:
    """The current quarter's review marks the first decision not done (the second waits)."""
    decision = StructuralDecision.objects.filter(
        review=previous_review, what_changes=DECISIONS[0][0]
    ).first()
    if decision is None:
        return
    review = review_services.review_for(current)
    if DecisionFollowUp.objects.filter(review=review, decision=decision).exists():
        return
    review_services.follow_up_mark(
        user=maya,
        review=review,
        decision=decision,
        verdict=DecisionFollowUp.Verdict.NOT_DONE,
        note=NOT_DONE_NOTE,
    )
