"""Ownership changes with their rules: accept, decline, hand over, grant and revoke authority,
declare that no dependencies are needed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import access
from okrly.access import team_leads
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Membership, display_name
from okrly.services import notification_create
from ownership.models import AuthorityGrant, DecisionRight, NoDependencies, OwnershipNomination

if TYPE_CHECKING:
    from okrly.types import AnonymousUser, User

N = OwnershipNomination.Status


def _locked(key_result: KeyResult) -> KeyResult:
    return (
        # Lock the key result's row only: PostgreSQL refuses FOR UPDATE on the nullable side
        # of the outer join to the profile.
        KeyResult.objects.select_for_update(of=("self",))
        .select_related("owner__profile", "objective__team")
        .get(pk=key_result.pk)
    )


def _pending(key_result: KeyResult) -> OwnershipNomination | None:
    return OwnershipNomination.objects.filter(key_result=key_result, status=N.PENDING).first()


def has_accepted(key_result: KeyResult) -> bool:
    return OwnershipNomination.objects.filter(
        key_result=key_result, nominee_id=key_result.owner_id, status=N.ACCEPTED
    ).exists()


# --- acceptance ----------------------------------------------------------------------------


@transaction.atomic
def ownership_accept(*, key_result: KeyResult, user: User) -> OwnershipNomination:
    """The nominee accepts: either the current owner confirming the key result they were
    given, or the person a handover names, who then becomes the owner."""
    kr = _locked(key_result)
    pending = _pending(kr)
    now = timezone.now()
    # Accepting twice is a mistake to explain, not a right refused.
    accepted = pending is None and kr.owner_id == user.pk and has_accepted(kr)
    if accepted:
        raise RuleBroken("You have already accepted ownership of this key result.")
    if not access.can_answer_ownership(
        user,
        owner_id=kr.owner_id,
        nominee_id=pending.nominee_id if pending else None,
        accepted=accepted,
    ):
        raise NotAllowed("Only the person nominated as owner can accept this key result.")
    if pending is not None:
        previous = kr.owner
        pending.status = N.ACCEPTED
        pending.answered_at = now
        pending.save(update_fields=["status", "answered_at"])
        kr.owner = user
        kr.save(update_fields=["owner", "updated_at"])
        if previous.pk != user.pk:
            notification_create(
                recipient=previous,
                kind="ownership_handed_over",
                subject=f"{display_name(user)} accepted “{kr.title}”; you are no longer its owner",
                body=pending.reason,
                link=kr.get_absolute_url(),
            )
        return pending
    return OwnershipNomination.objects.create(
        key_result=kr, nominee=user, status=N.ACCEPTED, answered_at=now
    )


@transaction.atomic
def ownership_decline(*, key_result: KeyResult, user: User, reason: str) -> OwnershipNomination:
    """The nominee declines with a reason; the objective's team leads are asked to nominate
    someone else. An owner who declines stays on record (a key result always has an owner)
    and the Accountability Test fails until someone accepts."""
    kr = _locked(key_result)
    pending = _pending(kr)
    accepted = pending is None and kr.owner_id == user.pk and has_accepted(kr)
    if not access.can_answer_ownership(
        user,
        owner_id=kr.owner_id,
        nominee_id=pending.nominee_id if pending else None,
        accepted=accepted,
    ):
        raise NotAllowed("Only the person nominated as owner can decline this key result.")
    if not reason.strip():
        raise RuleBroken(
            "Say why you decline, so the team lead can find the right owner.", field="reason"
        )
    now = timezone.now()
    if pending is not None:
        nomination = pending
        nomination.status = N.DECLINED
        nomination.decline_reason = reason.strip()
        nomination.answered_at = now
        nomination.save(update_fields=["status", "decline_reason", "answered_at"])
    else:
        nomination = OwnershipNomination.objects.create(
            key_result=kr,
            nominee=user,
            status=N.DECLINED,
            decline_reason=reason.strip(),
            answered_at=now,
        )
    for lead in team_leads(kr.objective.team):
        notification_create(
            recipient=lead,
            kind="ownership_declined",
            subject=(
                f"{display_name(user)} declined ownership of “{kr.title}”: nominate someone else"
            ),
            body=reason.strip(),
            link=kr.get_absolute_url(),
        )
    return nomination


# --- handover ------------------------------------------------------------------------------


@transaction.atomic
def ownership_handover(
    *, key_result: KeyResult, user: User, new_owner: User | None, reason: str
) -> OwnershipNomination:
    """A lead nominates a new owner. Nothing changes hands until they accept: the current
    owner stays accountable. A newer nomination replaces one still waiting."""
    kr = _locked(key_result)
    if not access.can_nominate(user, kr.objective.team):
        raise NotAllowed(
            f"Only a lead of {kr.objective.team.name} (or an administrator) nominates owners."
        )
    if new_owner is not None and not isinstance(new_owner, get_user_model()):
        # Rule 1: one accountable person. A team (or anything else) is refused, not crashed on.
        raise RuleBroken(
            "The new owner must be a person, not a team: choose the one person accountable.",
            field="new_owner",
        )
    if new_owner is None or not new_owner.is_active:
        raise RuleBroken("Choose an active person as the new owner.", field="new_owner")
    if not Membership.objects.filter(user=new_owner).exists():
        raise RuleBroken(
            f"{display_name(new_owner)} is not a member of any team; add them to a team first, so "
            "someone leads and backs them.",
            field="new_owner",
        )
    if not reason.strip():
        raise RuleBroken(
            "Give the reason for the handover; it stays in the history.", field="reason"
        )
    if new_owner.pk == kr.owner_id and has_accepted(kr):
        raise RuleBroken(
            f"{display_name(new_owner)} already owns this key result.", field="new_owner"
        )
    OwnershipNomination.objects.filter(key_result=kr, status=N.PENDING).update(
        status=N.SUPERSEDED, answered_at=timezone.now()
    )
    nomination = OwnershipNomination.objects.create(
        key_result=kr,
        nominee=new_owner,
        previous_owner=kr.owner,
        nominated_by=user,
        reason=reason.strip(),
    )
    notification_create(
        recipient=new_owner,
        kind="ownership_nominated",
        subject=f"{display_name(user)} nominates you as owner of “{kr.title}”",
        body=(
            f"{reason.strip()}\n\nAccept or decline; until you accept, {display_name(kr.owner)} "
            "stays accountable."
        ),
        link=kr.get_absolute_url(),
    )
    return nomination


def inherited_commitments(key_result: KeyResult) -> dict[str, list[Any]]:
    """What a new owner takes over: open dependencies (requested by the key result, or
    promised to it), their open escalations, and needs from check-ins still unanswered."""
    from checkins.models import CheckIn
    from dependencies.models import Escalation

    open_deps = list(
        Dependency.objects.filter(key_result=key_result, status__in=Dependency.OPEN_STATUSES)
        .select_related("responsible", "provider_team")
        .order_by("rank")
    )
    return {
        "requested": [d for d in open_deps if d.status not in Dependency.PROMISED_STATUSES],
        "promised": [d for d in open_deps if d.status in Dependency.PROMISED_STATUSES],
        "escalations": list(
            Escalation.objects.filter(dependency__in=open_deps)
            .select_related("dependency")
            .order_by("-sent_at")
        ),
        "needs": list(
            CheckIn.objects.filter(
                key_result=key_result, need_person__isnull=False, need_handled_at__isnull=True
            ).select_related("need_person")
        ),
    }


# --- authority -----------------------------------------------------------------------------

DEFAULT_RIGHTS = [
    (
        "Reprioritise the team's backlog",
        "Reorder and drop the team's work to serve the key result.",
    ),
    ("Spend up to an amount", "Commit budget up to the amount written in the scope."),
    ("Change initiatives", "Start, stop or replace the initiatives behind the key result."),
    ("Ask other teams directly", "Request work from other teams without going through leads."),
    ("Make hiring decisions", "Open roles or pick contractors within the scope."),
]


def decision_rights_ensure_defaults() -> list[DecisionRight]:
    """The starting catalogue (also written by migration 0002); admins edit it afterwards.
    Used by the demo, and after a test database flush removed the migration's rows."""
    return [
        DecisionRight.objects.get_or_create(
            name=name, defaults={"description": description, "position": position}
        )[0]
        for position, (name, description) in enumerate(DEFAULT_RIGHTS)
    ]


