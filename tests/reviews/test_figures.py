"""Every dashboard figure against the organisation of conftest.py, whose answers were
counted by hand: the selectors first, then the same numbers on the pages and from the API.

Read on Tuesday 17 November 2026 (week 7 of 2026 Q4). A figure tuple is, in the dashboard's
column order: (key results, failing the Accountability Test, at risk by check-in, overdue
dependencies owed, open escalations owed, missed check-ins this week, completion %,
objectives whose definition is not shared, trade-offs decided this quarter). No objective of
the organisation has its definition acknowledged by its whole group, and nobody traded off:
tests/reviews/test_displaced.py covers both.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from checkins import services as checkins
from dependencies import services as dependencies
from okrly.models import Quarter
from ownership import services as ownership
from ownership.accountability import accountability_for
from ownership.tasks import statuses_refresh_task
from reviews import selectors
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, UserFactory
from tests.reviews.conftest import (
    HTMX,
    TODAY,
    WEEK,
    Node,
    Org,
    cells,
    number,
    page,
    people_rows,
    team_rows,
)

pytestmark = pytest.mark.django_db

Figures = tuple[int, ...]

HEADLINE: Figures = (10, 6, 2, 2, 2, 2, 70, 6, 0)
DEPARTMENTS: dict[str, Figures] = {
    "Commerce": (5, 3, 1, 0, 0, 1, 60, 2, 0),  # G3 and S1, S2 fail; G2 off track; G3 missed
    "Engineering": (3, 2, 1, 1, 2, 1, 67, 2, 0),  # D2 overdue; D2 (Platform), D4 (Data) escalated
    "Operations": (2, 1, 0, 1, 0, 0, 100, 2, 0),  # D3 owed by Support, overdue, not escalated
}
TEAMS_UNDER = {"Commerce": 2, "Engineering": 3, "Operations": 2}
# The expanded rows of each department, in name order (Finance, with nothing, is left out).
TEAMS: dict[str, dict[str, Figures]] = {
    "Commerce": {"Growth": (3, 1, 1, 0, 0, 1, 67, 1, 0), "Sales": (2, 2, 0, 0, 0, 0, 50, 1, 0)},
    "Engineering": {
        "Data": (0, 0, 0, 0, 1, 0, 0, 0, 0),
        "Mobile": (2, 2, 0, 0, 0, 1, 50, 1, 0),
        "Platform": (1, 0, 1, 1, 1, 0, 100, 1, 0),
    },
    "Operations": {
        "Operations": (1, 0, 0, 0, 0, 0, 100, 1, 0),
        "Support": (1, 1, 0, 1, 0, 0, 100, 1, 0),
    },
}
API_KEYS = (
    "key_results",
    "failing_accountability_test",
    "at_risk_by_checkin",
    "overdue_dependencies",
    "open_escalations",
    "missed_checkins_this_week",
    "checkin_completion_percent",
    "definitions_not_shared",
    "trade_offs_this_quarter",
)


def figures(signals: selectors.Signals) -> Figures:
    s = signals
    return (
        s.key_results,
        s.failing,
        s.at_risk,
        s.overdue,
        s.escalations,
        s.missed,
        s.completion,
        s.not_shared,
        s.trade_offs,
    )


def api_figures(row: dict[str, Any]) -> Figures:
    return tuple(row[key] for key in API_KEYS)


def heat_row(tr: Node) -> tuple[str, Figures]:
    """A heatmap row: its team's name and figures (the key results are in the first cell)."""
    first, *numbers = cells(tr)
    match = re.search(r"(\d+) KRs?\b", first)
    assert match, first
    return tr.find("a").text, (int(match.group(1)), *(number(n) for n in numbers))


# --- the selectors -----------------------------------------------------------------------------


def test_headline_figures_are_the_ones_counted_by_hand(org: Org) -> None:
    view = selectors.org_view(org.quarter, TODAY)
    assert view.week == WEEK
    assert figures(view.headline) == HEADLINE
    assert view.headline.checked_in == 7  # all but G3, S2 (Sid is away) and M2


