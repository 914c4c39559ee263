"""Leaders act on the dashboard: nudge someone about what they owe, reply to a risky
check-in. Both are limited to team leads, managers and the leadership group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from checkins import links
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import registry
from okrly.access import can_lead
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Quarter, display_name
from okrly.services import notification_create
from reviews.models import Nudge

if TYPE_CHECKING:
    from okrly.types import User


def _checkin_target(recipient: User, key_result_id: int) -> tuple[str, str]:
    kr = KeyResult.objects.select_related("objective__quarter").filter(pk=key_result_id).first()
    if kr is None:
        raise RuleBroken("There is no such key result.")
    if kr.owner_id != recipient.pk:
        raise RuleBroken(
            f"{display_name(recipient)} does not own “{kr.title}”; a nudge about a check-in "
            "goes to the key result's owner."
        )
    if kr.displaced_by_id is not None:
        raise RuleBroken(
            f"“{kr.title}” was displaced by trade-off #{kr.displaced_by_id}; it needs no "
            "check-in to nudge about."
        )
    week = kr.objective.quarter.current_week(recipient)
    which = f"week {week} check-in" if week else "check-in"
    return links.card_path(
        kr.pk
    ), f"Your {which} for “{kr.title}” is missing: answer it in My week."


def _dependency_target(recipient: User, dependency_id: int) -> tuple[str, str]:
    dep = Dependency.objects.select_related("key_result").filter(pk=dependency_id).first()
    if dep is None:
        raise RuleBroken("There is no such dependency.")
    if recipient.pk not in (dep.responsible_id, dep.key_result.owner_id):
        raise RuleBroken(
            f"“{dep.deliverable}” is neither {display_name(recipient)}'s to deliver nor their "
            "key result's; a nudge about a dependency goes to one of those two."
        )
    return (
        dep.get_absolute_url(),
        f"About “{dep.deliverable}” for “{dep.key_result.title}”, due {dep.due_date:%d %b}: "
        "answer it on its page.",
    )


def _person_target(recipient: User) -> tuple[str, str]:
    """Everything the person owes has two homes: this week's missing check-ins are answered
    in My week, the rest (dependency requests, needs, nominations) in "Asked of me". The link
    opens the first place where something waits; the body names both."""
    quarter = Quarter.objects.current(timezone.localdate())
    week = quarter.current_week(recipient) if quarter else None
    missing = (
        list(
            KeyResult.objects.in_play()
            .filter(owner=recipient, objective__quarter=quarter)
            .exclude(checkins__week=week)
            .order_by("objective__team__name", "objective__rank", "pk")
        )
        if quarter and week
        else []
    )
    asked = registry.asked_of(recipient)
    lines = []
    if missing:
        titles = ", ".join(f"“{kr.title}”" for kr in missing)
        lines.append(f"Your week {week} check-in is missing for {titles}: answer it in My week.")
    if asked:
        items = f"{len(asked)} item{' waits' if len(asked) == 1 else 's wait'}"
        lines.append(f"{items} for you in “Asked of me”.")
    if missing:
        # The card itself (with its Accept/Decline panel first, if not accepted yet).
        link = links.card_path(missing[0].pk)
    elif asked:
        # The row of the first thing waiting, where it is answered.
        first = asked[0].anchor
        link = reverse("asked_of_me") + (f"#{first}" if first else "")
    else:
        link = reverse("home")
        lines.append("Nothing is open for you right now; My week shows your key results.")
    return link, "\n".join(lines)


NUDGE_MESSAGE_MAX = 300


def _nudge_target(recipient: User, item_kind: str, item_id: int) -> tuple[str, str]:
    """Where the recipient answers what they are nudged about (the notification's link), and
    what to say about it. Refuses an item that is not the recipient's to answer."""
    if item_kind == Nudge.Item.CHECKIN:
        return _checkin_target(recipient, item_id)
    if item_kind == Nudge.Item.DEPENDENCY:
        return _dependency_target(recipient, item_id)
    if item_id != recipient.pk:
        raise RuleBroken("A nudge about a person goes to that person.")
    return _person_target(recipient)


@transaction.atomic
def nudge_send(*, user: User, recipient: User, item_kind: str, item_id: int, message: str) -> Nudge:
    """One notification per item per day, whoever sends it (a unique row is the limit)."""
    if not can_lead(user, recipient):
        raise NotAllowed(
            f"Only {display_name(recipient)}'s manager, a lead of their team or the leadership "
            "group can nudge them."
        )
    said = " ".join((message or "").split())
    if len(said) > NUDGE_MESSAGE_MAX:
        raise RuleBroken(
            f"Keep the message under {NUDGE_MESSAGE_MAX} characters (this is {len(said)}).",
            field="message",
        )
    link, where = _nudge_target(recipient, item_kind, item_id)
    today = timezone.localdate()
    try:
        with transaction.atomic():
            nudge = Nudge.objects.create(
                sender=user,
                recipient=recipient,
                item_kind=item_kind,
                item_id=item_id,
                day=today,
                message=said,
            )
    except IntegrityError as exc:
        raise RuleBroken(
            f"{display_name(recipient)} was already nudged about this today; once a day is enough."
        ) from exc
    notification_create(
        recipient=recipient,
        kind="nudge",
        subject=f"{display_name(user)} nudges you: {said or 'please look at what you owe'}",
        body=f"From the accountability dashboard. {where}",
        link=link,
    )
    return nudge


def nudged_today(recipient_ids: list[int], item_kind: str) -> dict[int, str]:
    """Who nudged each of these people today about ``item_kind`` (the latest sender's name),
    for the pages that offer a nudge: one query."""
    if not recipient_ids:
        return {}
    found: dict[int, str] = {}
    for nudge in (
        Nudge.objects.filter(
            recipient_id__in=recipient_ids, item_kind=item_kind, day=timezone.localdate()
        )
        .select_related("sender")
        .order_by("created_at")
    ):
        found[nudge.recipient_id] = display_name(nudge.sender)
    return found
