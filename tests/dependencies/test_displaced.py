"""A key result a trade-off dropped (rule 8) has left the counts: what it asked of another
team is no longer chased up the ladder (the trade-off told that team's leads instead)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine

from dependencies import escalation, services
from dependencies.models import Dependency, Escalation
from okrly.models import Notification
from tests.displacing import drop

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


def test_the_ladder_stops_for_a_dropped_key_results_dependency(
    committed: Dependency, travel: Any, key_result: Any, leader: Any
) -> None:
    travel.move_to("2026-11-21 00:00:00+00:00")
    assert escalation.dependencies_escalate().escalated == 1  # the reminder, still in play
    reminders = Notification.objects.filter(kind__startswith="escalation").count()

    drop(leader, key_result)  # leadership decides: Platform's commitment is displaced
    travel.move_to("2026-11-26 00:00:00+00:00")  # past rungs 2 and 3
    run = escalation.dependencies_escalate()
    assert (run.escalated, run.notifications) == (0, 0)
    assert Notification.objects.filter(kind__startswith="escalation").count() == reminders
    assert list(Escalation.objects.values_list("rung", flat=True)) == [1]
    committed.refresh_from_db()
    assert (committed.escalation_rung, committed.next_escalation_at) == (1, None)
    # Its history is kept: the dependency and its first rung stay.
    assert committed.status == Dependency.Status.COMMITTED