def test_each_department_adds_up_its_own_and_its_teams_figures(org: Org) -> None:
    view = selectors.org_view(org.quarter, TODAY)
    assert {r.team.name: figures(r.signals) for r in view.departments} == DEPARTMENTS
    assert {r.team.name: r.children for r in view.departments} == TEAMS_UNDER
    for department in view.departments:
        rows = selectors.department_teams(org.quarter, TODAY, department.team)
        assert {r.team.name: figures(r.signals) for r in rows} == TEAMS[department.team.name]
        assert {r.depth for r in rows} == {1}
        total = selectors.Signals()
        for row in rows:
            total.add(row.signals)
        assert figures(total) == figures(department.signals)


def test_a_team_without_key_results_shows_when_it_owes_an_escalation(org: Org) -> None:
    """Data has no key results and nothing overdue, but D4's escalation is in Engineering's
    row: the expanded rows must show where it comes from."""
    rows = selectors.department_teams(org.quarter, TODAY, org.teams["Engineering"])
    data = next(r for r in rows if r.team.name == "Data")
    assert (data.signals.key_results, data.signals.escalations) == (0, 1)


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("", ["Commerce", "Engineering", "Operations"]),
        ("failing", ["Commerce", "Engineering", "Operations"]),
        ("-failing", ["Operations", "Engineering", "Commerce"]),
        ("completion", ["Operations", "Engineering", "Commerce"]),
        ("-completion", ["Commerce", "Engineering", "Operations"]),
        ("overdue", ["Engineering", "Operations", "Commerce"]),
        # Ties stay in name order whichever way the column is sorted.
        ("escalations", ["Engineering", "Commerce", "Operations"]),
        ("-escalations", ["Commerce", "Operations", "Engineering"]),
        ("missed", ["Commerce", "Engineering", "Operations"]),
        ("-missed", ["Operations", "Commerce", "Engineering"]),
        ("not-a-column", ["Commerce", "Engineering", "Operations"]),
    ],
)
def test_departments_sort_by_a_column(org: Org, reader: Any, sort: str, order: list[str]) -> None:
    view = selectors.org_view(org.quarter, TODAY, sort=sort)
    assert [r.team.name for r in view.departments] == order
    html = page(reader.get("/dashboard/", {"sort": sort}))
    rows = html.find("table", "heatmap").find_all("tr", "depth-0")
    assert [heat_row(tr)[0] for tr in rows] == order
    api = reader.get("/api/dashboard/org/", {"sort": sort}).json()
    assert [d["team"]["name"] for d in api["departments"]] == order


def test_expanded_teams_sort_by_the_same_column(org: Org, reader: Any) -> None:
    engineering = org.teams["Engineering"]
    rows = selectors.department_teams(org.quarter, TODAY, engineering, sort="escalations")
    assert [r.team.name for r in rows] == ["Data", "Platform", "Mobile"]
    fragment = page(
        reader.get(f"/dashboard/departments/{engineering.pk}/", {"sort": "escalations"}, **HTMX)
    )
    assert [heat_row(tr)[0] for tr in fragment.find_all("tr")] == ["Data", "Platform", "Mobile"]


def test_the_figures_follow_what_people_do(org: Org) -> None:
    """Gina checks in for G3 (one missed check-in fewer) and Dana commits to D4 (its
    escalation is answered, and U1 now passes the test)."""
    checkins.checkin_submit(
        user=org.person("Gina"),
        key_result=org.krs["G3"],
        status="on_track",
        confidence=7,
        biggest_risk="Partners",
        value="55",
    )
    dependencies.dependency_commit(dependency=org.deps["D4"], user=org.person("Dana"))
    view = selectors.org_view(org.quarter, TODAY)
    assert figures(view.headline) == (10, 5, 2, 2, 1, 1, 80, 6, 0)
    by_name = {r.team.name: figures(r.signals) for r in view.departments}
    assert by_name["Commerce"] == (5, 3, 1, 0, 0, 0, 80, 2, 0)
    assert by_name["Engineering"] == (3, 2, 1, 1, 1, 1, 67, 2, 0)
    assert by_name["Operations"] == (2, 0, 0, 1, 0, 0, 100, 2, 0)


