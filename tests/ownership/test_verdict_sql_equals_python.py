"""The Accountability Test's verdict, computed in SQL, equals rule 5 read plainly.

DESIGN.md rule 5: (a) is there a single owner who accepted? (b) does that owner have
documented authority? (c) are its top two dependencies named, committed and on track? A key
result with no dependencies passes (c) only if its owner declared that it needs none.

``reference_verdict`` below is that sentence in Python, written without the module under
test. A table of cases (every owner answer × every state of authority × every list of up to
three dependencies in every state, declared or not) is built in the database, and for each
case the SQL verdict, the three checks the pages show, and the reference must agree.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import registry
from ownership import status as krstatus
from ownership.accountability import Code, accountability_for
from ownership.models import AuthorityGrant, NoDependencies, OwnershipNomination
from ownership.verdict import VERDICT_COLUMNS, key_result_flags, verdict_sql
from tests.factories import ObjectiveFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]  # 17 Nov 2026
TODAY = date(2026, 11, 17)
DUE = {"past": TODAY - timedelta(days=1), "today": TODAY, "future": TODAY + timedelta(days=1)}

S = Dependency.Status
# The states a dependency can be in, with its due date relative to today.
DEPENDENCY_STATES = [
    (S.REQUESTED, "future"),
    (S.COUNTERED, "future"),
    (S.COMMITTED, "future"),
    (S.COMMITTED, "today"),
    (S.COMMITTED, "past"),
    (S.AT_RISK, "future"),
    (S.AT_RISK, "past"),
    (S.BROKEN, "future"),
    (S.DELIVERED, "past"),
    (S.DECLINED, "past"),
]
# Enough states to show whether a third dependency counts (the full product of three is
# eight times bigger and adds no new way for the verdict to go).
THIRD_STATES = [
    (S.COMMITTED, "future"),
    (S.COMMITTED, "past"),
    (S.BROKEN, "future"),
    (S.DELIVERED, "past"),
    (S.DECLINED, "past"),
]
OWNER_STATES = [
    "accepted",
    "accepted, handover pending",  # the owner accepted; a handover to someone else waits
    "asked",  # nominated, no answer yet
    "declined",
    "never asked",  # no nomination at all
    "someone else accepted",  # an accepted nomination of a previous owner
]
AUTHORITY_STATES = ["in force", "revoked", "granted to someone else", "none"]


@dataclass(frozen=True)
class Case:
    owner: str
    authority: str
    none_declared: bool
    dependencies: tuple[tuple[str, str], ...]  # (status, due) in rank order


def reference_verdict(case: Case) -> tuple[bool, bool, bool]:
    """Rule 5's three answers for one case, from DESIGN.md alone."""
    # (a) a single owner who accepted (a handover waiting does not undo the acceptance).
    owner = case.owner in ("accepted", "accepted, handover pending")
    # (b) documented authority, in force, for that owner.
    authority = case.authority == "in force"
    # (c) a declined request is no commitment at all: the top two are chosen among the
    # rest. Each must be delivered, or committed and not past its due date.
    counting = [(status, due) for status, due in case.dependencies if status != S.DECLINED]
    if counting:
        dependencies = all(
            status == S.DELIVERED or (status == S.COMMITTED and DUE[due] >= TODAY)
            for status, due in counting[:2]
        )
    else:
        dependencies = case.none_declared
    return owner, authority, dependencies


def cases() -> list[Case]:
    """Every list of up to two dependencies and many of three, declared or not, for an
    accepted owner with authority (where (c) alone decides); and every owner answer ×
    authority × declaration with a few lists (where (a) and (b) decide)."""
    lists = [combo for n in range(3) for combo in itertools.product(DEPENDENCY_STATES, repeat=n)]
    # Three named: a declined one among the first two lets the third into the top two.
    lists += itertools.product(THIRD_STATES, repeat=3)
    table = [
        Case("accepted", "in force", declared, deps)
        for declared, deps in itertools.product([True, False], lists)
    ]
    few = [(), ((S.COMMITTED, "future"),), ((S.BROKEN, "future"),), ((S.DECLINED, "past"),)]
    table += [
        Case(owner, authority, declared, deps)
        for owner, authority, declared, deps in itertools.product(
            OWNER_STATES, AUTHORITY_STATES, [True, False], few
        )
    ]
    return table


