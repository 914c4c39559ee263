"""Issue 12's dashboard figures, counted by hand: the surprise rate and signal lead time
(rule 7), the consistency of responses to missed commitments per leader (rule 10), early
escalations in the people view and the risk feed, and what each costs in queries.

Rows are created with the ORM at known times (the services that open responses and raise
escalations have their own tests). The figures are counted by hand as read on Monday 30 November
2026 10:00 UTC, in 2026 Q4 (Thursday 1 October to 31 December; week 3 is 15-21 October): the
fixtures move the clock there (``read_on_30_november``) whatever day the suite is pinned to
(OKRLY_TEST_TODAY), since whether a response or a next step is due yet depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkins.models import CheckIn
from dependencies.models import Dependency, DependencyEvent
from objectives.models import TradeOff, TradeOffCategory
from okrly import registry
from okrly.models import Membership
from reviews import selectors
from reviews.models import EarlyEscalation, MissResponse, NextStep
from tests.factories import (
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)
from tests.reviews.conftest import page, people_rows

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 30)
READ_AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # when the figures below are counted
MISSED_AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # when every miss below is detected


@pytest.fixture
def read_on_30_november() -> Iterator[None]:
    """The hand-counted figures hold as read on 30 November: the pages and the API read the
    clock (not TODAY), so it is moved there from the suite's pinned day."""
    with time_machine.travel(READ_AT, tick=False):
        yield


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def miss(
    kr: Any,
    *,
    opened: datetime = MISSED_AT,
    due: datetime | None = None,
    recorded: datetime | None = None,
    dependency: Any = None,
) -> MissResponse:
    kind = (
        MissResponse.Kind.DEPENDENCY_BROKEN if dependency else MissResponse.Kind.KEY_RESULT_MISSED
    )
    subject = f"dependency:{dependency.pk}" if dependency else f"key_result:{kr.pk}"
    return MissResponse.objects.create(
        kind=kind,
        subject_key=subject,
        quarter=kr.objective.quarter,
        key_result=kr,
        dependency=dependency,
        accountable=kr.owner,
        committed="100",
        delivered="40",
        opened_at=opened,
        due_at=due or opened + timedelta(days=7),
        recorded_at=recorded,
    )


def check_in(kr: Any, week: int, when: datetime, status: str, *, flag: bool = False) -> CheckIn:
    return CheckIn.objects.create(
        key_result=kr,
        week=week,
        author=kr.owner,
        status=status,
        confidence=5,
        biggest_risk="-",
        value=10,
        forecast_flag=flag,
        submitted_at=when,
    )


def escalate(kr: Any, when: datetime, asked_of: Any, **more: Any) -> EarlyEscalation:
    return EarlyEscalation.objects.create(
        key_result=kr,
        raised_by=kr.owner,
        need="A decision on scope",
        asked_of=asked_of,
        needed_by=when.date(),
        raised_at=when,
        answer_due_at=more.pop("answer_due_at", when.replace(hour=18)),
        **more,
    )


def dependency(kr: Any, team: Any, responsible: Any, status: str) -> Dependency:
    return Dependency.objects.create(
        key_result=kr,
        requesting_team=kr.objective.team,
        provider_team=team,
        responsible=responsible,
        requested_by=kr.owner,
        requested_at=at(11, 1),
        deliverable="An API",
        rank=1,
        due_date=date(2026, 11, 20),
        status=status,
    )


def step(response: MissResponse, due: date, done: datetime | None = None) -> NextStep:
    return NextStep.objects.create(
        response=response, what="Re-plan", owner=response.accountable, due=due, done_at=done
    )


# --- surprise rate and lead time ---------------------------------------------------------------


