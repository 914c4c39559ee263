"""A quarter's end (issue 13, section 1): active → reviewing, and grading its key results.

- An admin makes a quarter active (okrly admin). It starts **reviewing** on its last day, by
  the beat job ``quarters_start_reviewing_due`` (the date in UTC: the job runs for the whole
  organisation, whose people are in many zones), or earlier when leadership starts it
  (``quarter_start_reviewing``). Either way one conditional UPDATE ... WHERE status='active'
  moves it, so a second run, a second worker or a double click changes nothing.
- Moving it creates one ungraded Grade per key result (a key result displaced by a trade-off
  is graded "displaced" at once and owes nothing), starts the grading ladder
  (reviews.grade_ladder) and tells each owner once, e-mails queued in batches.
- While reviewing, no weekly check-in prompt goes out (checkins.prompts prompts active
  quarters only) and objectives and key results cannot be changed (objectives.services refuses
  a quarter that is not open): the quarter's work is over, and only grading changes it.
- The owner grades (``key_result_grade``) as often as they like until the review closes the
  quarter (reviews.review_services). The final value also becomes the key result's current
  value, so its progress, the dashboard and the missed-commitment trigger agree with the grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from objectives.models import KeyResult
from okrly import access
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, display_name
from okrly.services import notification_create, notifications_queue_email
from reviews.grade_ladder import GRADE_LADDER
from reviews.models import Grade

if TYPE_CHECKING:
    from okrly.types import User

# numeric(14, 2): the largest magnitude a value column holds.
VALUE_LIMIT = Decimal("1e12")
TEXT_LIMIT = 5000


@dataclass
class ReviewingRun:
    """What one call did: quarters moved to reviewing, grades created, owners notified."""

    quarters: int = 0
    grades: int = 0
    notifications: int = 0


def quarter_start_reviewing(
    *, user: User, quarter: Quarter, now: datetime | None = None
) -> Quarter:
    """Leadership starts the quarter's review before its last day. Only from active."""
    if not access.can_start_review(user):
        raise NotAllowed("Only leadership starts a quarter's review early.")
    run = _start(quarter, now or timezone.now())
    if not run.quarters:
        current = Quarter.objects.get(pk=quarter.pk)
        raise RuleBroken(
            f"{current.name} is {current.get_status_display().lower()}; only an active quarter "
            "starts its review.",
            field="status",
        )
    quarter.refresh_from_db()
    return quarter


def start_for_next_quarter(quarter: Quarter) -> bool:
    """The set-up page (staff) activates the next quarter: the active one starts its review
    as it would on its last day (grades, owners asked). False when it was no longer active.
    Staff decide when quarters change, so leadership's rights don't apply here."""
    return bool(_start(quarter, timezone.now()).quarters)


