"""Check-ins: submit (with history), needs, forecasts, weekly prompts and the missed ladder."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckIn, CheckInPrompt, CheckInRevision, DependencyReview, MissedCheckIn
from dependencies.models import Dependency
from dependencies.services import dependency_flag_risk
from objectives.models import KeyResult
from okrly import access, dashcache
from okrly.access import leadership_members, team_leads
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Profile, Quarter, display_name
from okrly.params import BadParameter, decimal_limits, int_param
from okrly.services import notification_create, notifications_queue_email

REVIEW_WEEKS = 2  # rule 4: dependencies are reviewed in the first two weekly check-ins


# --- weeks -----------------------------------------------------------------------------------


def quarter_week(quarter: Quarter, day: date) -> int:
    """Week of the quarter containing ``day``: 1 starts on the quarter's first day."""
    return (day - quarter.start).days // 7 + 1


def week_start(quarter: Quarter, week: int) -> date:
    return quarter.start + timedelta(days=7 * (week - 1))


def local_today(user: Any, now: datetime | None = None) -> date:
    """Today where the person is: a check-in's week is their week, not the server's."""
    tz = ZoneInfo(user.profile.timezone) if hasattr(user, "profile") else ZoneInfo("UTC")
    return (now or timezone.now()).astimezone(tz).date()


def current_week(quarter: Quarter, user: Any) -> int | None:
    today = local_today(user)
    if not quarter.start <= today <= quarter.end:
        return None
    return quarter_week(quarter, today)


# --- forecast --------------------------------------------------------------------------------


def forecast_value(
    *, start_value: Decimal, points: list[tuple[int, Decimal]], last_week: int
) -> Decimal | None:
    """Project the value at the quarter's last week with a least-squares line.

    The key result's start value counts as week 0, then one point per check-in (week, value).
    With fewer than two distinct weeks there is no trend, and no forecast.
    """
    series = [(0, start_value), *points]
    if len({w for w, _ in series}) < 2:
        return None
    n = Decimal(len(series))
    xs = [Decimal(w) for w, _ in series]
    ys = [Decimal(v) for _, v in series]
    mean_x = sum(xs, Decimal(0)) / n
    mean_y = sum(ys, Decimal(0)) / n
    sxx = sum(((x - mean_x) ** 2 for x in xs), Decimal(0))
    sxy = sum(((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)), Decimal(0))
    slope = sxy / sxx
    projected = mean_y + slope * (Decimal(last_week) - mean_x)
    return projected.quantize(Decimal("0.01"))


def storable_forecast(projected: Decimal | None) -> Decimal | None:
    """The projection as the check-in stores it: None when beyond what its column holds.

    Values that fit can still project past numeric(14,2) (7e11 in week 7 heads for 1.3e12).
    Such a line is no forecast anyone can use, and storing it would fail the whole check-in;
    the stated-vs-forecast flag still compares the exact projection with the target.
    """
    if projected is None or projected.copy_abs() > FORECAST_MAX:
        return None
    return projected


def misses_target(key_result: KeyResult, projected: Decimal) -> bool:
    """Whether the projection falls short of the target by more than the margin, a share of
    the distance from start to target (CHECKIN_FORECAST_MARGIN)."""
    span = abs(key_result.target_value - key_result.start_value)
    margin = span * Decimal(str(settings.CHECKIN_FORECAST_MARGIN))
    if key_result.direction == KeyResult.Direction.INCREASE:
        return projected < key_result.target_value - margin
    return projected > key_result.target_value + margin


# --- submit ----------------------------------------------------------------------------------


# What a check-in's value column holds: numeric(14, 2).
VALUE_MAX, VALUE_PLACES = decimal_limits(CheckIn, "value")
FORECAST_MAX, _ = decimal_limits(CheckIn, "forecast_value")


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


