"""Notifications: the one channel every feature uses to tell a person something.

``notification_create`` writes the in-app row and, once the transaction commits, queues its
e-mail. Sending is okrly/outbox.py, which the Celery task runs (okrly/tasks.py).

The imports go one way, services -> tasks -> outbox, so there is no circle to break with a
lazy import: the task module never imports this one, and the tests and the worker see the
same task object that ``notification_create`` queues (``.delay`` stays patchable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okrly.access import can_read_notification
from okrly.errors import NotAllowed
from okrly.models import Notification
from okrly.tasks import notifications_send_email_task

if TYPE_CHECKING:
    from okrly.types import User


def notification_create(
    *,
    recipient: User,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    email: bool = True,
) -> Notification:
    """Write the in-app notification; unless ``email`` is False (a job that batches its
    e-mails itself through ``notifications_queue_email``), queue its e-mail after commit."""
    notification = Notification.objects.create(
        recipient=recipient, kind=kind, subject=subject[:200], body=body, link=link
    )
    if not email:
        return notification

    # After commit, so that the worker finds the row. Robust: with the broker down, the change
    # the person made is committed all the same and must not turn into an error page; the row
    # stays pending and the sweep sends it later.
    transaction.on_commit(
        lambda: notifications_send_email_task.delay([notification.pk]), robust=True
    )
    return notification


def notifications_queue_email(notification_ids: list[int]) -> None:
    """Queue the e-mails of many notifications in batches: each batch is one task that sends
    over one connection (far cheaper than a task per e-mail)."""
    size = settings.NOTIFICATION_EMAIL_BATCH_SIZE
    for start in range(0, len(notification_ids), size):
        batch = notification_ids[start : start + size]
        transaction.on_commit(
            lambda batch=batch: notifications_send_email_task.delay(batch),  # type: ignore[misc]
            robust=True,
        )


def notification_mark_read(*, notification: Notification, user: User) -> Notification:
    if not can_read_notification(user, recipient_id=notification.recipient_id):
        raise NotAllowed("This notification is addressed to someone else.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return int(user.notifications.unread().update(read_at=timezone.now()))