@pytest.fixture
def six(db: Any, read_on_30_november: None) -> dict[str, Any]:
    """The issue's six key results, in one team:

    K1 missed with no signal (a risky check-in after the miss does not count);
    K2 missed after an at-risk check-in in week 3 (15 Oct): 42 days before = 6.0 weeks;
    K3 missed after an early escalation on 5 Nov: 21 days = 3.0 weeks;
    K4 achieved after an off-track check-in: no miss, so not counted;
    K5 displaced by a trade-off, missed and never signalled: excluded;
    K6 missed after a stated-vs-forecast flag only (an "on track" check-in, 16 Nov 22:00):
       9.5 days = 1.357… weeks, 1.4.
    Misses counted 4, never signalled 1: 25%; lead times 6.0, 3.0, 1.4: median 3.0."""
    quarter = QuarterFactory(name="2026 Q4")
    team = TeamFactory(name="Growth")
    objective = ObjectiveFactory(quarter=quarter, team=team)
    boss = UserFactory(username="boss")
    krs = {f"K{n}": KeyResultFactory(objective=objective, title=f"K{n}") for n in range(1, 7)}
    check_in(krs["K1"], 4, at(10, 22), CheckIn.Status.ON_TRACK)
    check_in(krs["K1"], 9, at(11, 27), CheckIn.Status.OFF_TRACK)  # after the miss
    check_in(krs["K2"], 3, at(10, 15), CheckIn.Status.AT_RISK)
    check_in(krs["K2"], 4, at(10, 22), CheckIn.Status.OFF_TRACK)  # later: not the first
    escalate(krs["K3"], at(11, 5), boss)
    check_in(krs["K4"], 5, at(10, 29), CheckIn.Status.OFF_TRACK)
    check_in(krs["K6"], 8, datetime(2026, 11, 16, 22, 0, tzinfo=UTC), "on_track", flag=True)
    trade_off = TradeOff.objects.create(
        quarter=quarter,
        team=team,
        category=TradeOffCategory.objects.get_or_create(name="Client escalation")[0],
        reason="A client",
        decided_by=boss,
    )
    KeyResultFactory._meta.model.objects.filter(pk=krs["K5"].pk).update(displaced_by=trade_off)
    # As objectives.tradeoffs does after its bulk update: the key result's status row follows.
    registry.key_results_changed([krs["K5"].pk])
    for code in ("K1", "K2", "K3", "K5", "K6"):
        miss(krs[code])
    return {"quarter": quarter, "team": team, "krs": krs, "boss": boss}


def test_surprise_rate_and_lead_time_of_the_six_key_results(six: dict[str, Any]) -> None:
    view = selectors.org_view(six["quarter"], TODAY)
    h = view.headline
    assert (h.misses, h.surprises) == (4, 1)
    assert h.surprise_rate == 0.25
    assert h.surprise_percent == 25
    assert sorted(h.lead_weeks) == [1.4, 3.0, 6.0]
    assert h.median_lead_weeks == 3.0


def test_the_dashboard_team_view_and_api_show_the_surprise_rate(
    six: dict[str, Any], client: Any, leader: Any
) -> None:
    client.force_login(leader)
    html = page(client.get("/dashboard/"))
    surprise = html.find("article", "stat-surprise")
    assert surprise.find("span", "stat-value").text == "25%"
    assert "1 of 4 misses never signalled" in surprise.text
    assert "3.0 weeks ahead" in surprise.text
    team = page(client.get(f"/dashboard/teams/{six['team'].pk}/"))
    assert "25%" in team.find("p", "team-surprise").text
    assert "1 of 4 missed commitments" in team.find("p", "team-surprise").text
    body = client.get("/api/dashboard/org/").json()
    assert body["surprise_rate"] == 0.25
    assert body["median_signal_lead_weeks"] == 3.0
    # No response is recorded nor past its deadline (due 3 December): nothing to say yet.
    assert body["responses_on_time_percent"] is None
    department = body["departments"][0]
    assert (department["surprise_rate"], department["missed_commitments"]) == (0.25, 4)


