"""Notifications: the in-app row, its e-mail (at most once, retried with backoff), the inbox.

Olga (``owner``) is the recipient in these stories; Tim (``teammate``) and Otto
(``outsider``) are other signed-in people who must not touch her notifications.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from celery import states
from celery.signals import task_retry
from django.core.mail import EmailMessage
from django.core.mail.backends import locmem
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from okrly import outbox, services
from okrly.models import Notification
from okrly.tasks import (
    NotificationEmailError,
    notifications_email_sweep,
    notifications_send_email_task,
)
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-17 09:30:00+00:00")


class RefusingBackend(locmem.EmailBackend):
    """The test outbox, except that the server fails on the addresses in ``refused``: by
    default with a generic SMTP error that ends the connection's usefulness."""

    refused: set[str] = set()

    def error(self, addresses: set[str], to: list[str]) -> Exception:
        return smtplib.SMTPException(f"550 relay refused for {to}")

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        for message in messages:
            bad = self.refused & set(message.to)
            if bad:
                raise self.error(bad, list(message.to))
        return super().send_messages(messages)


@pytest.fixture
def refused(settings: Any) -> Iterator[set[str]]:
    """Addresses the mail server refuses; add or clear them to break or mend the server."""
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    addresses: set[str] = set()
    with mock.patch.object(RefusingBackend, "refused", addresses):
        yield addresses


@pytest.fixture
def retries() -> Iterator[list[Any]]:
    """The ``Retry`` of every retry the e-mail task asks for, in order."""
    seen: list[Any] = []

    def record(sender: Any = None, reason: Any = None, **kwargs: Any) -> None:
        seen.append(reason)

    task_retry.connect(record, weak=False)
    yield seen
    task_retry.disconnect(record)


def send(*notifications: Any) -> outbox.SendResult:
    return outbox.notifications_send_email(notification_ids=[n.pk for n in notifications])


def claim(notification: Any) -> None:
    """What a sender does first: take the row with its own token, now."""
    Notification.objects.filter(pk=notification.pk).update(
        email_status=Notification.EmailStatus.SENDING,
        email_claim=uuid.uuid4(),
        email_claimed_at=timezone.now(),
    )


# --- Creating -----------------------------------------------------------------------------


