"""Ownership's part of "Asked of me": nominations to answer (two queries)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    nomination, kr, person, objective, quarter, team = (
        sql.table(OwnershipNomination),
        sql.table(KeyResult),
        sql.table(get_user_model()),
        sql.table(Objective),
        sql.table(Quarter),
        sql.table(Team),
    )
    # A literal: the partial indexes of pending nominations serve it (okrly.sql.constants).
    pending = sql.constants([OwnershipNomination.Status.PENDING.value])
    items = []
    # Newest first, as the nominations' own order.
    for row in sql.rows(
        f"""
SELECT n.reason, n.created_at, n.key_result_id, k.title, b.first_name, b.last_name
FROM {nomination} n
JOIN {kr} k ON k.id = n.key_result_id
LEFT JOIN {person} b ON b.id = n.nominated_by_id
WHERE n.nominee_id = %s AND n.status = {pending}
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
FROM {kr} k
JOIN {objective} o ON o.id = k.objective_id
JOIN {quarter} q ON q.id = o.quarter_id
JOIN {team} t ON t.id = o.team_id
WHERE k.owner_id = %s AND k.displaced_by_id IS NULL AND q.status <> %s
  AND NOT EXISTS (
      SELECT 1 FROM {nomination} a
      WHERE a.key_result_id = k.id AND a.nominee_id = %s AND a.status IN (%s, %s))
  AND NOT EXISTS (
      SELECT 1 FROM {nomination} p WHERE p.key_result_id = k.id AND p.status = {pending})
ORDER BY q.start DESC, t.name, o.rank, o.id, k.id""",
        [
            user.pk,
            Quarter.Status.CLOSED.value,
            user.pk,
            OwnershipNomination.Status.ACCEPTED.value,
            OwnershipNomination.Status.DECLINED.value,
        ],
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