def test_a_dependency_flagged_at_risk_signals_its_key_results_miss(
    six: dict[str, Any], provider: Any, platform: Any
) -> None:
    """K1's dependency flagged at risk on 19 Nov (a DependencyEvent to at_risk, as
    dependencies.services writes it): K1 is signalled 1.0 week ahead, no surprise is left."""
    kr = six["krs"]["K1"]
    dep = dependency(kr, platform, provider, Dependency.Status.AT_RISK)
    event = DependencyEvent.objects.create(
        dependency=dep, action="flag_risk", from_status="committed", to_status="at_risk"
    )
    DependencyEvent.objects.filter(pk=event.pk).update(created_at=at(11, 19))
    h = selectors.org_view(six["quarter"], TODAY).headline
    assert (h.misses, h.surprises, h.surprise_rate) == (4, 0, 0.0)
    assert sorted(h.lead_weeks) == [1.0, 1.4, 3.0, 6.0]
    assert h.median_lead_weeks == 2.2  # (1.4 + 3.0) / 2


def test_an_early_escalation_on_the_missed_dependency_signals_it(
    six: dict[str, Any], provider: Any, platform: Any
) -> None:
    """A dependency miss of a new key result without a signal of its own: an early escalation
    naming that dependency (raised on another key result), on 12 Nov, signals it."""
    kr = KeyResultFactory(objective=six["krs"]["K1"].objective, title="K7")
    dep = dependency(kr, platform, provider, Dependency.Status.BROKEN)
    escalate(six["krs"]["K2"], at(11, 12), six["boss"], dependency=dep)
    response = miss(kr, dependency=dep)
    rows = {r.pk: r for r in selectors.miss_rows(six["quarter"], None)}
    assert selectors.first_signal(rows[response.pk]) == at(11, 12)


def test_no_misses_no_rate(
    read_on_30_november: None, quarter: Any, client: Any, leader: Any
) -> None:
    h = selectors.org_view(quarter, TODAY).headline
    assert (h.surprise_rate, h.median_lead_weeks, h.responses_on_time_percent) == (None,) * 3
    client.force_login(leader)
    body = client.get("/api/dashboard/org/").json()
    assert (body["surprise_rate"], body["responses_on_time_percent"]) == (None, None)


# --- consistency per leader --------------------------------------------------------------------


@pytest.fixture
def three(db: Any, read_on_30_november: None) -> dict[str, Any]:
    """Three leaders: Lea (leadership: the whole organisation), Cora (leads Commerce, and so
    Growth below it, which has no lead of its own), Pat (leads Platform). Read 30 Nov 10:00.

        miss  team      opened      due       recorded             days  next step
        C1    Commerce  2 Nov 9:00  9 Nov     4 Nov 21:00, on time  2.5   due 20 Nov, done
                                                                          20 Nov 23:00: on time
        G1    Growth    10 Nov      17 Nov    18 Nov 22:00, late    8.5   due 25 Nov, not done:
                                                                          late
        G2    Growth    26 Nov      3 Dec     open, not yet due     -     none
        P1    Platform  3 Nov       10 Nov    4 Nov 22:00, on time  1.5   due 10 Dec, done
                                                                          27 Nov: on time
        P2    Platform  12 Nov      19 Nov    open, overdue: late   -     none
        P3    Platform  16 Nov      23 Nov    20 Nov 22:00, on time 4.5   due 5 Dec, open: not
                                                                          settled yet

    Cora: 3 misses, 1 of 2 on time (50%), median (2.5, 8.5) 5.5 days, steps 1 of 2 (50%).
    Pat: 3 misses, 2 of 3 (67%), median (1.5, 4.5) 3.0 days, steps 1 of 1 (100%).
    Lea: 6 misses, 3 of 5 (60%), median (1.5, 2.5, 4.5, 8.5) 3.5 days, steps 2 of 3 (67%)."""
    quarter = QuarterFactory(name="2026 Q4")
    lea = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(lea)
    cora = UserFactory(username="cora", first_name="Cora", last_name="Commerce")
    pat = UserFactory(username="pat", first_name="Pat", last_name="Platform")
    UserFactory(username="olga", first_name="Olga", last_name="Nobody")  # leads nothing
    commerce = TeamFactory(name="Commerce", lead=cora)
    growth = TeamFactory(name="Growth", parent=commerce)
    platform = TeamFactory(name="Platform")
    MembershipFactory(user=pat, team=platform, role=Membership.Role.LEAD)  # the lead role only

    def kr(team: Any) -> Any:
        return KeyResultFactory(objective=ObjectiveFactory(quarter=quarter, team=team))

    c1 = miss(kr(commerce), opened=at(11, 2, 9), due=at(11, 9, 9), recorded=at(11, 4, 21))
    step(c1, date(2026, 11, 20), datetime(2026, 11, 20, 23, 0, tzinfo=UTC))
    g1 = miss(kr(growth), opened=at(11, 10), due=at(11, 17), recorded=at(11, 18, 22))
    step(g1, date(2026, 11, 25))
    miss(kr(growth), opened=at(11, 26), due=at(12, 3))
    p1 = miss(kr(platform), opened=at(11, 3), due=at(11, 10), recorded=at(11, 4, 22))
    step(p1, date(2026, 12, 10), at(11, 27))
    miss(kr(platform), opened=at(11, 12), due=at(11, 19))
    p3 = miss(kr(platform), opened=at(11, 16), due=at(11, 23), recorded=at(11, 20, 22))
    step(p3, date(2026, 12, 5))
    return {"quarter": quarter, "lea": lea, "cora": cora, "pat": pat}