def test_a_committed_dependency_past_its_date_becomes_overdue(org: Org, clock: Any) -> None:
    """D1 (Platform for G2) is due 1 December: on the 2nd G2 fails at once (its status row's
    kept_until is read against the day), and D1 counts as overdue once the status refresh
    job has run (every quarter hour; the teams' figures are rewritten with the rows)."""
    clock.move_to(datetime(2026, 12, 2, 0, 5, tzinfo=UTC))
    assert selectors.org_view(org.quarter, date(2026, 12, 2)).headline.failing == 7
    statuses_refresh_task()
    view = selectors.org_view(org.quarter, date(2026, 12, 2))
    engineering = next(r for r in view.departments if r.team.name == "Engineering")
    assert engineering.signals.overdue == 2  # D1 and D2
    assert view.headline.overdue == 3  # and D3
    assert view.headline.failing == 7  # G2 joins


# --- the pages and the API ---------------------------------------------------------------------


def test_the_dashboard_page_shows_the_same_figures(org: Org, reader: Any) -> None:
    html = page(reader.get("/dashboard/"))
    values = html.find("div", "headline").find_all("span", "stat-value")
    headline = [number(v.text) for v in values[:7]]
    # The page's order: failing, at risk, overdue, escalations, missed, completion, not
    # shared (trade-offs are per team, in the heatmap only); then the missed commitments'
    # figures, of which this organisation has none.
    assert [v.text for v in values[7:]] == ["—", "—"]
    assert headline == list(HEADLINE[1:8])
    assert "of 6 objectives" in html.find("div", "headline").text
    assert "of 10" in html.find("div", "headline").text
    assert "week 7" in html.find("div", "headline").text
    table = html.find("table", "heatmap")
    rows = dict(heat_row(tr) for tr in table.find_all("tr", "depth-0"))
    assert rows == DEPARTMENTS
    for name, under in TEAMS_UNDER.items():
        tbody = table.by_id(f"dept-{org.teams[name].pk}")
        assert f"{under} teams" in tbody.text
        button = tbody.find("button", "expand")
        assert button.attrs["hx-get"].startswith(f"/dashboard/departments/{org.teams[name].pk}/")


@pytest.mark.parametrize("department", list(TEAMS))
def test_expanding_a_department_returns_its_team_rows(
    org: Org, reader: Any, department: str
) -> None:
    response = reader.get(f"/dashboard/departments/{org.teams[department].pk}/", **HTMX)
    fragment = page(response)
    assert "<html" not in response.content.decode()  # rows only, swapped into the table
    rows = fragment.find_all("tr", "depth-1")
    assert dict(heat_row(tr) for tr in rows) == TEAMS[department]
    assert [heat_row(tr)[0] for tr in rows] == sorted(TEAMS[department])


def test_the_api_gives_the_same_figures(org: Org, reader: Any) -> None:
    body = reader.get("/api/dashboard/org/").json()
    assert (body["quarter"]["name"], body["week"]) == ("2026 Q4", WEEK)
    assert api_figures(body["headline"]) == HEADLINE
    assert {d["team"]["name"]: api_figures(d) for d in body["departments"]} == DEPARTMENTS
    assert {d["team"]["name"]: d["teams_under"] for d in body["departments"]} == TEAMS_UNDER
    for department, teams in TEAMS.items():
        body = reader.get(f"/api/dashboard/departments/{org.teams[department].pk}/").json()
        assert body["department"] == department
        assert {t["team"]["name"]: api_figures(t) for t in body["teams"]} == teams


# --- the team view -----------------------------------------------------------------------------

# title: (owner, progress %, latest check-in, confidence, passes, failing checks,
#         dependencies committed, open, escalated, open needs)
TEAM_ROWS: dict[str, dict[str, tuple[Any, ...]]] = {
    "Growth": {
        "G1 key result": ("Gina of Growth", 50, "On track", 8, True, [], 0, 0, 0, 0),
        "G2 key result": ("Gabe of Growth", 25, "Off track", 3, True, [], 1, 1, 0, 1),
        "G3 key result": (
            "Gina of Growth",
            40,
            "On track",  # week 6 is the latest
            7,
            False,
            ["owner", "authority", "dependencies"],
            0,
            0,
            0,
            0,
        ),
    },
    "Sales": {
        "S1 key result": ("Sam of Sales", 10, "On track", 9, False, ["authority"], 0, 0, 0, 0),
        "S2 key result": ("Sid of Sales", 25, "", None, False, ["dependencies"], 1, 1, 1, 0),
    },
    "Platform": {
        "P1 key result": ("Pia of Platform", 50, "At risk", 4, True, [], 0, 0, 0, 0),
    },
}


