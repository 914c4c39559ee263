"""Trade-off decisions (rule 8): once a quarter is under way, adding an objective or a key
result past a team's limit means saying what it displaces.

``trade_off_decide`` records the decision: what is added and why (a category and the urgent
reason), and each displaced objective or key result, dropped, deferred to next quarter or
descoped to a new target. Then it is carried out at once, or, when a displaced item has
another team's open commitments behind it and the decider is not in leadership, it waits for
leadership's approval (``trade_off_approve`` / ``trade_off_refuse``).

Carrying it out marks dropped and deferred items ``displaced_by`` (they keep their history but
leave the limit and the accountability counts), moves a descoped key result's target, and
creates the addition through the ordinary services, which let it past the limit because this
decided trade-off adds it (objectives.limits.carried_by). Everyone affected is told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from objectives import limits, services
from objectives.models import (
    Displacement,
    KeyResult,
    Objective,
    TradeOff,
    TradeOffCategory,
)
from okrly import registry
from okrly.access import (
    can_approve_trade_off,
    can_decide_trade_off,
    is_leadership,
    leadership_members,
    team_leads,
)
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, Team, display_name
from okrly.services import notification_create

if TYPE_CHECKING:
    from okrly.types import User

Action = Displacement.Action
ADDITION_KINDS = ("objective", "key_result")
OBJECTIVE_ADDITION_FIELDS = ("title", "means", "does_not_mean", "tradeoff_rule", "parent")
KEY_RESULT_ADDITION_FIELDS = (
    "objective",
    "title",
    "owner",
    "start_value",
    "target_value",
    "unit",
    "direction",
)


@dataclass(frozen=True)
class Displace:
    """One item a trade-off displaces, and how."""

    item: Objective | KeyResult
    action: str
    new_target: Decimal | None = None


def _decimal(value: object, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RuleBroken(f"{value!r} is not a number.", field=field) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise RuleBroken("Give a number below 1,000,000,000,000.", field=field)
    return number.quantize(Decimal("0.01"))


def _id_of(value: object) -> int:
    """A row's id from the row or the id itself (0, which names nothing, for anything else)."""
    pk = getattr(value, "pk", value)
    return pk if isinstance(pk, int) and not isinstance(pk, bool) else 0


def _clean_addition(team: Team, quarter: Quarter, addition: dict[str, Any]) -> dict[str, Any]:
    """The addition as JSON-safe facts, checked now so a decision awaiting approval can be
    carried out later (the creating service checks everything again then)."""
    kind = addition.get("kind")
    if kind not in ADDITION_KINDS:
        raise RuleBroken("Say what the trade-off adds: an objective or a key result.", field="kind")
    title = str(addition.get("title") or "").strip()
    if not title:
        raise RuleBroken("Give what is added a title.", field="title")
    if kind == "objective":
        parent = addition.get("parent")
        return {
            "kind": kind,
            "title": title,
            "means": str(addition.get("means") or ""),
            "does_not_mean": str(addition.get("does_not_mean") or ""),
            "tradeoff_rule": str(addition.get("tradeoff_rule") or ""),
            "parent": _id_of(parent),
        }
    objective_id = _id_of(addition.get("objective"))
    target = Objective.objects.filter(pk__in=[objective_id], team=team, quarter=quarter).first()
    if target is None:
        raise RuleBroken(
            f"The key result must belong to one of {team.name}'s objectives in {quarter.name}.",
            field="objective",
        )
    if target.displaced_by_id is not None:
        raise RuleBroken(
            f"“{target.title}” was itself displaced; add the key result elsewhere.",
            field="objective",
        )
    owner_id = _id_of(addition.get("owner"))
    if not get_user_model().objects.filter(pk__in=[owner_id], is_active=True).exists():
        raise RuleBroken("Choose the one active person accountable for it.", field="owner")
    direction = str(addition.get("direction") or KeyResult.Direction.INCREASE)
    if direction not in KeyResult.Direction.values:
        raise RuleBroken("The direction is 'increase' or 'decrease'.", field="direction")
    start = _decimal(addition.get("start_value", 0), "start_value")
    target_value = _decimal(addition.get("target_value"), "target_value")
    if (direction == "increase") != (target_value > start) or target_value == start:
        raise RuleBroken(
            "The target must be above the start for an increasing key result and below it "
            "for a decreasing one.",
            field="target_value",
        )
    return {
        "kind": kind,
        "objective": target.pk,
        "title": title,
        "owner": owner_id,
        "start_value": str(start),
        "target_value": str(target_value),
        "unit": str(addition.get("unit") or "")[:30],
        "direction": direction,
    }


