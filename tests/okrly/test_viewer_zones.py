"""Issue 15: every date and time is shown in the viewer's own zone (with its abbreviation
where a time is shown), and a dependency falls overdue at the end of its due date where
the person responsible for it lives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine

from checkins import services as checkin_services
from okrly.zones import ViewerZone, end_of_day, local_time

pytestmark = pytest.mark.django_db


def set_zone(user: Any, zone: str) -> None:
    user.profile.timezone = zone
    user.profile.save()


def test_a_leader_in_kathmandu_reads_a_check_in_made_in_los_angeles_in_their_own_zone(
    client_for: Any, owner: Any, lead: Any, key_result: Any
) -> None:
    """Olga checks in at 19:00 on Monday 16 November in Los Angeles (03:00 UTC on the 17th);
    for Lena in Kathmandu (UTC+05:45) it was 08:45 on Tuesday 17 November."""
    set_zone(owner, "America/Los_Angeles")
    set_zone(lead, "Asia/Kathmandu")
    with time_machine.travel("2026-11-17 03:00:00+00:00", tick=False):
        checkin_services.checkin_submit(
            user=owner,
            key_result=key_result,
            status="at_risk",
            confidence=6,
            biggest_risk="Vendor slips",
            value="15",
        )
        as_lead = client_for(lead).get(key_result.get_absolute_url()).content.decode()
        as_owner = client_for(owner).get(key_result.get_absolute_url()).content.decode()
    assert "17 Nov, 08:45 +0545" in as_lead
    assert "16 Nov, 19:00 PST" in as_owner
    assert "03:00" not in as_lead + as_owner  # never the server's zone


def test_a_page_without_a_signed_in_viewer_keeps_the_servers_zone(client: Any) -> None:
    assert client.get("/accounts/login/").status_code == 200


def test_the_viewer_zone_follows_daylight_saving_and_names_it(owner: Any) -> None:
    set_zone(owner, "America/Los_Angeles")
    zone = ViewerZone(owner)
    summer = datetime(2026, 7, 1, 19, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert local_time(summer, zone) == "Wed 1 Jul, 12:00 PDT"
    assert local_time(winter, zone) == "Tue 1 Dec, 11:00 PST"


def test_a_date_is_due_until_midnight_where_the_person_is() -> None:
    due = date(2026, 12, 1)
    assert end_of_day(due, "Asia/Kathmandu") == datetime(2026, 12, 1, 18, 15, tzinfo=UTC)
    assert end_of_day(due, "America/Los_Angeles") == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert end_of_day(date.max, "UTC") is None
