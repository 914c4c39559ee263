"""Responses to missed commitments (rule 10): the same four parts every time.

A response is opened by the service or job that detects the miss (through
``okrly.registry.report_miss``, so that lower apps never import this one): what was committed
against what was delivered is prefilled from the data; the accountable person and the one who
must hold the conversation with them (their manager, else a lead of their team) are told.
Within RESPONSE_DAYS working days (in the accountable person's zone) the conversation, the gap
examined (a cause and words) and one next step are recorded, or the response climbs its
ladder (reviews.response_ladders). The next step is tracked like a commitment: due, done,
overdue (which climbs its own ladder).

Re-recording is allowed until the next step is done: the record is updated in place, but
``recorded_at`` keeps the first record's time (the deadline measure counts when the response
was first recorded, not the last correction) while ``recorded_by`` names the latest author.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from okrly import orgsettings
from okrly.access import can_close_next_step, can_record_response, team_leads
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Profile, Quarter, Team, display_name
from okrly.services import notification_create
from okrly.workdays import add_working_days
from okrly.zones import end_of_day
from reviews.models import MissResponse, NextStep, ResponseCause

if TYPE_CHECKING:
    from dependencies.models import Dependency
    from objectives.models import KeyResult
    from okrly.types import User
    from reviews.models import StructuralDecision

Kind = MissResponse.Kind

# Response states, as pages and the API name them.
AWAITING = "awaiting"
OVERDUE = "overdue"
IN_PROGRESS = "in_progress"
DONE = "done"
STATES = (AWAITING, OVERDUE, IN_PROGRESS, DONE)


# --- who ----------------------------------------------------------------------------------------


def _zone(user: User) -> str:
    try:
        return str(user.profile.timezone)
    except Profile.DoesNotExist:
        return "UTC"


def _manager(user: User) -> User | None:
    try:
        manager = user.profile.manager
    except Profile.DoesNotExist:
        return None
    return manager if manager is not None and manager.is_active else None


def miss_team(key_result: KeyResult, dependency: Dependency | None) -> Team:
    """The team the accountable person answers in: the providing team for a dependency, the
    key result's team otherwise."""
    return dependency.provider_team if dependency is not None else key_result.objective.team


def holder_for(accountable: User, team: Team) -> User | None:
    """Who holds the conversation: the accountable person's manager, else a lead of their team
    (never themselves); None when neither exists (leadership then, through the ladder)."""
    manager = _manager(accountable)
    if manager is not None:
        return manager
    leads = [lead for lead in team_leads(team) if lead.pk != accountable.pk]
    return min(leads, key=lambda u: u.pk) if leads else None


# --- prefill ------------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _kr_values(kr: KeyResult) -> tuple[str, str]:
    unit = kr.unit if kr.unit in ("", "%") else f" {kr.unit}"
    committed = (
        f"{kr.title}: from {_number(kr.start_value)} to {_number(kr.target_value)}{unit} "
        f"({kr.get_direction_display().lower()})."
    )
    delivered = f"{_number(kr.current_value)}{unit}: {kr.progress}% of the way to target."
    return committed, delivered


def _dependency_values(dep: Dependency, kind: str) -> tuple[str, str]:
    committed = (
        f"{dep.provider_team.name} to deliver “{dep.deliverable}” by {dep.due_date:%d %b %Y}, "
        f"for the key result “{dep.key_result.title}”."
    )
    if dep.delivered_at is not None:
        delivered = f"Delivered on {timezone.localdate(dep.delivered_at):%d %b %Y}"
    else:
        delivered = "Not delivered"
    if kind == Kind.DEPENDENCY_BROKEN:
        delivered += "; marked broken"
        if dep.reason:
            delivered += f": {dep.reason.rstrip('.')}"
    return committed, delivered + "."


def prefill(kind: str, key_result: KeyResult, dependency: Dependency | None) -> tuple[str, str]:
    """What was committed and what was delivered, from the data."""
    if dependency is not None:
        return _dependency_values(dependency, kind)
    committed, delivered = _kr_values(key_result)
    if kind == Kind.CHECKINS_MISSED:
        weeks = settings.MISSED_CHECKINS_RESPONSE
        delivered += f" No check-in for {weeks} weeks in a row."
    return committed, delivered