def _check_displacements(
    team: Team, quarter: Quarter, displaced: Sequence[Displace]
) -> list[Displace]:
    if not displaced:
        raise RuleBroken(
            "A trade-off says what it displaces: choose at least one objective or key result "
            "to drop, defer or descope.",
            field="displaced",
        )
    seen: set[tuple[str, int]] = set()
    checked = []
    for entry in displaced:
        item = entry.item
        is_objective = isinstance(item, Objective)
        objective = item if isinstance(item, Objective) else item.objective
        key = ("objective" if is_objective else "key_result", item.pk)
        if key in seen:
            raise RuleBroken(f"“{item}” is listed twice.", field="displaced")
        seen.add(key)
        if not is_objective and ("objective", objective.pk) in {
            ("objective", other.item.pk) for other in displaced if isinstance(other.item, Objective)
        }:
            raise RuleBroken(
                f"“{item}” goes with its objective “{objective}”, which this trade-off already "
                "displaces; list one or the other.",
                field="displaced",
            )
        if objective.team_id != team.pk or objective.quarter_id != quarter.pk:
            raise RuleBroken(
                f"“{item}” is not {team.name}'s in {quarter.name}; a trade-off displaces the "
                "team's own work.",
                field="displaced",
            )
        if item.displaced_by_id is not None or (
            not is_objective and objective.displaced_by_id is not None
        ):
            raise RuleBroken(f"“{item}” was already displaced by a trade-off.", field="displaced")
        if entry.action not in Action.values:
            raise RuleBroken(
                "Each displaced item is dropped, deferred or descoped.", field="displaced"
            )
        if entry.action == Action.DESCOPED:
            if isinstance(item, Objective):
                raise RuleBroken(
                    f"Descoping means a smaller target: descope “{item}”'s key results, or "
                    "drop or defer the objective.",
                    field="displaced",
                )
            new_target = _decimal(entry.new_target, "new_target")
            # Strictly between the start and the current target: a target beyond the current
            # one (or back at the start) is not a smaller ambition, whatever the direction.
            low, high = sorted((item.start_value, item.target_value))
            if not low < new_target < high:
                raise RuleBroken(
                    f"Give “{item}” a new target between its start ({item.start_value}) and its "
                    f"current target ({item.target_value}).",
                    field="new_target",
                )
            entry = Displace(item, entry.action, new_target)
        checked.append(entry)
    return checked


def _key_results_hit(trade_off: TradeOff) -> list[KeyResult]:
    """Every key result the decision touches: displaced ones and those of displaced
    objectives."""
    objective_ids = [d.objective_id for d in trade_off.displaced.all() if d.objective_id]
    kr_ids = [d.key_result_id for d in trade_off.displaced.all() if d.key_result_id]
    return list(
        KeyResult.objects.filter(Q(pk__in=kr_ids) | Q(objective_id__in=objective_ids))
        .select_related("owner", "objective")
        .order_by("pk")
    )


def _other_teams(trade_off: TradeOff, hit: list[KeyResult]) -> set[int]:
    teams = registry.dependent_teams([kr.pk for kr in hit])
    return set().union(*teams.values()) - {trade_off.team_id} if teams else set()