@transaction.atomic
def checkin_submit(
    *,
    user: Any,
    key_result: KeyResult,
    status: str,
    confidence: Any,
    biggest_risk: str,
    value: Any,
    need: str = "",
    need_person: Any = None,
    need_dependency: Dependency | None = None,
    week: int | None = None,
    dependency_reviews: dict[int, tuple[bool, str]] | None = None,
) -> CheckIn:
    """Submit (or edit) the owner's check-in for a week of the quarter.

    1. Only the owner; the week defaults to the owner's current week and may be an earlier
       week of the quarter, never a future one or one outside the quarter.
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
    if quarter.status == Quarter.Status.CLOSED:
        raise RuleBroken(f"{quarter.name} is closed; check-ins are over.")
    now_week = current_week(quarter, user)
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
    if local_today(user) < week_start(quarter, week):
        raise RuleBroken(f"Week {week} has not started yet.", field="week")
    status, confidence_int, risk, number = _clean_inputs(
        status=status, confidence=confidence, biggest_risk=biggest_risk, value=value
    )
    if need_dependency is not None and need_dependency.key_result_id != key_result.pk:
        raise RuleBroken("Choose one of this key result's dependencies.", field="need_dependency")
    if need_person is None and need_dependency is not None:
        need_person = need_dependency.responsible
    if need_person is not None and not need.strip():
        raise RuleBroken(f"Say what you need from {display_name(need_person)}.", field="need")

    now = timezone.now()
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
    existing = CheckIn.objects.select_for_update().filter(key_result=key_result, week=week).first()
    if existing is None:
        try:
            with transaction.atomic():
                check_in = CheckIn.objects.create(
                    key_result=key_result, week=week, submitted_at=now, **fields
                )
            previous_need = None
        except IntegrityError:
            # Another submission for this week won the insert: edit it instead.
            existing = CheckIn.objects.select_for_update().get(key_result=key_result, week=week)
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
    projected = forecast_value(
        start_value=key_result.start_value, points=points, last_week=quarter.weeks
    )
    check_in.forecast_value = storable_forecast(projected)
    check_in.forecast_flag = bool(
        status == CheckIn.Status.ON_TRACK
        and projected is not None
        and misses_target(key_result, projected)
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
    if check_in.need_person_id and _need_of(check_in) != previous_need:
        notification_create(
            recipient=check_in.need_person,
            kind="need",
            subject=f"{display_name(user)} needs something from you for “{key_result.title}”",
            body=check_in.need,
            link=reverse("asked_of_me"),
        )
    _complete_prompt_if_done(user, quarter, week)
    return check_in


def _need_of(check_in: CheckIn) -> tuple[str, int | None, int | None]:
    """What a need asks and of whom: a change in any part is a new need to handle."""
    return (check_in.need, check_in.need_person_id, check_in.need_dependency_id)


def _review_dependencies(
    check_in: CheckIn, key_result: KeyResult, user: Any, reviews: dict[int, tuple[bool, str]]
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


def _complete_prompt_if_done(user: Any, quarter: Quarter, week: int) -> None:
    missing = KeyResult.objects.filter(owner=user, objective__quarter=quarter).exclude(
        checkins__week=week
    )
    if not missing.exists():
        CheckInPrompt.objects.filter(owner=user, quarter=quarter, week=week).update(
            completed_at=timezone.now(), next_escalation_at=None
        )


@transaction.atomic
def checkin_need_handle(*, check_in: CheckIn, user: Any) -> CheckIn:
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


# --- prompts ---------------------------------------------------------------------------------


@dataclass
class PromptRun:
    prompts: int = 0
    batches: int = 0
    zones_due: list[str] = field(default_factory=list)


def _prompt_moment(local_now: datetime, weekday: int, hour: int) -> datetime:
    """The latest check-in moment (weekday at hour, local time) at or before ``local_now``."""
    days_back = (local_now.weekday() - weekday) % 7
    day = local_now.date() - timedelta(days=days_back)
    moment = datetime.combine(day, time(hour), tzinfo=local_now.tzinfo)
    if moment > local_now:
        moment -= timedelta(days=7)
    return moment


def _due_zones(
    quarter: Quarter, zones: list[str], now: datetime
) -> dict[str, tuple[int, datetime]]:
    """For each time zone whose check-in moment has come within the grace period: the week
    of the quarter it is for (from the moment's local date) and the moment itself."""
    grace = timedelta(hours=settings.CHECKIN_PROMPT_GRACE_HOURS)
    due: dict[str, tuple[int, datetime]] = {}
    for zone in zones:
        local_now = now.astimezone(ZoneInfo(zone))
        moment = _prompt_moment(local_now, quarter.checkin_weekday, quarter.checkin_hour)
        # Real hours, in UTC: two datetimes in the same zone subtract as wall-clock times,
        # an hour off when the clocks changed in between. Missed by *more* than the grace:
        # not sent.
        if now.astimezone(UTC) - moment.astimezone(UTC) > grace:
            continue
        day = moment.date()
        if quarter.start <= day <= quarter.end:
            due[zone] = (quarter_week(quarter, day), moment)
    return due


def checkins_send_prompts(*, now: datetime | None = None, batch_size: int = 500) -> PromptRun:
    """Prompt every owner once a week at the quarter's check-in hour in their own zone.

    1. For each active quarter, one query lists the time zones of its owners; the zones whose
       check-in moment has come (within CHECKIN_PROMPT_GRACE_HOURS) are due, each for a week.
    2. Per due zone, owners not out of office and without a prompt row for that week are read
       in batches (an anti-join on the unique (owner, quarter, week) index).
    3. Per batch, in one transaction: insert the prompt rows (conflicts ignored), claim the
       unsent ones with a token in one UPDATE, write the in-app notifications in one INSERT,
       and queue their e-mails (after commit) as tasks that each send over one connection.
       A second run or a second worker finds the rows claimed and sends nothing; a batch
       that fails leaves no prompt row behind, so the next run sends it.
    """
    now = now or timezone.now()
    run = PromptRun()
    User = get_user_model()
    for quarter in Quarter.objects.filter(status=Quarter.Status.ACTIVE):
        owners = User.objects.filter(is_active=True, owned_key_results__objective__quarter=quarter)
        zones = list(
            Profile.objects.filter(user__in=owners).values_list("timezone", flat=True).distinct()
        )
        due = _due_zones(quarter, zones, now)
        run.zones_due.extend(sorted(due))
        for zone, (week, moment) in due.items():
            day = moment.date()
            prompted = CheckInPrompt.objects.filter(
                owner=OuterRef("pk"), quarter=quarter, week=week
            )
            candidates = (
                owners.filter(profile__timezone=zone)
                .exclude(profile__out_of_office_until__gte=day)
                .annotate(prompted=Exists(prompted))
                .filter(prompted=False)
                .distinct()
                .order_by("pk")
            )
            while True:
                batch = list(candidates.values_list("pk", flat=True)[:batch_size])
                if not batch:
                    break
                run.prompts += _prompt_batch(quarter, week, moment, batch, now)
                run.batches += 1
    return run


def _prompt_batch(
    quarter: Quarter, week: int, moment: datetime, owner_ids: list[int], now: datetime
) -> int:
    delays = settings.CHECKIN_MISSED_RUNG_HOURS
    # In UTC: adding hours to a local time adds wall-clock hours, and the rungs are real
    # hours after the moment (the ladder adds the later ones to the stored, UTC, due_at).
    due_at = moment.astimezone(UTC)
    token = uuid.uuid4()
    # One transaction for the rows and the notifications: a prompt row committed without its
    # notification would hide the owner from every later run (the anti-join), unprompted
    # but still on the missed-check-in ladder.
    with transaction.atomic():
        CheckInPrompt.objects.bulk_create(
            [
                CheckInPrompt(
                    owner_id=pk,
                    quarter=quarter,
                    week=week,
                    due_at=due_at,
                    next_escalation_at=due_at + timedelta(hours=delays[0]),
                )
                for pk in owner_ids
            ],
            ignore_conflicts=True,
        )
        CheckInPrompt.objects.filter(
            quarter=quarter, week=week, owner_id__in=owner_ids, claim__isnull=True
        ).update(claim=token, sent_at=now)
        claimed = list(CheckInPrompt.objects.filter(claim=token).values_list("owner_id", flat=True))
        link = reverse("home")
        notifications = Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=owner_id,
                    kind="checkin_prompt",
                    subject=f"Week {week} check-in: three questions per key result",
                    body=(
                        "Are you on track? What is the biggest risk? What do you need from "
                        "someone else? It takes under a minute."
                    ),
                    link=link,
                )
                for owner_id in claimed
            ]
        )
        notifications_queue_email([n.pk for n in notifications if n.pk is not None])
    # Prompts are bulk-inserted (no model signals): tell the dashboard its figures moved.
    dashcache.bump()
    return len(claimed)


