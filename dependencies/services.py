"""Every change to a dependency, with its rules. Each transition notifies the other side and
records who did it; each recomputes the escalation ladder's next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dependencies.models import Dependency, DependencyEvent, Escalation
from objectives.models import KeyResult
from okrly import access
from okrly.access import is_team_member, leadership_members, team_leads
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, Team, display_name
from okrly.params import column_range
from okrly.services import notification_create, notifications_queue_email

S = Dependency.Status
T = Dependency.Trigger
# The rank column is a smallint: a larger rank cannot be stored (PostgreSQL refuses it).
RANK_MAX = column_range(Dependency, "rank")[1]


# --- the escalation schedule -------------------------------------------------------------------


# How far past its quarter's end a due date may be: further off is no commitment to track.
FARTHEST_DUE = timedelta(days=366)


def _end_of(day: date) -> datetime | None:
    """The first instant after ``day`` in the server's time zone: a date is due all day.
    None for the last day a date can hold (9999-12-31): it has no day after, and is never
    overdue."""
    if day >= date.max:
        return None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _check_due(due_date: date, quarter: Any) -> None:
    """Refuse a due date more than a year after the quarter ends (9999-12-31 was accepted
    once, and such a dependency could never be committed)."""
    if due_date - quarter.end > FARTHEST_DUE:
        raise RuleBroken(
            f"{due_date:%d %b %Y} is more than a year after {quarter.name} ends "
            f"({quarter.end:%d %b %Y}); choose a date someone can commit to.",
            field="due_date",
        )


def _ladder_start(dep: Dependency) -> tuple[str, datetime | None]:
    """What the ladder escalates for now, and when that started (None: nothing to escalate)."""
    waiting_on_provider = dep.status in (S.REQUESTED, S.COUNTERED) and (
        dep.awaiting_id == dep.responsible_id
    )
    if waiting_on_provider and dep.awaiting_since is not None:
        return T.UNANSWERED, dep.awaiting_since + timedelta(
            days=settings.DEPENDENCY_UNANSWERED_DAYS
        )
    if dep.status in Dependency.PROMISED_STATUSES:
        return T.OVERDUE, _end_of(dep.due_date)
    return "", None


def _reschedule(dep: Dependency) -> None:
    """Set the next rung's time from the state. A new trigger starts the ladder at rung 0;
    the same trigger keeps the rungs already reached (a rung is never repeated)."""
    trigger, start = _ladder_start(dep)
    if trigger != dep.escalation_trigger and trigger:
        dep.escalation_trigger = trigger
        dep.escalation_rung = 0
    delays = settings.DEPENDENCY_ESCALATION_RUNG_HOURS
    if start is None or dep.escalation_rung >= len(delays):
        dep.next_escalation_at = None
    else:
        try:
            dep.next_escalation_at = start + timedelta(hours=delays[dep.escalation_rung])
        except OverflowError:  # a due date at the end of the calendar: never escalates
            dep.next_escalation_at = None


def _save(dep: Dependency, *, actor: Any, action: str, from_status: str, note: str = "") -> None:
    _reschedule(dep)
    dep.save()
    DependencyEvent.objects.create(
        dependency=dep,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=dep.status,
        note=note,
    )


def _notify(dep: Dependency, recipient: Any, subject: str, body: str = "") -> None:
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
    return (
        Dependency.objects.select_for_update(of=("self",))
        .select_related(
            "key_result__owner",
            "key_result__objective__quarter",
            "responsible",
            "provider_team",
            "requesting_team",
        )
        .get(pk=dep.pk)
    )


# --- request -----------------------------------------------------------------------------------


@transaction.atomic
def dependency_request(
    *,
    user: Any,
    key_result: KeyResult,
    provider_team: Team,
    responsible: Any,
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
    if provider_team.pk == objective.team_id:
        raise RuleBroken(
            f"{provider_team.name} is this key result's own team; a dependency is on another "
            "team. Choose the team that must deliver.",
            field="provider_team",
        )
    if responsible is None or not is_team_member(responsible, provider_team):
        who = display_name(responsible) if responsible is not None else "Nobody"
        raise RuleBroken(
            f"{who} is not on {provider_team.name}; choose the person on that team who will "
            "deliver (ask its lead if you don't know who).",
            field="responsible",
        )
    if not responsible.is_active:
        raise RuleBroken(f"{display_name(responsible)} is deactivated.", field="responsible")
    if not deliverable.strip():
        raise RuleBroken("Say what must be delivered.", field="deliverable")
    today = timezone.localdate()
    if due_date < today:
        raise RuleBroken(
            f"{due_date:%d %b %Y} is in the past; choose a date from today on.", field="due_date"
        )
    quarter = objective.quarter
    _check_due(due_date, quarter)
    if not (quarter.start <= due_date <= quarter.end) and not confirm_outside_quarter:
        raise RuleBroken(
            f"{due_date:%d %b %Y} is outside {quarter.name} ({quarter.start:%d %b} – "
            f"{quarter.end:%d %b %Y}). Tick the box to confirm this date anyway.",
            field="confirm_outside_quarter",
        )
    taken = dict(
        Dependency.objects.filter(key_result=key_result).values_list("rank", "deliverable")
    )
    if rank is None:
        rank = (max(taken) if taken else 0) + 1
    elif rank < 1:
        raise RuleBroken("Rank starts at 1 (the most important).", field="rank")
    elif rank > RANK_MAX:
        raise RuleBroken(f"Rank goes up to {RANK_MAX}; choose a smaller rank.", field="rank")
    elif rank in taken:
        raise RuleBroken(
            f"Rank {rank} is already “{taken[rank]}”; choose another rank.", field="rank"
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


def _require_awaiting(dep: Dependency, user: Any) -> None:
    if dep.status not in (S.REQUESTED, S.COUNTERED):
        raise RuleBroken(
            f"This dependency is already {dep.get_status_display().lower()}; there is nothing "
            "to answer."
        )
    if not access.can_answer_dependency(user, awaiting_id=dep.awaiting_id):
        waiting = display_name(dep.awaiting) if dep.awaiting else "nobody"
        raise NotAllowed(f"This request is waiting on {waiting}, not on you.")


@transaction.atomic
def dependency_commit(*, dependency: Dependency, user: Any) -> Dependency:
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
    user: Any,
    due_date: date | None,
    deliverable: str = "",
    note: str = "",
) -> Dependency:
    """Propose another date (required) and optionally another deliverable; the other side
    accepts or proposes again."""
    dep = _locked(dependency)
    _require_awaiting(dep, user)
    if due_date is None:
        raise RuleBroken("A counter-proposal needs the date you can deliver by.", field="due_date")
    if due_date < timezone.localdate():
        raise RuleBroken(
            f"{due_date:%d %b %Y} is in the past; propose a date from today on.", field="due_date"
        )
    _check_due(due_date, dep.key_result.objective.quarter)
    if due_date == dep.due_date and (not deliverable.strip() or deliverable == dep.deliverable):
        raise RuleBroken(
            "That is what was asked; commit instead, or propose another date or deliverable.",
            field="due_date",
        )
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
def dependency_accept_counter(*, dependency: Dependency, user: Any) -> Dependency:
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
def dependency_decline(*, dependency: Dependency, user: Any, reason: str) -> Dependency:
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
    *, dependency: Dependency, user: Any, responsible: Any, note: str = ""
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
def dependency_deliver(*, dependency: Dependency, user: Any, note: str = "") -> Dependency:
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


def _require_owner(dep: Dependency, user: Any, what: str) -> None:
    if not access.is_owner(user, owner_id=dep.key_result.owner_id):
        raise NotAllowed(f"Only the key result's owner {what}.")


@transaction.atomic
def dependency_confirm(*, dependency: Dependency, user: Any) -> Dependency:
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
def dependency_reopen(*, dependency: Dependency, user: Any, reason: str) -> Dependency:
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
def dependency_flag_risk(*, dependency: Dependency, user: Any, reason: str) -> Dependency:
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
def dependency_break(*, dependency: Dependency, user: Any, reason: str) -> Dependency:
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
    return dep


# --- the escalation ladder ---------------------------------------------------------------------


RUNG_LABELS = {1: "reminder", 2: "team lead", 3: "leadership"}


def _rung_recipients(dep: Dependency, rung: int) -> list[Any]:
    if rung == Escalation.Rung.RESPONSIBLE:
        return [dep.responsible]
    if rung == Escalation.Rung.TEAM_LEAD:
        return team_leads(dep.provider_team) or leadership_members()
    return leadership_members()


def _escalation_message(dep: Dependency, rung: int, now: datetime) -> tuple[str, str]:
    who = display_name(dep.responsible)
    if dep.escalation_trigger == T.UNANSWERED:
        waited = (now - dep.awaiting_since).days if dep.awaiting_since else 0
        problem = f"“{dep.deliverable}” has waited {waited} days for an answer from {who}"
    else:
        late = (timezone.localdate(now) - dep.due_date).days
        days = f"{late} day{'s' if late != 1 else ''}"
        problem = f"“{dep.deliverable}” is {days} past its due date ({dep.due_date:%d %b})"
    if rung == 1:
        subject = f"Reminder: {problem}"
    elif rung == 2:
        subject = f"Escalation to you as {dep.provider_team.name} lead: {problem}"
    else:
        subject = f"Escalation to leadership: {problem}"
    body = (
        f"{dep.provider_team.name} → {dep.requesting_team.name}, for the key result "
        f"“{dep.key_result.title}” owned by {display_name(dep.key_result.owner)}. Rung {rung} of 3."
    )
    return subject, body


@dataclass
class EscalationRun:
    escalated: int = 0
    notifications: int = 0


def dependencies_escalate(*, now: datetime | None = None, limit: int = 500) -> EscalationRun:
    """Climb one rung for every dependency whose next rung is due.

    1. One indexed query lists the ids due now (rows not due are never read).
    2. Each id is handled in its own transaction: re-read under a row lock; if another run has
       already moved it on, skip.
    3. Insert the Escalation row (dependency, trigger, rung). It is unique: if another worker
       inserted it first, the insert fails and this run sends nothing.
    4. Notify the rung's recipients, advance the rung and schedule the next one.
    5. After all, queue the e-mails in batches (one connection per batch).

    A closed quarter ends the ladder, as it ends the missed-check-in one: its due rows are
    cleared in one statement and never listed, so nothing climbs to leadership for a quarter
    that is over, and the job's cost does not grow with them. (What was delivered late or
    broken in a closed quarter belongs to the missed-commitment responses, rule 10, which do
    not exist yet; they are to pick these dependencies up by their status, not from here.)
    """
    now = now or timezone.now()
    run = EscalationRun()
    Dependency.objects.due_in_closed_quarters(now).update(next_escalation_at=None)
    due_ids = list(
        Dependency.objects.due_for_escalation(now)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)[:limit]
    )
    notification_ids: list[int] = []
    for pk in due_ids:
        with transaction.atomic():
            dep = _locked(Dependency(pk=pk))
            if dep.next_escalation_at is None or dep.next_escalation_at > now:
                continue
            if dep.key_result.objective.quarter.status == Quarter.Status.CLOSED:
                # Closed after the ids were listed: stop here, like the rows cleared above.
                dep.next_escalation_at = None
                dep.save(update_fields=["next_escalation_at", "updated_at"])
                continue
            rung = dep.escalation_rung + 1
            try:
                with transaction.atomic():
                    escalation = Escalation.objects.create(
                        dependency=dep, trigger=dep.escalation_trigger, rung=rung, sent_at=now
                    )
            except IntegrityError:
                continue  # another run reached this rung first and notified
            subject, body = _escalation_message(dep, rung, now)
            recipients = _rung_recipients(dep, rung)
            for recipient in recipients:
                note = notification_create(
                    recipient=recipient,
                    kind=f"escalation_{RUNG_LABELS[rung].replace(' ', '_')}",
                    subject=subject,
                    body=body,
                    link=dep.get_absolute_url(),
                    email=False,
                )
                notification_ids.append(note.pk)
            escalation.recipients = len(recipients)
            escalation.save(update_fields=["recipients"])
            dep.escalation_rung = rung
            _reschedule(dep)
            dep.save(update_fields=["escalation_rung", "next_escalation_at", "updated_at"])
            run.escalated += 1
            run.notifications += len(recipients)
    notifications_queue_email(notification_ids)
    return run
