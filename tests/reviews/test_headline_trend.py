"""Issue 15: week-over-week arrows on every headline figure, and the team's pace.

The headline's figures are the state now (no history), so a beat job writes the current
week's row (``reviews.HeadlineSnapshot``) every quarter hour; the dashboard compares today's
figures with the previous week's row as that week ended. The clock: Tuesday 17 November 2026
(week 7 of 2026 Q4, ``frozen_now``); week 6 ran from 5 to 11 November.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from checkins import services as checkins
from reviews import snapshots
from reviews.models import HeadlineSnapshot
from reviews.selectors import Signals
from tests.factories import KeyResultFactory, during_week
from tests.reviews.conftest import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def stat(html: Any, label: str) -> Any:
    """The headline's figure whose label starts with ``label``."""
    for article in html.find("div", "headline").find_all("article"):
        if article.find("span", "stat-label").text.strip().startswith(label):
            return article
    raise AssertionError(f"no headline figure {label!r}")


def test_the_job_writes_the_current_weeks_row_once_however_often_it_runs(
    objective: Any, key_result: Any
) -> None:
    with during_week(objective.quarter, 6):
        assert snapshots.headlines_snapshot() == 1
        assert snapshots.headlines_snapshot() == 1
    row = HeadlineSnapshot.objects.get()
    assert (row.quarter_id, row.week) == (objective.quarter.pk, 6)
    assert row.figures["at_risk"] == 0
    assert set(row.figures) == set(snapshots.HEADLINE)

    # Later in the week the same row is rewritten with the figures then.
    checkins.checkin_submit(
        user=key_result.owner,
        key_result=key_result,
        status="at_risk",
        confidence=4,
        biggest_risk="Pricing",
        value=12,
    )
    snapshots.headlines_snapshot()
    assert list(HeadlineSnapshot.objects.values_list("week", flat=True)) == [6, 7]
    assert HeadlineSnapshot.objects.get(week=7).figures["at_risk"] == 1


def test_each_headline_figure_shows_its_change_since_last_week_ended(
    client_for: Any, leader: Any, objective: Any, key_result: Any, owner: Any
) -> None:
    second = KeyResultFactory(objective=objective, owner=owner, title="Ship the API")
    with during_week(objective.quarter, 6):
        for kr in (key_result, second):
            checkins.checkin_submit(
                user=owner,
                key_result=kr,
                status="on_track",
                confidence=8,
                biggest_risk="None",
                value=30,
            )
        snapshots.headlines_snapshot()
    before = HeadlineSnapshot.objects.get(week=6).figures
    # This week: one key result turns at risk, the other has no check-in yet.
    checkins.checkin_submit(
        user=owner,
        key_result=key_result,
        status="at_risk",
        confidence=4,
        biggest_risk="Pricing",
        value=12,
    )
    html = page(client_for(leader).get("/dashboard/"))

    at_risk = stat(html, "at risk or off track")
    trend = at_risk.find("small", "trend")
    assert "trend-bad" in trend.classes  # a rise in risk is bad news
    assert "▲ 1" in trend.text
    assert f"up 1 since week 6 ({before['at_risk']})" in trend.text

    # Both checked in in week 6 (100%), one of two so far this week (50%): a fall is bad.
    completion = stat(html, "check-in completion").find("small", "trend")
    assert before["completion"] == 100
    assert "down 50 pts since week 6 (100%)" in completion.text
    assert "trend-bad" in completion.classes

    unchanged = stat(html, "overdue dependencies").find("small", "trend")
    assert "trend-same" in unchanged.classes
    assert "unchanged since week 6" in unchanged.text
    # Every figure with a value then and now has its arrow; the surprise rate has none
    # (no missed commitment yet: nothing to compare).
    trends = html.find("div", "headline").find_all("small", "trend")
    assert len(trends) == len([k for k, v in before.items() if v is not None])


def test_without_last_weeks_row_no_arrow_is_invented(
    client_for: Any, leader: Any, key_result: Any
) -> None:
    snapshots.headlines_snapshot()  # this week's only
    html = page(client_for(leader).get("/dashboard/"))
    assert html.find("div", "headline").find_all("small", "trend") == []


@pytest.mark.parametrize(
    ("key", "before", "now", "good"),
    [
        ("failing", 3, 5, False),
        ("failing", 5, 3, True),
        ("completion", 40, 60, True),
        ("completion", 60, 40, False),
        ("missed", 2, 2, None),
    ],
)
def test_a_rise_is_good_news_only_for_completion_and_responses_on_time(
    key: str, before: int, now: int, good: bool | None
) -> None:
    signals = Signals()
    if key == "completion":
        signals.key_results, signals.checked_in = 100, now
    else:
        setattr(signals, key, now)
    previous = HeadlineSnapshot(week=6, figures={key: before})
    change = snapshots.changes(signals, previous)[key]
    assert (change.delta, change.good, change.week) == (now - before, good, 6)


def test_the_team_view_gives_the_teams_pace_by_the_rows_own_measure(
    client_for: Any, leader: Any, objective: Any, owner: Any
) -> None:
    """Week 7 of 14: a linear pace expects 50%. One rising key result ahead (80%), one
    decreasing one behind (churn 8% → 4% at 7.6%: 10%), one on pace (52%)."""
    KeyResultFactory(
        objective=objective,
        owner=owner,
        title="Ahead",
        start_value=Decimal(0),
        target_value=Decimal(100),
        current_value=Decimal(80),
    )
    KeyResultFactory(
        objective=objective,
        owner=owner,
        title="Cut churn",
        direction="decrease",
        start_value=Decimal(8),
        target_value=Decimal(4),
        current_value=Decimal("7.6"),
    )
    KeyResultFactory(
        objective=objective,
        owner=owner,
        title="On pace",
        start_value=Decimal(0),
        target_value=Decimal(50),
        current_value=Decimal(26),
    )
    html = page(client_for(leader).get(f"/dashboard/teams/{objective.team_id}/"))
    pace = html.find("p", "team-pace").text
    average = round((80 + 10 + 52) / 3)
    assert f"{average}% of the way on average, 50% expected by now" in pace
    assert "1 behind, 1 on pace, 1 ahead of 3 key results" in pace
    # The verdict is the average's against the expected, with the rows' 5-point margin.
    assert ("on pace" if abs(average - 50) <= 5 else "behind") in pace
