"""Every change to a dependency, its life cycle: request, answers, delivery and risk. Each
transition notifies the other side and records who did it; each recomputes the escalation
ladder's next step. What a request or counter-proposal may ask is checked in validation.py."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from dependencies.escalation import reschedule
from dependencies.models import Dependency, DependencyEvent
from dependencies.validation import check_counter, check_request
from objectives.models import KeyResult
from okrly import access, registry
from okrly.access import is_team_member
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Team, display_name
from okrly.services import notification_create

if TYPE_CHECKING:
    from okrly.types import User

S = Dependency.Status


# --- shared steps ------------------------------------------------------------------------------


def _save(dep: Dependency, *, actor: User, action: str, from_status: str, note: str = "") -> None:
    reschedule(dep)
    dep.save()
    DependencyEvent.objects.create(
        dependency=dep,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=dep.status,
        note=note,
    )


def _notify(dep: Dependency, recipient: User, subject: str, body: str = "") -> None:
    notification_create(
        recipient=recipient,
        kind="dependency",
        subject=subject,
        body=body,
        link=dep.get_absolute_url(),
    )


def _locked(dep: Dependency) -> Dependency:
    """Re-read the row under a lock so two answers at once cannot both apply (PostgreSQL
    row lock; SQLite serialises writers anyway)."""
    return Dependency.objects.with_parties().select_for_update(of=("self",)).get(pk=dep.pk)


# --- request -----------------------------------------------------------------------------------


@transaction.atomic
def dependency_request(
    *,
    user: User,
    key_result: KeyResult,
    provider_team: Team,
    responsible: User,
    deliverable: str,
    due_date: date,
    rank: int | None = None,
    confirm_outside_quarter: bool = False,
) -> Dependency:
    """The key result's owner asks a named person on another team for something by a date."""
    objective = key_result.objective
    if not access.is_owner(user, owner_id=key_result.owner_id):
        raise NotAllowed(
            f"Only the key result's owner ({display_name(key_result.owner)}) requests its "
            "dependencies."
        )
    rank = check_request(
        key_result=key_result,
        provider_team=provider_team,
        responsible=responsible,
        deliverable=deliverable,
        due_date=due_date,
        rank=rank,
        confirm_outside_quarter=confirm_outside_quarter,
    )
    now = timezone.now()
    dep = Dependency(
        key_result=key_result,
        requesting_team_id=objective.team_id,
        provider_team=provider_team,
        responsible=responsible,
        requested_by=user,
        deliverable=deliverable.strip(),
        due_date=due_date,
        rank=rank,
        status=S.REQUESTED,
        awaiting=responsible,
        awaiting_since=now,
        requested_at=now,
    )
    _save(dep, actor=user, action="request", from_status="")
    _notify(
        dep,
        responsible,
        f"{display_name(user)} asks you for “{dep.deliverable}” by {due_date:%d %b}",
        f"For the key result “{key_result.title}” ({objective.team.name}). Commit, counter with "
        "another date or deliverable, or decline with a reason.",
    )
    return dep


# --- answers -----------------------------------------------------------------------------------


def _require_awaiting(dep: Dependency, user: User) -> None:
    if dep.status not in (S.REQUESTED, S.COUNTERED):
        raise RuleBroken(
            f"This dependency is already {dep.get_status_display().lower()}; there is nothing "
            "to answer."
        )
    if not access.can_answer_dependency(user, awaiting_id=dep.awaiting_id):
        waiting = display_name(dep.awaiting) if dep.awaiting else "nobody"
        raise NotAllowed(f"This request is waiting on {waiting}, not on you.")


@transaction.atomic
def dependency_commit(*, dependency: Dependency, user: User) -> Dependency:
    """The responsible person promises it (accepting the owner's counter-proposal if any)."""
    dep = _locked(dependency)
    if dep.status in Dependency.PROMISED_STATUSES:
        raise RuleBroken("You have already committed to this dependency.")
    if not access.is_responsible(user, responsible_id=dep.responsible_id):
        raise NotAllowed(
            f"Only {display_name(dep.responsible)}, the person responsible, can commit to this."
        )
    _require_awaiting(dep, user)
    before = dep.status
    if before == S.COUNTERED:
        _apply_proposal(dep)
    dep.status = S.COMMITTED
    dep.committed_at = timezone.now()
    dep.awaiting = None
    dep.awaiting_since = None
    _save(dep, actor=user, action="commit", from_status=before)
    _notify(
        dep,
        dep.key_result.owner,
        f"{display_name(user)} committed to “{dep.deliverable}” by {dep.due_date:%d %b}",
    )
    return dep


def _apply_proposal(dep: Dependency) -> None:
    if dep.proposed_due_date:
        dep.due_date = dep.proposed_due_date
    if dep.proposed_deliverable:
        dep.deliverable = dep.proposed_deliverable
    dep.proposed_due_date = None
    dep.proposed_deliverable = ""