def subject_key(key_result: KeyResult, dependency: Dependency | None) -> str:
    if dependency is not None:
        return f"dependency:{dependency.pk}"
    return f"key_result:{key_result.pk}"


# --- opening ------------------------------------------------------------------------------------


def response_open(
    *,
    kind: str,
    key_result: KeyResult,
    quarter: Quarter,
    dependency: Dependency | None = None,
    now: datetime | None = None,
) -> MissResponse | None:
    """Open the response to a miss, once: one row per (kind, subject, quarter), enforced by the
    database. A second call returns the existing row (None only if a concurrent opener's row
    is not visible yet); only the call that inserted the row tells the people."""
    return _open(kind=kind, key_result=key_result, quarter=quarter, dependency=dependency, now=now)[
        0
    ]


def _open(
    *,
    kind: str,
    key_result: KeyResult,
    quarter: Quarter,
    dependency: Dependency | None,
    now: datetime | None,
    response_days: int | None = None,
) -> tuple[MissResponse | None, bool]:
    """``response_open``, and whether this call inserted the row. ``response_days``: the
    organisation's RESPONSE_DAYS when the caller read it once for a whole batch."""
    from reviews.response_ladders import RESPONSE_LADDER

    if kind not in Kind.values:
        raise ValueError(f"Unknown miss kind {kind!r}")
    if kind in (Kind.DEPENDENCY_BROKEN, Kind.DEPENDENCY_UNDELIVERED) and dependency is None:
        raise ValueError("A dependency miss needs its dependency.")
    key = subject_key(key_result, dependency)
    existing = MissResponse.objects.filter(kind=kind, subject_key=key, quarter=quarter).first()
    if existing is not None:
        return existing, False
    now = now or timezone.now()
    accountable = dependency.responsible if dependency is not None else key_result.owner
    holder = holder_for(accountable, miss_team(key_result, dependency))
    committed, delivered = prefill(kind, key_result, dependency)
    if response_days is None:
        response_days = orgsettings.value("RESPONSE_DAYS")
    due_at = add_working_days(now, response_days, _zone(accountable))
    response = MissResponse(
        kind=kind,
        subject_key=key,
        quarter=quarter,
        key_result=key_result,
        dependency=dependency,
        accountable=accountable,
        holder=holder,
        committed=committed,
        delivered=delivered,
        opened_at=now,
        due_at=due_at,
    )
    response.next_escalation_at = RESPONSE_LADDER.rung_at(due_at, 0)
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        existing = MissResponse.objects.filter(kind=kind, subject_key=key, quarter=quarter).first()
        return existing, False
    _notify_opened(response)
    return response, True


def decision_response_open(
    *,
    decision: StructuralDecision,
    key_result: KeyResult,
    quarter: Quarter,
    now: datetime | None = None,
) -> MissResponse | None:
    """Open the response to a structural decision marked not done in two reviews in a row
    (reviews.review_services): its owner answers for it; the response hangs on the key result
    of the decision's evidence (a response needs one). Once per decision and quarter."""
    from reviews.response_ladders import RESPONSE_LADDER

    kind = Kind.DECISION_NOT_DONE
    key = f"decision:{decision.pk}"
    existing = MissResponse.objects.filter(kind=kind, subject_key=key, quarter=quarter).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    accountable = decision.owner
    holder = holder_for(accountable, key_result.objective.team)
    due_at = add_working_days(now, orgsettings.value("RESPONSE_DAYS"), _zone(accountable))
    response = MissResponse(
        kind=kind,
        subject_key=key,
        quarter=quarter,
        key_result=key_result,
        accountable=accountable,
        holder=holder,
        committed=(
            f"{decision.what_changes} (decided in the {decision.review.quarter.name} review, "
            f"to take effect in {decision.takes_effect.name}; we would know it worked when: "
            f"{decision.success_check})"
        ),
        delivered="Marked not done in two reviews in a row.",
        opened_at=now,
        due_at=due_at,
    )
    response.next_escalation_at = RESPONSE_LADDER.rung_at(due_at, 0)
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        return MissResponse.objects.filter(kind=kind, subject_key=key, quarter=quarter).first()
    _notify_opened(response)
    return response