def leader_figures(row: selectors.LeaderRow) -> tuple[Any, ...]:
    s = row.signals
    return (
        row.scope,
        s.misses,
        s.responses_on_time_percent,
        s.median_response_days,
        s.steps_on_time_percent,
    )


EXPECTED = {
    "Cora Commerce": ("Commerce", 3, 50, 5.5, 50),
    "Lea Leader": ("Whole organisation", 6, 60, 3.5, 67),
    "Pat Platform": ("Platform", 3, 67, 3.0, 100),
}


def test_consistency_per_leader_counted_by_hand(three: dict[str, Any]) -> None:
    view = selectors.org_view(three["quarter"], TODAY)
    leaders = selectors.consistency_rows(three["quarter"], TODAY)
    assert {r.person.get_full_name(): leader_figures(r) for r in leaders} == EXPECTED
    assert [r.person.get_full_name() for r in leaders] == sorted(EXPECTED)
    h = view.headline
    assert (h.responses_on_time, h.responses_settled, h.responses_on_time_percent) == (3, 5, 60)


def test_the_dashboard_and_api_show_the_consistency_rows(
    three: dict[str, Any], client: Any
) -> None:
    client.force_login(three["lea"])
    html = page(client.get("/dashboard/"))
    stat = html.find("article", "stat-responses")
    assert stat.find("span", "stat-value").text == "3 of 5"
    assert "misses with a response on time" in stat.text
    assert "60%" in stat.text
    # The rows per leader are a page of their own, linked from the dashboard.
    link = f"/dashboard/consistency/?quarter={three['quarter'].pk}"
    assert link in [a.attrs.get("href") for a in html.find("p", "consistency-link").find_all("a")]
    table = page(client.get("/dashboard/consistency/")).find("table", "consistency-table")
    shown = {
        tr.find_all("td")[0].text: tuple(td.text for td in tr.find_all("td")[1:])
        for tr in table.find("tbody").find_all("tr")
    }
    assert shown == {
        "Cora Commerce": ("Commerce", "3", "50%", "5.5", "50%"),
        "Lea Leader": ("Whole organisation", "6", "60%", "3.5", "67%"),
        "Pat Platform": ("Platform", "3", "67%", "3.0", "100%"),
    }
    body = client.get("/api/dashboard/org/").json()
    assert body["responses_on_time_percent"] == 60
    assert body["surprise_rate"] == 1.0  # nothing was signalled
    assert body["median_signal_lead_weeks"] is None
    assert {
        r["name"]: (
            r["teams"],
            r["misses"],
            r["responses_on_time_percent"],
            r["median_days_to_respond"],
            r["next_steps_on_time_percent"],
        )
        for r in body["consistency"]
    } == EXPECTED


