"""A real worker, on Redis and on the embedded broker, e-mails each notification once.

The producer side is this test process: it queues the task on the same broker, on a queue
of the test's own, and the worker (another process) claims and sends the committed rows.
"""

from __future__ import annotations

import ast
from unittest import mock

import pytest
from django.db import transaction

from okrly import services
from okrly.models import Notification
from okrly.tasks import notifications_send_email_task
from tests.factories import NotificationFactory, UserFactory
from tests.integration.conftest import Broker, Worker

pytestmark = pytest.mark.integration


def test_worker_emails_a_new_notification_once(broker: Broker, celery_worker: Worker) -> None:
    olga = UserFactory(username="olga", first_name="Olga", last_name="Owner")
    queued: list[str] = []

    # notification_create queues with .delay() on commit; send that very call to the broker
    # under test (the test settings' own broker is in-memory).
    def delay(ids: list[int]) -> None:
        queued.append(broker.send(notifications_send_email_task, ids))

    with (
        mock.patch.object(notifications_send_email_task, "delay", side_effect=delay),
        transaction.atomic(),
    ):
        notification = services.notification_create(
            recipient=olga, kind="test", subject="Your check-in is due"
        )
        assert queued == []  # not before the row is committed

    assert len(queued) == 1
    result = celery_worker.wait_for_task(queued[0])

    assert ast.literal_eval(result) == {"sent": 1, "skipped": 0}
    emails = celery_worker.emails()
    assert len(emails) == 1
    assert emails[0]["To"] == "olga@example.com"
    assert emails[0]["Subject"] == "[OKRly] Your check-in is due"
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.SENT
    assert notification.emailed_at is not None


def test_worker_sends_one_email_when_the_task_is_queued_twice(
    broker: Broker, celery_worker: Worker
) -> None:
    # A task redelivered, or queued by both the create and the sweep.
    notification = NotificationFactory(recipient=UserFactory(username="tim"))

    first = broker.send(notifications_send_email_task, [notification.pk])
    second = broker.send(notifications_send_email_task, [notification.pk])
    results = [ast.literal_eval(celery_worker.wait_for_task(t)) for t in (first, second)]

    assert sorted(r["sent"] for r in results) == [0, 1]
    emails = celery_worker.emails()
    assert [e["To"] for e in emails] == ["tim@example.com"]
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.SENT
    assert notification.email_attempts == 1