def _notify_opened(response: MissResponse) -> None:
    what = response.get_kind_display()
    who = display_name(response.accountable)
    due = timezone.localtime(response.due_at, ZoneInfo(_zone(response.accountable)))
    body = (
        f"Committed: {response.committed}\nDelivered: {response.delivered}\n"
        f"Record the conversation, the gap and a next step by {due:%a %d %b %H:%M}."
    )
    link = response.get_absolute_url()
    notification_create(
        recipient=response.accountable,
        kind="response_opened",
        subject=f"A missed commitment needs a response: {what}, “{response.key_result.title}”",
        body=body,
        link=link,
    )
    if response.holder is not None and response.holder_id != response.accountable_id:
        notification_create(
            recipient=response.holder,
            kind="response_opened",
            subject=(f"Hold the conversation with {who}: {what}, “{response.key_result.title}”"),
            body=body,
            link=link,
        )


# --- recording ----------------------------------------------------------------------------------


def _team_of(response: MissResponse) -> Team:
    return miss_team(response.key_result, response.dependency)


def _require_participants(response: MissResponse, participants: list[User]) -> None:
    ids = {p.pk for p in participants}
    accountable = response.accountable
    manager = _manager(accountable)
    team = _team_of(response)
    leads = [lead for lead in team_leads(team) if lead.pk != accountable.pk]
    missing: list[str] = []
    if accountable.pk not in ids:
        missing.append(f"{display_name(accountable)} (who answers for the miss)")
    allowed = {u.pk for u in leads} | ({manager.pk} if manager is not None else set())
    if not allowed & ids:
        names = []
        if manager is not None:
            names.append(f"their manager {display_name(manager)}")
        if leads:
            lead_names = ", ".join(display_name(u) for u in leads)
            names.append(f"a lead of {team.name} ({lead_names})")
        if names:
            missing.append(" or ".join(names))
        elif response.holder is not None and response.holder_id not in ids:
            # No manager and no lead: whoever holds it (leadership, set by hand) must be there.
            missing.append(display_name(response.holder))
    if missing:
        raise RuleBroken(
            "The conversation must include " + " and ".join(missing) + ".",
            field="participants",
        )


def next_step_start(step: NextStep) -> datetime | None:
    """When an open next step starts to climb: the end of its due date in its owner's zone."""
    if step.done_at is not None:
        return None
    return end_of_day(step.due, _zone(step.owner))


