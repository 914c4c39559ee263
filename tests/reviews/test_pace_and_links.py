"""Issue 15: the dashboard shows pace and where each figure comes from. The team view gives
each key result's progress against a linear pace and the week of its latest check-in
("missed" when it is not this week's); every count of the heatmap links to its list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from checkins import services as checkins
from reviews.templatetags.dashboard import pace_note
from tests.factories import KeyResultFactory, during_week
from tests.reviews.conftest import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.mark.parametrize(
    ("progress", "said"),
    [(54, "on pace"), (50, "on pace"), (60, "6 pts ahead"), (40, "14 pts behind")],
)
def test_pace_is_progress_against_the_share_of_the_quarter_gone(progress: int, said: str) -> None:
    # Week 7 of 13: a linear pace expects 54%.
    assert said in pace_note(progress, 7, 13)


def test_pace_is_the_same_for_a_decreasing_key_result(
    client_for: Any, leader: Any, objective: Any, owner: Any
) -> None:
    """Churn from 8% down to 4%: at 7.6% in week 7 of 14 it is 10% of the way, where a
    linear pace expects half: 40 points behind; a rising one at the same share reads the
    same."""
    down = KeyResultFactory(
        objective=objective,
        owner=owner,
        title="Cut churn",
        direction="decrease",
        start_value=Decimal(8),
        target_value=Decimal(4),
        current_value=Decimal("7.6"),
    )
    up = KeyResultFactory(
        objective=objective,
        owner=owner,
        title="Grow trials",
        start_value=Decimal(0),
        target_value=Decimal(100),
        current_value=Decimal(10),
    )
    html = page(client_for(leader).get(f"/dashboard/teams/{objective.team_id}/"))
    rows = {
        tr.find("a").text: tr
        for tr in html.find("table", "team-table").find("tbody").find_all("tr")
    }
    assert "▼ 40 pts behind" in rows["Cut churn"].text
    assert "▼ 40 pts behind" in rows["Grow trials"].text
    assert down.progress == up.progress == 10


def test_the_team_view_gives_the_week_of_each_latest_check_in_and_says_missed(
    client_for: Any, leader: Any, owner: Any, objective: Any, key_result: Any
) -> None:
    late = KeyResultFactory(objective=objective, owner=owner, title="Ship the API")
    checkins.checkin_submit(
        user=owner,
        key_result=key_result,
        status="at_risk",
        confidence=5,
        biggest_risk="X",
        value=14,
    )
    with during_week(objective.quarter, 6):
        checkins.checkin_submit(
            user=owner, key_result=late, status="on_track", confidence=8, biggest_risk="Y", value=30
        )
    html = page(client_for(leader).get(f"/dashboard/teams/{objective.team_id}/"))
    rows = {
        tr.find("a").text: tr
        for tr in html.find("table", "team-table").find("tbody").find_all("tr")
    }
    this_week = " ".join(rows["Raise trial conversion"].text.split())
    assert "At risk 5/10 week 7" in this_week
    assert "missed" not in this_week
    assert "On track 8/10 week 6 missed" in " ".join(rows["Ship the API"].text.split())


def test_every_count_of_the_heatmap_links_to_its_list(
    client_for: Any, leader: Any, owner: Any, key_result: Any
) -> None:
    checkins.checkin_submit(
        user=owner,
        key_result=key_result,
        status="at_risk",
        confidence=5,
        biggest_risk="X",
        value=14,
    )
    client = client_for(leader)
    html = page(client.get("/dashboard/"))
    (row,) = html.find("table", "heatmap").find_all("tr", "depth-0")
    links = [a.attrs["href"] for td in row.find_all("td")[1:8] for a in td.find_all("a")]
    team = key_result.objective.team_id
    quarter = key_result.objective.quarter_id
    assert links == [
        f"/dashboard/teams/{team}/?quarter={quarter}",
        f"/dashboard/risks/?quarter={quarter}&team={team}&checkin=risky",
        f"/dashboard/teams/{team}/?quarter={quarter}#promises",
        f"/dashboard/risks/?quarter={quarter}&team={team}&kind=escalation",
        f"/dashboard/people/?quarter={quarter}&team={team}",
        f"/dashboard/people/?quarter={quarter}&team={team}",
        f"/objectives/?quarter={quarter}&definition=not_shared&team={team}",
    ]
    # The at-risk count's list holds that key result.
    risks = client.get(links[1]).content.decode()
    assert "Raise trial conversion" in risks
    for link in links:
        assert client.get(link.partition("#")[0]).status_code == 200