@pytest.mark.parametrize("team", list(TEAM_ROWS))
def test_team_view_columns(org: Org, reader: Any, team: str) -> None:
    expected = TEAM_ROWS[team]
    team_obj = org.teams[team]
    html = page(reader.get(f"/dashboard/teams/{team_obj.pk}/"))
    heading, team_heading = html.find_all("hgroup")
    assert (
        heading.text
        == "Accountability dashboard 2026 Q4 — where execution drifts and who must act."
    )
    assert f"{len(expected)} key results" in team_heading.text
    shown = {title: tuple(row.values()) for title, row in team_rows(html).items()}
    assert shown == {title: (*row[:5], len(row[5]), *row[6:]) for title, row in expected.items()}
    assert list(shown) == list(expected)  # the objective's order

    body = reader.get(f"/api/dashboard/teams/{team_obj.pk}/").json()
    assert body["count"] == len(expected)
    api = {
        r["title"]: (
            r["owner"],
            r["progress"],
            r["latest_checkin"],
            r["confidence"],
            r["accountability"]["passed"],
            [name for name, check in r["accountability"]["checks"].items() if not check["passed"]],
            r["dependencies_committed"],
            r["dependencies_open"],
            r["dependencies_escalated"],
            r["open_needs"],
        )
        for r in body["results"]
    }
    assert api == {
        title: (
            org.krs[title[:2]].owner.username,
            row[1],
            row[2].lower().replace(" ", "_") or None,
            *row[3:],
        )
        for title, row in expected.items()
    }


@pytest.mark.parametrize("number", ["1", "99", "x"])
def test_team_view_badges_give_the_tests_words_on_the_page_shown(
    org: Org, reader: Any, number: str
) -> None:
    """The badges' words name the dependencies read with the page (``top_read``), or, for a
    page past the last, those the test reads itself for the page shown instead."""
    team_obj = org.teams["Sales"]
    body = reader.get(f"/dashboard/teams/{team_obj.pk}/", {"page": number}).content.decode()
    shown = dict(
        re.findall(
            r'<a href="/objectives/key-results/(\d+)/">.*?title="The Accountability Test: '
            r'([^"]*)"',
            body,
        )
    )
    krs = [org.krs["S1"], org.krs["S2"]]
    expected = {
        str(pk): "all three checks pass" if r.passed else " ".join(r.reasons)
        for pk, r in accountability_for(krs).items()
    }
    assert shown == expected
    assert "“D2 deliverable” is at risk" in shown[str(org.krs["S2"].pk)]


def test_team_view_trend_and_promises(org: Org, reader: Any) -> None:
    response = reader.get(f"/dashboard/teams/{org.teams['Growth'].pk}/")
    # The page draws this trend (cached as HTML); read its points from the same selector.
    points = selectors.team_trend(org.quarter, org.teams["Growth"], timezone.localdate(), 3)
    trend = [(p.week, p.completion, p.confidence) for p in points]
    # Week 6: G2 (5) and G3 (7) of three key results; week 7: G1 (8) and G2 (3).
    assert trend == [(w, 0, None) for w in range(1, 6)] + [(6, 67, 6.0), (7, 67, 5.5)]
    assert "Week 7: 67% checked in" in response.content.decode()

    html = page(reader.get(f"/dashboard/teams/{org.teams['Platform'].pk}/"))
    promises = [p.find("a").text for p in html.find_all("p", "promise")]
    assert promises == ["D2 deliverable", "D1 deliverable"]  # soonest due first; D5 delivered
    assert "rung 1" in html.find_all("p", "promise")[0].text


# --- the people view ---------------------------------------------------------------------------