def response_record(
    *,
    user: User,
    response: MissResponse,
    conversation_on: date,
    participants: list[User],
    cause: ResponseCause,
    gap: str,
    next_step_what: str,
    next_step_owner: User,
    next_step_due: date,
) -> MissResponse:
    """Record the conversation, the gap examined and the next step (see the module docstring
    for re-recording). Stops the response's ladder; starts the next step's."""
    from reviews.response_ladders import NEXT_STEP_LADDER

    with transaction.atomic():
        locked = (
            MissResponse.objects.select_for_update(of=("self",))
            .select_related(
                "accountable__profile",
                "holder",
                "quarter",
                "key_result__objective__team",
                "dependency__provider_team",
            )
            .get(pk=response.pk)
        )
        if not can_record_response(
            user, accountable_id=locked.accountable_id, holder_id=locked.holder_id
        ):
            raise NotAllowed(
                "Only the person accountable for the miss, the one holding the conversation "
                "or leadership record a response."
            )
        step = NextStep.objects.filter(response=locked).first()
        if step is not None and step.done_at is not None:
            raise RuleBroken("The next step is done: this response is closed.")
        now = timezone.now()
        today = timezone.localdate(now, ZoneInfo(_zone(user)))
        if conversation_on > today:
            raise RuleBroken(
                "The conversation date cannot be in the future.", field="conversation_on"
            )
        if conversation_on < locked.quarter.start:
            raise RuleBroken(
                f"The conversation cannot be before the quarter started "
                f"({locked.quarter.start:%d %b %Y}).",
                field="conversation_on",
            )
        _require_participants(locked, participants)
        if cause is None or not cause.active:
            raise RuleBroken("Choose a cause from the catalogue.", field="cause")
        gap = (gap or "").strip()
        if not gap:
            raise RuleBroken("Say what the gap was and why.", field="gap")
        next_step_what = (next_step_what or "").strip()
        if not next_step_what:
            raise RuleBroken("Say what the next step is.", field="next_step_what")
        if next_step_owner is None or not next_step_owner.is_active:
            raise RuleBroken("The next step needs an active owner.", field="next_step_owner")
        if next_step_due is None or next_step_due < timezone.localdate(
            now, ZoneInfo(_zone(next_step_owner))
        ):
            raise RuleBroken("The next step cannot be due in the past.", field="next_step_due")

        locked.conversation_on = conversation_on
        locked.cause = cause
        locked.gap = gap
        locked.recorded_at = locked.recorded_at or now
        locked.recorded_by = user
        locked.next_escalation_at = None  # recorded: its ladder stops here
        locked.save(
            update_fields=[
                "conversation_on",
                "cause",
                "gap",
                "recorded_at",
                "recorded_by",
                "next_escalation_at",
            ]
        )
        locked.participants.set(participants)
        if step is None:
            step = NextStep(response=locked)
        step.what = next_step_what
        step.owner = next_step_owner
        step.due = next_step_due
        # A re-record keeps the rungs already reached (a rung is never repeated); the next
        # one is counted from the (new) due date.
        step.next_escalation_at = NEXT_STEP_LADDER.next_rung_at(step)
        step.save()
    return locked


def next_step_done(*, user: User, response: MissResponse) -> NextStep:
    """Mark the response's next step done, once; its ladder stops."""
    with transaction.atomic():
        step = (
            NextStep.objects.select_for_update(of=("self",))
            .select_related("response")
            .filter(response_id=response.pk)
            .first()
        )
        if step is None:
            raise RuleBroken("This response has no next step yet: record it first.")
        if not can_close_next_step(user, owner_id=step.owner_id, holder_id=step.response.holder_id):
            raise NotAllowed(
                "Only the next step's owner, the one holding the conversation or leadership "
                "mark it done."
            )
        if step.done_at is not None:
            raise RuleBroken("The next step is already done.")
        step.done_at = timezone.now()
        step.next_escalation_at = None
        step.save(update_fields=["done_at", "next_escalation_at"])
    return step


# --- state --------------------------------------------------------------------------------------


def _step_of(response: MissResponse) -> NextStep | None:
    try:
        return response.next_step
    except NextStep.DoesNotExist:
        return None


def response_state(response: MissResponse, now: datetime | None = None) -> str:
    """awaiting | overdue (not recorded past due_at, or the next step past due and not done) |
    in_progress (recorded, next step open) | done. Reads ``response.next_step`` (select or
    prefetch it for lists)."""
    now = now or timezone.now()
    if response.recorded_at is None:
        return OVERDUE if now >= response.due_at else AWAITING
    step = _step_of(response)
    if step is None:
        return IN_PROGRESS
    if step.done_at is not None:
        return DONE
    start = end_of_day(step.due, _zone(step.owner))
    if start is not None and now >= start:
        return OVERDUE
    return IN_PROGRESS


def recorded_on_time(response: MissResponse) -> bool:
    # By the deadline, as the dashboard's consistency figures count it.
    return response.recorded_at is not None and response.recorded_at <= response.due_at


def may_record(user: Any, response: MissResponse) -> bool:
    """For pages: the same predicate the service enforces (plus the record still open)."""
    step = _step_of(response)
    return (step is None or step.done_at is None) and can_record_response(
        user, accountable_id=response.accountable_id, holder_id=response.holder_id
    )


