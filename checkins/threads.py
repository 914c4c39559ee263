"""A check-in's thread (issue 15): replies, answers, comments and a leader's "Seen", with
@mentions that notify the people named; written by ``checkin_comment``, shown by
``thread_html`` wherever the check-in is (its week in the timeline, the risk feed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString

from checkins.models import CheckIn, CheckInComment
from okrly import access
from okrly.errors import NotAllowed, RuleBroken
from okrly.html import csrf_input, html
from okrly.links import link
from okrly.models import display_name
from okrly.services import notification_create
from okrly.zones import local_time

if TYPE_CHECKING:
    from okrly.types import User

BODY_MAX = 2000
# "@olga" or "@Olga": a username (letters, digits and @/./+/-/_ as Django allows, but not
# ending in punctuation) or a first name.
MENTION = re.compile(r"(?<![\w@])@([\w.+-]*\w)")


def mentioned(body: str, *, exclude: set[int]) -> list[User]:
    """The active people a text names with @: by username, or by first name when exactly one
    person has it (an ambiguous first name notifies nobody rather than the wrong person)."""
    # At most ten names a comment: one query whatever is typed.
    names = sorted({m.lower() for m in MENTION.findall(body)})[:10]
    if not names:
        return []
    matches = Q()
    for name in names:
        matches |= Q(username__iexact=name) | Q(first_name__iexact=name)
    people = list(get_user_model().objects.filter(matches, is_active=True))
    found: dict[int, User] = {}
    for name in names:
        by_username = [p for p in people if p.username.lower() == name]
        by_first = [p for p in people if p.first_name.lower() == name]
        match = by_username or (by_first if len(by_first) == 1 else [])
        for person in match:
            if person.pk not in exclude:
                found[person.pk] = person
    return list(found.values())


def thread_link(check_in: CheckIn) -> str:
    """Where a check-in's thread is: its week in the key result's timeline."""
    return f"{check_in.key_result.get_absolute_url()}#checkin-entry-{check_in.pk}"


@transaction.atomic
def checkin_comment(
    *, user: User, check_in: CheckIn, body: str = "", seen: bool = False
) -> CheckInComment:
    """Add to a check-in's thread.

    1. Anyone signed in comments (every OKR is readable by everyone); "Seen" is a leader's
       (the owner's manager, a lead of their team, leadership: ``access.can_lead``).
    2. A comment says something (at most BODY_MAX characters); "Seen" needs no text.
    3. The owner is told (unless they wrote it), and so is everyone @mentioned.
    """
    owner = check_in.key_result.owner
    leads = access.can_lead(user, owner)
    if seen and not leads:
        raise NotAllowed(
            f"Only {display_name(owner)}'s manager, a lead of their team or the leadership "
            "group marks their check-in seen."
        )
    text = (body or "").strip()
    if not seen and not text:
        raise RuleBroken("Write something, or go back.", field="body")
    if len(text) > BODY_MAX:
        raise RuleBroken(
            f"Keep it under {BODY_MAX} characters (this is {len(text)}).", field="body"
        )
    comment = CheckInComment.objects.create(
        check_in=check_in,
        author=user,
        body=text,
        seen=seen,
        by_leader=leads,
        created_at=timezone.now(),
    )
    link = thread_link(check_in)
    week = f"week {check_in.week} check-in for “{check_in.key_result.title}”"
    if owner.pk != user.pk:
        notification_create(
            recipient=owner,
            kind="checkin_seen" if seen and not text else "checkin_comment",
            subject=(
                f"{display_name(user)} saw your {week}"
                if seen and not text
                else f"{display_name(user)} replied to your {week}"
            ),
            body=text,
            link=link,
        )
    for person in mentioned(text, exclude={user.pk, owner.pk}):
        notification_create(
            recipient=person,
            kind="mention",
            subject=f"{display_name(user)} mentioned you on the {week}",
            body=text,
            link=link,
        )
    return comment


# --- showing a thread ---------------------------------------------------------------------------


@dataclass
class Entry:
    """One entry as a thread prints it (from the ORM on the timeline, from SQL rows in the
    risk feed)."""

    author: str
    body: str
    seen: bool
    by_leader: bool
    created_at: datetime


def entry_of(comment: CheckInComment) -> Entry:
    return Entry(
        display_name(comment.author),
        comment.body,
        comment.seen,
        comment.by_leader,
        comment.created_at,
    )


def _entry_html(entry: Entry) -> str:
    when = local_time(entry.created_at)
    role = ' <span class="pill pill-muted">leader</span>' if entry.by_leader else ""
    if entry.seen and not entry.body:
        return html(
            '<li class="thread-entry thread-seen">✓ Seen by <strong>{}</strong>{} '
            '<small class="muted">{}</small></li>',
            entry.author,
            SafeString(role),
            when,
        )
    seen = " · ✓ seen" if entry.seen else ""
    return html(
        '<li class="thread-entry{}"><strong>{}</strong>{}: {} <small class="muted">{}{}</small>'
        "</li>",
        " thread-leader" if entry.by_leader else "",
        entry.author,
        SafeString(role),
        entry.body,
        when,
        seen,
    )


def thread_html(
    check_in_pk: int, week: int, entries: list[Entry], *, token: str, may_mark_seen: bool
) -> SafeString:
    """A check-in's thread and its reply form: under its week in the timeline and under the
    item in the risk feed. Posting swaps the whole block (``checkins.views.comment``)."""
    url = link("checkins:comment", check_in_pk)
    # Once a leader has answered (a reply or Seen), a second Seen would say nothing new: the
    # button goes, and the entry says who saw it. Replying stays open to everyone.
    seen_button = (
        '<button type="submit" name="seen" value="1" class="secondary small">Seen</button>'
        if may_mark_seen and not any(e.by_leader for e in entries)
        else ""
    )
    return html(
        '<div class="thread" id="thread-{0}" data-announce-text="Thread updated.">'
        '<ol class="thread-entries">{1}</ol>'
        '<form method="post" action="{2}" hx-post="{2}" hx-target="#thread-{0}" '
        'hx-swap="outerHTML" class="thread-form">{3}'
        '<label for="thread-{0}-body" class="visually-hidden">Reply on week {4}</label>'
        '<input type="text" name="body" id="thread-{0}-body" maxlength="{5}" '
        'placeholder="Reply or comment; @name notifies someone">'
        '<button type="submit" class="small">Reply</button>{6}</form></div>',
        check_in_pk,
        SafeString("".join(_entry_html(e) for e in entries)),
        url,
        csrf_input(token),
        week,
        BODY_MAX,
        SafeString(seen_button),
    )