# person: (owes dependencies, needs, nominations; missing check-ins, acceptances;
#          owed dependencies, needs)
PEOPLE: dict[str, tuple[int, ...]] = {
    "Dana of Data": (1, 0, 0, 0, 0, 0, 0),  # D4
    "Gabe of Growth": (0, 0, 0, 0, 0, 1, 1),  # D1 and the need to Pia
    "Gina of Growth": (0, 0, 0, 1, 1, 0, 0),  # G3
    "Milo of Mobile": (0, 0, 0, 1, 1, 0, 0),  # M2
    "Mona of Mobile": (0, 0, 1, 0, 0, 1, 0),  # M2's handover; D3
    "Ola of Operations": (0, 0, 0, 0, 0, 0, 0),  # owns O1, whose D5 was delivered
    "Pia of Platform": (2, 1, 0, 0, 0, 0, 0),  # D1, D2; Gabe's need
    "Sam of Sales": (0, 0, 0, 0, 0, 0, 0),
    "Sid of Sales": (0, 0, 0, 1, 0, 1, 0),  # away: not prompted, but S2 is not checked in
    "Stan of Support": (1, 0, 0, 0, 0, 1, 0),  # D3; D4
}
PEOPLE_FIELDS = (
    "owes_dependencies",
    "owes_needs",
    "owes_nominations",
    "missing_checkins",
    "missing_acceptances",
    "owed_dependencies",
    "owed_needs",
)


@pytest.mark.parametrize(
    ("team", "names"),
    [
        ("", list(PEOPLE)),
        ("Growth", ["Gabe of Growth", "Gina of Growth"]),
        ("Platform", ["Pia of Platform"]),  # not Pat, its lead, who owes nothing
        ("Mobile", ["Milo of Mobile", "Mona of Mobile"]),
        ("Finance", []),
    ],
)
def test_people_view_counts(org: Org, reader: Any, team: str, names: list[str]) -> None:
    query = {"team": org.teams[team].pk} if team else {}
    expected = {name: PEOPLE[name] for name in names}
    html = page(reader.get("/dashboard/people/", query))
    assert people_rows(html) == expected
    assert list(people_rows(html)) == names  # by first name
    if not names:
        assert "Nobody owes anything here." in html.text
    body = reader.get("/api/dashboard/people/", query).json()
    assert body["count"] == len(names)
    assert {p["name"]: tuple(p[f] for f in PEOPLE_FIELDS) for p in body["results"]} == expected
    rows = selectors.people(org.quarter, TODAY, team=org.teams[team] if team else None)
    assert {
        p.get_full_name(): tuple(getattr(p, f) for f in PEOPLE_FIELDS) for p in rows
    } == expected


def test_people_view_counts_only_this_quarters_nominations(org: Org, reader: Any) -> None:
    """A handover still waiting in last quarter is not something Sam owes this quarter."""
    q3 = QuarterFactory(
        name="2026 Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), status=Quarter.Status.CLOSED
    )
    old = KeyResultFactory(
        objective=ObjectiveFactory(quarter=q3, team=org.teams["Sales"]),
        owner=org.person("Sid"),
        title="Last quarter's pipeline",
    )
    ownership.ownership_handover(
        key_result=old, user=org.person("Sal"), new_owner=org.person("Sam"), reason="Sid left"
    )
    now = {p.username: p.owes_nominations for p in selectors.people(org.quarter, TODAY)}
    assert now["sam"] == 0
    then = reader.get("/api/dashboard/people/", {"quarter": q3.pk}).json()["results"]
    assert {p["username"]: p["owes_nominations"] for p in then}["sam"] == 1


def test_people_pages_keep_the_team_filter(org: Org, reader: Any) -> None:
    """Page 2 of one team's people is still that team's (the links keep the query)."""
    growth = org.teams["Growth"]
    objective = ObjectiveFactory(quarter=org.quarter, team=growth)
    for n in range(51):
        user = UserFactory(username=f"growth{n:02}", first_name="Zed", last_name=f"{n:02}")
        growth.memberships.create(user=user)
        KeyResultFactory(objective=objective, owner=user)
    html = page(reader.get("/dashboard/people/", {"team": growth.pk, "quarter": org.quarter.pk}))
    link = html.find("nav", "pagination").find("a").attrs["href"]
    assert f"team={growth.pk}" in link
    assert f"quarter={org.quarter.pk}" in link
    assert "page=2" in link
    # Gabe, Gina and 51 Zeds (not Gus, who owes nothing): the last three Zeds on page 2.
    second = people_rows(page(reader.get(f"/dashboard/people/{link}")))
    assert list(second) == ["Zed 48", "Zed 49", "Zed 50"]


