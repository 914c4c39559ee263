"""The Accountability verdict in SQL: one pass of joins over every key result asked about.

What counts as kept (rule 5(c)) is stated once here, in NOT_KEPT and its neighbours: the
SQL's parameters and the wording of the third check (ownership/accountability.py) are both
built from it. Other apps read the verdict only through ``verdict_sql`` and the columns it
documents (VERDICT_COLUMNS), never through its inner aliases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from dependencies.models import Dependency
from objectives.models import KeyResult, Objective
from ownership.models import AuthorityGrant, NoDependencies, OwnershipNomination

# The dependencies that count for the test: the two most important ones.
TOP = 2


@dataclass(frozen=True)
class Flags:
    """The test's inputs for one key result, as the database computed them."""

    key_result_id: int
    team_id: int
    owner_id: int
    owner_name: str
    accepted: bool
    declined: bool
    pending_to: int | None
    authority: bool
    none_needed: bool
    has_deps: bool
    deps_ok: bool
    ok: bool
    checkin_status: str
    forecast_flag: bool
    displaced_by: int | None = None


# --- rule 5(c): which dependencies are kept ----------------------------------------------------

# A top-two dependency that is not kept, with the words that say why: waiting for an answer,
# at risk, or broken. The one statement of these states: the SQL's parameters and the
# sentences of the third check are both built from it. A declined request no longer counts
# at all; a delivered one is kept.
NOT_KEPT: dict[str, str] = {
    Dependency.Status.REQUESTED: "is not committed yet",
    Dependency.Status.COUNTERED: "is not committed yet",
    Dependency.Status.AT_RISK: "is at risk",
    Dependency.Status.BROKEN: "is broken",
}
# A committed dependency is kept until its due date has passed, then not.
LATE_AFTER_DUE = Dependency.Status.COMMITTED
# Requests that no longer count: they are left out before the top two are chosen.
NOT_COUNTED = Dependency.Status.DECLINED


def not_kept_because(dep: Dependency, today: date) -> str:
    """Why this counting dependency is not kept (e.g. "is at risk"), or "" if it is kept."""
    if dep.status in NOT_KEPT:
        return NOT_KEPT[dep.status]
    if dep.status == LATE_AFTER_DUE and dep.due_date < today:
        return f"is overdue (due {dep.due_date:%d %b})"
    return ""


# --- the verdict in SQL ------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictSQL:
    """The Accountability Test as SQL another query can build on (see ``verdict_sql``).

    ``sql`` is a WITH clause whose last table, named ``table``, has one row per key result in
    scope with the columns listed in ``VERDICT_COLUMNS``. A caller appends its own tables as
    ``, name AS (...)`` and a final SELECT that reads ``table``; it binds ``params`` together
    with its own (every name here starts with ``acct_``, and so does every table name in the
    clause, so neither collides with the caller's). Nothing else in the clause is part of
    the API: its inner tables and aliases may change.
    """

    sql: str
    params: dict[str, Any]
    table: str = "acct_verdict"


# The columns of ``VerdictSQL.table``: the documented API.
VERDICT_COLUMNS = (
    "key_result_id",
    "team_id",  # the team of the key result's objective
    "owner_id",
    "owner_first_name",
    "owner_last_name",
    "owner_username",
    "accepted",  # 1 if the owner accepted ownership, else 0
    "declined",  # 1 if the owner declined it, else 0
    "pending_to",  # the nominee of a handover waiting for an answer, or NULL
    "authority",  # 1 if authority is documented and in force for the owner
    "none_needed",  # 1 if the owner declared that no other team is needed
    "has_deps",  # 1 if any counting dependency is named
    "deps_ok",  # 1 if check (c) passes
    "ok",  # 1 if all three checks pass: the verdict
    "checkin_status",  # the latest check-in's status, or NULL/""
    "forecast_flag",  # the latest check-in said on track while the forecast misses
    "displaced_by",  # the trade-off that dropped or deferred it, or NULL while in play
    "quarter_id",  # the quarter of its objective
    "checkin_week",  # the latest check-in's week, or NULL
    "checkin_confidence",  # the latest check-in's confidence, or NULL
    # The last day check (c) holds by the clock alone: the earliest due date of a committed
    # top-two dependency not yet past it (from the next day it is overdue), or NULL.
    "kept_until",
)


