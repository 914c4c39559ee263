"""The materialised status of each key result (``KeyResultStatus``, issue 14): computed here,
written in the transaction of every change to what it is made of, read by the dashboard.

``compute`` is the from-scratch recomputation: the Accountability Test's verdict SQL
(``ownership.verdict``) joined with the key result's dependency and open-need counts, one
query for any number of key results. ``refresh`` writes its rows (one more query). The model
signals connected in ``connect_signals`` call it for the key result a saved or deleted row
belongs to, so a service, the admin and a script all keep the table right; the few bulk
``update()`` calls that send no signal go through ``okrly.registry.key_results_changed``.

Nothing here touches a cache or the broker: a status write is a database write like the
change it follows, committed or rolled back with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from checkins.models import CheckIn, CheckInPrompt
from dependencies.models import Dependency
from objectives.models import KeyResult, Objective
from okrly import registry, sql
from ownership import figures
from ownership.models import AuthorityGrant, KeyResultStatus, NoDependencies, OwnershipNomination
from ownership.verdict import Flags, key_result_flags, verdict_sql

# Every column ``compute`` fills, in the order of its SELECT.
COLUMNS = (
    "key_result_id",
    "quarter_id",
    "team_id",
    "owner_id",
    "in_play",
    "accepted",
    "authority",
    "deps_ok",
    "ok",
    "declined",
    "pending_to_id",
    "none_needed",
    "has_deps",
    "kept_until",
    "checkin_week",
    "checkin_status",
    "checkin_confidence",
    "forecast_flag",
    "deps_open",
    "deps_committed",
    "open_escalations",
    "overdue_dependencies",
    "open_needs",
    "next_due",
)
UPDATED = [c for c in COLUMNS if c not in ("key_result_id", "next_due")] + [
    "changes_at",
    "computed_on",
]


def _in(values: Iterable[Any], prefix: str, params: dict[str, Any]) -> str:
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f"%({prefix}{i})s")
    return ", ".join(names)


def compute(today: date, key_result_ids: list[int] | None = None) -> list[KeyResultStatus]:
    """The status every key result in scope should have on ``today`` (all of them when
    ``key_result_ids`` is None), as unsaved rows: one query whatever their number."""
    if key_result_ids is not None and not key_result_ids:
        return []
    verdict = verdict_sql(today=today, key_result_ids=key_result_ids, include_displaced=True)
    params = {**verdict.params, "st_today": today}
    dep, checkin = Dependency._meta.db_table, CheckIn._meta.db_table
    open_in = _in(Dependency.OPEN_STATUSES, "st_open", params)
    promised_in = _in(Dependency.PROMISED_STATUSES, "st_promised", params)
    sql = (
        verdict.sql
        + f""",
st_deps AS (
    SELECT d.key_result_id,
           SUM(CASE WHEN d.status IN ({open_in}) THEN 1 ELSE 0 END) AS deps_open,
           SUM(CASE WHEN d.status IN ({promised_in}) THEN 1 ELSE 0 END) AS deps_committed,
           SUM(CASE WHEN d.status IN ({open_in}) AND d.escalation_rung > 0
                    THEN 1 ELSE 0 END) AS open_escalations,
           SUM(CASE WHEN d.status IN ({promised_in}) AND d.due_date < %(st_today)s
                    THEN 1 ELSE 0 END) AS overdue,
           MIN(CASE WHEN d.status IN ({promised_in}) AND d.due_date >= %(st_today)s
                    THEN d.due_date END) AS next_due
    FROM {dep} d JOIN {verdict.table} v ON v.key_result_id = d.key_result_id
    GROUP BY d.key_result_id
),
st_needs AS (
    SELECT c.key_result_id, COUNT(*) AS open_needs
    FROM {checkin} c JOIN {verdict.table} v ON v.key_result_id = c.key_result_id
    WHERE c.need_person_id IS NOT NULL AND c.need_handled_at IS NULL
    GROUP BY c.key_result_id
)
SELECT v.key_result_id, v.quarter_id, v.team_id, v.owner_id,
       CASE WHEN v.displaced_by IS NULL THEN 1 ELSE 0 END,
       v.accepted, v.authority, v.deps_ok, v.ok,
       v.declined, v.pending_to, v.none_needed, v.has_deps, v.kept_until,
       v.checkin_week, COALESCE(v.checkin_status, ''), v.checkin_confidence,
       v.forecast_flag,
       COALESCE(d.deps_open, 0), COALESCE(d.deps_committed, 0),
       COALESCE(d.open_escalations, 0), COALESCE(d.overdue, 0),
       COALESCE(n.open_needs, 0), d.next_due
