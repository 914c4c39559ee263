"""Invite, resend, revoke and accept (issue 16): the state changes of invitations.

Each runs in a transaction and queues the e-mail after commit, in batches that each send
over one connection (okrly/tasks.py, okrly/invitations.py). With the broker down the change
is committed all the same; the row stays pending and the sweep sends it later.

Imports go one way, inviting -> tasks -> invitations, like services -> tasks -> outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from okrly.access import can_invite
from okrly.errors import NotAllowed, RuleBroken
from okrly.invitations import Invitation
from okrly.tasks import invitations_send_task

if TYPE_CHECKING:
    from okrly.types import User


def _require(by: User) -> None:
    if not can_invite(by):
        raise NotAllowed("Only administrators (staff) invite people.")


def invitations_queue(invitation_ids: list[int]) -> None:
    size = settings.NOTIFICATION_EMAIL_BATCH_SIZE
    for start in range(0, len(invitation_ids), size):
        batch = invitation_ids[start : start + size]
        transaction.on_commit(
            lambda batch=batch: invitations_send_task.delay(batch),  # type: ignore[misc]
            robust=True,
        )


@transaction.atomic
def invitations_create(*, user_ids: Iterable[int], by: User) -> int:
    """Invite these people, skipping anyone already invited, signed in before or without an
    e-mail address; returns how many invitations were made."""
    _require(by)
    users = (
        get_user_model()
        .objects.filter(
            pk__in=list(user_ids),
            is_active=True,
            last_login__isnull=True,
            invitation__isnull=True,
        )
        .exclude(email="")
        .values_list("pk", flat=True)
    )
    made = Invitation.objects.bulk_create(
        [Invitation(user_id=pk, invited_by=by) for pk in users], batch_size=500
    )
    ids = list(
        Invitation.objects.filter(user_id__in=[i.user_id for i in made]).values_list(
            "pk", flat=True
        )
    )
    invitations_queue(ids)
    return len(ids)


def invitations_create_for_everyone(*, by: User) -> int:
    """ "Invite everyone not yet invited": the active people who never signed in."""
    _require(by)
    pending = get_user_model().objects.filter(
        is_active=True, last_login__isnull=True, invitation__isnull=True
    )
    return invitations_create(user_ids=pending.values_list("pk", flat=True), by=by)


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by: User) -> Invitation:
    """Send again (a revoked invitation is renewed): the new link is the only one that works,
    because the send count in every token's hash moves on."""
    _require(by)
    changed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        send_count=F("send_count") + 1,
        revoked_at=None,
        email_status=Invitation.EmailStatus.PENDING,
        email_claim=None,
        email_claimed_at=None,
        email_attempts=0,
        updated_at=timezone.now(),
    )
    if not changed:
        raise RuleBroken("This person has already joined; there is nothing to resend.")
    invitations_queue([invitation.pk])
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    """Its links stop working at once (the revoked state is in their hash), and an e-mail not
    sent yet is never sent (the sender claims only live rows)."""
    _require(by)
    changed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), updated_at=timezone.now())
    if not changed:
        raise RuleBroken("This invitation was already accepted or revoked.")
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, password: str) -> bool:
    """Set the person's password and mark the invitation accepted; False if the invitation
    was revoked or accepted since the link was checked (two tabs, or an admin at once)."""
    changed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(accepted_at=timezone.now(), updated_at=timezone.now())
    if not changed:
        return False
    user = invitation.user
    user.set_password(password)
    user.save(update_fields=["password"])
    return True
