"""Check-ins: validate and submit the weekly answers (with history), and handle the needs
they address to someone. The forecast, the prompt job and the missed ladder have their own
modules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from checkins import forecast
from checkins.missed import missed_stop_if_done
from checkins.models import CheckIn, CheckInRevision, DependencyReview
from dependencies.models import Dependency
from dependencies.services import dependency_flag_risk
from objectives.models import KeyResult
from okrly import access, registry
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, display_name, local_today, user_timezone
from okrly.params import BadParameter, decimal_limits, int_param
from okrly.services import notification_create
from okrly.zones import local_time

if TYPE_CHECKING:
    from okrly.types import User

REVIEW_WEEKS = 2  # rule 4: dependencies are reviewed in the first two weekly check-ins


# --- submit ----------------------------------------------------------------------------------


# What a check-in's value column holds: numeric(14, 2).
VALUE_MAX, VALUE_PLACES = decimal_limits(CheckIn, "value")


def _confidence(confidence: Any) -> int | None:
    """The confidence as a whole number from 0 to 10, or None (the one integer parser)."""
    try:
        return int_param({"confidence": confidence}, "confidence", min_value=0, max_value=10)
    except BadParameter:
        return None


def value_problem(value: Any) -> str | None:
    """Why ``value`` can't be stored exactly as typed, or None.

    The column holds up to 999,999,999,999.99 in hundredths: a larger number would fail in
    the database, and more decimals would be rounded away silently (12.345 stored as 12.34,
    1e-10 as 0.00). Both are refused with a message; what was typed is never changed.
    """
    text = str(value if value is not None else "").strip()
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        return f"The current value must be a number (you typed “{value}”)."
    # copy_abs and the digit tuple, not abs() or quantize(): no arithmetic context, so
    # 1e99999999999 or 1e-99999999999 can't overflow while being checked.
    if number.copy_abs() > VALUE_MAX:
        return (
            f"The current value must be between {-VALUE_MAX:,} and {VALUE_MAX:,} "
            f"(you typed “{text}”)."
        )
    _, digits, exponent = number.as_tuple()
    extra = -VALUE_PLACES - int(exponent)  # digits after the places the column holds
    if extra > 0 and any(digits[-extra:]):
        return (
            f"The current value can have at most {VALUE_PLACES} decimal places (you typed "
            f"“{text}”); round it as you mean it."
        )
    return None


def checkin_problems(
    *, status: Any, confidence: Any, biggest_risk: Any, value: Any
) -> dict[str, str]:
    """Every problem with the answers, by field, so a form can show them all at once."""
    problems: dict[str, str] = {}
    if status not in CheckIn.Status.values:
        problems["status"] = "Answer “Are you on track?” with on track, at risk or off track."
    text = str(confidence if confidence is not None else "").strip()
    if _confidence(text) is None:
        problems["confidence"] = (
            f"Confidence is a whole number from 0 to 10 (you gave “{text}”)."
            if text
            else "Give your confidence: a whole number from 0 to 10."
        )
    if not str(biggest_risk or "").strip():
        problems["biggest_risk"] = (
            "Name the biggest risk: what could stop this key result? “None” is rarely true."
        )
    problem = value_problem(value)
    if problem:
        problems["value"] = problem
    return problems


def _clean_inputs(
    *, status: Any, confidence: Any, biggest_risk: Any, value: Any
) -> tuple[str, int, str, Decimal]:
    problems = checkin_problems(
        status=status, confidence=confidence, biggest_risk=biggest_risk, value=value
    )
    if problems:
        name, message = next(iter(problems.items()))
        raise RuleBroken(message, field=name)
    number = Decimal(str(value).strip())  # exact: value_problem refused extra decimals
    confidence_int = _confidence(confidence)
    assert confidence_int is not None  # checked by checkin_problems
    return status, confidence_int, str(biggest_risk).strip(), number


def _snapshot(check_in: CheckIn) -> None:
    CheckInRevision.objects.create(
        check_in=check_in,
        status=check_in.status,
        confidence=check_in.confidence,
        biggest_risk=check_in.biggest_risk,
        need=check_in.need,
        value=check_in.value,
        written_at=check_in.edited_at or check_in.submitted_at,
    )


def late_refusal(
    quarter: Quarter, week: int, *, owner: User, now: datetime | None = None
) -> str | None:
    """Why an earlier ``week`` can no longer be checked in, or None while it still can: until
    CHECKIN_LATE_DAYS after its check-in moment in the owner's zone. The card offers a late
    check-in by this same test."""
    until = quarter.late_until(week, user_timezone(owner))
    if (now or timezone.now()) <= until:
        return None
    return (
        f"Week {week} closed for check-ins on {local_time(until, until.tzinfo)}: a missed week "
        f"can be checked in late for {settings.CHECKIN_LATE_DAYS} days after its prompt."
    )


def week_locked(key_result: KeyResult, week: int) -> QuerySet[CheckIn]:
    """The key result's check-in of ``week``, to be locked (FOR UPDATE) until the submit's
    transaction ends: its own row only. Ordered by id, not by the model's default ordering,
    which joins the key result, its objective, team and quarter: FOR UPDATE then locked those
    rows too, every check-in of the quarter queued on the quarter's row, and with the team
    figures' locks (ownership.figures) concurrent check-ins deadlocked."""
    return (
        CheckIn.objects.select_for_update(of=("self",))
        .filter(key_result=key_result, week=week)
        .order_by("pk")
    )


