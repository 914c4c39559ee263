"""Celery tasks of the core app: thin, idempotent, calling the outbox (okrly/outbox.py).

okrly/services.py queues these after commit; this module does not import it back."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from okrly import channel_delivery, invitations, outbox


class NotificationEmailError(Exception):
    """Raised after the last retry so that the failure shows in the worker log."""


@shared_task(bind=True, max_retries=6, acks_late=True)
def notifications_send_email_task(self: Any, notification_ids: list[int]) -> dict[str, int]:
    result = outbox.notifications_send_email(notification_ids=notification_ids)
    if result.error is not None and result.failed:
        # Exponential backoff: 30 s, 60 s, 120 s ... 960 s (the sixth and last retry). Only
        # the rows that were not sent are retried; the sweep picks up what is left after the
        # last retry, until a row's attempts run out and it is marked failed.
        countdown = 30 * 2**self.request.retries
        if self.request.retries >= self.max_retries:
            raise NotificationEmailError(str(result.error)) from result.error
        raise self.retry(args=[result.failed], countdown=countdown, exc=result.error)
    return {"sent": len(result.sent), "skipped": len(result.skipped)}


@shared_task(acks_late=True)
def notifications_email_sweep() -> int:
    """Queue e-mail for notifications whose own task was lost; batches share a connection."""
    size = settings.NOTIFICATION_EMAIL_BATCH_SIZE
    ids = outbox.notifications_due_for_email(limit=size * 10)
    for start in range(0, len(ids), size):
        notifications_send_email_task.delay(ids[start : start + size])
    return len(ids)


@shared_task(bind=True, max_retries=6, acks_late=True)
def invitations_send_task(self: Any, invitation_ids: list[int]) -> dict[str, int]:
    """One batch of invitations over one connection; retried like notification e-mail."""
    result = invitations.invitations_send(invitation_ids=invitation_ids)
    if result.error is not None and result.failed:
        if self.request.retries >= self.max_retries:
            raise NotificationEmailError(str(result.error)) from result.error
        raise self.retry(args=[result.failed], countdown=30 * 2**self.request.retries)
    return {"sent": len(result.sent)}


@shared_task(acks_late=True)
def invitations_email_sweep() -> int:
    """Queue invitations whose own task was lost (the broker was down when they were made)."""
    size = settings.NOTIFICATION_EMAIL_BATCH_SIZE
    ids = invitations.invitations_due_for_email(limit=size * 10)
    for start in range(0, len(ids), size):
        invitations_send_task.delay(ids[start : start + size])
    return len(ids)


@shared_task(acks_late=True)
def teams_departments_refresh_task() -> dict[str, int]:
    """Nightly: set any team's ``department`` that is wrong (one created or moved in bulk
    without ``TeamQuerySet.refresh_departments``). Idempotent: writes only what differs."""
    from okrly.models import Team

    return {"teams": Team.objects.refresh_departments()}


@shared_task(acks_late=True)
def channels_deliver_task() -> dict[str, int]:
    """Send the Slack and Teams posts that are due (okrly/channel_delivery.py): claims keep
    it at most once per post, so beat's every-minute run, the on-commit kick and a
    redelivered task may overlap. A full batch queues the next one at once."""
    run = channel_delivery.deliver(limit=settings.WEBHOOK_BATCH_SIZE)
    if run.claimed >= settings.WEBHOOK_BATCH_SIZE:
        channels_deliver_task.delay()
    return {"sent": run.sent, "retried": run.retried, "dropped": run.dropped}