@transaction.atomic
def dependency_counter(
    *,
    dependency: Dependency,
    user: User,
    due_date: date | None,
    deliverable: str = "",
    note: str = "",
) -> Dependency:
    """Propose another date (required) and optionally another deliverable; the other side
    accepts or proposes again."""
    dep = _locked(dependency)
    _require_awaiting(dep, user)
    due_date = check_counter(dep=dep, due_date=due_date, deliverable=deliverable)
    before = dep.status
    owner = dep.key_result.owner
    other = owner if user.pk == dep.responsible_id else dep.responsible
    dep.status = S.COUNTERED
    dep.proposed_due_date = due_date
    dep.proposed_deliverable = deliverable.strip()
    dep.awaiting = other
    dep.awaiting_since = timezone.now()
    _save(dep, actor=user, action="counter", from_status=before, note=note)
    what = f"“{dep.proposed_deliverable}”" if dep.proposed_deliverable else "it"
    _notify(
        dep,
        other,
        f"{display_name(user)} proposes {what} by {due_date:%d %b} instead",
        note or f"Asked: “{dep.deliverable}” by {dep.due_date:%d %b}.",
    )
    return dep


@transaction.atomic
def dependency_accept_counter(*, dependency: Dependency, user: User) -> Dependency:
    """The owner accepts the responsible person's counter-proposal: it is then committed,
    because its terms are the ones the responsible person offered."""
    dep = _locked(dependency)
    if dep.status != S.COUNTERED:
        raise RuleBroken("There is no counter-proposal to accept.")
    if not access.can_accept_counter(
        user, owner_id=dep.key_result.owner_id, awaiting_id=dep.awaiting_id
    ):
        raise NotAllowed("Only the key result's owner accepts a counter-proposal made to them.")
    _apply_proposal(dep)
    dep.status = S.COMMITTED
    dep.committed_at = timezone.now()
    dep.awaiting = None
    dep.awaiting_since = None
    _save(dep, actor=user, action="accept_counter", from_status=S.COUNTERED)
    _notify(
        dep,
        dep.responsible,
        f"{display_name(user)} accepted your proposal: “{dep.deliverable}” by {dep.due_date:%d %b}",
        "It is now your commitment.",
    )
    return dep


@transaction.atomic
def dependency_decline(*, dependency: Dependency, user: User, reason: str) -> Dependency:
    dep = _locked(dependency)
    if not access.is_responsible(user, responsible_id=dep.responsible_id):
        raise NotAllowed(f"Only {display_name(dep.responsible)} can decline this request.")
    _require_awaiting(dep, user)
    if not reason.strip():
        raise RuleBroken("Say why you decline, so the owner can plan around it.", field="reason")
    before = dep.status
    dep.status = S.DECLINED
    dep.reason = reason.strip()
    dep.awaiting = None
    dep.awaiting_since = None
    _save(dep, actor=user, action="decline", from_status=before, note=dep.reason)
    _notify(
        dep, dep.key_result.owner, f"{display_name(user)} declined “{dep.deliverable}”", dep.reason
    )
    return dep


@transaction.atomic
def dependency_reassign(
    *, dependency: Dependency, user: User, responsible: User | None, note: str = ""
) -> Dependency:
    """The providing team's lead hands the dependency to someone else on the team."""
    dep = _locked(dependency)
    if not access.can_reassign_dependency(user, dep.provider_team):
        raise NotAllowed(f"Only a lead of {dep.provider_team.name} can reassign this.")
    if dep.status not in Dependency.OPEN_STATUSES:
        raise RuleBroken(f"A {dep.get_status_display().lower()} dependency is not reassigned.")
    if responsible is None or not is_team_member(responsible, dep.provider_team):
        raise RuleBroken(f"Choose someone on {dep.provider_team.name}.", field="responsible")
    if responsible.pk == dep.responsible_id:
        raise RuleBroken(
            f"{display_name(responsible)} is already responsible.", field="responsible"
        )
    previous = dep.responsible
    if dep.awaiting_id == previous.pk:
        dep.awaiting = responsible
        dep.awaiting_since = timezone.now()
    dep.responsible = responsible
    _save(dep, actor=user, action="reassign", from_status=dep.status, note=note)
    _notify(
        dep,
        responsible,
        f"{display_name(user)} made you responsible for “{dep.deliverable}” by "
        f"{dep.due_date:%d %b}",
        note or f"Previously {display_name(previous)}.",
    )
    _notify(
        dep, dep.key_result.owner, f"“{dep.deliverable}” is now with {display_name(responsible)}"
    )
    return dep


# --- delivery and risk -------------------------------------------------------------------------


