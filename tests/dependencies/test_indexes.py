"""The partial indexes of the organisation view's overdue and escalated figures hold exactly
the rows those figures count (issue 14): their conditions spell the statuses out (Meta can't
see ``Dependency.Status``), so they are held equal to the model's sets here."""

from __future__ import annotations

from typing import Any

from django.db.models import Index

from dependencies.models import Dependency


def _index(name: str) -> Index:
    return next(i for i in Dependency._meta.indexes if i.name == name)


def _statuses(index: Index) -> set[str]:
    condition: Any = index.condition
    found = [value for lookup, value in condition.children if lookup == "status__in"]
    assert len(found) == 1
    return set(found[0])


def test_the_promised_index_holds_the_promised_statuses() -> None:
    index = _index("dependency_promised_due")
    assert _statuses(index) == {s.value for s in Dependency.PROMISED_STATUSES}
    assert index.fields == ["due_date"]


def test_the_escalated_index_holds_the_open_statuses_with_a_rung() -> None:
    index = _index("dependency_escalated")
    assert _statuses(index) == {s.value for s in Dependency.OPEN_STATUSES}
    condition: Any = index.condition
    assert ("escalation_rung__gt", 0) in condition.children
