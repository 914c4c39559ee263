"""A promise falls overdue at the end of its due date where the person responsible for it
lives (issue 15), not in the server's zone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine

from dependencies import escalation
from dependencies import services as dependency_services

pytestmark = pytest.mark.django_db


def set_zone(user: Any, zone: str) -> None:
    user.profile.timezone = zone
    user.profile.save()


@pytest.mark.parametrize(
    ("zone", "still_due", "overdue"),
    [
        # Midnight after 1 December in Kathmandu is 18:15 UTC on the 1st...
        ("Asia/Kathmandu", "2026-12-01 18:14:00+00:00", "2026-12-01 18:15:00+00:00"),
        # ...and in Los Angeles 08:00 UTC on the 2nd.
        ("America/Los_Angeles", "2026-12-02 07:59:00+00:00", "2026-12-02 08:00:00+00:00"),
    ],
)
def test_the_dependency_ladder_starts_at_the_end_of_the_due_date_in_the_responsible_zone(
    request_dependency: Any,
    provider: Any,
    platform_lead: Any,
    leader: Any,
    zone: str,
    still_due: str,
    overdue: str,
) -> None:
    set_zone(provider, zone)
    with time_machine.travel("2026-11-20 10:00:00+00:00", tick=False) as travel:
        dep = request_dependency(due_date=date(2026, 12, 1))
        dep = dependency_services.dependency_commit(dependency=dep, user=provider)
        travel.move_to(still_due)
        assert escalation.dependencies_escalate().escalated == 0
        travel.move_to(overdue)
        assert escalation.dependencies_escalate().escalated == 1
    dep.refresh_from_db()
    assert dep.escalation_rung == 1