# --- the risk feed -----------------------------------------------------------------------------


def feed(html: Node) -> list[tuple[str, str]]:
    """(kind, what) of each item, in page order."""
    items = []
    for li in html.find("ol", "feed").find_all("li", "feed-item"):
        kind = next(c for c in li.classes if c.startswith("feed-") and c != "feed-item")[5:]
        head = li.find("div", "feed-head")
        links = head.find_all("a")
        items.append((kind, links[0].text if links else head.text.split(",")[0]))
    return items


def test_risk_feed_lists_one_item_per_key_result_its_latest_signal_first(
    org: Org, reader: Any
) -> None:
    """Risky check-ins, forecast flags and escalations, one item per key result (issue 15):
    its latest signal, earlier ones folded under it. Missed check-ins are the people view's
    (a person's, not a key result's)."""
    expected = [
        ("checkin", "P1 key result"),  # 16 Nov 10:30, at risk
        ("checkin", "S1 key result"),  # 16 Nov 10:20, "on track" but the forecast misses
        ("checkin", "G2 key result"),  # 16 Nov 10:10, off track (week 7); week 6 folded
        # 12 Nov, three dependencies' first rungs at the same moment (by key result, newest
        # first): O1's (delivered since: the feed keeps history), U1's and S2's.
        ("escalation", "D5 deliverable"),
        ("escalation", "D4 deliverable"),
        ("escalation", "D2 deliverable"),
    ]
    html = page(reader.get("/dashboard/risks/"))
    assert feed(html) == expected
    assert "6 key results with a risk signal" in " ".join(html.text.split())
    assert "Page 1 of 1" in html.find("nav", "pagination").text
    items = html.find("ol", "feed").find_all("li", "feed-item")
    assert "stated vs. forecast" in items[1].text
    assert "Needs: A sandbox — from Pia of Platform" in items[2].text
    earlier = items[2].find("details", "feed-earlier")
    assert "1 earlier signal" in earlier.text
    assert "Week 6: At risk" in earlier.text
    assert not items[0].find_all("details", "feed-earlier")

    page_2, total = selectors.risk_feed(org.quarter, offset=2, limit=3)
    assert total == 6
    assert [(i.kind, i.obj.pk) for i in page_2] == [
        ("checkin", org.checkins["G2w7"].pk),
        ("escalation", page_2[1].obj.pk),
        ("escalation", page_2[2].obj.pk),
    ]
    assert [i.obj.deliverable for i in page_2[1:]] == ["D5 deliverable", "D4 deliverable"]
    assert [i.at for i in page_2] == sorted((i.at for i in page_2), reverse=True)


def test_risk_feed_pages_hold_25_signals_newest_first(db: Any, clock: Any, client: Any) -> None:
    quarter = QuarterFactory(name="2026 Q4")
    owner = UserFactory(username="rita", first_name="Rita", last_name="Risky")
    objective = ObjectiveFactory(quarter=quarter)
    krs = [
        KeyResultFactory(objective=objective, owner=owner, title=f"KR {n:02}") for n in range(27)
    ]
    start = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    for n, kr in enumerate(krs):
        clock.move_to(start + timedelta(minutes=n))
        checkins.checkin_submit(
            user=owner, key_result=kr, status="off_track", confidence=2, biggest_risk="X", value=5
        )
    leader = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(leader)
    client.force_login(leader)

    first = page(client.get("/dashboard/risks/"))
    assert [what for _, what in feed(first)] == [f"KR {n:02}" for n in range(26, 1, -1)]
    nav = first.find("nav", "pagination")
    assert "Page 1 of 2" in nav.text
    assert [a.text for a in nav.find_all("a")] == ["Older →"]
    second = page(client.get("/dashboard/risks/" + nav.find("a").attrs["href"]))
    assert [what for _, what in feed(second)] == ["KR 01", "KR 00"]
    assert "Page 2 of 2" in second.find("nav", "pagination").text