def verdict_sql(
    *,
    today: date,
    key_result_ids: Sequence[int] | None = None,
    quarter_id: int | None = None,
    team_ids: Sequence[int] | None = None,
    include_displaced: bool = False,
) -> VerdictSQL:
    """The verdict (``ok``) and its inputs for every key result in scope, in one pass of joins.

    The scope is the key results matching every filter given (ids; the quarter or the teams
    of their objectives); an empty list matches nothing. A key result a trade-off dropped or
    deferred (rule 8) has left the quarter's counts and is out of scope, unless
    ``include_displaced`` (a page asking about named key results, whose history stays
    readable: the ``displaced_by`` column then says why it counts for nothing). The verdict is

        accepted AND authority AND (top two counting dependencies all kept,
                                    or none counting and "needs no other team" declared).

    Every table is read once and joined; nothing runs per row, so the cost stays flat as the
    organisation grows. The latest check-in comes from the key result's own columns.
    """
    params: dict[str, Any] = {
        "acct_today": today,
        "acct_accepted": OwnershipNomination.Status.ACCEPTED,
        "acct_declined": OwnershipNomination.Status.DECLINED,
        "acct_pending": OwnershipNomination.Status.PENDING,
        "acct_not_counted": NOT_COUNTED,
        "acct_late": LATE_AFTER_DUE,
    }
    params.update({f"acct_nk{i}": status for i, status in enumerate(NOT_KEPT)})
    not_kept = ", ".join(f"%(acct_nk{i})s" for i in range(len(NOT_KEPT)))

    # The SQL twin of KeyResult.objects.in_play() (objectives/models.py): the same column.
    scope = ["1 = 1"] if include_displaced else ["k.displaced_by_id IS NULL"]
    for column, prefix, values in (
        ("k.id", "acct_kr", key_result_ids),
        ("o.team_id", "acct_team", team_ids),
    ):
        if values is None:
            continue
        if not values:
            scope.append("1 = 0")  # "IN ()" is a syntax error in SQL
            continue
        names = [f"{prefix}{i}" for i in range(len(values))]
        params.update(zip(names, values, strict=True))
        scope.append(f"{column} IN (" + ", ".join(f"%({n})s" for n in names) + ")")
    if quarter_id is not None:
        params["acct_quarter"] = quarter_id
        scope.append("o.quarter_id = %(acct_quarter)s")

    # Named key results: each inner table is filtered by the ids too. acct_kr is read several
    # times, so PostgreSQL materialises it and cannot push its filter into the other tables:
    # without this every nomination, grant and dependency was scanned to answer for a handful.
    by_id = dict.fromkeys(("n", "g", "d"), "")
    if key_result_ids:
        ids = ", ".join(f"%(acct_kr{i})s" for i in range(len(key_result_ids)))
        by_id = {alias: f" AND {alias}.key_result_id IN ({ids})" for alias in by_id}
    kr, obj = KeyResult._meta.db_table, Objective._meta.db_table
    user = get_user_model()._meta.db_table
    dep, nom = Dependency._meta.db_table, OwnershipNomination._meta.db_table
    grant, nodeps = AuthorityGrant._meta.db_table, NoDependencies._meta.db_table
    sql = f"""
WITH acct_kr AS (
    SELECT k.id, k.owner_id, o.team_id, k.latest_checkin_status, k.latest_forecast_flag,
           k.displaced_by_id, u.first_name, u.last_name, u.username, o.quarter_id,
           k.latest_checkin_week, k.latest_checkin_confidence
    FROM {kr} k
    JOIN {obj} o ON o.id = k.objective_id
    JOIN {user} u ON u.id = k.owner_id
    WHERE {" AND ".join(scope)}
),
acct_answers AS (
    SELECT n.key_result_id,
           MAX(CASE WHEN n.status = %(acct_accepted)s AND n.nominee_id = kr.owner_id
                    THEN 1 ELSE 0 END) AS accepted,
           MAX(CASE WHEN n.status = %(acct_declined)s AND n.nominee_id = kr.owner_id
                    THEN 1 ELSE 0 END) AS declined,
           MAX(CASE WHEN n.status = %(acct_pending)s THEN n.nominee_id END) AS pending_to
    FROM {nom} n JOIN acct_kr kr ON kr.id = n.key_result_id{by_id["n"]}
    GROUP BY n.key_result_id
),
acct_authority AS (
    SELECT DISTINCT g.key_result_id
    FROM {grant} g JOIN acct_kr kr ON kr.id = g.key_result_id AND g.grantee_id = kr.owner_id
    WHERE g.revoked_at IS NULL{by_id["g"]}
),
acct_ranked AS (
    SELECT d.key_result_id, d.status, d.due_date,
           ROW_NUMBER() OVER (PARTITION BY d.key_result_id ORDER BY d.rank) AS position
    FROM {dep} d JOIN acct_kr kr ON kr.id = d.key_result_id
    WHERE d.status <> %(acct_not_counted)s{by_id["d"]}
),
acct_deps AS (
    SELECT key_result_id,
           MAX(CASE WHEN position <= {TOP} AND (
                   status IN ({not_kept})
                   OR (status = %(acct_late)s AND due_date < %(acct_today)s)
               ) THEN 1 ELSE 0 END) AS bad_top,
           MIN(CASE WHEN position <= {TOP} AND status = %(acct_late)s
                     AND due_date >= %(acct_today)s THEN due_date END) AS kept_until
    FROM acct_ranked GROUP BY key_result_id
),
acct_verdict AS (
    SELECT kr.id AS key_result_id, kr.team_id, kr.owner_id,
           kr.first_name AS owner_first_name, kr.last_name AS owner_last_name,
           kr.username AS owner_username,
           COALESCE(a.accepted, 0) AS accepted,
           COALESCE(a.declined, 0) AS declined,
           a.pending_to,
           CASE WHEN au.key_result_id IS NULL THEN 0 ELSE 1 END AS authority,
           CASE WHEN nd.key_result_id IS NULL THEN 0 ELSE 1 END AS none_needed,
           CASE WHEN d.key_result_id IS NULL THEN 0 ELSE 1 END AS has_deps,
           CASE WHEN (d.key_result_id IS NOT NULL AND d.bad_top = 0)
                  OR (d.key_result_id IS NULL AND nd.key_result_id IS NOT NULL)
                THEN 1 ELSE 0 END AS deps_ok,
           CASE WHEN COALESCE(a.accepted, 0) = 1 AND au.key_result_id IS NOT NULL
                 AND ((d.key_result_id IS NOT NULL AND d.bad_top = 0)
                   OR (d.key_result_id IS NULL AND nd.key_result_id IS NOT NULL))
                THEN 1 ELSE 0 END AS ok,
           kr.latest_checkin_status AS checkin_status,
           kr.latest_forecast_flag AS forecast_flag,
           kr.displaced_by_id AS displaced_by,
           kr.quarter_id, kr.latest_checkin_week AS checkin_week,
           kr.latest_checkin_confidence AS checkin_confidence,
           d.kept_until
    FROM acct_kr kr
    LEFT JOIN acct_answers a ON a.key_result_id = kr.id
    LEFT JOIN acct_authority au ON au.key_result_id = kr.id
    LEFT JOIN {nodeps} nd ON nd.key_result_id = kr.id
    LEFT JOIN acct_deps d ON d.key_result_id = kr.id
)
"""
    return VerdictSQL(sql=sql, params=params)