# --- missed check-ins ------------------------------------------------------------------------


@dataclass
class MissedRun:
    escalated: int = 0
    completed: int = 0


def _missed_recipients(prompt: CheckInPrompt, rung: int, missing: list[KeyResult]) -> list[Any]:
    if rung == MissedCheckIn.Rung.OWNER:
        return [prompt.owner]
    if rung == MissedCheckIn.Rung.MANAGER:
        manager = prompt.owner.profile.manager
        if manager is not None and manager.is_active:
            return [manager]
        leads: dict[int, Any] = {}
        for kr in missing:
            for lead in team_leads(kr.objective.team):
                if lead.pk != prompt.owner_id:
                    leads[lead.pk] = lead
        return list(leads.values()) or leadership_members()
    return leadership_members()


def checkins_escalate_missed(*, now: datetime | None = None, limit: int = 500) -> MissedRun:
    """Climb the missed-check-in ladder one rung for each prompt whose next rung is due:
    owner → manager (or team lead) → leadership. Stops as soon as the check-ins are in."""
    now = now or timezone.now()
    run = MissedRun()
    delays = settings.CHECKIN_MISSED_RUNG_HOURS
    due = list(
        CheckInPrompt.objects.filter(next_escalation_at__lte=now)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)[:limit]
    )
    notification_ids: list[int] = []
    for pk in due:
        with transaction.atomic():
            # Lock the prompt row only: the manager is a nullable join, and PostgreSQL
            # refuses FOR UPDATE on the nullable side of an outer join.
            prompt = (
                CheckInPrompt.objects.select_for_update(of=("self",))
                .select_related("owner__profile__manager", "quarter")
                .get(pk=pk)
            )
            if prompt.next_escalation_at is None or prompt.next_escalation_at > now:
                continue
            owner_away = prompt.owner.profile.is_out_of_office(local_today(prompt.owner, now))
            if prompt.quarter.status == Quarter.Status.CLOSED or owner_away:
                # Nobody can check in for a closed quarter, and an owner who went out of
                # office after the prompt is not chased: the ladder stops here.
                prompt.next_escalation_at = None
                prompt.save(update_fields=["next_escalation_at"])
                continue
            missing = list(
                KeyResult.objects.filter(owner=prompt.owner, objective__quarter=prompt.quarter)
                .exclude(checkins__week=prompt.week)
                .select_related("objective__team")
            )
            if not missing:
                prompt.completed_at = prompt.completed_at or now
                prompt.next_escalation_at = None
                prompt.save(update_fields=["completed_at", "next_escalation_at"])
                run.completed += 1
                continue
            rung = prompt.escalation_rung + 1
            try:
                with transaction.atomic():
                    MissedCheckIn.objects.create(prompt=prompt, rung=rung, sent_at=now)
            except IntegrityError:
                continue
            titles = ", ".join(f"“{kr.title}”" for kr in missing)
            owner = display_name(prompt.owner)
            subjects = {
                1: f"Reminder: your week {prompt.week} check-in is missing",
                2: f"{owner} has not checked in for week {prompt.week}",
                3: f"Escalation: {owner} has not checked in for week {prompt.week}",
            }
            for recipient in _missed_recipients(prompt, rung, missing):
                note = notification_create(
                    recipient=recipient,
                    kind=f"checkin_missed_{rung}",
                    subject=subjects[rung],
                    body=f"No check-in yet for {titles}. Rung {rung} of 3.",
                    link=reverse("home") if rung == 1 else missing[0].get_absolute_url(),
                    email=False,
                )
                notification_ids.append(note.pk)
            prompt.escalation_rung = rung
            prompt.next_escalation_at = (
                prompt.due_at + timedelta(hours=delays[rung]) if rung < len(delays) else None
            )
            prompt.save(update_fields=["escalation_rung", "next_escalation_at"])
            run.escalated += 1
    notifications_queue_email(notification_ids)
    return run