def may_grant(user: User | AnonymousUser, key_result: KeyResult) -> bool:
    """``access.can_grant`` asked with this key result's facts (its owner, their manager, its
    team): the one call the services, the views and the panel share."""
    manager_id = getattr(getattr(key_result.owner, "profile", None), "manager_id", None)
    return access.can_grant(
        user, owner_id=key_result.owner_id, manager_id=manager_id, team=key_result.objective.team
    )


@transaction.atomic
def authority_grant(
    *, key_result: KeyResult, user: User, rights: list[DecisionRight], scope: str
) -> AuthorityGrant:
    kr = _locked(key_result)
    if not may_grant(user, kr):
        raise NotAllowed(
            "Authority is granted by the owner's manager, a lead of the key result's team or "
            "the leadership group — not by the owner, and not by you."
        )
    if not rights:
        raise RuleBroken("Choose at least one decision right.", field="rights")
    if any(not r.active for r in rights):
        raise RuleBroken("One of these rights is no longer offered.", field="rights")
    if not scope.strip():
        raise RuleBroken(
            "Describe the scope: what may the owner decide, up to what limit?", field="scope"
        )
    now = timezone.now()
    # A new grant replaces the one in force, which stays in the record as revoked.
    AuthorityGrant.objects.filter(key_result=kr, grantee=kr.owner, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=user, revoke_reason="Replaced by a new grant."
    )
    grant = AuthorityGrant.objects.create(
        key_result=kr, grantee=kr.owner, scope=scope.strip(), granted_by=user, granted_at=now
    )
    grant.rights.set(rights)
    notification_create(
        recipient=kr.owner,
        kind="authority_granted",
        subject=f"{display_name(user)} granted you authority for “{kr.title}”",
        body=f"{', '.join(r.name for r in rights)}. Scope: {scope.strip()}",
        link=kr.get_absolute_url(),
    )
    return grant


