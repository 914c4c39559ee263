"""Issue 15: the risk feed can be worked through. One item per key result (``RiskItem``,
kept by the writes), filters by team with its sub-teams, by kind and by "not yet answered by
a leader", answered items marked, and the unanswered count on the Dashboard's tab."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkins import services as checkins
from checkins import threads
from checkins.models import CheckIn, CheckInComment
from reviews import early_escalations, risks
from reviews.models import RiskItem
from tests.factories import KeyResultFactory
from tests.reviews.conftest import Org, page
from tests.reviews.test_figures import feed

pytestmark = pytest.mark.django_db

ITEM_FIELDS = (
    "key_result_id",
    "quarter_id",
    "team_id",
    "in_play",
    "kind",
    "at",
    "signal_id",
    "earlier",
    "check_in_id",
    "answered_at",
    "answered",
)


def stored() -> list[tuple[Any, ...]]:
    return sorted(RiskItem.objects.values_list(*ITEM_FIELDS))


def recomputed() -> list[tuple[Any, ...]]:
    return sorted(tuple(getattr(i, f) for f in ITEM_FIELDS) for i in risks.compute())


def test_the_items_equal_a_recomputation_after_every_kind_of_write(org: Org, clock: Any) -> None:
    """The kept rows against ``risks.compute`` (the from-scratch oracle) after each write that
    can change them: a risky and a calm check-in, a leader's Seen, anyone's comment, an early
    escalation, an edit, a deletion."""
    assert stored() == recomputed()
    assert len(stored()) == 6
    gina = org.person("Gina")
    g1 = org.krs["G1"]
    clock.move_to("2026-11-17 08:00:00+00:00")
    steps = [
        lambda: checkins.checkin_submit(
            user=g1.owner,
            key_result=g1,
            status="off_track",
            confidence=2,
            biggest_risk="X",
            value=1,
        ),
        lambda: threads.checkin_comment(
            user=org.person("Gus"), check_in=CheckIn.objects.get(key_result=g1, week=7), seen=True
        ),
        lambda: threads.checkin_comment(
            user=gina, check_in=CheckIn.objects.get(key_result=g1, week=7), body="I can help"
        ),
        lambda: checkins.checkin_submit(
            user=g1.owner, key_result=g1, status="on_track", confidence=8, biggest_risk="Y", value=9
        ),
        lambda: early_escalations.escalation_raise(
            user=g1.owner,
            key_result=g1,
            need="A decision on scope",
            asked_of=org.person("Cora"),
            needed_by=date(2026, 11, 24),
        ),
        lambda: CheckInComment.objects.filter(check_in__key_result=g1).delete(),
        lambda: CheckIn.objects.filter(key_result=org.krs["P1"]).delete(),
    ]
    for step in steps:
        clock.shift(60)
        step()
        assert stored() == recomputed()


def test_a_leaders_seen_answers_the_item_until_the_next_signal(org: Org, clock: Any) -> None:
    p1 = org.krs["P1"]
    item = RiskItem.objects.get(key_result=p1)
    assert (item.kind, item.answered) == ("at_risk", False)
    clock.move_to("2026-11-17 08:00:00+00:00")
    threads.checkin_comment(user=org.person("Gina"), check_in=item.check_in, body="Me too")
    assert RiskItem.objects.get(key_result=p1).answered is False  # not a leader of Pia
    threads.checkin_comment(user=org.person("Pat"), check_in=item.check_in, seen=True)
    assert RiskItem.objects.get(key_result=p1).answered is True
    # Pia edits her week 7 answers: off track now. News again, unanswered.
    clock.move_to("2026-11-17 09:00:00+00:00")
    checkins.checkin_submit(
        user=p1.owner, key_result=p1, status="off_track", confidence=2, biggest_risk="Z", value=3
    )
    item = RiskItem.objects.get(key_result=p1)
    assert (item.kind, item.answered, item.earlier) == ("off_track", False, 0)


def test_the_feed_filters_by_team_with_sub_teams_kind_and_unanswered(
    org: Org, reader: Any, clock: Any
) -> None:
    def shown(query: str) -> list[tuple[str, str]]:
        return feed(page(reader.get(f"/dashboard/risks/?{query}")))

    everything = shown("")
    assert len(everything) == 6
    # Commerce holds Growth and Sales; Engineering holds Platform, Mobile and Data.
    assert shown("team_name=Commerce") == [
        ("checkin", "S1 key result"),
        ("checkin", "G2 key result"),
        ("escalation", "D2 deliverable"),
    ]
    assert shown("team_name=growth") == [("checkin", "G2 key result")]
    assert shown(f"team={org.teams['Sales'].pk}") == [
        ("checkin", "S1 key result"),
        ("escalation", "D2 deliverable"),
    ]
    assert shown("kind=forecast") == [("checkin", "S1 key result")]
    assert shown("kind=escalation") == [i for i in everything if i[0] == "escalation"]
    assert shown("kind=nonsense") == everything  # an unknown kind is ignored
    unknown = page(reader.get("/dashboard/risks/?team_name=Nowhere"))
    assert feed(unknown) == []
    assert "No team is called “Nowhere”." in unknown.text

    clock.move_to("2026-11-17 08:00:00+00:00")
    threads.checkin_comment(
        user=org.person("Lea"),
        check_in=RiskItem.objects.get(key_result=org.krs["G2"]).check_in,
        seen=True,
    )
    assert shown("unanswered=1") == [i for i in everything if i != ("checkin", "G2 key result")]
    answered = page(reader.get("/dashboard/risks/?team_name=Growth")).find("li", "feed-item")
    assert "is-answered" in answered.classes
    assert "✓ answered" in answered.text


def test_the_unanswered_count_is_on_the_tab_and_drops_when_answered(
    org: Org, reader: Any, clock: Any
) -> None:
    def badge() -> str:
        tabs = page(reader.get("/dashboard/")).find("nav", "tabs")
        return tabs.find("span", "badge").text

    assert badge() == "6"
    clock.move_to("2026-11-17 08:00:00+00:00")
    item = RiskItem.objects.get(key_result=org.krs["S1"])
    threads.checkin_comment(user=org.person("Sal"), check_in=item.check_in, seen=True)
    assert badge() == "5"


def test_answering_in_a_thread_reloads_the_tabs_count_without_a_page_load(
    org: Org, client: Any, clock: Any
) -> None:
    """The thread's htmx answer triggers ``okrly-thread-changed`` once its swap settled; the
    tab's count listens for it and reloads itself from its own address."""
    clock.move_to("2026-11-17 08:00:00+00:00")
    client.force_login(org.person("Sal"))
    tabs = page(client.get("/dashboard/risks/")).find("nav", "tabs")
    count = tabs.by_id("risk-badge")
    assert count.attrs["hx-trigger"] == "okrly-thread-changed from:body"
    assert "data-quiet" in count.attrs
    assert count.find("span", "badge").text == "6"

    item = RiskItem.objects.get(key_result=org.krs["S1"])
    answered = client.post(
        f"/checkins/check-ins/{item.check_in_id}/thread/", {"seen": "1"}, HTTP_HX_REQUEST="true"
    )
    assert answered.status_code == 200
    assert answered["HX-Trigger-After-Settle"] == "okrly-thread-changed"

    fresh = page(client.get(count.attrs["hx-get"]))
    assert fresh.by_id("risk-badge").find("span", "badge").text == "5"


def test_the_filtered_feed_costs_the_same_queries_however_many_items(
    org: Org, reader: Any, clock: Any
) -> None:
    url = "/dashboard/risks/?team_name=Engineering&kind=at_risk&unanswered=1"
    with CaptureQueriesContext(connection) as few:
        reader.get(url)
    clock.move_to("2026-11-17 08:00:00+00:00")
    platform = org.krs["P1"].objective
    pia = org.person("Pia")
    for n in range(12):
        kr = KeyResultFactory(objective=platform, owner=pia, title=f"More {n}")
        for week_value in (1, 2):
            clock.shift(60)
            checkins.checkin_submit(
                user=pia,
                key_result=kr,
                status="at_risk",
                confidence=4,
                biggest_risk="More",
                value=week_value,
            )
    with CaptureQueriesContext(connection) as many:
        html = page(reader.get(url))
    assert len(feed(html)) == 13
    assert len(many) == len(few)