@transaction.atomic
@registry.key_results_batched()
def checkin_submit(
    *,
    user: User,
    key_result: KeyResult,
    status: str,
    confidence: Any,
    biggest_risk: str,
    value: Any,
    need: str = "",
    need_person: User | None = None,
    need_dependency: Dependency | None = None,
    week: int | None = None,
    dependency_reviews: dict[int, tuple[bool, str]] | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """Submit (or edit) the owner's check-in for a week of the quarter. ``now``: the moment
    it is written (the demo writes a history as of each past week); the clock's by default.

    1. Only the owner; the week defaults to the owner's current week and may be an earlier
       week of the quarter, never a future one or one outside the quarter. An earlier week
       is late: open until CHECKIN_LATE_DAYS after its prompt, and marked late when created.
    2. Validate the three answers and the value.
    3. One row per (key result, week): an existing one is edited, its previous version kept
       as a revision. Two submissions at once: the loser of the insert edits the winner's row.
    4. The key result's current value follows its latest check-in; the forecast and the
       stated-vs-forecast flag are recomputed.
    5. In weeks 1-2, each reviewed dependency said to be off track is flagged at risk.
    6. A new or changed need that names a person (or a dependency's responsible person)
       notifies them; a change also clears an earlier handled mark.
    7. If every key result of the owner is now checked in for the week, the missed-check-in
       ladder for that week stops.
    """
    key_result = KeyResult.objects.select_related("objective__quarter", "owner__profile").get(
        pk=key_result.pk
    )
    quarter = key_result.objective.quarter
    if not access.is_owner(user, owner_id=key_result.owner_id):
        raise NotAllowed(
            f"Only {display_name(key_result.owner)}, the key result's owner, checks in for it."
        )
    if quarter.status in (Quarter.Status.CLOSED, Quarter.Status.REVIEWING):
        # Reviewing: the key result is graded now (reviews.lifecycle), no longer checked in.
        raise RuleBroken(
            f"{quarter.name} is {quarter.get_status_display().lower()}; check-ins are over."
        )
    if key_result.displaced_by_id is not None:
        # Rule 8: it left the quarter's counts; a check-in would put it back in them.
        raise RuleBroken(
            f"“{key_result.title}” was displaced by trade-off #{key_result.displaced_by_id}; "
            "it needs no more check-ins."
        )
    now = now or timezone.now()
    today = local_today(user, now)
    now_week = quarter.week_of(today) if quarter.start <= today <= quarter.end else None
    if week is None:
        if now_week is None:
            raise RuleBroken(
                f"Today is outside {quarter.name}; choose a week of the quarter.", field="week"
            )
        week = now_week
    if not 1 <= week <= quarter.weeks:
        raise RuleBroken(
            f"Week {week} is outside {quarter.name} (weeks 1–{quarter.weeks}).", field="week"
        )
    if today < quarter.week_start(week):
        raise RuleBroken(f"Week {week} has not started yet.", field="week")
    late = now_week is None or week < now_week
    if late:
        late_problem = late_refusal(quarter, week, owner=user, now=now)
        if late_problem:
            raise RuleBroken(late_problem, field="week")
    status, confidence_int, risk, number = _clean_inputs(
        status=status, confidence=confidence, biggest_risk=biggest_risk, value=value
    )
    if need_dependency is not None and need_dependency.key_result_id != key_result.pk:
        raise RuleBroken("Choose one of this key result's dependencies.", field="need_dependency")
    if need_person is None and need_dependency is not None:
        need_person = need_dependency.responsible
    if need_person is not None and not need.strip():
        raise RuleBroken(f"Say what you need from {display_name(need_person)}.", field="need")

    fields = {
        "author": user,
        "status": status,
        "confidence": confidence_int,
        "biggest_risk": risk,
        "need": need.strip(),
        "need_person": need_person,
        "need_dependency": need_dependency,
        "value": number,
    }
    existing = week_locked(key_result, week).first()
    if existing is None:
        try:
            with transaction.atomic():
                check_in = CheckIn.objects.create(
                    key_result=key_result, week=week, submitted_at=now, late=late, **fields
                )
            previous_need = None
        except IntegrityError:
            # Another submission for this week won the insert: edit it instead.
            existing = week_locked(key_result, week).get()
    if existing is not None:
        previous_need = _need_of(existing)
        _snapshot(existing)
        for name, value_ in fields.items():
            setattr(existing, name, value_)
        existing.edited_at = now
        if _need_of(existing) != previous_need:
            # A handled mark belongs to the need that was handled: a new request (even to
            # the same person) must reach them again, or it is silently lost.
            existing.need_handled_at = None
        check_in = existing

    latest_week = (
        CheckIn.objects.filter(key_result=key_result)
        .order_by("-week")
        .values_list("week", flat=True)
    ).first()
    is_latest = latest_week is None or week >= latest_week
    points = [
        (w, v if w != week else number)
        for w, v in CheckIn.objects.filter(key_result=key_result).values_list("week", "value")
    ]
    if week not in {w for w, _ in points}:
        points.append((week, number))
    projected = forecast.forecast_value(
        start_value=key_result.start_value, points=points, last_week=quarter.weeks
    )
    check_in.forecast_value = forecast.storable_forecast(projected)
    check_in.forecast_flag = bool(
        status == CheckIn.Status.ON_TRACK
        and projected is not None
        and forecast.misses_target(key_result, projected)
    )
    check_in.save()
    if is_latest:
        # The key result carries its latest answers (and value) for lists and the dashboard.
        key_result.current_value = number
        key_result.latest_checkin_week = week
        key_result.latest_checkin_status = status
        key_result.latest_checkin_confidence = confidence_int
        key_result.latest_forecast_flag = check_in.forecast_flag
        key_result.save(
            update_fields=[
                "current_value",
                "latest_checkin_week",
                "latest_checkin_status",
                "latest_checkin_confidence",
                "latest_forecast_flag",
                "updated_at",
            ]
        )

    if week <= REVIEW_WEEKS and dependency_reviews:
        _review_dependencies(check_in, key_result, user, dependency_reviews)
    if need_person is not None and _need_of(check_in) != previous_need:
        notification_create(
            recipient=need_person,
            kind="need",
            subject=f"{display_name(user)} needs something from you for “{key_result.title}”",
            body=check_in.need,
            link=reverse("asked_of_me"),
        )
    missed_stop_if_done(user=user, quarter=quarter, week=week)
    return check_in


def _need_of(check_in: CheckIn) -> tuple[str, int | None, int | None]:
    """What a need asks and of whom: a change in any part is a new need to handle."""
    return (check_in.need, check_in.need_person_id, check_in.need_dependency_id)


def _review_dependencies(
    check_in: CheckIn, key_result: KeyResult, user: User, reviews: dict[int, tuple[bool, str]]
) -> None:
    deps = {d.pk: d for d in Dependency.objects.filter(key_result=key_result, pk__in=reviews)}
    for pk, (on_track, note) in reviews.items():
        dep = deps.get(pk)
        if dep is None:
            raise RuleBroken("That dependency is not this key result's.", field="dependencies")
        DependencyReview.objects.update_or_create(
            check_in=check_in, dependency=dep, defaults={"on_track": on_track, "note": note}
        )
        if not on_track and dep.status == Dependency.Status.COMMITTED:
            dependency_flag_risk(
                dependency=dep,
                user=user,
                reason=note or f"Not on track, said in the week {check_in.week} check-in.",
            )


@transaction.atomic
def checkin_need_handle(*, check_in: CheckIn, user: User) -> CheckIn:
    """The person a need was addressed to marks it handled."""
    if not access.can_handle_need(user, need_person_id=check_in.need_person_id):
        raise NotAllowed("This need is addressed to someone else.")
    if check_in.need_handled_at is None:
        check_in.need_handled_at = timezone.now()
        check_in.save(update_fields=["need_handled_at"])
        notification_create(
            recipient=check_in.key_result.owner,
            kind="need_handled",
            subject=f"{display_name(user)} handled your need for “{check_in.key_result.title}”",
            body=check_in.need,
            link=check_in.key_result.get_absolute_url(),
        )
    return check_in