@transaction.atomic
def authority_revoke(*, grant: AuthorityGrant, user: User, reason: str) -> AuthorityGrant:
    kr = _locked(grant.key_result)
    if not may_grant(user, kr):
        raise NotAllowed(
            "Authority is revoked by the owner's manager, a lead of the key result's team or "
            "the leadership group."
        )
    if grant.revoked_at is not None:
        raise RuleBroken("This authority was already revoked.")
    if not reason.strip():
        raise RuleBroken("Say why the authority is revoked.", field="reason")
    grant.revoked_at = timezone.now()
    grant.revoked_by = user
    grant.revoke_reason = reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    notification_create(
        recipient=grant.grantee,
        kind="authority_revoked",
        subject=f"{display_name(user)} revoked your authority for “{kr.title}”",
        body=reason.strip(),
        link=kr.get_absolute_url(),
    )
    return grant


# --- no dependencies -----------------------------------------------------------------------


@transaction.atomic
def dependencies_declare_none(
    *, key_result: KeyResult, user: User, note: str = ""
) -> NoDependencies:
    kr = _locked(key_result)
    if not access.is_owner(user, owner_id=kr.owner_id):
        raise NotAllowed("Only the key result's owner declares that it needs no other team.")
    if Dependency.objects.filter(key_result=kr).exclude(status=Dependency.Status.DECLINED).exists():
        raise RuleBroken("This key result has dependencies; it cannot also need none.")
    declaration, _ = NoDependencies.objects.update_or_create(
        key_result=kr,
        defaults={"declared_by": user, "declared_at": timezone.now(), "note": note.strip()},
    )
    return declaration


@transaction.atomic
def dependencies_withdraw_none(*, key_result: KeyResult, user: User) -> None:
    if not access.is_owner(user, owner_id=key_result.owner_id):
        raise NotAllowed("Only the key result's owner changes this.")
    NoDependencies.objects.filter(key_result=key_result).delete()