def test_notification_create_writes_the_row_and_queues_its_email_after_commit(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        mock.patch.object(notifications_send_email_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        notification = services.notification_create(
            recipient=owner,
            kind="ownership_request",
            subject="Lena asks you to own a key result",
            body="Raise trial conversion from 10% to 30%.",
            link="/objectives/1/",
        )
        delay.assert_not_called()

    assert len(callbacks) == 1
    delay.assert_called_once_with([notification.pk])
    notification.refresh_from_db()
    assert notification.recipient == owner
    assert notification.kind == "ownership_request"
    assert notification.subject == "Lena asks you to own a key result"
    assert notification.body == "Raise trial conversion from 10% to 30%."
    assert notification.link == "/objectives/1/"
    assert notification.read_at is None
    assert notification.email_status == Notification.EmailStatus.PENDING
    assert notification.email_attempts == 0
    assert notification.emailed_at is None


def test_notification_rolled_back_with_its_transaction_queues_no_email(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    def create_then_fail() -> None:
        with transaction.atomic():
            services.notification_create(recipient=owner, kind="test", subject="Never")
            raise RuntimeError("the surrounding change failed")

    with (
        mock.patch.object(notifications_send_email_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
    ):
        create_then_fail()

    delay.assert_not_called()
    assert not Notification.objects.exists()


def test_notification_create_cuts_a_long_subject_to_fit(owner: Any) -> None:
    with mock.patch.object(notifications_send_email_task, "delay"):
        notification = services.notification_create(recipient=owner, kind="test", subject="x" * 250)

    notification.refresh_from_db()
    assert notification.subject == "x" * 200


def test_broker_outage_leaves_the_notification_pending_for_the_sweep(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(NOW, tick=False) as traveller:
        with (
            mock.patch.object(
                notifications_send_email_task,
                "delay",
                side_effect=OperationalError("Error 111 connecting to 127.0.0.1:6379"),
            ) as delay,
            django_capture_on_commit_callbacks(execute=True),
        ):
            notification = services.notification_create(
                recipient=owner, kind="test", subject="Broker down"
            )

        delay.assert_called_once_with([notification.pk])
        notification.refresh_from_db()
        assert notification.email_status == Notification.EmailStatus.PENDING
        traveller.shift(timedelta(minutes=2))
        assert outbox.notifications_due_for_email(limit=10) == [notification.pk]


# --- Sending ------------------------------------------------------------------------------


def test_send_email_sends_once_and_marks_the_row_sent(owner: Any, mailoutbox: Any) -> None:
    notification = NotificationFactory(recipient=owner, subject="Your check-in is due")

    with time_machine.travel(NOW, tick=False):
        result = send(notification)

    assert result.sent == [notification.pk]
    assert result.failed == []
    assert result.error is None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [owner.email]
    assert message.subject == "[OKRly] Your check-in is due"
    assert "Hello Olga Owner" in message.body
    assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.SENT
    assert notification.emailed_at == NOW
    assert notification.email_attempts == 1


def test_sending_the_same_notification_again_sends_no_second_email(
    owner: Any, mailoutbox: Any
) -> None:
    notification = NotificationFactory(recipient=owner)
    first = send(notification)

    second = send(notification)
    third = outbox.notifications_send_email(notification_ids=[notification.pk, notification.pk])

    assert first.sent == [notification.pk]
    assert second.sent == third.sent == []
    assert len(mailoutbox) == 1
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.SENT
    assert notification.email_attempts == 1


def test_failed_send_releases_the_claim_and_the_retry_sends_exactly_once(
    owner: Any, mailoutbox: Any, refused: set[str]
) -> None:
    notification = NotificationFactory(recipient=owner)
    refused.add(owner.email)

    failed = send(notification)

    assert failed.sent == []
    assert failed.failed == [notification.pk]
    assert isinstance(failed.error, smtplib.SMTPException)
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.PENDING
    assert notification.email_claim is None
    assert notification.email_claimed_at is None
    assert notification.email_attempts == 1

    refused.clear()
    retried = outbox.notifications_send_email(notification_ids=failed.failed)
    again = outbox.notifications_send_email(notification_ids=failed.failed)

    assert retried.sent == [notification.pk]
    assert again.sent == []
    assert [m.to for m in mailoutbox] == [[owner.email]]
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.SENT
    assert notification.email_attempts == 2


def test_partial_failure_keeps_what_was_sent_and_retries_only_the_rest(
    owner: Any, teammate: Any, mailoutbox: Any, refused: set[str]
) -> None:
    # Sent in id order over one connection: Olga's first, then Tim's, which the server refuses.
    to_owner = NotificationFactory(recipient=owner)
    to_teammate = NotificationFactory(recipient=teammate)
    refused.add(teammate.email)

    result = send(to_owner, to_teammate)

    assert result.sent == [to_owner.pk]
    assert result.failed == [to_teammate.pk]
    to_owner.refresh_from_db()
    to_teammate.refresh_from_db()
    assert to_owner.email_status == Notification.EmailStatus.SENT
    assert to_teammate.email_status == Notification.EmailStatus.PENDING

    # A redelivered task carries the whole batch again: only Tim's e-mail goes out.
    refused.clear()
    retried = send(to_owner, to_teammate)

    assert retried.sent == [to_teammate.pk]
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, teammate.email])


def test_a_failure_stops_the_batch_and_releases_everything_unsent(
    owner: Any, teammate: Any, mailoutbox: Any, refused: set[str]
) -> None:
    to_owner = NotificationFactory(recipient=owner)
    to_teammate = NotificationFactory(recipient=teammate)
    refused.add(owner.email)

    result = send(to_owner, to_teammate)

    assert result.sent == []
    assert result.failed == [to_owner.pk, to_teammate.pk]
    assert mailoutbox == []
    assert set(
        Notification.objects.filter(email_status=Notification.EmailStatus.PENDING).values_list(
            "pk", flat=True
        )
    ) == {to_owner.pk, to_teammate.pk}


def test_recipient_without_an_address_is_skipped_and_nothing_is_sent(
    owner: Any, teammate: Any, mailoutbox: Any
) -> None:
    owner.email = ""
    owner.save(update_fields=["email"])
    no_address = NotificationFactory(recipient=owner)
    with_address = NotificationFactory(recipient=teammate)

    result = send(no_address, with_address)
    again = send(no_address)

    assert result.skipped == [no_address.pk]
    assert result.sent == [with_address.pk]
    assert again.skipped == again.sent == []
    assert [m.to for m in mailoutbox] == [[teammate.email]]
    no_address.refresh_from_db()
    assert no_address.email_status == Notification.EmailStatus.SKIPPED
    assert no_address.emailed_at is None


# --- The task -----------------------------------------------------------------------------


def test_task_sends_and_reports_counts(owner: Any, mailoutbox: Any) -> None:
    notification = NotificationFactory(recipient=owner)

    result = notifications_send_email_task.apply(args=([notification.pk],))

    assert result.state == states.SUCCESS
    assert result.result == {"sent": 1, "skipped": 0}
    assert len(mailoutbox) == 1


def test_task_retries_with_a_growing_backoff_then_gives_up(
    owner: Any, mailoutbox: Any, refused: set[str], retries: list[Any]
) -> None:
    # apply() runs the task as a worker would, except that each retry runs at once (eagerly)
    # instead of after its countdown; the countdowns asked for are recorded all the same.
    notification = NotificationFactory(recipient=owner)
    refused.add(owner.email)

    result = notifications_send_email_task.apply(args=([notification.pk],))

    assert [retry.when for retry in retries] == [30, 60, 120, 240, 480, 960]
    assert [retry.sig.args for retry in retries] == [([notification.pk],)] * 6
    assert result.state == states.FAILURE
    assert isinstance(result.result, NotificationEmailError)
    assert "relay refused" in str(result.result)
    assert mailoutbox == []
    notification.refresh_from_db()
    # Left pending, so the sweep tries again later.
    assert notification.email_status == Notification.EmailStatus.PENDING
    assert notification.email_attempts == 7


def test_task_retry_sends_only_the_notifications_that_failed(
    owner: Any, teammate: Any, mailoutbox: Any, refused: set[str], retries: list[Any]
) -> None:
    to_owner = NotificationFactory(recipient=owner)
    to_teammate = NotificationFactory(recipient=teammate)
    refused.add(teammate.email)
    # The server is back by the time the retry runs.
    task_retry.connect(lambda **kwargs: refused.clear(), weak=False, dispatch_uid="mend")

    try:
        result = notifications_send_email_task.apply(args=([to_owner.pk, to_teammate.pk],))
    finally:
        task_retry.disconnect(dispatch_uid="mend")

    assert [retry.when for retry in retries] == [30]
    assert retries[0].sig.args == ([to_teammate.pk],)
    assert result.state == states.SUCCESS
    assert result.result == {"sent": 1, "skipped": 0}
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, teammate.email])


# --- The sweep ----------------------------------------------------------------------------


def test_sweep_resends_a_stale_claim_but_leaves_a_fresh_one_alone(
    owner: Any, settings: Any, mailoutbox: Any
) -> None:
    timeout = timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT)
    with time_machine.travel(NOW, tick=False) as traveller:
        # A worker claimed this one and died before sending it.
        abandoned = NotificationFactory(recipient=owner)
        claim(abandoned)
        in_flight = NotificationFactory(recipient=owner)

        traveller.shift(timeout)
        # A live worker claims this one now; the abandoned claim is exactly as old as the
        # timeout, which still counts as held.
        claim(in_flight)
        assert outbox.notifications_due_for_email(limit=10) == []

        traveller.shift(timedelta(seconds=1))
        assert outbox.notifications_due_for_email(limit=10) == [abandoned.pk]
        with mock.patch.object(notifications_send_email_task, "delay") as delay:
            assert notifications_email_sweep() == 1
        delay.assert_called_once_with([abandoned.pk])

        # What the queued task does: the abandoned row goes out, the held one does not.
        result = send(abandoned, in_flight)

    assert result.sent == [abandoned.pk]
    assert len(mailoutbox) == 1
    in_flight.refresh_from_db()
    assert in_flight.email_status == Notification.EmailStatus.SENDING


