"""Carry-over (issue 13, section 1): a missed or deferred key result is carried into the next
quarter as a new key result that links back to it.

Three things are deliberately NOT carried as they were:
- ownership: the new key result is a fresh one, so its owner is nominated again and must
  accept it (ownership treats every key result without an accepted nomination as "to
  accept": it shows in their "Asked of me" and fails the Accountability Test until then);
- dependencies: the old key result's open ones become new *requests* to the same person, never
  commitments, because a commitment must be made again for a new quarter;
- the start value: the new key result starts where the old one ended (its graded final value,
  else its current value), so its progress measures only the new quarter's work. When that
  point is already at or past the target (a deferred key result that had moved on), it starts
  from the old start value instead, since the metric rule needs a start before the target.

Which key results may be carried is one condition (``_eligible_q``), shared by the service, the
key result page's button and the reading helper, so the page offers exactly what the service
accepts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from dependencies import services as dependency_services
from dependencies.models import Dependency
from objectives import services as objective_services
from objectives.models import Displacement, KeyResult, Objective, TradeOff
from okrly.access import require_manage_objectives
from okrly.errors import RuleBroken
from okrly.models import Quarter, Team, display_name
from okrly.services import notification_create
from reviews.models import Grade

if TYPE_CHECKING:
    from okrly.types import User

MISSED = "missed"
DEFERRED = "deferred"
# The quarters a key result can be carried into: still to come or under way.
OPEN_FOR_CARRY = (Quarter.Status.PLANNING, Quarter.Status.ACTIVE)
# Only what is still open is asked again; delivered, declined and broken ones are history.
CARRIED_DEPENDENCY_STATUSES = Dependency.OPEN_STATUSES


def _annotated(key_results: QuerySet[KeyResult]) -> QuerySet[Any]:
    """Key results with what decides whether they can be carried: how far they got (the
    fraction from start to target, the same either direction: reviews.responses uses it for
    misses too), their grade's outcome, and whether a decided trade-off deferred them or their
    objective to next quarter. Joins and subqueries only: one query however many rows."""
    span = ExpressionWrapper(
        F("target_value") - F("start_value"), output_field=DecimalField(max_digits=15)
    )
    done = ExpressionWrapper(
        (F("current_value") - F("start_value")) / span,
        output_field=DecimalField(max_digits=30, decimal_places=10),
    )
    deferred = Displacement.objects.filter(
        trade_off__status=TradeOff.Status.DECIDED,
        action=Displacement.Action.DEFERRED,
    ).filter(Q(key_result=OuterRef("pk")) | Q(objective=OuterRef("objective")))
    return key_results.annotate(
        done_share=done,
        grade_outcome=F("grade__outcome"),
        deferred=Exists(deferred),
    ).annotate(
        carry_reason=Case(
            When(deferred=True, then=Value(DEFERRED)),
            When(_missed_q(), then=Value(MISSED)),
            default=Value(""),
            output_field=CharField(),
        )
    )


def _missed_q() -> Q:
    """Graded missed; or not graded yet in a quarter that has ended (reviewing or closed) and
    below MISSED_KR_THRESHOLD of the way, the threshold that opens a missed key result's
    response (reviews.responses), not displaced."""
    threshold = Decimal(str(settings.MISSED_KR_THRESHOLD))
    ungraded = Q(grade__isnull=True) | Q(grade__outcome="")
    return Q(grade__outcome=Grade.Outcome.MISSED) | (
        ungraded
        & Q(
            objective__quarter__status__in=[Quarter.Status.REVIEWING, Quarter.Status.CLOSED],
            displaced_by__isnull=True,
            done_share__lt=threshold,
        )
    )


def next_quarter(quarter: Quarter) -> Quarter | None:
    """The quarter after ``quarter`` (the first one starting after it ends), if it is open
    for carry-over: planning or active. One query."""
    following = Quarter.objects.filter(start__gt=quarter.end).order_by("start").first()
    if following is None or following.status not in OPEN_FOR_CARRY:
        return None
    return following


def carry_reason(key_result: KeyResult) -> str:
    """``"missed"``, ``"deferred"`` or ``""`` (cannot be carried). One query."""
    row = _annotated(KeyResult.objects.filter(pk=key_result.pk)).values("carry_reason").first()
    return row["carry_reason"] if row else ""


def carry_over_candidates(team: Team, quarter: Quarter) -> list[KeyResult]:
    """``team``'s key results of ``quarter`` that can be carried and are not yet carried into
    the next quarter, with their owner and objective, each with ``carry_reason``. One query
    for the next quarter, one for the key results."""
    following = Quarter.objects.filter(start__gt=quarter.end).order_by("start").first()
    rows = _annotated(KeyResult.objects.filter(objective__team=team, objective__quarter=quarter))
    if following is not None:
        rows = rows.exclude(
            Exists(
                KeyResult.objects.filter(carried_from=OuterRef("pk"), objective__quarter=following)
            )
        )
    return list(
        rows.exclude(carry_reason="")
        .select_related("owner", "objective__team", "objective__quarter")
        .order_by("objective__rank", "objective_id", "pk")
    )


def carried_links(key_result: KeyResult) -> tuple[KeyResult | None, list[KeyResult]]:
    """The key result it was carried from and those it was carried into, with their
    quarters: one query for both directions."""
    rows = list(
        KeyResult.objects.filter(Q(pk=key_result.carried_from_id) | Q(carried_from=key_result))
        .select_related("objective__quarter")
        .order_by("objective__quarter__start", "pk")
    )
    source = next((r for r in rows if r.pk == key_result.carried_from_id), None)
    return source, [r for r in rows if r.carried_from_id == key_result.pk]


# --- the service ---------------------------------------------------------------------------------


def _check_into(old_quarter: Quarter, into: Quarter) -> None:
    if into.start <= old_quarter.end:
        raise RuleBroken(
            f"{into.name} does not come after {old_quarter.name}; carry a key result into the "
            "next quarter.",
            field="into",
        )
    following = next_quarter(old_quarter)
    if into.status not in OPEN_FOR_CARRY:
        raise RuleBroken(
            f"{into.name} is {into.get_status_display().lower()}; carry a key result into a "
            "quarter being planned or under way.",
            field="into",
        )
    if following is None or following.pk != into.pk:
        raise RuleBroken(
            f"{into.name} is not the quarter after {old_quarter.name}; carry a key result "
            "into the next quarter.",
            field="into",
        )


def _target_objective(
    *, user: User, old: KeyResult, into: Quarter, objective: Objective | None
) -> Objective:
    """The objective given (the same team's, in ``into``), else the team's objective of
    ``into`` with the old one's title (carried already by a sibling key result), else a copy
    of the old objective, made by objective_create: its priority limit applies and its
    refusal (room needed, a trade-off required) reaches the person as it is."""
    team = old.objective.team
    if objective is not None:
        if objective.team_id != team.pk or objective.quarter_id != into.pk:
            raise RuleBroken(
                f"Choose one of {team.name}'s objectives of {into.name}, or leave it empty to "
                f"copy “{old.objective.title}”.",
                field="objective",
            )
        return objective
    same = (
        Objective.objects.filter(
            team=team, quarter=into, title=old.objective.title, displaced_by__isnull=True
        )
        .order_by("pk")
        .first()
    )
    if same is not None:
        return same
    source = old.objective
    return objective_services.objective_create(
        user=user,
        quarter=into,
        team=team,
        title=source.title,
        means=source.means,
        does_not_mean=source.does_not_mean,
        tradeoff_rule=source.tradeoff_rule,
    )


def _start_value(old: KeyResult, final_value: Decimal | None) -> Decimal:
    """Where the old key result ended, if that is still short of the target; else its start."""
    ended = final_value if final_value is not None else old.current_value
    if old.direction == KeyResult.Direction.INCREASE:
        short = ended < old.target_value
    else:
        short = ended > old.target_value
    return ended if short else old.start_value


def moved_due_date(due: date, *, old: Quarter, into: Quarter, today: date) -> date:
    """The same offset from the new quarter's start as from the old one's; past the new
    quarter's end, its last day; never before today (a request cannot be due in the past)."""
    moved = into.start + (due - old.start)
    return max(min(moved, into.end), min(today, into.end))


def _copy_dependencies(old: KeyResult, new: KeyResult, old_quarter: Quarter) -> list[str]:
    """Ask again, as requests, what the old key result was still waiting for. Requested in
    the owner's name (dependency_request is the owner's write, and they are who the provider
    answers); each is the ordinary request, notified to the responsible person, who commits,
    counters or declines again. One that can no longer be asked (its person left the team or
    was deactivated) is skipped and named in the returned list, not refused as a whole."""
    skipped: list[str] = []
    today = timezone.localdate()
    into = new.objective.quarter
    for dep in (
        old.dependencies.filter(status__in=CARRIED_DEPENDENCY_STATUSES)
        .select_related("provider_team", "responsible")
        .order_by("rank", "pk")
    ):
        try:
            with transaction.atomic():
                dependency_services.dependency_request(
                    user=new.owner,
                    key_result=new,
                    provider_team=dep.provider_team,
                    responsible=dep.responsible,
                    deliverable=dep.deliverable,
                    due_date=moved_due_date(dep.due_date, old=old_quarter, into=into, today=today),
                )
        except RuleBroken as error:
            skipped.append(f"“{dep.deliverable}”: {error.message}")
    return skipped


@transaction.atomic
def key_result_carry_over(
    *, user: User, key_result: KeyResult, into: Quarter, objective: Objective | None = None
) -> KeyResult:
    """Carry a missed or deferred key result into the next quarter (once per quarter)."""
    # The old row's lock serialises two leads carrying the same key result at once: the
    # second waits, then sees the first one's copy and is refused.
    old = (
        KeyResult.objects.select_for_update(of=("self",))
        .select_related("objective__team", "objective__quarter", "owner")
        .get(pk=key_result.pk)
    )
    team = old.objective.team
    old_quarter = old.objective.quarter
    require_manage_objectives(user, team)
    row = (
        _annotated(KeyResult.objects.filter(pk=old.pk))
        .values("carry_reason", "grade_outcome", "grade__final_value")
        .get()
    )
    if not row["carry_reason"]:
        outcome = row["grade_outcome"]
        why = (
            f"it was graded {Grade.Outcome(outcome).label.lower()}"
            if outcome
            else "it is neither graded missed nor deferred by a trade-off"
        )
        raise RuleBroken(
            f"“{old.title}” cannot be carried over: {why}. Only missed key results (graded "
            "missed, or ended below the missed threshold) and key results a trade-off deferred "
            "to next quarter are carried.",
            field="key_result",
        )
    _check_into(old_quarter, into)
    earlier = (
        KeyResult.objects.filter(carried_from=old, objective__quarter=into)
        .select_related("objective")
        .first()
    )
    if earlier is not None:
        raise RuleBroken(
            f"“{old.title}” was already carried into {into.name} (as “{earlier.title}” under "
            f"“{earlier.objective.title}”).",
            field="into",
        )
    target = _target_objective(user=user, old=old, into=into, objective=objective)
    new = objective_services.key_result_create(
        user=user,
        objective=target,
        title=old.title,
        owner=old.owner,
        target_value=old.target_value,
        start_value=_start_value(old, row["grade__final_value"]),
        unit=old.unit,
        direction=old.direction,
    )
    new.carried_from = old
    new.save(update_fields=["carried_from", "updated_at"])
    skipped = _copy_dependencies(old, new, old_quarter)
    body = (
        f"{display_name(user)} carried your {row['carry_reason']} key result from "
        f"{old_quarter.name} into {into.name}. It is a new commitment: accept it (or decline "
        "with a reason) from the key result's page or Asked of me. Its open dependencies were "
        "asked again as requests; each provider commits anew."
    )
    if skipped:
        body += " Not asked again: " + "; ".join(skipped)
    notification_create(
        recipient=new.owner,
        kind="kr_carried",
        subject=f"Accept ownership of “{new.title}”, carried into {into.name}",
        body=body,
        link=new.get_absolute_url(),
    )
    return new
