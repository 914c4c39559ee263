"""The escalation ladder, written once: each subject that escalates is a small declaration.

``climb`` runs one declared ladder (rule 7: reminder to the responsible person, then their
lead, then the leadership group; once per rung, never duplicated):

1. A declaration may first stop, in one statement, the rows that can never climb again (a
   closed quarter's), so that they are never listed and the job's cost does not grow with
   them. Then one indexed query lists the ids due now; rows not due are never read.
2. Each id is handled in its own transaction: re-read under a row lock. A row another worker
   holds is skipped (``skip_locked``: that worker is climbing it, or a person is changing
   it; the next run sees it again), and so is a row another run has already moved on.
3. The declaration's stop condition ends the ladder there (no next rung). A subject that no
   longer owes anything is completed.
4. Insert the rung row. It is unique per (subject, rung): if another worker inserted it
   first, the insert fails and this run sends nothing.
5. Notify the rung's recipients in the inbox, advance the rung and schedule the next one:
   the declaration's start plus the rung hours (a setting). A declaration with ``channels``
   also queues the rung's message for the Slack and Teams channels it names (issue 16), in
   the same transaction, keyed by the rung row: never twice.
6. After all, queue the e-mails in batches (one connection per batch).

The subject's model carries the ladder in two fields: ``escalation_rung`` (the last rung
reached, 0 for none) and ``next_escalation_at`` (NULL when nothing is to escalate, with a
partial index for step 1). docs/ladders.md shows how to declare a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, models, transaction

from okrly import channel_messages
from okrly.channel_services import channel_post
from okrly.models import TimeStampedModel
from okrly.services import notification_create, notifications_queue_email

if TYPE_CHECKING:
    from okrly.types import User

Subject = TypeVar("Subject", bound=models.Model)


@dataclass(frozen=True)
class Message:
    """What one rung says: the notification's kind, subject line, body and link."""

    kind: str
    subject: str
    body: str
    link: str


@dataclass
class LadderRun:
    """What one run did: rungs climbed, notifications written, subjects found completed."""

    escalated: int = 0
    notifications: int = 0
    completed: int = 0


def _never(subject: Any, now: datetime) -> bool:
    return False


def _itself(subject: Any) -> Any:
    return subject


@dataclass(frozen=True)
class Ladder(Generic[Subject]):
    """A subject's ladder. Every callable gets the row re-read under the lock.

    - ``rung_hours``: the name of the setting listing, per rung, the hours after ``start``
      at which it is due (its length is the number of rungs).
    - ``due(now)``: the subjects whose next rung is due, by the indexed
      ``next_escalation_at``.
    - ``locked()``: the queryset the row is re-read from under the lock, with the
      ``select_related`` the other callables need (no query of their own for those).
    - ``start(subject)``: when the ladder started counting (None: nothing to escalate).
    - ``record(subject, rung, now)``: insert the unique rung row and return it.
    - ``recipients(subject, rung, owed)`` and ``message(subject, rung, owed, now)``.
    - ``owed(subject)``: what is still owed, read after the lock and handed to recipients
      and message; empty means the subject is done (by default, the subject itself).
    - ``stops(subject, now)``: the ladder ends here without being done.
    - ``expired(now)``: due rows that can never climb again, stopped in one statement.
    - ``completed_field``: a date field set when the subject is found done.
    - ``count_field``: the rung row's field that records how many people were told.
    - ``channels(subject, rung)``: the team ids whose channels hear of this rung, and whether
      the leadership group's channels do too (issue 16).
    """

    rung_hours: str
    due: Callable[[datetime], models.QuerySet[Subject]]
    locked: Callable[[], models.QuerySet[Subject]]
    start: Callable[[Subject], datetime | None]
    record: Callable[[Subject, int, datetime], models.Model]
    recipients: Callable[[Subject, int, Any], list[User]]
    message: Callable[[Subject, int, Any, datetime], Message]
    owed: Callable[[Subject], Any] = _itself
    stops: Callable[[Subject, datetime], bool] = _never
    expired: Callable[[datetime], models.QuerySet[Subject]] | None = None
    completed_field: str = ""
    count_field: str = ""
    channels: Callable[[Subject, int], tuple[list[int], bool]] | None = None

    @property
    def hours(self) -> list[int]:
        return list(getattr(settings, self.rung_hours))

    def rung_at(self, start: datetime | None, reached: int) -> datetime | None:
        """When the rung after ``reached`` is due, counted from ``start``; None when there is
        no start or no rung left (or the date is beyond the calendar)."""
        hours = self.hours
        if start is None or reached >= len(hours):
            return None
        try:
            return start + timedelta(hours=hours[reached])
        except OverflowError:  # a start at the end of the calendar: never escalates
            return None

    def next_rung_at(self, subject: Subject) -> datetime | None:
        row: Any = subject
        return self.rung_at(self.start(subject), row.escalation_rung)