def test_sweep_skips_notifications_younger_than_a_minute(owner: Any) -> None:
    with time_machine.travel(NOW, tick=False) as traveller:
        older = NotificationFactory(recipient=owner)
        traveller.shift(timedelta(seconds=30))
        younger = NotificationFactory(recipient=owner)
        traveller.shift(timedelta(seconds=31))

        due = outbox.notifications_due_for_email(limit=10)

    assert due == [older.pk]
    assert younger.pk not in due


def test_sweep_queues_due_notifications_in_batches(owner: Any, settings: Any) -> None:
    settings.NOTIFICATION_EMAIL_BATCH_SIZE = 2
    with time_machine.travel(NOW, tick=False) as traveller:
        due = [NotificationFactory(recipient=owner).pk for _ in range(5)]
        traveller.shift(timedelta(minutes=2))
        with mock.patch.object(notifications_send_email_task, "delay") as delay:
            queued = notifications_email_sweep()

    assert queued == 5
    assert [c.args[0] for c in delay.call_args_list] == [due[0:2], due[2:4], due[4:5]]


# --- The inbox ----------------------------------------------------------------------------


def test_recipient_sees_her_notifications_and_no_one_elses(
    client_for: Any, owner: Any, teammate: Any
) -> None:
    NotificationFactory(recipient=owner, subject="Lena asks you to own a key result")
    NotificationFactory(recipient=owner, subject="Your check-in is due")
    NotificationFactory(recipient=teammate, subject="Addressed to Tim")

    response = client_for(owner).get(reverse("inbox"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Lena asks you to own a key result" in content
    assert "Your check-in is due" in content
    assert "Addressed to Tim" not in content
    assert 'aria-label="2 unread"' in content


def test_recipient_marks_read_with_htmx_and_gets_the_row_and_the_new_badge(
    client_for: Any, owner: Any
) -> None:
    second = NotificationFactory.create_batch(3, recipient=owner)[1]

    response = client_for(owner).post(
        reverse("notification_read", args=[second.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content
    assert f'id="notification-{second.pk}"' in content
    assert "is-read" in content
    assert 'id="unread-badge"' in content
    assert 'hx-swap-oob="true"' in content
    assert 'aria-label="2 unread"' in content
    second.refresh_from_db()
    assert second.read_at is not None
    assert Notification.objects.unread().filter(recipient=owner).count() == 2


def test_mark_read_without_htmx_goes_back_to_the_inbox(client_for: Any, owner: Any) -> None:
    notification = NotificationFactory(recipient=owner)

    response = client_for(owner).post(reverse("notification_read", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("inbox")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_only_the_recipient_may_mark_a_notification_read(
    client: Any, owner: Any, teammate: Any, outsider: Any
) -> None:
    notification = NotificationFactory(recipient=owner)
    url = reverse("notification_read", args=[notification.pk])

    for other in (teammate, outsider):
        client.force_login(other)
        response = client.post(url, headers={"HX-Request": "true"})
        assert response.status_code == 403
        notification.refresh_from_db()
        assert notification.read_at is None

    client.logout()
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    notification.refresh_from_db()
    assert notification.read_at is None

    client.force_login(owner)
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_inbox_query_count_does_not_grow_with_the_number_of_notifications(
    client_for: Any, owner: Any
) -> None:
    client = client_for(owner)
    url = reverse("inbox")
    NotificationFactory.create_batch(3, recipient=owner)

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    NotificationFactory.create_batch(57, recipient=owner)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count('class="notification ') == 25
    assert len(many.captured_queries) == len(few.captured_queries), [
        q["sql"] for q in many.captured_queries
    ]


# --- Refused recipients and giving up ---------------------------------------------------------


class RecipientRefusingBackend(locmem.EmailBackend):
    """A server that refuses one address but keeps the connection open for the others."""

    refused: set[str] = set()

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        for message in messages:
            bad = self.refused & set(message.to)
            if bad:
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(bad, (550, b"no such user")))
        return super().send_messages(messages)


@pytest.fixture
def refused_recipients(settings: Any) -> Iterator[set[str]]:
    settings.EMAIL_BACKEND = f"{__name__}.RecipientRefusingBackend"
    addresses: set[str] = set()
    with mock.patch.object(RecipientRefusingBackend, "refused", addresses):
        yield addresses


def test_a_refused_recipient_does_not_hold_up_the_rest_of_the_batch(
    owner: Any, teammate: Any, outsider: Any, mailoutbox: Any, refused_recipients: set[str]
) -> None:
    first = NotificationFactory(recipient=owner)
    bounced = NotificationFactory(recipient=teammate)
    last = NotificationFactory(recipient=outsider)
    refused_recipients.add(teammate.email)

    result = send(first, bounced, last)

    assert result.sent == [first.pk, last.pk]
    assert result.failed == [bounced.pk]
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, outsider.email])


def test_after_the_last_attempt_the_email_is_marked_failed_and_not_swept_again(
    owner: Any, refused_recipients: set[str], settings: Any
) -> None:
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 3
    notification = NotificationFactory(recipient=owner)
    refused_recipients.add(owner.email)
    Notification.objects.filter(pk=notification.pk).update(email_attempts=2)

    result = send(notification)

    notification.refresh_from_db()
    assert (notification.email_status, notification.email_attempts) == ("failed", 3)
    assert result.failed == []  # nothing left for the task to retry
    assert notification.read_at is None  # the in-app notification is still there to read
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert outbox.notifications_due_for_email(limit=10) == []


def test_no_connection_is_opened_when_every_row_is_skipped(owner: Any) -> None:
    owner.email = ""
    owner.save(update_fields=["email"])
    notification = NotificationFactory(recipient=owner)
    with mock.patch.object(outbox, "get_connection") as get_connection:
        result = send(notification)
    assert result.skipped == [notification.pk]
    get_connection.assert_not_called()