@transaction.atomic
def trade_off_decide(
    *,
    user: User,
    team: Team,
    quarter: Quarter,
    category: TradeOffCategory,
    reason: str,
    displaced: Sequence[Displace],
    addition: dict[str, Any],
) -> TradeOff:
    """Record a trade-off decision for ``team`` in ``quarter`` and carry it out (or ask
    leadership to approve it first; see the module's docstring).

    1. Only a lead of the team or the leadership group decides.
    2. The quarter is active (in planning, a team simply drops an objective).
    3. A category still offered, and the urgent reason in words.
    4. At least one displaced item, each the team's own in this quarter, not already
       displaced; descoping is for key results, to a smaller target.
    5. Under the team's row lock, so it is counted with any addition made at the same time.
    """
    if not can_decide_trade_off(user, team):
        raise NotAllowed(
            f"Only a lead of {team.name} or the leadership group decides {team.name}'s trade-offs."
        )
    if quarter.status != Quarter.Status.ACTIVE:
        raise RuleBroken(
            f"{quarter.name} is not under way; a trade-off is how an active quarter takes on "
            "new work. In planning, drop or merge an objective instead.",
            field="quarter",
        )
    if not category.active:
        raise RuleBroken(f"“{category}” is no longer a trade-off category.", field="category")
    reason = (reason or "").strip()
    if not reason:
        raise RuleBroken("Say why this cannot wait for next quarter.", field="reason")
    facts = _clean_addition(team, quarter, addition)
    # The team's row lock before the displaced items are checked: two decisions displacing the
    # same key result at once run one after the other, and the second sees it displaced.
    limits.lock_team(team)
    entries = _check_displacements(team, quarter, displaced)
    trade_off = TradeOff.objects.create(
        quarter=quarter,
        team=team,
        category=category,
        reason=reason,
        addition=facts,
        decided_by=user,
        status=TradeOff.Status.DECIDED,
    )
    Displacement.objects.bulk_create(
        Displacement(
            trade_off=trade_off,
            objective=entry.item if isinstance(entry.item, Objective) else None,
            key_result=entry.item if isinstance(entry.item, KeyResult) else None,
            action=entry.action,
            previous_target=(
                entry.item.target_value if isinstance(entry.item, KeyResult) else None
            ),
            new_target=entry.new_target if entry.action == Action.DESCOPED else None,
        )
        for entry in entries
    )
    hit = _key_results_hit(trade_off)
    others = _other_teams(trade_off, hit)
    if others and not is_leadership(user):
        trade_off.status = TradeOff.Status.AWAITING_APPROVAL
        trade_off.save(update_fields=["status"])
        for leader in leadership_members():
            notification_create(
                recipient=leader,
                kind="trade_off_approval",
                subject=f"Approve trade-off #{trade_off.pk} for {team.name}?",
                body=(
                    f"{display_name(user)} wants to add “{facts['title']}” to {team.name} and "
                    "displace work other teams have committed to. It waits for leadership."
                ),
                link=trade_off.get_absolute_url(),
            )
        return trade_off
    _carry_out(trade_off, by=user, hit=hit, other_team_ids=others)
    return trade_off


def _carry_out(
    trade_off: TradeOff, *, by: User, hit: list[KeyResult], other_team_ids: set[int]
) -> None:
    for row in trade_off.displaced.all():
        if row.action == Action.DESCOPED:
            KeyResult.objects.filter(pk__in=[row.key_result_id]).update(target_value=row.new_target)
        elif row.objective_id is not None:
            Objective.objects.filter(pk=row.objective_id).update(displaced_by=trade_off)
            KeyResult.objects.filter(objective_id=row.objective_id, displaced_by=None).update(
                displaced_by=trade_off
            )
        else:
            KeyResult.objects.filter(pk__in=[row.key_result_id]).update(displaced_by=trade_off)
    # The bulk updates above send no signal: the displaced key results' status rows (issue 14)
    # are rewritten here, in the same transaction.
    registry.key_results_changed(
        list(KeyResult.objects.filter(displaced_by=trade_off).values_list("pk", flat=True))
    )
    facts = trade_off.addition
    team, quarter = trade_off.team, trade_off.quarter
    if facts["kind"] == "objective":
        parent = Objective.objects.filter(pk=facts["parent"]).first() if facts["parent"] else None
        trade_off.added_objective = services.objective_create(
            user=by,
            quarter=quarter,
            team=team,
            title=facts["title"],
            means=facts["means"],
            does_not_mean=facts["does_not_mean"],
            tradeoff_rule=facts["tradeoff_rule"],
            parent=parent,
            trade_off=trade_off,
        )
    else:
        trade_off.added_key_result = services.key_result_create(
            user=by,
            objective=Objective.objects.select_related("team", "quarter").get(
                pk=facts["objective"]
            ),
            title=facts["title"],
            owner=get_user_model().objects.get(pk=facts["owner"]),
            start_value=Decimal(facts["start_value"]),
            target_value=Decimal(facts["target_value"]),
            unit=facts["unit"],
            direction=facts["direction"],
            trade_off=trade_off,
        )
    trade_off.save(update_fields=["added_objective", "added_key_result"])
    _notify_affected(trade_off, by=by, hit=hit, other_team_ids=other_team_ids)


def _notify_affected(
    trade_off: TradeOff, *, by: User, hit: list[KeyResult], other_team_ids: set[int]
) -> None:
    """The owners of displaced key results, and the leads of the teams whose commitments to
    them are now at risk, hear it from the product, not in the corridor."""
    actions = {row.key_result_id: row for row in trade_off.displaced.all() if row.key_result_id}
    by_objective = {row.objective_id: row for row in trade_off.displaced.all() if row.objective_id}
    told: set[int] = {by.pk}
    for kr in hit:
        row = actions.get(kr.pk) or by_objective.get(kr.objective_id)
        if row is None or kr.owner_id in told:
            continue
        told.add(kr.owner_id)
        what = row.get_action_display().lower()
        if row.action == Action.DESCOPED:
            what = f"descoped to {row.new_target}"
        notification_create(
            recipient=kr.owner,
            kind="trade_off_displaced",
            subject=f"“{kr.title}” {what} by trade-off #{trade_off.pk}",
            body=(
                f"{display_name(by)} added “{trade_off.addition['title']}” to "
                f"{trade_off.team.name} ({trade_off.category}): {trade_off.reason}"
            ),
            link=trade_off.get_absolute_url(),
        )
    for team in Team.objects.filter(pk__in=other_team_ids):
        for lead in team_leads(team):
            if lead.pk in told:
                continue
            told.add(lead.pk)
            notification_create(
                recipient=lead,
                kind="trade_off_dependency",
                subject=f"Trade-off #{trade_off.pk}: {trade_off.team.name} displaced work "
                f"{team.name} committed to",
                body=(
                    f"{trade_off.team.name} displaced work your commitments serve; check "
                    "whether they are still needed."
                ),
                link=trade_off.get_absolute_url(),
            )