def _update_fields(row: models.Model, *names: str) -> list[str]:
    # update_fields skips auto_now fields unless they are named.
    return [*names, "updated_at"] if isinstance(row, TimeStampedModel) else list(names)


def climb(ladder: Ladder[Subject], *, now: datetime, limit: int = 500) -> LadderRun:
    """Climb one rung for every subject of ``ladder`` whose next rung is due (see the
    module's docstring for the steps)."""
    run = LadderRun()
    if ladder.expired is not None:
        ladder.expired(now).update(next_escalation_at=None)
    due_ids = list(
        ladder.due(now).order_by("next_escalation_at").values_list("pk", flat=True)[:limit]
    )
    notification_ids: list[int] = []
    for pk in due_ids:
        with transaction.atomic():
            notification_ids += _climb_one(ladder, pk, now, run)
    notifications_queue_email(notification_ids)
    return run


def _climb_one(ladder: Ladder[Subject], pk: Any, now: datetime, run: LadderRun) -> list[int]:
    """One subject, inside its transaction; returns the notifications to e-mail."""
    # Lock the subject's row only (of=self): its select_related joins can be nullable, and
    # PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    rows = list(ladder.locked().select_for_update(of=("self",), skip_locked=True).filter(pk=pk))
    if not rows:
        return []  # held by another worker (or deleted since listed)
    row: Any = rows[0]
    if row.next_escalation_at is None or row.next_escalation_at > now:
        return []  # another run moved it on
    if ladder.stops(row, now):
        row.next_escalation_at = None
        row.save(update_fields=_update_fields(row, "next_escalation_at"))
        return []
    owed = ladder.owed(row)
    if not owed:
        names = ["next_escalation_at"]
        if ladder.completed_field:
            setattr(row, ladder.completed_field, getattr(row, ladder.completed_field) or now)
            names.insert(0, ladder.completed_field)
        row.next_escalation_at = None
        row.save(update_fields=_update_fields(row, *names))
        run.completed += 1
        return []
    rung = row.escalation_rung + 1
    try:
        with transaction.atomic():
            rung_row = ladder.record(row, rung, now)
    except IntegrityError:
        return []  # another run reached this rung first and notified
    message = ladder.message(row, rung, owed, now)
    recipients = ladder.recipients(row, rung, owed)
    notification_ids = [
        notification_create(
            recipient=recipient,
            kind=message.kind,
            subject=message.subject,
            body=message.body,
            link=message.link,
            email=False,  # queued in batches by climb
        ).pk
        for recipient in recipients
    ]
    if ladder.channels is not None:
        team_ids, leadership = ladder.channels(row, rung)
        if team_ids or leadership:
            channel_post(
                key=f"rung:{rung_row._meta.label_lower}:{rung_row.pk}",
                message=channel_messages.Message.from_notice(
                    subject=message.subject, body=message.body, link=message.link
                ),
                team_ids=team_ids,
                leadership=leadership,
            )
    if ladder.count_field:
        setattr(rung_row, ladder.count_field, len(recipients))
        rung_row.save(update_fields=[ladder.count_field])
    row.escalation_rung = rung
    row.next_escalation_at = ladder.next_rung_at(row)
    row.save(update_fields=_update_fields(row, "escalation_rung", "next_escalation_at"))
    run.escalated += 1
    run.notifications += len(recipients)
    return notification_ids