def may_close_next_step(user: Any, response: MissResponse) -> bool:
    step = _step_of(response)
    return (
        step is not None
        and step.done_at is None
        and can_close_next_step(user, owner_id=step.owner_id, holder_id=response.holder_id)
    )


# --- key results missed at the quarter's end ----------------------------------------------------


def _missed_key_results(quarters: QuerySet[Quarter]) -> QuerySet[KeyResult]:
    """Key results of ``quarters`` below MISSED_KR_THRESHOLD of the way from start to target
    (the same fraction either direction: the target is above the start when increasing and
    below it when decreasing, never equal), not displaced by a trade-off and without their
    response yet. The anti-join keeps the job's cost to what is left to open."""
    from objectives.models import KeyResult

    # As floats: SQLite keeps whole-number decimals as integers and divides them as such
    # (80 / 100 = 0, every key result "missed"); a share against a threshold needs no more.
    span = Cast(F("target_value") - F("start_value"), output_field=FloatField())
    done = Cast(F("current_value") - F("start_value"), output_field=FloatField()) / span
    opened = MissResponse.objects.filter(
        kind=Kind.KEY_RESULT_MISSED,
        key_result=OuterRef("pk"),
        quarter=OuterRef("objective__quarter"),
    )
    threshold = float(settings.MISSED_KR_THRESHOLD)
    # A graded key result (reviews.lifecycle) is judged by its grade's score; an ungraded one
    # by how far its current value went.
    return (
        KeyResult.objects.in_play()
        .filter(objective__quarter__in=quarters)
        .annotate(
            done_share=Coalesce(
                Cast(F("grade__score"), output_field=FloatField()),
                done,
                output_field=FloatField(),
            )
        )
        .filter(done_share__lt=threshold)
        .exclude(Exists(opened))
    )


def _open_missed(key_results: QuerySet[KeyResult], now: datetime, limit: int) -> int:
    ids = list(key_results.order_by("pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    response_days = orgsettings.value("RESPONSE_DAYS")  # once for the batch
    opened = 0
    for kr in (
        key_results.model.objects.filter(pk__in=ids)
        .select_related("owner__profile__manager", "objective__team", "objective__quarter")
        .order_by("pk")
    ):
        # One transaction each: a response and its notifications commit together, and a
        # concurrent run that opened it first makes this one a no-op (the unique row).
        with transaction.atomic():
            _, inserted = _open(
                kind=Kind.KEY_RESULT_MISSED,
                key_result=kr,
                quarter=kr.objective.quarter,
                dependency=None,
                now=now,
                response_days=response_days,
            )
        opened += int(inserted)
    return opened


def responses_open_for_quarter(
    quarter: Quarter, *, now: datetime | None = None, limit: int = 10_000
) -> int:
    """Open the response to every key result of ``quarter`` that ended it missed, using its
    grade's score when it was graded, else its current value; the quarter close calls it.
    Returns how many this call opened."""
    return _open_missed(
        _missed_key_results(Quarter.objects.filter(pk=quarter.pk)), now or timezone.now(), limit
    )


def responses_open_for_closed_quarters(*, now: datetime | None = None, limit: int = 500) -> int:
    """The beat job: every quarter closed or past its end date. Idempotent (one response per
    key result and quarter, in the database); the rest of a large batch waits for the next
    run. Returns how many it opened."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    # A quarter past its end that is reviewing waits for its close: its owners are grading.
    quarters = Quarter.objects.filter(Q(status=Quarter.Status.CLOSED) | Q(end__lt=today)).exclude(
        status=Quarter.Status.REVIEWING
    )
    return _open_missed(_missed_key_results(quarters), now, limit)


def handle_reported_miss(
    *, kind: str, key_result: KeyResult, quarter: Quarter, dependency: Dependency | None = None
) -> None:
    """okrly.registry's miss handler (registered in ReviewsConfig.ready)."""
    response_open(kind=kind, key_result=key_result, quarter=quarter, dependency=dependency)
