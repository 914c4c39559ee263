"""Ownership's part of "Asked of me": nominations to answer (two queries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from objectives.models import KeyResult, Objective
from okrly import sql
from okrly.links import link
from okrly.models import Quarter, Team
from okrly.registry import Action, AskedItem
from ownership.models import OwnershipNomination

if TYPE_CHECKING:
    from okrly.types import User


def asked_of(user: User) -> list[AskedItem]:
    kr, person, team = sql.table(KeyResult), sql.table(get_user_model()), sql.table(Team)
    items = []
    # Newest first, as the nominations' own order.
    for row in sql.rows(
        f"""
SELECT n.reason, n.created_at, n.key_result_id, k.title, b.first_name, b.last_name
FROM {sql.table(OwnershipNomination)} n
JOIN {kr} k ON k.id = n.key_result_id
LEFT JOIN {person} b ON b.id = n.nominated_by_id
WHERE {_nominated()}
ORDER BY n.created_at DESC, n.id DESC""",
        [user.pk],
    ):
        by = sql.full_name(row.first_name, row.last_name) if row.first_name is not None else None
        items.append(
            AskedItem(
                kind="Ownership handover",
                title=row.title,
                detail=f"{by if by is not None else 'A lead'} nominates you as owner: {row.reason}",
                link=link("objectives:key_result", row.key_result_id),
                since=row.created_at,
                actions=[Action("Accept", link("ownership:accept", row.key_result_id))],
                anchor=f"accept-{row.key_result_id}",
            )
        )
    # The user's key results they have neither accepted nor declined, and that no handover
    # is pending on, in open quarters; a key result a trade-off dropped or deferred
    # (``displaced_by``: ``KeyResult.objects.in_play()``) asks nobody to accept it any more.
    # In the key results' own order (their objective's: quarter, newest first; team; rank).
    for row in sql.rows(
        f"""
SELECT k.id, k.title, k.created_at, t.name AS team
FROM {_accept_from()}
JOIN {team} t ON t.id = o.team_id
WHERE {_to_accept()}
ORDER BY q.start DESC, t.name, o.rank, o.id, k.id""",
        _to_accept_params(user),
    ):
        items.append(
            AskedItem(
                kind="Ownership to accept",
                title=row.title,
                detail=f"You were named owner of this {row.team} key result.",
                link=link("objectives:key_result", row.id),
                since=row.created_at,
                actions=[Action("Accept", link("ownership:accept", row.id))],
                anchor=f"accept-{row.id}",
            )
        )
    return items


# The two kinds of item as FROM ... WHERE, listed above and counted by ``count_sql`` alike.


def _nominated() -> str:
    """The user's (one ``%s``) pending nominations, of nominations ``n``."""
    # A literal: the partial indexes of pending nominations serve it (okrly.sql.constants).
    pending = sql.constants([OwnershipNomination.Status.PENDING.value])
    return f"n.nominee_id = %s AND n.status = {pending}"


def _accept_from() -> str:
    """Key results ``k`` with their objective ``o`` and quarter ``q``."""
    return (
        f"{sql.table(KeyResult)} k JOIN {sql.table(Objective)} o ON o.id = k.objective_id "
        f"JOIN {sql.table(Quarter)} q ON q.id = o.quarter_id"
    )


def _to_accept() -> str:
    """Of ``_accept_from``, the key results the user owns and has neither accepted nor
    declined; parameters from ``_to_accept_params``."""
    nomination = sql.table(OwnershipNomination)
    pending = sql.constants([OwnershipNomination.Status.PENDING.value])
    return f"""k.owner_id = %s AND k.displaced_by_id IS NULL AND q.status <> %s
  AND NOT EXISTS (
      SELECT 1 FROM {nomination} a
      WHERE a.key_result_id = k.id AND a.nominee_id = %s AND a.status IN (%s, %s))
  AND NOT EXISTS (
      SELECT 1 FROM {nomination} p WHERE p.key_result_id = k.id AND p.status = {pending})"""


def _to_accept_params(user: User) -> list[Any]:
    return [
        user.pk,
        Quarter.Status.CLOSED.value,
        user.pk,
        OwnershipNomination.Status.ACCEPTED.value,
        OwnershipNomination.Status.DECLINED.value,
    ]


def count_sql(user: User) -> tuple[str, list[Any]]:
    """``len(asked_of(user))`` as a scalar SQL subquery (the navigation's count)."""
    return (
        f"SELECT (SELECT COUNT(*) FROM {sql.table(OwnershipNomination)} n WHERE {_nominated()})"
        f" + (SELECT COUNT(*) FROM {_accept_from()} WHERE {_to_accept()})",
        [user.pk, *_to_accept_params(user)],
    )
