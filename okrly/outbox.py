"""The outbox: sending the e-mail of notifications, at most once each (what the Celery tasks
in okrly/tasks.py run).

``notifications_send_email`` claims the rows it will send with a token (one UPDATE), sends
them over one SMTP connection, and marks each sent as soon as its own send succeeded. A
second run, a redelivered task or a second worker finds nothing left to claim, so no
notification is ever e-mailed twice. ``notifications_due_for_email`` is the sweep's list of
rows whose own task was lost.

Apart from okrly/services.py (which writes the rows and queues the task): the task imports
this module and services import the task, so the imports form no circle.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from okrly import registry
from okrly.models import Notification

log = logging.getLogger(__name__)


def _claimable(now: Any) -> Q:
    stale = now - timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT)
    return Q(email_status=Notification.EmailStatus.PENDING) | Q(
        email_status=Notification.EmailStatus.SENDING, email_claimed_at__lt=stale
    )


# Refusals about one message (its recipient or content): the connection stays usable.
RECIPIENT_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused)


@dataclass
class SendResult:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    error: Exception | None = None


def _message(
    notification: Notification, connection: Any, extra: dict[str, Any] | None = None
) -> EmailMultiAlternatives:
    extra = extra or {}
    context = {
        "notification": notification,
        "recipient": notification.recipient,
        "url": f"{settings.SITE_URL}{notification.link}" if notification.link else "",
        "site_url": settings.SITE_URL,
        # Links of its own (registry.email_contexts), made absolute for a mail client.
        "items": [(label, f"{settings.SITE_URL}{path}") for label, path in extra.get("items", [])],
        "items_title": extra.get("items_title", ""),
    }
    message = EmailMultiAlternatives(
        subject=f"[OKRly] {notification.subject}",
        body=render_to_string("emails/notification.txt", context),
        to=[notification.recipient.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string("emails/notification.html", context), "text/html")
    return message


def notifications_send_email(*, notification_ids: Iterable[int]) -> SendResult:
    """Send the e-mails of these notifications, at most once each.

    1. Claim: one UPDATE writes a fresh token on the rows that are still pending (or whose
       claim went stale because a worker died); rows already sent or held are left alone.
    2. Load the claimed rows by their token and send them over one connection.
    3. After each successful send, mark that row sent; rows without an address are skipped.
    4. A refused recipient is set aside and the batch goes on; any other failure (the
       connection) stops the batch.
    5. Unsent claims go back to pending (or to failed after the last allowed attempt) and
       the error is reported, so the caller (the task) retries just those with a backoff.
    """
    ids = list(notification_ids)
    result = SendResult()
    if not ids:
        return result
    now = timezone.now()
    token = uuid.uuid4()
    Notification.objects.filter(_claimable(now), pk__in=ids).update(
        email_status=Notification.EmailStatus.SENDING,
        email_claim=token,
        email_claimed_at=now,
        email_attempts=F("email_attempts") + 1,
    )
    claimed = list(
        Notification.objects.filter(email_claim=token).select_related("recipient").order_by("pk")
    )
    if not claimed:
        return result
    pending = {n.pk for n in claimed}

    def finish(pks: list[int], status: str) -> None:
        Notification.objects.filter(pk__in=pks, email_claim=token).update(
            email_status=status, emailed_at=timezone.now() if status == "sent" else None
        )
        pending.difference_update(pks)

    without_address = [n.pk for n in claimed if not n.recipient.email]
    if without_address:
        finish(without_address, Notification.EmailStatus.SKIPPED)
        result.skipped.extend(without_address)
    if not pending:
        return result  # nothing to send: don't open a connection
    extras = registry.email_contexts([n for n in claimed if n.pk in pending])
    refused: list[int] = []
    try:
        with get_connection() as connection:
            for notification in claimed:
                if notification.pk not in pending:
                    continue
                try:
                    _message(notification, connection, extras.get(notification.pk)).send()
                except RECIPIENT_ERRORS as exc:
                    # This address is refused; the connection is fine, so carry on with the
                    # rest of the batch and retry this one alone later.
                    log.warning("notification %s refused: %s", notification.pk, exc)
                    refused.append(notification.pk)
                    pending.discard(notification.pk)
                    result.error = exc
                    continue
                finish([notification.pk], Notification.EmailStatus.SENT)
                result.sent.append(notification.pk)
    except Exception as exc:
        log.warning("notification e-mail failed, %d left to retry: %s", len(pending), exc)
        result.error = exc
    unsent = sorted(pending | set(refused))
    if unsent:
        _release(unsent, token)
        result.failed = sorted(
            Notification.objects.filter(
                pk__in=unsent, email_status=Notification.EmailStatus.PENDING
            ).values_list("pk", flat=True)
        )
    return result


def _release(pks: list[int], token: uuid.UUID) -> None:
    """Give unsent claims back: pending for another try, or failed after the last attempt (a
    row that can never be delivered must not be retried for ever by the sweep)."""
    mine = Notification.objects.filter(pk__in=pks, email_claim=token)
    limit = settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS
    mine.filter(email_attempts__gte=limit).update(
        email_status=Notification.EmailStatus.FAILED, email_claim=None
    )
    mine.filter(email_attempts__lt=limit).update(
        email_status=Notification.EmailStatus.PENDING, email_claim=None, email_claimed_at=None
    )


def notifications_due_for_email(*, limit: int) -> list[int]:
    """Ids the sweep should (re)send: pending, or claimed so long ago the sender must be dead.

    Only rows older than a minute: fresh ones are normally in flight through their own task.
    """
    now = timezone.now()
    return list(
        Notification.objects.filter(_claimable(now), created_at__lt=now - timedelta(minutes=1))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
