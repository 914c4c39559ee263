"""The risk feed's items (``RiskItem``, issue 15): one per key result with a risk signal,
computed here and written in the transaction of every change to what it is made of.

A signal is a risky check-in (at risk, off track, or "on track" that the forecast
contradicts), an escalation of one of the key result's dependencies, or an early escalation
raised on it. The item holds the latest, how many came before it, the latest risky check-in
(whose thread is where leaders answer) and when a leader last replied or marked one of its
check-ins seen. ``compute`` is the from-scratch recomputation; ``refresh`` writes its rows.
The model signals connected in ``connect_signals`` call it for the key result a saved or
deleted row belongs to; a service's several saves are written once, at its end
(``okrly.registry.key_results_batched``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model

from checkins.models import CheckIn, CheckInComment
from dependencies.models import Dependency, Escalation
from objectives.models import KeyResult, Objective
from okrly import registry, sql
from reviews.models import EarlyEscalation, RiskItem

RISKY = (CheckIn.Status.AT_RISK.value, CheckIn.Status.OFF_TRACK.value)
UPDATED = [
    "quarter",
    "team",
    "in_play",
    "kind",
    "at",
    "signal_id",
    "earlier",
    "check_in",
    "answered_at",
]


@dataclass
class _Signal:
    at: datetime
    order: int  # ties at the same moment: check-ins first, then escalations, early ones
    pk: int
    kind: str
    check_in: int | None


def compute(key_result_ids: list[int] | None = None) -> list[RiskItem]:
    """The items these key results (all, with None) should have, unsaved: five queries
    whatever their number. A key result without any signal has none."""
    if key_result_ids is not None and not key_result_ids:
        return []

    def scope(column: str) -> tuple[str, list[Any]]:
        if key_result_ids is None:
            return "1 = 1", []
        return f"{column} IN ({sql.placeholders(key_result_ids)})", list(key_result_ids)

    signals: dict[int, list[_Signal]] = {}
    where, params = scope("c.key_result_id")
    for row in sql.rows(
        f"SELECT c.id, c.key_result_id, c.status, c.forecast_flag, c.submitted_at, c.edited_at "
        f"FROM {sql.table(CheckIn)} c WHERE {where} "
        f"AND (c.status IN ({sql.placeholders(RISKY)}) OR c.forecast_flag)",
        [*params, *RISKY],
    ):
        kind = row.status if row.status in RISKY else RiskItem.Kind.FORECAST.value
        # An edited answer is news again: it counts from its edit.
        signals.setdefault(row.key_result_id, []).append(
            _Signal(row.edited_at or row.submitted_at, 0, row.id, kind, row.id)
        )
    where, params = scope("d.key_result_id")
    for row in sql.rows(
        f"SELECT e.id, d.key_result_id, e.sent_at FROM {sql.table(Escalation)} e "
        f"JOIN {sql.table(Dependency)} d ON d.id = e.dependency_id WHERE {where}",
        params,
    ):
        signals.setdefault(row.key_result_id, []).append(
            _Signal(row.sent_at, 1, row.id, RiskItem.Kind.ESCALATION.value, None)
        )
    where, params = scope("x.key_result_id")
    for row in sql.rows(
        f"SELECT x.id, x.key_result_id, x.raised_at FROM {sql.table(EarlyEscalation)} x "
        f"WHERE {where}",
        params,
    ):
        signals.setdefault(row.key_result_id, []).append(
            _Signal(row.raised_at, 2, row.id, RiskItem.Kind.EARLY.value, None)
        )
    if not signals:
        return []
    ids = sorted(signals)
    marks = sql.placeholders(ids)
    answered = {
        row.key_result_id: row.at
        for row in sql.rows(
            f"SELECT c.key_result_id, MAX(a.created_at) AS at FROM {sql.table(CheckInComment)} a "
            f"JOIN {sql.table(CheckIn)} c ON c.id = a.check_in_id "
            f"WHERE a.by_leader AND c.key_result_id IN ({marks}) GROUP BY c.key_result_id",
            ids,
            datetimes=("at",),
        )
    }
    items = []
    for row in sql.rows(
        f"SELECT k.id, k.displaced_by_id, o.quarter_id, o.team_id FROM {sql.table(KeyResult)} k "
        f"JOIN {sql.table(Objective)} o ON o.id = k.objective_id WHERE k.id IN ({marks})",
        ids,
    ):
        found = sorted(signals[row.id], key=lambda s: (s.at, s.order, s.pk))
        latest = found[-1]
        risky = [s for s in found if s.check_in is not None]
        answered_at = answered.get(row.id)
        items.append(
            RiskItem(
                key_result_id=row.id,
                quarter_id=row.quarter_id,
                team_id=row.team_id,
                in_play=row.displaced_by_id is None,
                kind=latest.kind,
                at=latest.at,
                signal_id=latest.pk,
                earlier=len(found) - 1,
                check_in_id=risky[-1].check_in if risky else None,
                answered_at=answered_at,
                answered=answered_at is not None and answered_at >= latest.at,
            )
        )
    return items


def refresh(key_result_ids: Iterable[int]) -> None:
    """Rewrite these key results' items from what the database now holds, in the caller's
    transaction; a key result whose signals are all gone loses its item."""
    ids = sorted({int(pk) for pk in key_result_ids if pk is not None})
    if not ids or registry.defer_key_results(ids):
        return
    items = compute(ids)
    RiskItem.objects.filter(key_result_id__in=ids).exclude(
        key_result_id__in=[i.key_result_id for i in items]
    ).delete()
    if items:
        RiskItem.objects.bulk_create(
            items,
            update_conflicts=True,
            unique_fields=["key_result"],
            update_fields=[*UPDATED, "answered"],
        )


def refresh_all() -> int:
    """Every item from scratch (a new installation, the bench's and demo's bulk seeds)."""
    items = compute()
    RiskItem.objects.exclude(key_result_id__in=[i.key_result_id for i in items]).delete()
    for start in range(0, len(items), 2000):
        RiskItem.objects.bulk_create(
            items[start : start + 2000],
            update_conflicts=True,
            unique_fields=["key_result"],
            update_fields=[*UPDATED, "answered"],
        )
    return len(items)


# --- keeping it right: the signals ----------------------------------------------------------


def _existing(key_result_ids: Iterable[int], kwargs: dict[str, Any]) -> list[int]:
    """After a delete (perhaps of the key result itself, cascading): only key results still
    there. After a save (post_save passes ``created``) they all are: no query."""
    if "created" in kwargs:
        return [pk for pk in key_result_ids if pk is not None]
    return list(KeyResult.objects.filter(pk__in=list(key_result_ids)).values_list("pk", flat=True))


def _on_key_result(sender: type[Model], instance: KeyResult, **kwargs: Any) -> None:
    refresh([instance.pk])


def _on_objective(sender: type[Model], instance: Objective, **kwargs: Any) -> None:
    # Its team, quarter or displacement are its key results' items' too.
    refresh(KeyResult.objects.filter(objective_id=instance.pk).values_list("pk", flat=True))


def _on_comment(sender: type[Model], instance: CheckInComment, **kwargs: Any) -> None:
    refresh(
        _existing(
            CheckIn.objects.filter(pk=instance.check_in_id).values_list("key_result_id", flat=True),
            kwargs,
        )
    )


def _on_escalation(sender: type[Model], instance: Escalation, **kwargs: Any) -> None:
    refresh(
        _existing(
            Dependency.objects.filter(pk=instance.dependency_id).values_list(
                "key_result_id", flat=True
            ),
            kwargs,
        )
    )


def _on_early(sender: type[Model], instance: EarlyEscalation, **kwargs: Any) -> None:
    refresh(_existing([instance.key_result_id], kwargs))


def _on_check_in(sender: type[Model], instance: CheckIn, **kwargs: Any) -> None:
    refresh(_existing([instance.key_result_id], kwargs))


def connect_signals() -> None:
    """Called once from ``ReviewsConfig.ready``."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_on_key_result, sender=KeyResult, dispatch_uid="risk_kr")
    post_save.connect(_on_objective, sender=Objective, dispatch_uid="risk_objective")
    post_save.connect(_on_early, sender=EarlyEscalation, dispatch_uid="risk_early_save")
    post_delete.connect(_on_early, sender=EarlyEscalation, dispatch_uid="risk_early_delete")
    post_save.connect(_on_check_in, sender=CheckIn, dispatch_uid="risk_checkin_save")
    post_delete.connect(_on_check_in, sender=CheckIn, dispatch_uid="risk_checkin_delete")
    for model, receiver in ((CheckInComment, _on_comment), (Escalation, _on_escalation)):
        uid = f"risk_{model._meta.label_lower}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid + "_save")
        post_delete.connect(receiver, sender=model, dispatch_uid=uid + "_delete")
    registry.register_key_results_changed("risks", refresh)
