"""A closed quarter stops the dependency ladder, as it stops the missed-check-in one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies import escalation, services
from dependencies.models import Dependency, Escalation
from okrly.models import Notification, Quarter
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, UserFactory

pytestmark = pytest.mark.django_db
DUE = date(2026, 11, 20)  # rung 1 at 21 Nov 00:00 UTC, rung 2 at 23 Nov, rung 3 at 26 Nov


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-10 10:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(
    travel: Any, request_dependency: Any, provider: Any, platform_lead: Any, leader: Any
) -> Dependency:
    dep = request_dependency(due_date=DUE)
    return services.dependency_commit(dependency=dep, user=provider)


def close(quarter: Any) -> None:
    # Quarters are closed by an administrator (the admin's status field).
    Quarter.objects.filter(pk=quarter.pk).update(status=Quarter.Status.CLOSED)


def test_a_closed_quarters_dependency_stops_climbing_to_leadership(
    committed: Dependency, travel: Any, quarter: Any
) -> None:
    travel.move_to("2026-11-21 00:00:00+00:00")
    assert escalation.dependencies_escalate().escalated == 1  # the reminder, quarter still open
    reminders = Notification.objects.count()

    close(quarter)
    travel.move_to("2026-11-26 00:00:00+00:00")  # past rungs 2 and 3
    run = escalation.dependencies_escalate()
    travel.move_to("2026-12-31 00:00:00+00:00")
    escalation.dependencies_escalate()

    assert (run.escalated, run.notifications) == (0, 0)
    assert Notification.objects.count() == reminders
    assert list(Escalation.objects.values_list("rung", flat=True)) == [1]
    committed.refresh_from_db()
    assert (committed.escalation_rung, committed.next_escalation_at) == (1, None)


def test_a_dependency_of_a_closed_quarter_never_starts_the_ladder(
    committed: Dependency, travel: Any, quarter: Any
) -> None:
    close(quarter)
    travel.move_to("2026-11-21 00:00:00+00:00")

    assert escalation.dependencies_escalate().escalated == 0
    assert not Escalation.objects.exists()
    assert not Notification.objects.filter(kind__startswith="escalation").exists()


def test_closed_quarters_due_dependencies_do_not_grow_the_jobs_query_count(
    committed: Dependency,
    travel: Any,
    quarter: Any,
    growth: Any,
    platform: Any,
    provider: Any,
) -> None:
    travel.move_to("2026-11-21 00:00:00+00:00")
    closed = QuarterFactory(
        name="2026 Q3",
        start=date(2026, 7, 1),
        end=date(2026, 9, 30),
        status=Quarter.Status.CLOSED,
    )
    old_kr = KeyResultFactory(objective=ObjectiveFactory(quarter=closed, team=growth))

    def add_overdue_in_closed_quarter(count: int) -> None:
        start = Dependency.objects.filter(key_result=old_kr).count()
        Dependency.objects.bulk_create(
            Dependency(
                key_result=old_kr,
                requesting_team=growth,
                provider_team=platform,
                responsible=provider,
                requested_by=UserFactory(),
                deliverable=f"Old thing {start + i}",
                due_date=date(2026, 9, 20),
                rank=start + i + 1,
                status=Dependency.Status.COMMITTED,
                requested_at="2026-09-01T00:00:00Z",
                escalation_trigger=Dependency.Trigger.OVERDUE,
                next_escalation_at="2026-09-21T00:00:00Z",
            )
            for i in range(count)
        )

    def count() -> int:
        Escalation.objects.all().delete()
        Dependency.objects.filter(pk=committed.pk).update(
            escalation_rung=0, next_escalation_at="2026-11-21T00:00:00Z"
        )
        with CaptureQueriesContext(connection) as ctx:
            assert escalation.dependencies_escalate().escalated == 1  # only the open quarter's
        return len(ctx.captured_queries)

    add_overdue_in_closed_quarter(1)
    few = count()
    add_overdue_in_closed_quarter(40)
    many = count()

    assert many == few, f"{few} queries with 1 closed-quarter dependency due, {many} with 41"
    assert not Dependency.objects.filter(
        key_result=old_kr, next_escalation_at__isnull=False
    ).exists()
    assert not Escalation.objects.filter(dependency__key_result=old_kr).exists()
