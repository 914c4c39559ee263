"""Challenges to a reading (rule 9): "this is not what we meant".

A member of an objective's definition group may say that another member's reading (of the
current version or an older one) is not what was meant, saying what was meant instead. That
opens a thread under the reading on the objective's page; the group, the challenged reader
and whoever opened it reply there. The definition's author (else the leads of the
objective's team) and the challenged reader are told of every new message, so a divergent
reading is argued out where everyone sees it rather than discovered in week 10.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.urls import reverse

from objectives import definitions
from objectives.models import (
    DefinitionAcknowledgement,
    DefinitionChallenge,
    DefinitionComment,
    Objective,
)
from okrly.access import can_challenge_reading, can_reply_to_challenge, team_leads
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import display_name
from okrly.services import notification_create

if TYPE_CHECKING:
    from okrly.types import User

MESSAGE_MAX_CHARS = 2000


def challenge_link(challenge: DefinitionChallenge, objective: Objective) -> str:
    """The thread on the objective's page."""
    return reverse("objectives:detail", args=[objective.pk]) + f"#challenge-{challenge.pk}"


def _clean(text: str, *, field: str, empty: str) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleBroken(empty, field=field)
    if len(text) > MESSAGE_MAX_CHARS:
        raise RuleBroken(
            f"Keep it under {MESSAGE_MAX_CHARS} characters ({len(text)} now): say the one thing "
            "that was meant; the thread is there for the rest.",
            field=field,
        )
    return text


def _group_ids(objective: Objective) -> set[int]:
    return {person.pk for person in definitions.definition_group(objective)}


def _notify(
    challenge: DefinitionChallenge,
    *,
    by: User,
    subject: str,
    body: str,
    also: tuple[User, ...] = (),
) -> None:
    """The definition's author (the current version's, else the leads of the objective's
    team), the challenged reader and ``also``; never the person who wrote the message."""
    objective = challenge.acknowledgement.version.objective
    version = definitions.current_version(objective)
    author = version.author if version is not None else None
    authors = [author] if author is not None and author.is_active else team_leads(objective.team)
    people: dict[int, User] = {}
    for person in [*authors, challenge.acknowledgement.person, *also]:
        if person.pk != by.pk and person.is_active:
            people.setdefault(person.pk, person)
    for person in people.values():
        notification_create(
            recipient=person,
            kind="definition_challenge",
            subject=subject,
            body=body,
            link=challenge_link(challenge, objective),
        )


@transaction.atomic
def definition_challenge(
    *, user: User, acknowledgement: DefinitionAcknowledgement, message: str
) -> DefinitionChallenge:
    """``user`` says ``acknowledgement`` is not what the definition meant, and what was.

    1. A member of the objective's definition group, on another member's reading (of any
       version): not their own (they would acknowledge again), nobody outside the group.
    2. The message says what was meant instead: required.
    3. Once per reading and person: a second challenge is refused; the thread takes replies.
    4. The challenge and its first message are written together; the definition's author and
       the reader are notified (the e-mails leave after commit).
    """
    version = acknowledgement.version
    objective = version.objective
    reader = acknowledgement.person
    if not can_challenge_reading(
        user, group_ids=_group_ids(objective), reader_id=acknowledgement.person_id
    ):
        if user.pk == acknowledgement.person_id:
            raise NotAllowed(
                "This is your own reading: to read the definition differently, say so in a "
                "challenge to someone else's reading or ask its author to change it."
            )
        raise NotAllowed(
            f"Only the leaders who must share “{objective.title}”'s definition may challenge a "
            "reading of it."
        )
    message = _clean(
        message,
        field="message",
        empty=f"Say what was meant instead: {display_name(reader)} will read your message to "
        "see where their reading differs.",
    )
    already = (
        f"You have already challenged {display_name(reader)}'s reading of version "
        f"{version.number}; add to that thread instead of opening another."
    )
    if DefinitionChallenge.objects.filter(acknowledgement=acknowledgement, author=user).exists():
        raise RuleBroken(already, field="message")
    try:
        with transaction.atomic():
            challenge = DefinitionChallenge.objects.create(
                acknowledgement=acknowledgement, author=user
            )
    except IntegrityError:  # the same person, twice at once: the constraint decides
        raise RuleBroken(already, field="message") from None
    DefinitionComment.objects.create(challenge=challenge, author=user, body=message)
    _notify(
        challenge,
        by=user,
        subject=f"“Not what we meant”: {display_name(reader)}'s reading of “{objective.title}”",
        body=(
            f"{display_name(user)} says {display_name(reader)}'s reading of version "
            f"{version.number} (“{acknowledgement.reading}”) is not what was meant: {message}"
        ),
    )
    return challenge


@transaction.atomic
def challenge_reply(*, user: User, challenge: DefinitionChallenge, body: str) -> DefinitionComment:
    """``user`` adds ``body`` to a challenge's thread.

    1. The objective's definition group, the challenged reader and whoever opened it.
    2. The reply is required.
    3. The definition's author, the reader and whoever opened the thread are notified, but
       not the person replying.
    """
    acknowledgement = challenge.acknowledgement
    objective = acknowledgement.version.objective
    if not can_reply_to_challenge(
        user,
        group_ids=_group_ids(objective),
        reader_id=acknowledgement.person_id,
        challenger_id=challenge.author_id,
    ):
        raise NotAllowed(
            f"Only the leaders who must share “{objective.title}”'s definition, and the leader "
            "whose reading was challenged, reply to this thread."
        )
    body = _clean(body, field="body", empty="Write your reply before sending it.")
    comment = DefinitionComment.objects.create(challenge=challenge, author=user, body=body)
    _notify(
        challenge,
        by=user,
        also=(challenge.author,),
        subject=(
            f"Reply on {display_name(acknowledgement.person)}'s reading of “{objective.title}”"
        ),
        body=f"{display_name(user)}: {body}",
    )
    return comment


def challenges_by_reading(objective: Objective) -> dict[int, list[DefinitionChallenge]]:
    """Every challenge to a reading of ``objective`` (any version), with its comments, by
    acknowledgement id, oldest first: two queries, however many threads and messages."""
    found: dict[int, list[DefinitionChallenge]] = {}
    rows = (
        DefinitionChallenge.objects.filter(acknowledgement__version__objective=objective)
        .select_related("author", "acknowledgement__person", "acknowledgement__version")
        .prefetch_related(
            Prefetch(
                "comments",
                queryset=DefinitionComment.objects.select_related("author").order_by(
                    "created_at", "pk"
                ),
            )
        )
        .order_by("created_at", "pk")
    )
    for challenge in rows:
        found.setdefault(challenge.acknowledgement_id, []).append(challenge)
    return found