def build(table: list[Case], quarter: Any) -> dict[int, Case]:
    """Each case as one key result with its rows, written directly (the services would
    refuse some of these shortcuts, but the verdict reads rows, not how they came about)."""
    owner, other, lead, provider = (UserFactory() for _ in range(4))
    objective = ObjectiveFactory(quarter=quarter)
    provider_team = ObjectiveFactory(quarter=quarter).team
    now = timezone.now()
    krs = KeyResult.objects.bulk_create(
        KeyResult(
            objective=objective,
            owner=owner,
            title=f"Case {i}",
            start_value=0,
            target_value=10,
            current_value=0,
        )
        for i in range(len(table))
    )
    nominations, grants, declarations, dependencies = [], [], [], []

    def nominate(kr: KeyResult, nominee: Any, status: str) -> None:
        nominations.append(OwnershipNomination(key_result=kr, nominee=nominee, status=status))

    def grant(kr: KeyResult, grantee: Any, revoked_at: datetime | None = None) -> None:
        grants.append(
            AuthorityGrant(
                key_result=kr,
                grantee=grantee,
                scope="Backlog",
                granted_by=lead,
                granted_at=now,
                revoked_at=revoked_at,
            )
        )

    N = OwnershipNomination.Status
    for kr, case in zip(krs, table, strict=True):
        if case.owner in ("accepted", "accepted, handover pending"):
            nominate(kr, owner, N.ACCEPTED)
        if case.owner == "accepted, handover pending":
            nominate(kr, other, N.PENDING)
        if case.owner == "asked":
            nominate(kr, owner, N.PENDING)
        if case.owner == "declined":
            nominate(kr, owner, N.DECLINED)
        if case.owner == "someone else accepted":
            nominate(kr, other, N.ACCEPTED)
        if case.authority == "in force":
            grant(kr, owner)
        if case.authority == "revoked":
            grant(kr, owner, revoked_at=now)
        if case.authority == "granted to someone else":
            grant(kr, other)
        if case.none_declared:
            declarations.append(NoDependencies(key_result=kr, declared_by=owner, declared_at=now))
        for rank, (status, due) in enumerate(case.dependencies, start=1):
            dependencies.append(
                Dependency(
                    key_result=kr,
                    requesting_team=objective.team,
                    provider_team=provider_team,
                    deliverable=f"Deliverable {rank}",
                    due_date=DUE[due],
                    responsible=provider,
                    requested_by=owner,
                    rank=rank,
                    status=status,
                    requested_at=now,
                )
            )
    OwnershipNomination.objects.bulk_create(nominations)
    AuthorityGrant.objects.bulk_create(grants)
    NoDependencies.objects.bulk_create(declarations)
    Dependency.objects.bulk_create(dependencies)
    # bulk_create sends no model signal: a bulk writer names the key results it changed, so
    # their status rows (which the pages read the test from) are rewritten.
    registry.key_results_changed([kr.pk for kr in krs])
    return {kr.pk: case for kr, case in zip(krs, table, strict=True)}


def sql_verdicts(quarter: Any) -> dict[int, dict[str, Any]]:
    """The verdict table through its documented API, as another app would read it."""
    verdict = verdict_sql(today=TODAY, quarter_id=quarter.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            verdict.sql + f"SELECT {', '.join(VERDICT_COLUMNS)} FROM {verdict.table}",
            verdict.params,
        )
        rows = [dict(zip(VERDICT_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return {row["key_result_id"]: row for row in rows}


def test_the_sql_verdict_equals_rule_5_for_every_case(quarter: Any) -> None:
    table = cases()
    by_pk = build(table, quarter)
    sql = sql_verdicts(quarter)
    pages = accountability_for(KeyResult.objects.filter(pk__in=by_pk))

    assert set(sql) == set(pages) == set(by_pk)
    wrong = []
    for pk, case in by_pk.items():
        owner, authority, dependencies = reference_verdict(case)
        expected = owner and authority and dependencies
        checks = [c.passed for c in pages[pk].checks]
        if (
            bool(sql[pk]["ok"]) != expected
            or bool(sql[pk]["deps_ok"]) != dependencies
            or pages[pk].passed != expected
            or checks != [owner, authority, dependencies]
        ):
            wrong.append((case, bool(sql[pk]["ok"]), checks, (owner, authority, dependencies)))
    assert not wrong, f"{len(wrong)} of {len(by_pk)} cases disagree, e.g. {wrong[:3]}"
    # The table reaches both verdicts, and every failing (c) with dependencies named is
    # explained dependency by dependency, never by the fallback sentence.
    verdicts = [pages[pk].passed for pk in by_pk]
    assert 0 < sum(verdicts) < len(verdicts)
    for pk, case in by_pk.items():
        check = pages[pk].checks[2]
        if not check.passed and check.code == Code.NOT_KEPT:
            assert check.reason != "The top dependencies are not all kept.", case


def test_the_dependency_check_names_each_top_dependency_not_kept(quarter: Any) -> None:
    """The words of check (c) come from the same statement of "not kept" as the SQL."""
    case = Case(
        "accepted",
        "in force",
        False,
        ((S.DECLINED, "past"), (S.COMMITTED, "past"), (S.AT_RISK, "future"), (S.BROKEN, "future")),
    )
    (pk,) = build([case], quarter)
    check = accountability_for(KeyResult.objects.filter(pk=pk))[pk].checks[2]
    assert check.code == Code.NOT_KEPT
    assert check.reason == ("“Deliverable 2” is overdue (due 16 Nov); “Deliverable 3” is at risk.")


@pytest.mark.parametrize("days_later", [0, 1, 2, 30])
def test_the_status_rows_give_the_verdict_sql_flags_on_later_days(
    quarter: Any, days_later: int
) -> None:
    """Pages read the test's inputs from the status rows written on the day of the change; on
    a later day, with nothing written since, they must still equal the verdict SQL computed
    that day: a committed top-two dependency that has passed its due date fails check (c)."""
    by_pk = build(cases(), quarter)
    later = TODAY + timedelta(days=days_later)
    ids = list(by_pk)
    from_rows, from_sql = krstatus.flags(ids, later), key_result_flags(ids, later)
    assert from_rows == from_sql
    # The days chosen do move verdicts: a dependency due today or tomorrow is overdue later.
    if days_later >= 2:
        assert sum(f.ok for f in from_rows.values()) < sum(
            f.ok for f in krstatus.flags(ids, TODAY).values()
        )
