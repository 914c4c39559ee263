"""The overdue escalation ladder under controlled time: once per rung, never duplicated."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from dependencies import escalation, services
from dependencies.models import Dependency, Escalation
from dependencies.tasks import dependencies_escalate_task
from okrly.models import Notification
from tests.factories import KeyResultFactory, UserFactory

# Due Friday 20 November 2026: the ladder starts when that day ends (UTC, the server's zone).
# Default rung delays: 0 h, 48 h, 120 h after the start.
DUE = date(2026, 11, 20)


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-10 10:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(
    travel: Any, request_dependency: Any, provider: Any, platform_lead: Any, leader: Any
) -> Any:
    dep = request_dependency(due_date=DUE)
    return services.dependency_commit(dependency=dep, user=provider)


def escalations_to(*, kind_prefix: str = "escalation") -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(kind__startswith=kind_prefix)
        .order_by("pk")
        .values_list("recipient__username", "kind")
    )


def run_at(travel: Any, moment: str) -> escalation.EscalationRun:
    travel.move_to(moment)
    return escalation.dependencies_escalate()


@pytest.mark.django_db
def test_ladder_climbs_one_rung_at_a_time(committed: Any, travel: Any) -> None:
    assert run_at(travel, "2026-11-20 23:59:00+00:00").escalated == 0  # due today: not late
    assert escalations_to() == []

    run_at(travel, "2026-11-21 00:00:00+00:00")  # rung 1: reminder to the responsible person
    assert escalations_to() == [("pia", "escalation_reminder")]
    assert run_at(travel, "2026-11-22 23:00:00+00:00").escalated == 0  # rung 2 not due yet

    run_at(travel, "2026-11-23 00:00:00+00:00")  # +48 h: the providing team's lead
    assert escalations_to()[1:] == [("paul", "escalation_team_lead")]

    run_at(travel, "2026-11-26 00:00:00+00:00")  # +120 h: the leadership group
    assert escalations_to()[2:] == [("lea", "escalation_leadership")]

    assert run_at(travel, "2026-12-31 00:00:00+00:00").escalated == 0  # the ladder has 3 rungs
    assert list(Escalation.objects.values_list("rung", flat=True)) == [1, 2, 3]
    committed.refresh_from_db()
    assert (committed.escalation_rung, committed.next_escalation_at) == (3, None)


@pytest.mark.django_db
def test_notification_links_to_the_dependency_and_says_how_late(
    committed: Any, travel: Any
) -> None:
    run_at(travel, "2026-11-21 06:00:00+00:00")
    note = Notification.objects.get(kind="escalation_reminder")
    assert note.link == committed.get_absolute_url()
    assert note.subject == "Reminder: “Billing API v2” is 1 day past its due date (20 Nov)"


@pytest.mark.django_db
def test_a_late_job_reaches_one_rung_per_run(committed: Any, travel: Any) -> None:
    """Even when the job was down for a week, each run climbs a single rung."""
    assert run_at(travel, "2026-12-01 00:00:00+00:00").escalated == 1
    assert Escalation.objects.count() == 1


@pytest.mark.django_db
def test_delivery_stops_the_ladder(committed: Any, travel: Any, provider: Any) -> None:
    run_at(travel, "2026-11-21 00:00:00+00:00")
    services.dependency_deliver(dependency=committed, user=provider)
    assert run_at(travel, "2026-11-23 00:00:00+00:00").escalated == 0
    assert run_at(travel, "2026-11-30 00:00:00+00:00").escalated == 0
    assert [kind for _, kind in escalations_to()] == ["escalation_reminder"]


@pytest.mark.django_db
def test_reopening_a_delivery_resumes_at_the_next_rung(
    committed: Any, travel: Any, provider: Any, owner: Any
) -> None:
    run_at(travel, "2026-11-21 00:00:00+00:00")
    services.dependency_deliver(dependency=committed, user=provider)
    services.dependency_reopen(dependency=committed, user=owner, reason="Half of it")
    run_at(travel, "2026-11-23 00:00:00+00:00")
    assert [kind for _, kind in escalations_to()] == [
        "escalation_reminder",
        "escalation_team_lead",
    ]


@pytest.mark.django_db
def test_running_twice_sends_once_per_rung(committed: Any, travel: Any) -> None:
    travel.move_to("2026-11-21 00:00:00+00:00")
    first = escalation.dependencies_escalate()
    second = escalation.dependencies_escalate()
    dependencies_escalate_task.apply()  # the beat task, called the way a worker calls it
    assert (first.escalated, second.escalated) == (1, 0)
    assert escalations_to() == [("pia", "escalation_reminder")]


@pytest.mark.django_db
def test_unanswered_request_escalates_after_the_configured_days(
    travel: Any, request_dependency: Any, provider: Any, platform_lead: Any, settings: Any
) -> None:
    settings.DEPENDENCY_UNANSWERED_DAYS = 2
    request_dependency(due_date=date(2026, 12, 15))  # asked 10 Nov 10:00
    assert run_at(travel, "2026-11-12 09:59:00+00:00").escalated == 0
    run_at(travel, "2026-11-12 10:00:00+00:00")
    note = Notification.objects.get(kind="escalation_reminder")
    assert note.recipient == provider
    assert "waited 2 days for an answer from Pia Provider" in note.subject


@pytest.mark.django_db
def test_answering_stops_the_unanswered_ladder_and_starts_the_overdue_one(
    travel: Any, request_dependency: Any, provider: Any, platform_lead: Any
) -> None:
    dep = request_dependency(due_date=DUE)
    run_at(travel, "2026-11-13 10:00:00+00:00")  # 3 days unanswered: rung 1
    services.dependency_commit(dependency=dep, user=provider)
    assert run_at(travel, "2026-11-15 10:00:00+00:00").escalated == 0  # not overdue yet
    run_at(travel, "2026-11-21 00:00:00+00:00")
    assert list(Escalation.objects.values_list("trigger", "rung")) == [
        ("unanswered", 1),
        ("overdue", 1),
    ]


@pytest.mark.django_db
def test_rung_two_goes_to_leadership_when_the_team_has_no_lead(
    travel: Any, request_dependency: Any, provider: Any, leader: Any
) -> None:
    services.dependency_commit(dependency=request_dependency(due_date=DUE), user=provider)
    run_at(travel, "2026-11-21 00:00:00+00:00")
    run_at(travel, "2026-11-23 00:00:00+00:00")
    assert escalations_to()[1] == ("lea", "escalation_team_lead")


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_exactly_once_per_rung(committed: Any, travel: Any) -> None:
    """Two workers at once (threads with their own connections): each rung is sent once."""
    travel.move_to("2026-11-21 00:00:00+00:00")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            escalation.dependencies_escalate()
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Escalation.objects.count() == 1
    assert escalations_to() == [("pia", "escalation_reminder")]


def _not_due_dependencies(count: int, key_result: Any, platform: Any, provider: Any) -> None:
    """Committed dependencies due next month: stored, indexed, not due."""
    objective = key_result.objective
    krs = [
        KeyResultFactory(objective=objective, owner=UserFactory()) for _ in range(count // 50 + 1)
    ]
    Dependency.objects.bulk_create(
        Dependency(
            key_result=krs[i // 50],
            requesting_team_id=objective.team_id,
            provider_team=platform,
            responsible=provider,
            requested_by=provider,
            deliverable=f"Thing {i}",
            due_date=date(2026, 12, 20),
            rank=i % 50 + 1,
            status=Dependency.Status.COMMITTED,
            requested_at="2026-11-01T00:00:00Z",
            escalation_trigger=Dependency.Trigger.OVERDUE,
            next_escalation_at="2026-12-21T00:00:00Z",
        )
        for i in range(count)
    )


@pytest.mark.django_db
def test_job_cost_does_not_grow_with_dependencies_not_due(
    committed: Any, travel: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    travel.move_to("2026-11-21 00:00:00+00:00")

    def count() -> int:
        Escalation.objects.all().delete()
        Dependency.objects.filter(pk=committed.pk).update(
            escalation_rung=0, next_escalation_at="2026-11-21T00:00:00Z"
        )
        with CaptureQueriesContext(connection) as ctx:
            assert escalation.dependencies_escalate().escalated == 1
        return len(ctx.captured_queries)

    few = count()
    _not_due_dependencies(1000, key_result, platform, provider)
    assert Dependency.objects.count() == 1001
    many = count()
    assert many == few, f"{few} queries with 1 dependency, {many} with 1,001"