def key_result_flags(ids: list[int], today: date) -> dict[int, Flags]:
    """The test's inputs for these key results, displaced ones included (a page asked for
    them by name; ``Flags.displaced_by`` says they no longer count): one query."""
    if not ids:
        return {}
    verdict = verdict_sql(today=today, key_result_ids=ids, include_displaced=True)
    sql = verdict.sql + f"SELECT {', '.join(VERDICT_COLUMNS)} FROM {verdict.table}"
    with connection.cursor() as cursor:
        cursor.execute(sql, verdict.params)
        rows = [dict(zip(VERDICT_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    found = {}
    for row in rows:
        name = f"{row['owner_first_name']} {row['owner_last_name']}".strip()
        found[row["key_result_id"]] = Flags(
            key_result_id=row["key_result_id"],
            team_id=row["team_id"],
            owner_id=row["owner_id"],
            owner_name=name or row["owner_username"],
            accepted=bool(row["accepted"]),
            declined=bool(row["declined"]),
            pending_to=row["pending_to"],
            authority=bool(row["authority"]),
            none_needed=bool(row["none_needed"]),
            has_deps=bool(row["has_deps"]),
            deps_ok=bool(row["deps_ok"]),
            ok=bool(row["ok"]),
            checkin_status=row["checkin_status"] or "",
            forecast_flag=bool(row["forecast_flag"]),
            displaced_by=row["displaced_by"],
        )
    return found
