"""Leaders act on the dashboard: nudge someone about what they owe, reply to a risky
check-in. Both are limited to team leads, managers and the leadership group."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from checkins.models import CheckIn
from okrly.access import can_lead
from okrly.errors import PermissionDenied, ValidationError
from okrly.models import display_name
from okrly.services import notification_create
from reviews.models import CheckInAcknowledgement, Nudge


def _check_item(recipient: Any, item_kind: str, item_id: int) -> None:
    if item_kind == Nudge.Item.PERSON and item_id != recipient.pk:
        raise ValidationError("A nudge about a person goes to that person.")


@transaction.atomic
def nudge_send(*, user: Any, recipient: Any, item_kind: str, item_id: int, message: str) -> Nudge:
    """One notification per item per day, whoever sends it (a unique row is the limit)."""
    if not can_lead(user, recipient):
        raise PermissionDenied(
            f"Only {display_name(recipient)}'s manager, a lead of their team or the leadership "
            "group can nudge them."
        )
    _check_item(recipient, item_kind, item_id)
    today = timezone.localdate()
    try:
        with transaction.atomic():
            nudge = Nudge.objects.create(
                sender=user, recipient=recipient, item_kind=item_kind, item_id=item_id, day=today
            )
    except IntegrityError as exc:
        raise ValidationError(
            f"{display_name(recipient)} was already nudged about this today; once a day is enough."
        ) from exc
    notification_create(
        recipient=recipient,
        kind="nudge",
        subject=f"{display_name(user)} nudges you: {message}",
        body="From the accountability dashboard. Open “Asked of me” to answer.",
        link="/asked/",
    )
    return nudge


@transaction.atomic
def checkin_acknowledge(*, user: Any, check_in: CheckIn, reply: str) -> CheckInAcknowledgement:
    """A leader answers a risky check-in; the owner sees the reply on the key result page."""
    owner = check_in.key_result.owner
    if not can_lead(user, owner):
        raise PermissionDenied(
            f"Only {display_name(owner)}'s manager, a lead of their team or the leadership "
            "group can reply to this check-in."
        )
    if not reply.strip():
        raise ValidationError("Write a short reply: what will you do about it?", field="reply")
    ack = CheckInAcknowledgement.objects.create(check_in=check_in, leader=user, reply=reply.strip())
    notification_create(
        recipient=owner,
        kind="checkin_ack",
        subject=f"{display_name(user)} replied to your week {check_in.week} check-in",
        body=ack.reply,
        link=check_in.key_result.get_absolute_url(),
    )
    return ack