def _awaiting(user: User, trade_off: TradeOff) -> TradeOff:
    if not can_approve_trade_off(user):
        raise NotAllowed("Only the leadership group approves or refuses a trade-off.")
    locked = TradeOff.objects.select_for_update().get(pk=trade_off.pk)
    if locked.status != TradeOff.Status.AWAITING_APPROVAL:
        raise RuleBroken(
            f"Trade-off #{locked.pk} is {locked.get_status_display().lower()}, not awaiting "
            "approval."
        )
    return locked


@transaction.atomic
def trade_off_approve(*, user: User, trade_off: TradeOff) -> TradeOff:
    """Leadership approves a trade-off that displaces work another team depends on; it is
    then carried out (the displaced items are checked again: none displaced meanwhile)."""
    locked = _awaiting(user, trade_off)
    for row in locked.displaced.select_related("objective", "key_result__objective"):
        item = row.objective or row.key_result
        if item is not None and item.displaced_by_id is not None:
            raise RuleBroken(f"“{item}” was displaced by another trade-off meanwhile.")
    limits.lock_team(locked.team)
    locked.status = TradeOff.Status.DECIDED
    locked.approved_by = user
    locked.approved_at = timezone.now()
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    hit = _key_results_hit(locked)
    _carry_out(locked, by=user, hit=hit, other_team_ids=_other_teams(locked, hit))
    if locked.decided_by_id != user.pk:
        notification_create(
            recipient=locked.decided_by,
            kind="trade_off_approved",
            subject=f"Trade-off #{locked.pk} approved",
            body=f"{display_name(user)} approved it; it has been carried out.",
            link=locked.get_absolute_url(),
        )
    return locked


@transaction.atomic
def trade_off_refuse(*, user: User, trade_off: TradeOff) -> TradeOff:
    """Leadership refuses it: nothing is added and nothing displaced; the decider is told."""
    locked = _awaiting(user, trade_off)
    locked.status = TradeOff.Status.REFUSED
    locked.approved_by = user
    locked.approved_at = timezone.now()
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    notification_create(
        recipient=locked.decided_by,
        kind="trade_off_refused",
        subject=f"Trade-off #{locked.pk} refused",
        body=f"{display_name(user)} refused it; nothing was added or displaced.",
        link=locked.get_absolute_url(),
    )
    return locked


# --- reading ---------------------------------------------------------------------------------


def ledger(quarter: Quarter | None, *, team: Team | None = None) -> QuerySet[TradeOff]:
    """The quarter's decisions (every quarter's with None, for the API's filters), newest
    first, with what each displaced: two queries."""
    rows = TradeOff.objects.select_related(
        "team",
        "category",
        "decided_by",
        "approved_by",
        "added_objective",
        "added_key_result",
    )
    if quarter is not None:
        rows = rows.filter(quarter=quarter)
    if team is not None:
        rows = rows.filter(team=team)
    return rows.order_by("-created_at", "-pk").prefetch_related(
        Prefetch(
            "displaced",
            queryset=Displacement.objects.select_related(
                "objective", "key_result", "key_result__owner"
            ),
        )
    )


def deferred_into(quarter: Quarter) -> list[Displacement]:
    """Key results and objectives deferred to ``quarter`` by the previous quarter's
    trade-offs, to offer when it is planned (one query)."""
    previous = Quarter.objects.filter(end__lt=quarter.start).order_by("-end").first()
    if previous is None:
        return []
    return list(
        Displacement.objects.filter(
            trade_off__quarter=previous,
            trade_off__status=TradeOff.Status.DECIDED,
            action=Action.DEFERRED,
        )
        .select_related(
            "objective",
            "key_result__objective",
            "key_result__owner",
            "trade_off__team",
            "trade_off__quarter",
        )
        .order_by("trade_off__team__name", "pk")
    )