def quarters_start_reviewing_due(now: datetime | None = None) -> ReviewingRun:
    """The beat job: every active quarter whose last day has come (UTC) starts reviewing."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    total = ReviewingRun()
    due = Quarter.objects.filter(status=Quarter.Status.ACTIVE, end__lte=today).order_by("start")
    for quarter in due:
        run = _start(quarter, now)
        total.quarters += run.quarters
        total.grades += run.grades
        total.notifications += run.notifications
    return total


def _start(quarter: Quarter, now: datetime) -> ReviewingRun:
    """Move one quarter from active to reviewing and create its grades, in one transaction;
    nothing when it was not active (another run moved it, or it is in another state)."""
    run = ReviewingRun()
    with transaction.atomic():
        moved = Quarter.objects.filter(pk=quarter.pk, status=Quarter.Status.ACTIVE).update(
            status=Quarter.Status.REVIEWING, updated_at=now
        )
        if not moved:
            return run
        run.quarters = 1
        first_rung = GRADE_LADDER.rung_at(now, 0)
        key_results = list(
            KeyResult.objects.filter(objective__quarter=quarter)
            .select_related("owner")
            .order_by("pk")
        )
        created = Grade.objects.bulk_create(
            [
                Grade(
                    key_result=kr,
                    quarter_id=quarter.pk,
                    outcome=Grade.Outcome.DISPLACED if kr.displaced_by_id else "",
                    next_escalation_at=None if kr.displaced_by_id else first_rung,
                )
                for kr in key_results
            ],
            ignore_conflicts=True,  # a grade already there (the unique key result) stays
        )
        run.grades = len(created)
        # One notification per owner, naming their key results still to grade.
        owed: dict[int, list[KeyResult]] = {}
        for kr in key_results:
            if kr.displaced_by_id is None:
                owed.setdefault(kr.owner_id, []).append(kr)
        ids = [
            notification_create(
                recipient=krs[0].owner,
                kind="grade_prompt",
                subject=f"{quarter.name} is in review: grade your key results",
                body=(
                    "Grade "
                    + ", ".join(f"“{kr.title}”" for kr in krs)
                    + " on My week: the final value, what happened and what you would change "
                    "about how we work."
                ),
                link=reverse("home"),
                email=False,  # queued in batches below
            ).pk
            for krs in owed.values()
            if krs[0].owner.is_active
        ]
        run.notifications = len(ids)
        notifications_queue_email(ids)
    return run


# --- grading ----------------------------------------------------------------------------------


def grade_score(key_result: KeyResult, final_value: Decimal) -> Decimal:
    """How far the final value went from start to target, by direction, clamped to 0..1: a
    decreasing key result that ended below its target scores 1."""
    start, target = key_result.start_value, key_result.target_value
    if key_result.direction == KeyResult.Direction.DECREASE:
        done, span = start - final_value, start - target
    else:
        done, span = final_value - start, target - start
    if span <= 0:  # the model's constraint forbids it; never divide by zero
        return Decimal(1) if done >= 0 else Decimal(0)
    score = min(Decimal(1), max(Decimal(0), done / span))
    return score.quantize(Decimal("0.001"))


def grade_outcome(score: Decimal) -> str:
    if score >= Decimal(str(settings.KR_ACHIEVED_SCORE)):
        return Grade.Outcome.ACHIEVED
    if score >= Decimal(str(settings.KR_PARTLY_SCORE)):
        return Grade.Outcome.PARTLY
    return Grade.Outcome.MISSED


def _parse_value(raw: object) -> Decimal:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise RuleBroken("Enter the key result's final value.", field="final_value")
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise RuleBroken("The final value must be a number.", field="final_value")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise RuleBroken("The final value must be a number.", field="final_value") from None
    if not value.is_finite() or abs(value) >= VALUE_LIMIT:
        raise RuleBroken(
            "The final value must be a number below a trillion either way.", field="final_value"
        )
    return value.quantize(Decimal("0.01"))


def _answer(raw: object, field: str, question: str) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise RuleBroken(f"Answer “{question}”.", field=field)
    if len(text) > TEXT_LIMIT:
        raise RuleBroken(f"Keep it under {TEXT_LIMIT} characters.", field=field)
    return text


def key_result_grade(
    *,
    user: User,
    key_result: KeyResult,
    final_value: object,
    what_happened: object,
    change_how_we_work: object,
    now: datetime | None = None,
) -> Grade:
    """The owner grades their key result while its quarter is reviewing (again, if they like):
    the score and outcome are computed from the final value; both answers are required. The
    grade's ladder stops, and the final value becomes the key result's current value."""
    now = now or timezone.now()
    with transaction.atomic():
        kr = (
            KeyResult.objects.select_for_update(of=("self",))
            .select_related("objective__quarter", "owner")
            .get(pk=key_result.pk)
        )
        quarter = kr.objective.quarter
        reviewing = quarter.status == Quarter.Status.REVIEWING
        if not access.is_owner(user, owner_id=kr.owner_id):
            raise NotAllowed(f"Only {display_name(kr.owner)}, the key result's owner, grades it.")
        if not access.can_grade(user, owner_id=kr.owner_id, reviewing=reviewing):
            raise RuleBroken(
                f"{quarter.name} is {quarter.get_status_display().lower()}; key results are "
                "graded while the quarter is reviewing."
            )
        if kr.displaced_by_id is not None:
            raise RuleBroken(
                f"“{kr.title}” was displaced by trade-off #{kr.displaced_by_id}; it is graded "
                "“displaced by trade-off” without a score."
            )
        value = _parse_value(final_value)
        happened = _answer(what_happened, "what_happened", "What happened?")
        change = _answer(
            change_how_we_work,
            "change_how_we_work",
            "What would you change about how we work?",
        )
        grade, _ = Grade.objects.get_or_create(key_result=kr, defaults={"quarter": quarter})
        score = grade_score(kr, value)
        grade.final_value = value
        grade.score = score
        grade.outcome = grade_outcome(score)
        grade.what_happened = happened
        grade.change_how_we_work = change
        grade.graded_by = user
        grade.graded_at = now
        grade.next_escalation_at = None  # graded: the ladder stops here
        grade.save()
        kr.current_value = value
        kr.save(update_fields=["current_value", "updated_at"])
        grade.key_result = kr
    return grade
