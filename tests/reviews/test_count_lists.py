"""Issue 15: every count of the dashboard links to the list behind it, and that list holds
as many as the count says: the headline's "at risk or off track by check-in" (the risk feed
to the key results whose latest check-in is risky, whatever their latest signal), "definitions
not shared" (the objectives list so filtered, a team's with its sub-teams), completion and the
surprise rate; a risk item's earlier signals say where the ones not listed are."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from objectives.models import Objective
from okrly.models import Quarter, Team
from ownership.models import KeyResultStatus
from reviews import selectors
from reviews.models import RiskItem
from reviews.selectors import EARLIER_SHOWN
from tests.reviews.conftest import page

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(client: Any) -> Any:
    call_command("seed_demo", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="maya"))
    return client


def _headline_link(html: Any, words: str) -> str:
    for a in html.find("div", "headline").find_all("a"):
        if a.text.strip() == words:
            return str(a.attrs["href"]).replace("&amp;", "&")
    raise AssertionError(f"no headline link {words!r}")


def _figure(html: Any, words: str) -> str:
    for stat in html.find("div", "headline").find_all("article"):
        if words in stat.text:
            return str(stat.find("span", "stat-value").text)
    raise AssertionError(words)


def test_the_at_risk_figure_links_to_as_many_key_results(demo: Any) -> None:
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    html = page(demo.get("/dashboard/"))
    url = _headline_link(html, "at risk or off track by check-in")
    assert "checkin=risky" in url
    count = int(_figure(html, "at risk or off track by check-in"))
    risky = KeyResultStatus.objects.filter(
        quarter=quarter, in_play=True, checkin_status__in=["at_risk", "off_track"]
    ).count()
    assert count == risky > 0
    _, total = selectors.risk_feed(
        quarter, offset=0, limit=100, chosen=selectors.FeedFilter(latest_risky=True)
    )
    assert total == count
    # The whole feed also holds the key results whose latest signal came after a calm
    # check-in (an escalation, say): the filter is what makes the list the figure's. (On the
    # quarter's first day the demo has none yet, so the two are equal there.)
    _, everything = selectors.risk_feed(quarter, offset=0, limit=100)
    risky_latest = KeyResultStatus.objects.filter(
        checkin_status__in=["at_risk", "off_track"]
    ).values("key_result_id")
    calm_latest = (
        RiskItem.objects.filter(quarter=quarter, in_play=True)
        .exclude(key_result_id__in=risky_latest)
        .count()
    )
    assert everything == count + calm_latest
    listed = demo.get(url).content.decode()
    assert f"{count} key result" in listed
    assert 'name="checkin" value="risky" checked' in listed


def test_definitions_not_shared_link_to_those_objectives_with_sub_teams(demo: Any) -> None:
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    html = page(demo.get("/dashboard/"))
    url = _headline_link(html, "definitions not shared")
    count = int(_figure(html, "definitions not shared"))
    listed = page(demo.get(url))
    cards = listed.find_all("article", "objective-card")
    not_shared = Objective.objects.filter(quarter=quarter, definition_shared=False)
    assert len(cards) == count == not_shared.count() > 0
    assert "Showing definitions not shared" in listed.text

    # A department's cell: its teams and their sub-teams only.
    engineering = Team.objects.get(name="Engineering")
    below = {t.pk for t in Team.objects.filter(parent=engineering)} | {engineering.pk}
    url = f"/objectives/?quarter={quarter.pk}&definition=not_shared&team={engineering.pk}"
    cards = page(demo.get(url)).find_all("article", "objective-card")
    assert len(cards) == not_shared.filter(team__in=below).count()
    assert len(cards) < count
    # A team that is not there, or not an id: 404 (as the risk feed's team), never a 500.
    for team in ("999999", "x", "99999999999999999999999"):
        assert demo.get(f"/objectives/?quarter={quarter.pk}&team={team}").status_code == 404


def test_completion_and_the_surprise_rate_link_to_their_lists(demo: Any) -> None:
    html = page(demo.get("/dashboard/"))
    completion = _headline_link(html, re.sub(r"\s+", " ", _completion_words(html)))
    assert completion.startswith("/dashboard/people/")
    surprise = _headline_link(html, "surprise rate")
    assert surprise.startswith(reverse("reviews:responses"))
    for url in (completion, surprise):
        assert demo.get(url).status_code == 200


def _completion_words(html: Any) -> str:
    for a in html.find("div", "headline").find_all("a"):
        if a.text.strip().startswith("check-in completion"):
            return str(a.text.strip())
    raise AssertionError("completion is not a link")


def test_earlier_signals_not_listed_are_linked_on_the_timeline() -> None:
    """The summary counts every earlier signal; the list shows the latest risky weeks (at
    most ``EARLIER_SHOWN``) and links the rest on the key result's timeline."""
    from types import SimpleNamespace

    from reviews.selectors import FeedItem
    from reviews.templatetags.dashboard import _earlier

    weeks = [
        SimpleNamespace(week=w, status="at_risk", confidence=4, biggest_risk=f"Risk {w}")
        for w in range(9, 9 - EARLIER_SHOWN, -1)
    ]
    item = FeedItem("checkin", None, None, earlier=8, earlier_checkins=weeks, key_result_id=42)
    markup = str(_earlier(item))
    assert "<summary>8 earlier signals</summary>" in markup
    assert markup.count("<li>Week ") == EARLIER_SHOWN
    assert (
        'href="/objectives/key-results/42/#checkin-timeline">'
        f"{8 - EARLIER_SHOWN} more on the key result's timeline</a>"
    ) in markup
    # All of them listed: nothing more to link.
    item.earlier = EARLIER_SHOWN
    assert "more on the key result" not in str(_earlier(item))