FROM {verdict.table} v
LEFT JOIN st_deps d ON d.key_result_id = v.key_result_id
LEFT JOIN st_needs n ON n.key_result_id = v.key_result_id"""
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = dict(zip(COLUMNS, row, strict=True))
        next_due = values.pop("next_due")
        if isinstance(next_due, str):  # SQLite hands dates back as text from an aggregate
            next_due = date.fromisoformat(next_due)
        kept_until = values["kept_until"]
        if isinstance(kept_until, str):
            values["kept_until"] = date.fromisoformat(kept_until)
        for name in (
            "in_play",
            "accepted",
            "authority",
            "deps_ok",
            "ok",
            "declined",
            "none_needed",
            "has_deps",
            "forecast_flag",
        ):
            values[name] = bool(values[name])
        for name in (
            "deps_open",
            "deps_committed",
            "open_escalations",
            "overdue_dependencies",
            "open_needs",
        ):
            values[name] = int(values[name])
        found.append(
            KeyResultStatus(
                **values,
                # The day after the earliest promised due date: then it is overdue, and a
                # committed top-two dependency is no longer kept.
                # (Due on the calendar's last day, it never falls due: no date to wait for.)
                changes_at=(
                    next_due + timedelta(days=1)
                    if next_due is not None and next_due < date.max
                    else None
                ),
                computed_on=today,
            )
        )
    return found


def _teams_of(ids: list[int]) -> set[int]:
    """The teams whose figures a status write of these key results can change, as they stand
    before it: the key results' own teams (a moved objective leaves one) and the teams they
    ask of (the dependencies each owes). One query; the rows written add the new teams."""
    params = [*ids, *ids]
    found = sql.rows(
        f"SELECT s.team_id FROM {sql.table(KeyResultStatus)} s "
        f"WHERE s.key_result_id IN ({sql.placeholders(ids)}) "
        f"UNION SELECT d.provider_team_id FROM {sql.table(Dependency)} d "
        f"WHERE d.key_result_id IN ({sql.placeholders(ids)})",
        params,
    )
    return {row[0] for row in found}


def refresh(
    key_result_ids: Iterable[int], *, today: date | None = None, teams: Iterable[int] = ()
) -> None:
    """Rewrite these key results' status rows from what the database now holds (inserting
    the missing ones), then the figures of every team that changes with them (``teams``: any
    other the caller knows of). Called inside the transaction of the change: all commit
    together."""
    ids = sorted({int(pk) for pk in key_result_ids if pk is not None})
    if not ids:
        figures.refresh(teams, today=today)
        return
    # A service's several saves (okrly.registry.key_results_batched): once, at its end.
    if today is None and not teams and registry.defer_key_results(ids):
        return
    today = today or timezone.localdate()
    touched = {*_teams_of(ids), *teams}
    rows = compute(today, ids)
    if rows:
        KeyResultStatus.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["key_result"], update_fields=UPDATED
        )
    figures.refresh(touched | {row.team_id for row in rows}, today=today)


def refresh_existing(key_result_ids: Iterable[int], *, teams: Iterable[int] = ()) -> None:
    """Like ``refresh`` but never inserting: after a delete, which may be part of deleting the
    key result itself (a row inserted then would point at a key result about to go)."""
    ids = sorted({int(pk) for pk in key_result_ids if pk is not None})
    today = timezone.localdate()
    if not ids:
        figures.refresh(teams, today=today)
        return
    touched = {*_teams_of(ids), *teams}
    have = list(KeyResultStatus.objects.filter(key_result_id__in=ids).values_list("pk", flat=True))
    rows = compute(today, have) if have else []
    if rows:
        KeyResultStatus.objects.bulk_update(rows, UPDATED)
    figures.refresh(touched, today=today)


def refresh_all(*, today: date | None = None, with_figures: bool = True) -> int:
    """Every key result's row, from scratch (a new installation, the bench's bulk seed), and
    every team's figures (``with_figures``: not for a migration older than their table)."""
    today = today or timezone.localdate()
    rows = compute(today)
    KeyResultStatus.objects.exclude(key_result_id__in=[r.key_result_id for r in rows]).delete()
    for start in range(0, len(rows), 2000):
        KeyResultStatus.objects.bulk_create(
            rows[start : start + 2000],
            update_conflicts=True,
            unique_fields=["key_result"],
            update_fields=UPDATED,
        )
    if with_figures:
        figures.refresh_all(today=today)
    return len(rows)


