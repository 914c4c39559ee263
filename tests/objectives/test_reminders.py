"""The acknowledgement ladder under controlled time: the members who have not read a
definition version, then their managers (or the team's leads), then leadership; one rung per
run, each rung once, and it stops when the group has read it, when a newer version replaces
it and when the quarter closes.

Lena (Growth's lead) publishes version 1 of Growth's objective on Monday 2 November 2026 at
09:00 UTC. Its definition group is Lena and Lea (leadership); Mia is Lena's manager here.
DEFINITION_ACK_DAYS = 5 and rungs at 0, 48 and 96 hours: rung 1 is due on Saturday
7 November 09:00, rung 2 on the 9th, rung 3 on the 11th.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from objectives import reminders, services
from objectives.definitions import current_version
from objectives.models import DefinitionAcknowledgement, DefinitionReminder, DefinitionVersion
from objectives.tasks import definitions_remind_task
from okrly.models import Notification, Profile, Quarter
from tests.factories import ObjectiveFactory

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RUNG_1 = datetime(2026, 11, 7, 9, 0, tzinfo=UTC)
RUNG_2 = RUNG_1 + timedelta(hours=48)
RUNG_3 = RUNG_1 + timedelta(hours=96)
MINUTE = timedelta(minutes=1)
READING = "I will stop hiring quota reps for it."


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel(PUBLISHED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def version(travel: Any, objective: Any, lead: Any, leader: Any, manager: Any) -> Any:
    """Version 1, published by Lena; Mia manages Lena."""
    Profile.objects.filter(user=lead).update(manager=manager)
    services.objective_update(user=lead, objective=objective, means="Protect margin")
    version = current_version(objective)
    assert version is not None
    return version


def run_at(travel: Any, moment: datetime) -> reminders.ReminderRun:
    travel.move_to(moment)
    return reminders.definitions_remind()


def reminded() -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(kind__startswith="definition_ack")
        .order_by("kind", "recipient__username")
        .values_list("recipient__username", "kind")
    )


def test_publishing_starts_the_ladder_definition_ack_days_later(version: Any) -> None:
    assert settings.DEFINITION_ACK_DAYS == 5
    assert version.next_escalation_at == RUNG_1
    assert version.escalation_rung == 0


def test_nothing_happens_before_definition_ack_days(version: Any, travel: Any) -> None:
    assert run_at(travel, RUNG_1 - MINUTE).escalated == 0
    assert reminded() == []
    assert not DefinitionReminder.objects.exists()


def test_the_ladder_climbs_one_rung_at_a_time_each_once(version: Any, travel: Any) -> None:
    # Rung 1: the members who have not read it, themselves.
    assert run_at(travel, RUNG_1).escalated == 1
    assert run_at(travel, RUNG_1).escalated == 0  # run twice: once per rung
    assert reminded() == [("lea", "definition_ack_1"), ("lena", "definition_ack_1")]
    assert run_at(travel, RUNG_2 - MINUTE).escalated == 0
    # Rung 2: Lena's manager Mia; Lea has no manager, so the lead of Growth, Lena.
    assert run_at(travel, RUNG_2).escalated == 1
    assert run_at(travel, RUNG_2 + MINUTE).escalated == 0
    assert [r for r in reminded() if r[1] == "definition_ack_2"] == [
        ("lena", "definition_ack_2"),
        ("mia", "definition_ack_2"),
    ]
    # Rung 3: the leadership group; then the ladder is over.
    assert run_at(travel, RUNG_3).escalated == 1
    assert run_at(travel, RUNG_3 + timedelta(days=30)).escalated == 0
    assert [r for r in reminded() if r[1] == "definition_ack_3"] == [("lea", "definition_ack_3")]
    assert list(DefinitionReminder.objects.values_list("rung", "notified")) == [
        (1, 2),
        (2, 2),
        (3, 1),
    ]
    version.refresh_from_db()
    assert (version.escalation_rung, version.next_escalation_at) == (3, None)


def test_the_message_names_who_has_not_read_it(version: Any, travel: Any) -> None:
    run_at(travel, RUNG_1)
    note = Notification.objects.filter(kind="definition_ack_1").first()
    assert note is not None
    assert "Reminder: acknowledge the definition of “Grow self-serve revenue” (version 1)" in (
        note.subject
    )
    assert "not yet acknowledged by Lea Leader, Lena Lead" in note.body
    assert note.link == f"/objectives/{version.objective_id}/"


def test_acknowledging_narrows_then_stops_the_ladder(
    version: Any, travel: Any, objective: Any, lead: Any, leader: Any
) -> None:
    run_at(travel, RUNG_1)
    travel.move_to(RUNG_1 + timedelta(hours=1))
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    # Lena has read it: rung 2 is about Lea only (no manager: the lead of Growth is told).
    run_at(travel, RUNG_2)
    assert [r for r in reminded() if r[1] == "definition_ack_2"] == [("lena", "definition_ack_2")]
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    version.refresh_from_db()
    assert version.next_escalation_at is None  # the last reading stopped it
    assert run_at(travel, RUNG_3).escalated == 0
    assert not Notification.objects.filter(kind="definition_ack_3").exists()


def test_a_group_that_read_it_before_the_deadline_is_never_reminded(
    version: Any, travel: Any, objective: Any, lead: Any, leader: Any
) -> None:
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    assert run_at(travel, RUNG_1).escalated == 0
    assert reminded() == []


def test_a_version_found_read_by_the_job_is_completed(
    version: Any, travel: Any, lead: Any, leader: Any
) -> None:
    # Readings written around the service (an import, the shell): the job finds nothing owed.
    for person in (lead, leader):
        DefinitionAcknowledgement.objects.create(version=version, person=person, reading=READING)
    run = run_at(travel, RUNG_1)
    assert (run.escalated, run.completed) == (0, 1)
    version.refresh_from_db()
    assert version.next_escalation_at is None
    assert reminded() == []


def test_a_new_version_stops_the_old_ones_ladder(
    version: Any, travel: Any, objective: Any, lead: Any
) -> None:
    run_at(travel, RUNG_1)
    travel.move_to(RUNG_1 + timedelta(hours=2))
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    services.objective_update(user=lead, objective=objective, means="Protect margin, then grow")
    new = current_version(objective)
    assert new is not None
    assert new.number == 2
    version.refresh_from_db()
    assert version.next_escalation_at is None
    # The new version counts from its own publication.
    assert new.next_escalation_at == RUNG_1 + timedelta(hours=2, days=5)
    assert run_at(travel, RUNG_2).escalated == 0
    assert not DefinitionReminder.objects.filter(version=version, rung=2).exists()


def test_a_superseded_version_still_scheduled_is_stopped_without_a_message(
    version: Any, travel: Any, objective: Any, lead: Any
) -> None:
    travel.move_to(PUBLISHED + timedelta(hours=1))
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    services.objective_update(user=lead, objective=objective, means="Protect margin, then grow")
    # A row left scheduled (written before this rule): the job stops it, sends nothing.
    DefinitionVersion.objects.filter(pk=version.pk).update(next_escalation_at=RUNG_1)
    assert run_at(travel, RUNG_1).escalated == 0
    version.refresh_from_db()
    assert version.next_escalation_at is None
    assert reminded() == []


def test_a_closed_quarter_stops_the_ladder(version: Any, travel: Any, quarter: Any) -> None:
    run_at(travel, RUNG_1)
    Quarter.objects.filter(pk=quarter.pk).update(status=Quarter.Status.CLOSED)
    assert run_at(travel, RUNG_2).escalated == 0
    version.refresh_from_db()
    assert version.next_escalation_at is None
    assert not Notification.objects.filter(kind="definition_ack_2").exists()


def test_a_draft_rewritten_in_place_keeps_its_schedule(
    version: Any, travel: Any, objective: Any, lead: Any
) -> None:
    travel.move_to(PUBLISHED + timedelta(days=3))
    services.objective_update(user=lead, objective=objective, means="Protect margin first")
    rewritten = current_version(objective)
    assert rewritten is not None
    assert rewritten.pk == version.pk
    assert rewritten.next_escalation_at == RUNG_1


def test_the_beat_task_reports_its_counts(version: Any, travel: Any) -> None:
    travel.move_to(RUNG_1)
    result = definitions_remind_task.apply().get()
    assert result == {"escalated": 1, "notifications": 2, "completed": 0}
    assert "objectives.tasks.definitions_remind_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_remind_once_per_rung(version: Any, travel: Any) -> None:
    """Four workers at once (threads with their own connections): each rung is sent once."""
    travel.move_to(RUNG_1)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reminders.definitions_remind()
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
    assert DefinitionReminder.objects.count() == 1
    assert reminded() == [("lea", "definition_ack_1"), ("lena", "definition_ack_1")]


def _not_due_versions(count: int, quarter: Any, growth: Any) -> None:
    """Published versions whose ladder starts next month: stored, indexed, not due."""
    later = RUNG_1 + timedelta(days=30)
    objectives = [ObjectiveFactory(quarter=quarter, team=growth) for _ in range(count)]
    DefinitionVersion.objects.bulk_create(
        DefinitionVersion(objective=o, number=1, means="x", next_escalation_at=later)
        for o in objectives
    )


def test_the_jobs_query_count_does_not_grow_with_versions_not_due(
    version: Any, travel: Any, quarter: Any, growth: Any
) -> None:
    travel.move_to(RUNG_1 - MINUTE)
    _not_due_versions(5, quarter, growth)
    with CaptureQueriesContext(connection) as few:
        reminders.definitions_remind()
    _not_due_versions(45, quarter, growth)
    with CaptureQueriesContext(connection) as many:
        reminders.definitions_remind()
    assert len(few.captured_queries) == len(many.captured_queries)
