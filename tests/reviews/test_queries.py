"""Every dashboard page and endpoint costs the same number of queries for an organisation of
5 teams as for one of 50 (each team with key results, a dependency and check-ins): no N+1.

The organisation grows in place, through the services and on the same timeline as
conftest.py, so that everything measured grows with it: the departments (1 → 6), the
teams under the first department (5 → 25), the first team's key results (2 → 12), the
people (a full first page of 50), and the risk feed's first page, which holds all three
kinds of signal at both sizes (a kind absent from a page costs no query, which would hide
the difference this test looks for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkins import missed, prompts, threads
from checkins import services as checkins
from dependencies import escalation
from dependencies import services as dependencies
from okrly.models import Membership
from ownership import services as ownership
from tests.factories import (
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)
from tests.reviews.conftest import (
    HTMX,
    PROMPTS,
    READ_AT,
    SET_UP,
    WEEK,
    page,
    people_rows,
    team_rows,
)

pytestmark = pytest.mark.django_db

# After the week 7 check-ins (10:00 onwards, a minute apart), so that the first page of the
# risk feed (newest first) has missed check-ins, then escalations, then check-ins.
ESCALATION_RUN = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
MISSED_RUN = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
ACKNOWLEDGED = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)
OVERDUE, LATER = date(2026, 11, 10), date(2026, 12, 1)


@dataclass
class Grown:
    quarter: Any
    leader: Any
    departments: list[Any] = field(default_factory=list)
    teams: list[Any] = field(default_factory=list)
    checkers: list[Any] = field(default_factory=list)  # (team, B person) per team

    @property
    def first_department(self) -> Any:
        return self.departments[0]

    @property
    def first_team(self) -> Any:
        return self.teams[0]


def _department_for(grown: Grown, i: int) -> Any:
    """Teams 0-24 under the first department, then five to a department."""
    index = 0 if i < 25 else 1 + (i - 25) // 5
    while len(grown.departments) <= index:
        grown.departments.append(TeamFactory(name=f"Department {len(grown.departments)}"))
    return grown.departments[index]


def grow(grown: Grown, clock: Any, upto: int, *, extra_key_results: int = 0) -> None:
    """Add teams ``len(grown.teams)`` … ``upto - 1``, and ``extra_key_results`` to the first.

    Team i: a lead, Amy_i and Ben_i. Amy's key result has authority and depends on Ben of
    the team before (every fifth due 10 Nov: overdue, escalated); Ben's declares none.
    Week 7: Amy off track with a need for that Ben, a leader's reply on every other one;
    Ben on track, except every fifth Ben, who misses it.
    """
    start = len(grown.teams)
    rights = ownership.decision_rights_ensure_defaults()[:1]
    clock.move_to(SET_UP)
    new: list[tuple[int, Any, Any, Any, Any]] = []
    for i in range(start, upto):
        team = TeamFactory(name=f"Team {i:02}", parent=_department_for(grown, i))
        lead = UserFactory(username=f"lead{i:02}", first_name="Lead", last_name=f"{i:02}")
        MembershipFactory(user=lead, team=team, role=Membership.Role.LEAD)
        team.lead = lead
        team.save()
        amy = UserFactory(username=f"amy{i:02}", first_name="Amy", last_name=f"{i:02}")
        ben = UserFactory(username=f"ben{i:02}", first_name="Ben", last_name=f"{i:02}")
        for person in (amy, ben):
            MembershipFactory(user=person, team=team)
        objective = ObjectiveFactory(quarter=grown.quarter, team=team)
        a = KeyResultFactory(objective=objective, owner=amy, title=f"Amy's {i:02}")
        b = KeyResultFactory(objective=objective, owner=ben, title=f"Ben's {i:02}")
        ownership.ownership_accept(key_result=a, user=amy)
        ownership.ownership_accept(key_result=b, user=ben)
        ownership.authority_grant(key_result=a, user=lead, rights=rights, scope="Backlog")
        ownership.dependencies_declare_none(key_result=b, user=ben)
        grown.teams.append(team)
        grown.checkers.append(ben)
        new.append((i, team, a, b, ben))
    for i, _team, a, _b, _ben in new:
        p = i - 1 if i else 1
        provider, responsible = grown.teams[p], grown.checkers[p]
        dep = dependencies.dependency_request(
            user=a.owner,
            key_result=a,
            provider_team=provider,
            responsible=responsible,
            deliverable=f"For team {i:02}",
            due_date=OVERDUE if i % 5 == 0 else LATER,
        )
        dependencies.dependency_commit(dependency=dep, user=responsible)
    extras = []
    first = grown.first_team
    for n in range(extra_key_results):
        owner = UserFactory(username=f"extra{n:02}", first_name="Extra", last_name=f"{n:02}")
        MembershipFactory(user=owner, team=first)
        kr = KeyResultFactory(objective=first.objectives.get(), owner=owner, title=f"Extra {n:02}")
        ownership.ownership_accept(key_result=kr, user=owner)
        extras.append(kr)

    clock.move_to(PROMPTS)
    prompts.checkins_send_prompts(now=timezone.now())
    for minute, (i, _team, a, b, ben) in enumerate(new):
        p = i - 1 if i else 1
        clock.move_to(PROMPTS + timedelta(hours=1, minutes=minute))
        checkins.checkin_submit(
            user=a.owner,
            key_result=a,
            status="off_track",
            confidence=3,
            biggest_risk="Slipping",
            value="20",
            need="A review",
            need_person=grown.checkers[p],
        )
        if i % 5:
            checkins.checkin_submit(
                user=ben, key_result=b, status="on_track", confidence=8, biggest_risk="-", value=50
            )
    for kr in extras:
        checkins.checkin_submit(
            user=kr.owner, key_result=kr, status="at_risk", confidence=5, biggest_risk="-", value=9
        )

    clock.move_to(ESCALATION_RUN)
    escalation.dependencies_escalate(now=timezone.now())
    clock.move_to(MISSED_RUN)
    missed.checkins_escalate_missed(now=timezone.now())
    clock.move_to(ACKNOWLEDGED)
    for i, _team, a, _b, _ben in new:
        if i % 2 == 0:
            threads.checkin_comment(
                user=grown.leader, check_in=a.checkins.get(week=WEEK), body="Noted"
            )
    for kr in extras[::2]:
        threads.checkin_comment(user=grown.leader, check_in=kr.checkins.get(week=WEEK), seen=True)
    clock.move_to(READ_AT)


def urls(grown: Grown) -> list[tuple[str, str, dict[str, str]]]:
    """(label, url, headers) of every page and endpoint measured."""
    department, team = grown.first_department.pk, grown.first_team.pk
    return [
        ("/dashboard/", "/dashboard/", {}),
        ("/dashboard/?sort=failing", "/dashboard/?sort=failing", {}),
        ("/dashboard/departments/<dept>/", f"/dashboard/departments/{department}/", HTMX),
        ("/dashboard/teams/<team>/", f"/dashboard/teams/{team}/", {}),
        ("/dashboard/teams/<team>/?format=csv", f"/dashboard/teams/{team}/?format=csv", {}),
        ("/dashboard/people/", "/dashboard/people/", {}),
        ("/dashboard/people/?team=<team>", f"/dashboard/people/?team={team}", {}),
        ("/dashboard/people/?format=csv", "/dashboard/people/?format=csv", {}),
        ("/dashboard/risks/", "/dashboard/risks/", {}),
        ("/api/dashboard/org/", "/api/dashboard/org/", {}),
        ("/api/dashboard/departments/<dept>/", f"/api/dashboard/departments/{department}/", {}),
        ("/api/dashboard/teams/<team>/", f"/api/dashboard/teams/{team}/", {}),
        ("/api/dashboard/people/", "/api/dashboard/people/", {}),
        ("/api/dashboard/people/?team=<team>", f"/api/dashboard/people/?team={team}", {}),
    ]


def rows(label: str, response: Any) -> int:
    """How many rows the response lists: what must not cost a query each."""
    if label.startswith("/api/"):
        body = response.json()
        return len(body.get("departments") or body.get("teams") or body["results"])
    if "format=csv" in label:
        return len(response.content.decode().splitlines()) - 1
    html = page(response)
    if label.startswith("/dashboard/departments/"):
        return len(html.find_all("tr", "depth-1"))
    if label.startswith("/dashboard/teams/"):
        return len(team_rows(html))
    if label.startswith("/dashboard/people/"):
        return len(people_rows(html))
    if label.startswith("/dashboard/risks/"):
        return len(html.find_all("li", "feed-item"))
    return len(html.find_all("tr", "depth-0"))


@dataclass
class Measured:
    queries: int
    rows: int
    response: Any


def measure(client: Any, grown: Grown) -> dict[str, Measured]:
    """Queries per page, after a warm-up request (so sessions and caches have settled)."""
    found = {}
    for label, url, headers in urls(grown):
        client.get(url, **headers)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.content[:300])
        found[label] = Measured(len(queries), rows(label, response), response)
    return found


def test_every_dashboard_view_costs_the_same_queries_for_5_and_50_teams(
    client: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock.move_to(SET_UP)
    leader = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(leader)
    grown = Grown(quarter=QuarterFactory(name="2026 Q4"), leader=leader)

    grow(grown, clock, 5)
    client.force_login(leader)  # now: a session opened on 2 November would have expired
    small = measure(client, grown)
    # Growing commits, as a real write does.
    with django_capture_on_commit_callbacks(execute=True):
        grow(grown, clock, 50, extra_key_results=10)
    client.force_login(leader)
    large = measure(client, grown)

    # The organisation did grow where each view looks.
    assert {label: (small[label].rows, large[label].rows) for label in small} == {
        "/dashboard/": (1, 6),
        "/dashboard/?sort=failing": (1, 6),
        "/dashboard/departments/<dept>/": (5, 25),
        "/dashboard/teams/<team>/": (2, 12),
        "/dashboard/teams/<team>/?format=csv": (2, 12),
        "/dashboard/people/": (10, 50),  # a page
        "/dashboard/people/?team=<team>": (2, 12),
        "/dashboard/people/?format=csv": (10, 110),
        "/dashboard/risks/": (5, 25),  # a page: one item per key result with a signal
        "/api/dashboard/org/": (1, 6),
        "/api/dashboard/departments/<dept>/": (5, 25),
        "/api/dashboard/teams/<team>/": (2, 12),
        "/api/dashboard/people/": (10, 50),
        "/api/dashboard/people/?team=<team>": (2, 12),
    }
    risks = large["/dashboard/risks/"].response.content.decode()
    assert all(f"feed-{kind}" in risks for kind in ("escalation", "checkin"))

    for label in small:
        print(
            f"FIGURE queries {label}: {small[label].queries} with 5 teams, "
            f"{large[label].queries} with 50"
        )
    assert {label: m.queries for label, m in large.items()} == {
        label: m.queries for label, m in small.items()
    }
    # And the counts themselves, so that a page that gains a query shows here.
    assert {label: m.queries for label, m in small.items()} == DASHBOARD_QUERIES


DASHBOARD_QUERIES = {
    # The pages with the dashboard's tabs count the risk feed's unanswered items (one query).
    # And last week's headline, for the week-over-week arrows (one query).
    "/dashboard/": 11,
    "/dashboard/?sort=failing": 11,
    "/dashboard/departments/<dept>/": 8,
    # And the team's pace, in the same round trip as its other reads (one statement).
    "/dashboard/teams/<team>/": 11,
    "/dashboard/teams/<team>/?format=csv": 5,
    # And who was nudged today, for its rows (one query).
    "/dashboard/people/": 8,
    "/dashboard/people/?team=<team>": 9,
    "/dashboard/people/?format=csv": 3,
    # A page of key results: its count, page, check-ins and threads, escalations, early
    # escalations and earlier signals.
    "/dashboard/risks/": 11,
    "/api/dashboard/org/": 11,
    "/api/dashboard/departments/<dept>/": 8,
    "/api/dashboard/teams/<team>/": 6,
    "/api/dashboard/people/": 4,
    "/api/dashboard/people/?team=<team>": 5,
}


FIXED = {
    # No quarter reviewing: the grading panel reads nothing. The zone comes with the user;
    # the Accept/Decline panels read the cards' status rows (one query).
    "My week (an owner)": 9,
    "Asked of me (an owner a need waits on)": 7,
    "/dashboard/consistency/": 8,  # with the risk feed tab's count
}


def test_my_week_asked_of_me_and_consistency_cost_fixed_queries_for_5_and_50_teams(
    client: Any, clock: Any
) -> None:
    """The personal pages read only the person's own rows, and the consistency page a fixed
    set of grouped queries: the same counts, stated here, at 5 and at 50 teams."""
    clock.move_to(SET_UP)
    leader = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(leader)
    grown = Grown(quarter=QuarterFactory(name="2026 Q4"), leader=leader)

    def measure() -> dict[str, int]:
        found = {}
        # Ben of team 01 owns a key result and Amy of team 02 waits on him for a need.
        ben = grown.checkers[1]
        for label, person, url in (
            ("My week (an owner)", ben, "/"),
            ("Asked of me (an owner a need waits on)", ben, "/asked/"),
            ("/dashboard/consistency/", leader, "/dashboard/consistency/"),
        ):
            client.force_login(person)
            assert client.get(url).status_code == 200
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found[label] = len(queries)
        return found

    grow(grown, clock, 5)
    small = measure()
    grow(grown, clock, 50, extra_key_results=10)
    large = measure()
    for label in small:
        print(f"FIGURE queries {label}: {small[label]} with 5 teams, {large[label]} with 50")
    assert large == small
    assert small == FIXED
