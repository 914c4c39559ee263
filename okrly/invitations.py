"""Invitations (issue 16): the row, its link's token, its status, and sending it.

An imported person has no usable password; their invitation e-mails them a link to
``/join/<uid>/<token>/`` where they choose one. The token is Django's password-reset token
with the invitation's send count and revoked state in its hash, so a resend invalidates the
earlier links and a revoke kills them; it expires ``INVITATION_TIMEOUT_DAYS`` after it was
sent. Setting the password changes the hash too, so a link works once.

Sending works like the notifications' outbox (okrly/outbox.py): a batch claims its rows
with a token in one UPDATE, sends over one connection and marks each row sent after its own
send, so a second run, a redelivered task or the sweep never sends one twice. The state
changes (invite, resend, revoke, accept) are okrly/inviting.py, which queues the task; this
module imports no task, so there is no circle.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import models
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from okrly.models import TimeStampedModel
from okrly.outbox import RECIPIENT_ERRORS, SendResult

if TYPE_CHECKING:
    from okrly.types import User

log = logging.getLogger(__name__)


class Invitation(TimeStampedModel):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitation"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How many times it was asked for (invite, then each resend): part of the token's hash,
    # so only the latest e-mail's link works.
    send_count = models.PositiveSmallIntegerField(default=1)
    sent_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    # A sender claims rows by writing its own token; only the holder of the token sends them.
    email_claim = models.UUIDField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            # The sweep: pending or stale "sending" rows only.
            models.Index(
                fields=["email_status", "updated_at"],
                name="invitation_email_unsent",
                condition=Q(email_status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.user}"


class Status(models.TextChoices):
    """A person's standing on the people page, decided by ``person_status``."""

    JOINED = "joined", "Joined"
    INVITED = "invited", "Invited"
    EXPIRED = "expired", "Invitation expired"
    REVOKED = "revoked", "Invitation revoked"
    NEVER = "never", "Never signed in"


def timeout() -> timedelta:
    return timedelta(days=settings.INVITATION_TIMEOUT_DAYS)


def person_status(user: User, invitation: Invitation | None, now: datetime) -> Status:
    """Joined once they signed in or accepted; else their invitation's state; else never."""
    if user.last_login is not None or (invitation and invitation.accepted_at):
        return Status.JOINED
    if invitation is None:
        return Status.NEVER
    if invitation.revoked_at is not None:
        return Status.REVOKED
    if invitation.sent_at is not None and invitation.sent_at + timeout() < now:
        return Status.EXPIRED
    return Status.INVITED


def status_filter(status: Status, now: datetime) -> Q:
    """People whose ``person_status`` is ``status``, as a filter on users (the people page's
    tabs), so a page of 50 is picked among thousands in SQL. Tested against person_status."""
    waiting = Q(last_login__isnull=True, invitation__accepted_at__isnull=True)
    live = waiting & Q(invitation__isnull=False, invitation__revoked_at__isnull=True)
    cutoff = now - timeout()
    return {
        Status.JOINED: ~waiting,
        Status.NEVER: waiting & Q(invitation__isnull=True),
        Status.REVOKED: waiting & Q(invitation__revoked_at__isnull=False),
        Status.EXPIRED: live & Q(invitation__sent_at__lt=cutoff),
        Status.INVITED: live
        & (Q(invitation__sent_at__isnull=True) | Q(invitation__sent_at__gte=cutoff)),
    }[status]


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token, also over the invitation's send count and revoked state, and
    valid for ``INVITATION_TIMEOUT_DAYS``. ``user.invitation`` must be loaded."""

    key_salt = "okrly.invitations.InvitationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        invitation = user.invitation
        revoked = "" if invitation.revoked_at is None else invitation.revoked_at.timestamp()
        base = super()._make_hash_value(user, timestamp)
        return f"{base}|{invitation.send_count}|{revoked}"

    def check_token(self, user: Any, token: str | None) -> bool:
        # Django's own check, but against the invitation's lifetime rather than
        # PASSWORD_RESET_TIMEOUT (three days suits a reset, not a first invitation).
        age = self.token_age(user, token)
        return age is not None and age <= timeout().total_seconds()

    def token_age(self, user: Any, token: str | None) -> int | None:
        """Seconds since the token was made, if it is this user's current one; else None."""
        if not (user and token):
            return None
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return None
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                return int(self._num_seconds(self._now()) - ts)
        return None