def test_the_schema_documents_the_new_org_figures(client: Any, leader: Any) -> None:
    client.force_login(leader)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for name in ("surprise_rate", "median_signal_lead_weeks", "responses_on_time_percent"):
        assert name in schema


# --- people view and risk feed -----------------------------------------------------------------


def test_people_count_escalations_raised_and_answered_on_time(
    six: dict[str, Any], client: Any, leader: Any
) -> None:
    """K3's owner raised one (5 Nov, open); K2's owner raises two more, one answered by the
    boss in time, one answered by the boss after its deadline."""
    k2, boss = six["krs"]["K2"], six["boss"]
    escalate(k2, at(11, 9), boss, status="decided", answered_by=boss, answered_at=at(11, 9, 15))
    escalate(k2, at(11, 10), boss, status="helping", answered_by=boss, answered_at=at(11, 11, 9))
    client.force_login(leader)
    html = page(client.get("/dashboard/people/"))
    counts = people_rows(html, escalations=True)
    assert counts[k2.owner.get_full_name()] == (2, 0)
    assert counts[six["krs"]["K3"].owner.get_full_name()] == (1, 0)
    assert counts[boss.get_full_name()] == (0, 1)
    api = {p["username"]: p for p in client.get("/api/dashboard/people/").json()["results"]}
    assert (api["boss"]["raised_escalations"], api["boss"]["answered_escalations_on_time"]) == (
        0,
        1,
    )


def test_the_risk_feed_shows_early_escalations_raised_early(
    six: dict[str, Any], client: Any, leader: Any
) -> None:
    """K3's escalation was raised on Thursday 5 Nov: 56 days before 31 December, 8 weeks.
    One raised on K5, displaced by a trade-off, has left the feed with its check-ins."""
    escalate(six["krs"]["K5"], at(11, 6), six["boss"])
    client.force_login(leader)
    html = page(client.get("/dashboard/risks/"))
    items = html.find_all("li", "feed-early")
    assert len(items) == 1
    assert "Raised early: 8 weeks before the end of the quarter" in items[0].text
    assert "K3" in items[0].text


# --- cost --------------------------------------------------------------------------------------


def _grow(quarter: Any, n: int, boss: Any) -> None:
    """n more teams, each with a missed key result signalled three ways and a response with a
    next step, and an early escalation answered."""
    for i in range(n):
        team = TeamFactory(name=f"Team {i:03}-{TeamFactory._meta.model.objects.count()}")
        lead = UserFactory()
        team.lead = lead
        team.save()
        kr = KeyResultFactory(objective=ObjectiveFactory(quarter=quarter, team=team))
        check_in(kr, 3, at(10, 15), CheckIn.Status.AT_RISK)
        escalate(kr, at(11, 2), boss, status="decided", answered_by=boss, answered_at=at(11, 2, 12))
        response = miss(kr, opened=at(11, 10), due=at(11, 17), recorded=at(11, 12))
        step(response, date(2026, 11, 20), at(11, 19))


def test_the_figures_cost_the_same_queries_for_few_and_many_misses(
    six: dict[str, Any], client: Any, leader: Any
) -> None:
    quarter, boss = six["quarter"], six["boss"]
    client.force_login(leader)
    urls = [
        "/dashboard/",
        f"/dashboard/teams/{six['team'].pk}/",
        "/dashboard/people/",
        "/dashboard/risks/",
        "/dashboard/consistency/",
        "/api/dashboard/org/",
        "/api/dashboard/people/",
    ]

    def measure() -> dict[str, int]:
        found = {}
        with CaptureQueriesContext(connection) as ctx:
            selectors.org_view(quarter, TODAY)
        found["org view uncached"] = len(ctx.captured_queries)
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            found[url] = len(ctx.captured_queries)
        return found

    _grow(quarter, 2, boss)
    few = measure()
    _grow(quarter, 20, boss)
    many = measure()
    for label in few:
        print(f"FIGURE queries {label}: {few[label]} with 3 teams, {many[label]} with 23")
    assert many == few
    # As test_displaced's: five grouped queries, with or without published definitions.
    assert few["org view uncached"] == 5