@transaction.atomic
def dependency_deliver(*, dependency: Dependency, user: User, note: str = "") -> Dependency:
    dep = _locked(dependency)
    if not access.is_responsible(user, responsible_id=dep.responsible_id):
        raise NotAllowed(f"Only {display_name(dep.responsible)} marks this delivered.")
    if dep.status not in Dependency.PROMISED_STATUSES:
        raise RuleBroken(
            f"Only a committed dependency is delivered; this one is "
            f"{dep.get_status_display().lower()}."
        )
    before = dep.status
    dep.status = S.DELIVERED
    dep.delivered_at = timezone.now()
    dep.awaiting = dep.key_result.owner
    dep.awaiting_since = dep.delivered_at
    _save(dep, actor=user, action="deliver", from_status=before, note=note)
    _notify(
        dep,
        dep.key_result.owner,
        f"{display_name(user)} delivered “{dep.deliverable}”",
        note or "Confirm it, or reopen it if it is not what was promised.",
    )
    return dep


def _require_owner(dep: Dependency, user: User, what: str) -> None:
    if not access.is_owner(user, owner_id=dep.key_result.owner_id):
        raise NotAllowed(f"Only the key result's owner {what}.")


@transaction.atomic
def dependency_confirm(*, dependency: Dependency, user: User) -> Dependency:
    dep = _locked(dependency)
    _require_owner(dep, user, "confirms a delivery")
    if dep.status != S.DELIVERED or dep.confirmed_at is not None:
        raise RuleBroken("There is no delivery waiting for your confirmation.")
    dep.confirmed_at = timezone.now()
    dep.awaiting = None
    dep.awaiting_since = None
    _save(dep, actor=user, action="confirm", from_status=S.DELIVERED)
    _notify(
        dep, dep.responsible, f"{display_name(user)} confirmed the delivery of “{dep.deliverable}”"
    )
    return dep


@transaction.atomic
def dependency_reopen(*, dependency: Dependency, user: User, reason: str) -> Dependency:
    dep = _locked(dependency)
    _require_owner(dep, user, "reopens a delivery")
    if dep.status != S.DELIVERED or dep.confirmed_at is not None:
        raise RuleBroken("Only a delivery you have not confirmed can be reopened.")
    if not reason.strip():
        raise RuleBroken("Say what is missing from the delivery.", field="reason")
    dep.status = S.COMMITTED
    dep.delivered_at = None
    dep.awaiting = None
    dep.awaiting_since = None
    _save(dep, actor=user, action="reopen", from_status=S.DELIVERED, note=reason.strip())
    _notify(
        dep, dep.responsible, f"{display_name(user)} reopened “{dep.deliverable}”", reason.strip()
    )
    return dep


@transaction.atomic
def dependency_flag_risk(*, dependency: Dependency, user: User, reason: str) -> Dependency:
    dep = _locked(dependency)
    owner = dep.key_result.owner
    if not access.can_flag_dependency_risk(
        user, owner_id=owner.pk, responsible_id=dep.responsible_id
    ):
        raise NotAllowed("Only the owner or the person responsible flags it at risk.")
    if dep.status != S.COMMITTED:
        raise RuleBroken(
            f"Only a committed dependency can be flagged at risk; this one is "
            f"{dep.get_status_display().lower()}."
        )
    if not reason.strip():
        raise RuleBroken("Say what puts it at risk.", field="reason")
    dep.status = S.AT_RISK
    dep.reason = reason.strip()
    _save(dep, actor=user, action="flag_risk", from_status=S.COMMITTED, note=dep.reason)
    other = dep.responsible if user.pk == owner.pk else owner
    _notify(dep, other, f"{display_name(user)} flagged “{dep.deliverable}” at risk", dep.reason)
    return dep


@transaction.atomic
def dependency_break(*, dependency: Dependency, user: User, reason: str) -> Dependency:
    """The owner records that the promise will not be kept."""
    dep = _locked(dependency)
    _require_owner(dep, user, "marks a dependency broken")
    if dep.status not in Dependency.PROMISED_STATUSES:
        raise RuleBroken("Only a committed (or at-risk) dependency can be broken.")
    if not reason.strip():
        raise RuleBroken("Say what was not kept.", field="reason")
    before = dep.status
    dep.status = S.BROKEN
    dep.reason = reason.strip()
    _save(dep, actor=user, action="break", from_status=before, note=dep.reason)
    _notify(
        dep, dep.responsible, f"{display_name(user)} marked “{dep.deliverable}” broken", dep.reason
    )
    # Rule 10: a broken promise is a missed commitment; its response opens in this transaction
    # (once per dependency and quarter: breaking it again after a reopen opens no second one).
    registry.report_miss(
        kind=registry.MISS_DEPENDENCY_BROKEN, key_result=dep.key_result, dependency=dep
    )
    return dep