invitation_tokens = InvitationTokenGenerator()


def join_path(user: User) -> str:
    """The join link's path for the user's current invitation (``user.invitation`` loaded)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("join", args=[uid, invitation_tokens.make_token(user)])


# --- sending ----------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT)
    live = Q(revoked_at__isnull=True, accepted_at__isnull=True)
    return live & (
        Q(email_status=Invitation.EmailStatus.PENDING)
        | Q(email_status=Invitation.EmailStatus.SENDING, email_claimed_at__lt=stale)
    )


def _message(invitation: Invitation, connection: Any) -> EmailMultiAlternatives:
    user = invitation.user
    context = {
        "user": user,
        "invited_by": invitation.invited_by,
        "url": f"{settings.SITE_URL}{join_path(user)}",
        "days": settings.INVITATION_TIMEOUT_DAYS,
        "site_url": settings.SITE_URL,
    }
    message = EmailMultiAlternatives(
        subject="[OKRly] You are invited to OKRly",
        body=render_to_string("emails/invitation.txt", context),
        to=[user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    return message


def invitations_send(*, invitation_ids: Iterable[int]) -> SendResult:
    """Send these invitations, at most once per request (invite or resend).

    1. Claim: one UPDATE writes a fresh token on the rows still pending (or whose claim went
       stale), unless revoked or accepted meanwhile.
    2. Send the claimed rows over one connection, each with a link made now (its token's
       age counts from the send).
    3. Mark each row sent after its own send; a refused recipient is set aside, any other
       failure stops the batch.
    4. Unsent claims go back to pending (failed after the last allowed attempt).
    """
    ids = list(invitation_ids)
    result = SendResult()
    if not ids:
        return result
    now = timezone.now()
    token = uuid.uuid4()
    Invitation.objects.filter(_claimable(now), pk__in=ids).update(
        email_status=Invitation.EmailStatus.SENDING,
        email_claim=token,
        email_claimed_at=now,
        email_attempts=F("email_attempts") + 1,
    )
    claimed = list(
        Invitation.objects.filter(email_claim=token)
        .select_related("user", "invited_by")
        .order_by("pk")
    )
    if not claimed:
        return result
    pending = {i.pk for i in claimed}
    refused: list[int] = []
    try:
        with get_connection() as connection:
            for invitation in claimed:
                # The token's hash reads user.invitation: this row, not another query.
                invitation.user.invitation = invitation
                try:
                    _message(invitation, connection).send()
                except RECIPIENT_ERRORS as exc:
                    log.warning("invitation %s refused: %s", invitation.pk, exc)
                    refused.append(invitation.pk)
                    pending.discard(invitation.pk)
                    result.error = exc
                    continue
                Invitation.objects.filter(pk=invitation.pk, email_claim=token).update(
                    email_status=Invitation.EmailStatus.SENT, sent_at=timezone.now()
                )
                pending.discard(invitation.pk)
                result.sent.append(invitation.pk)
    except Exception as exc:
        log.warning("invitation e-mail failed, %d left to retry: %s", len(pending), exc)
        result.error = exc
    unsent = sorted(pending | set(refused))
    if unsent:
        mine = Invitation.objects.filter(pk__in=unsent, email_claim=token)
        limit = settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS
        mine.filter(email_attempts__gte=limit).update(
            email_status=Invitation.EmailStatus.FAILED, email_claim=None
        )
        mine.filter(email_attempts__lt=limit).update(
            email_status=Invitation.EmailStatus.PENDING, email_claim=None, email_claimed_at=None
        )
        result.failed = sorted(
            Invitation.objects.filter(
                pk__in=unsent, email_status=Invitation.EmailStatus.PENDING
            ).values_list("pk", flat=True)
        )
    return result


def invitations_due_for_email(*, limit: int) -> list[int]:
    """Ids the sweep should (re)send: pending for over a minute (their own task was lost,
    e.g. the broker was down), or claimed so long ago the sender must be dead."""
    now = timezone.now()
    return list(
        Invitation.objects.filter(_claimable(now), updated_at__lt=now - timedelta(minutes=1))
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