def refresh_due(today: date | None = None) -> int:
    """The rows whose ``changes_at`` has come (the beat job): found by the partial index, so
    rows not yet due cost nothing. Idempotent: a second run finds none left. The teams the
    key results ask of are rewritten with them: their overdue figures changed the same day."""
    today = today or timezone.localdate()
    ids = list(
        KeyResultStatus.objects.filter(changes_at__lte=today).values_list("pk", flat=True)[:5000]
    )
    refresh(ids, today=today)
    return len(ids)


# --- keeping it right: the signals ----------------------------------------------------------


def _on_key_result(sender: type[Model], instance: KeyResult, **kwargs: Any) -> None:
    refresh([instance.pk])


def _on_objective(sender: type[Model], instance: Objective, **kwargs: Any) -> None:
    # Its team, quarter or displacement are its key results' too.
    refresh(KeyResult.objects.filter(objective_id=instance.pk).values_list("pk", flat=True))


def _on_child_saved(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    refresh([instance.key_result_id])


def _on_child_deleted(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    # A deleted dependency is no longer found among its key result's: its team is named.
    provider = getattr(instance, "provider_team_id", None)
    refresh_existing([instance.key_result_id], teams=[provider] if provider else [])


def _on_status_deleted(sender: type[Model], instance: KeyResultStatus, **kwargs: Any) -> None:
    # Its key result deleted (the row goes with it): the team no longer counts it.
    figures.refresh([instance.team_id])


def _on_prompt(sender: type[Model], instance: CheckInPrompt, **kwargs: Any) -> None:
    # One saved or deleted by hand (the admin, a script); the job reports its own in bulk.
    figures.prompted(instance.quarter_id, instance.week, [instance.owner_id])


def connect_signals() -> None:
    """Called once from ``OwnershipConfig.ready``."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_on_key_result, sender=KeyResult, dispatch_uid="krstatus_kr")
    post_save.connect(_on_objective, sender=Objective, dispatch_uid="krstatus_objective")
    for model in (OwnershipNomination, AuthorityGrant, NoDependencies, Dependency, CheckIn):
        uid = f"krstatus_{model._meta.label_lower}"
        post_save.connect(_on_child_saved, sender=model, dispatch_uid=uid + "_save")
        post_delete.connect(_on_child_deleted, sender=model, dispatch_uid=uid + "_delete")
    post_delete.connect(_on_status_deleted, sender=KeyResultStatus, dispatch_uid="krstatus_gone")
    post_save.connect(_on_prompt, sender=CheckInPrompt, dispatch_uid="figures_prompt_save")
    post_delete.connect(_on_prompt, sender=CheckInPrompt, dispatch_uid="figures_prompt_delete")
    registry.register_key_results_changed("status", refresh)
    registry.register_prompts_sent("figures", figures.prompts_sent)


# --- reading it: the test's inputs for pages -------------------------------------------------


# The status row's columns the test reads, as ``f_<name>``, for a statement that joins the
# status row as ``s``, its owner as ``u`` and its key result as ``k``: ``flags`` below, and the
# team view's rows, which read them with the row instead of a query of their own.
_FLAG_COLUMNS = (
    ("key_result_id", "s.key_result_id"),
    ("team_id", "s.team_id"),
    ("owner_id", "s.owner_id"),
    ("first_name", "u.first_name"),
    ("last_name", "u.last_name"),
    ("username", "u.username"),
    ("accepted", "s.accepted"),
    ("declined", "s.declined"),
    ("pending_to_id", "s.pending_to_id"),
    ("authority", "s.authority"),
    ("none_needed", "s.none_needed"),
    ("has_deps", "s.has_deps"),
    ("deps_ok", "s.deps_ok"),
    ("ok", "s.ok"),
    ("kept_until", "s.kept_until"),
    ("checkin_status", "s.checkin_status"),
    ("forecast_flag", "s.forecast_flag"),
    ("displaced_by_id", "k.displaced_by_id"),
)
FLAG_SELECT = ", ".join(f"{column} AS f_{name}" for name, column in _FLAG_COLUMNS)


def flags_from_row(row: Any, today: date) -> Flags | None:
    """A row's ``FLAG_SELECT`` columns as the test's inputs; None when the key result has no
    status row (a LEFT JOIN found none)."""
    if row.f_key_result_id is None:
        return None
    # Check (c) no longer holds once a committed top-two dependency is past its due date.
    kept = row.f_kept_until is None or row.f_kept_until >= today
    return Flags(
        key_result_id=row.f_key_result_id,
        team_id=row.f_team_id,
        owner_id=row.f_owner_id,
        owner_name=sql.person(row.f_first_name, row.f_last_name, row.f_username),
        accepted=bool(row.f_accepted),
        declined=bool(row.f_declined),
        pending_to=row.f_pending_to_id,
        authority=bool(row.f_authority),
        none_needed=bool(row.f_none_needed),
        has_deps=bool(row.f_has_deps),
        deps_ok=bool(row.f_deps_ok) and kept,
        ok=bool(row.f_ok) and kept,
        checkin_status=row.f_checkin_status,
        forecast_flag=bool(row.f_forecast_flag),
        displaced_by=row.f_displaced_by_id,
    )


def flags(ids: list[int], today: date) -> dict[int, Flags]:
    """The Accountability Test's inputs for these key results, read from their status rows
    (one query) rather than recomputed by the verdict SQL; displaced ones included, as
    ``ownership.verdict.key_result_flags`` gives them, which it equals (the property test).
    A key result without a row (written by a bulk insert that named no key results) is
    computed the old way, so a page is never wrong for want of a row."""
    if not ids:
        return {}
    found: dict[int, Flags] = {}
    # SQL (okrly.sql): every list of key results (the objectives, the API) runs it on every
    # request.
    marks = sql.placeholders(ids)
    for row in sql.rows(
        f"""
SELECT {FLAG_SELECT}
FROM {sql.table(KeyResultStatus)} s
JOIN {sql.table(get_user_model())} u ON u.id = s.owner_id
JOIN {sql.table(KeyResult)} k ON k.id = s.key_result_id
WHERE s.key_result_id IN ({marks})""",
        ids,
    ):
        read = flags_from_row(row, today)
        if read is not None:
            found[read.key_result_id] = read
    missing = [pk for pk in ids if pk not in found]
    if missing:
        found.update(key_result_flags(missing, today))
    return found
