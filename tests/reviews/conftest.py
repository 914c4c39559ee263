"""An organisation whose dashboard figures are known by hand, built through the real services
under controlled time, and a small HTML reader for the pages' tables.

2026 Q4 runs from Thursday 1 October; week 7 is 12-18 November. Everything is set up on
Monday 2 November, the ladders run on 12, 16 and 17 November, and the dashboard is read on
Tuesday 17 November 2026 at 10:00 UTC (week 7).

Departments and their teams (a department's own key results count for it too):

    Commerce (Cora)      ─ Growth (Gus), Sales (Sal)
    Engineering (Erin)   ─ Platform (Pat), Mobile (Moe), Data (no key results)
    Operations (Ola)     ─ Support (Sue), Finance (nothing at all)

Key results (all start 0, target 100) and what makes each one what it is:

    G1 Gina   Growth      passes (declared no dependencies); week 7 on track
    G2 Gabe   Growth      passes (D1 committed, due 1 Dec); week 6 at risk, week 7 OFF TRACK
                          with a need addressed to Pia
    G3 Gina   Growth      FAILS (not accepted, no authority, nothing named); week 6 on track,
                          no week 7 check-in although prompted: MISSED
    S1 Sam    Sales       FAILS (no authority); week 7 "on track" at 10 of 100: forecast flag
    S2 Sid    Sales       FAILS (D2 at risk); Sid is out of office: not prompted, no check-in
    P1 Pia    Platform    passes; week 7 AT RISK
    M1 Mona   Mobile      FAILS (D3 committed, due 13 Nov: overdue); week 7 on track
    M2 Milo   Mobile      FAILS (nothing accepted or granted or named; Moe nominated Mona to
                          take it over, unanswered); prompted, no check-in: MISSED
    U1 Stan   Support     FAILS (D4 requested, unanswered); week 7 on track
    O1 Ola    Operations  passes (D5 delivered); week 7 on track

Dependencies, by the team that owes them:

    D1 Platform (Pia)  → G2  committed, due 1 Dec              open, not overdue
    D2 Platform (Pia)  → S2  committed, flagged at risk, due 10 Nov: OVERDUE, ESCALATED rung 1
    D5 Platform (Pia)  → O1  committed, due 9 Nov, escalated, then delivered: closed
    D3 Support (Stan)  → M1  committed, due 13 Nov: OVERDUE, not escalated yet
    D4 Data (Dana)     → U1  requested 2 Nov, never answered: ESCALATED rung 1
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from checkins import missed, prompts
from checkins import services as checkins
from dependencies import escalation
from dependencies import services as dependencies
from okrly.models import Membership, Profile
from ownership import services as ownership
from tests.factories import (
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
SET_UP = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # Monday, week 5
WEEK_6 = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # Monday, week 6
ESCALATION_RUN = datetime(2026, 11, 12, 12, 0, tzinfo=UTC)  # Thursday, week 7
DELIVERED = datetime(2026, 11, 13, 10, 0, tzinfo=UTC)
PROMPTS = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday 09:00, the check-in hour
MISSED_RUN = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # 24 h after the prompt
READ_AT = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)  # Tuesday, week 7: the dashboard's today
TODAY = date(2026, 11, 17)
WEEK = 7


# --- people with fixed roles (for the actions) -------------------------------------------------


# --- the organisation --------------------------------------------------------------------------


@dataclass
class Org:
    quarter: Any
    teams: dict[str, Any] = field(default_factory=dict)
    people: dict[str, Any] = field(default_factory=dict)
    krs: dict[str, Any] = field(default_factory=dict)
    deps: dict[str, Any] = field(default_factory=dict)
    checkins: dict[str, Any] = field(default_factory=dict)

    def person(self, first_name: str) -> Any:
        return self.people[first_name.lower()]


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(SET_UP, tick=False) as traveller:
        yield traveller


def _team(org: Org, name: str, parent: Any = None, lead: str = "") -> Any:
    team = TeamFactory(name=name, slug=name.lower(), parent=parent)
    org.teams[name] = team
    if lead:
        user = _person(org, lead, team, role=Membership.Role.LEAD)
        team.lead = user
        team.save()
    return team


def _person(org: Org, first_name: str, team: Any, role: str = Membership.Role.MEMBER) -> Any:
    user = UserFactory(
        username=first_name.lower(), first_name=first_name, last_name=f"of {team.name}"
    )
    MembershipFactory(user=user, team=team, role=role)
    org.people[first_name.lower()] = user
    return user


def _grant(kr: Any, by: Any) -> None:
    ownership.authority_grant(
        key_result=kr,
        user=by,
        rights=ownership.decision_rights_ensure_defaults()[:1],
        scope="The team's backlog",
    )


def _depend(org: Org, code: str, kr: Any, provider: str, who: str, due: date) -> Any:
    dep = dependencies.dependency_request(
        user=kr.owner,
        key_result=kr,
        provider_team=org.teams[provider],
        responsible=org.person(who),
        deliverable=f"{code} deliverable",
        due_date=due,
    )
    org.deps[code] = dep
    return dep


def _check_in(
    org: Org, code: str, week: int, status: str, confidence: int, value: int, **more: Any
) -> Any:
    kr = org.krs[code]
    check_in = checkins.checkin_submit(
        user=kr.owner,
        key_result=kr,
        week=week,
        status=status,
        confidence=confidence,
        biggest_risk=f"What could stop {code}",
        value=str(value),
        **more,
    )
    org.checkins[f"{code}w{week}"] = check_in
    return check_in


def build_org(clock: Any) -> Org:
    """The organisation of the module docstring, through the services, in time order."""
    clock.move_to(SET_UP)
    org = Org(quarter=QuarterFactory(name="2026 Q4"))
    leadership = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(leadership)
    org.people["lea"] = leadership

    commerce = _team(org, "Commerce", lead="Cora")
    engineering = _team(org, "Engineering", lead="Erin")
    operations = _team(org, "Operations", lead="Ola")
    growth = _team(org, "Growth", commerce, lead="Gus")
    sales = _team(org, "Sales", commerce, lead="Sal")
    platform = _team(org, "Platform", engineering, lead="Pat")
    mobile = _team(org, "Mobile", engineering, lead="Moe")
    data = _team(org, "Data", engineering)
    support = _team(org, "Support", operations, lead="Sue")
    _team(org, "Finance", operations)
    for first_name, team in [
        ("Gina", growth),
        ("Gabe", growth),
        ("Sam", sales),
        ("Sid", sales),
        ("Pia", platform),
        ("Mona", mobile),
        ("Milo", mobile),
        ("Dana", data),
        ("Stan", support),
    ]:
        _person(org, first_name, team)
    Profile.objects.filter(user=org.person("Sid")).update(out_of_office_until=date(2026, 11, 20))

    objectives = {
        team.name: ObjectiveFactory(quarter=org.quarter, team=team, title=f"{team.name} goal")
        for team in (growth, sales, platform, mobile, support, operations)
    }
    for code, team, owner in [
        ("G1", "Growth", "Gina"),
        ("G2", "Growth", "Gabe"),
        ("G3", "Growth", "Gina"),
        ("S1", "Sales", "Sam"),
        ("S2", "Sales", "Sid"),
        ("P1", "Platform", "Pia"),
        ("M1", "Mobile", "Mona"),
        ("M2", "Mobile", "Milo"),
        ("U1", "Support", "Stan"),
        ("O1", "Operations", "Ola"),
    ]:
        org.krs[code] = KeyResultFactory(
            objective=objectives[team], owner=org.person(owner), title=f"{code} key result"
        )
    krs = org.krs

    # Ownership and authority: everyone accepts but G3 and M2; everyone but S1 (and G3, M2)
    # gets authority from their team lead (Ola, who leads her own department, from Lea).
    for code in ("G1", "G2", "S1", "S2", "P1", "M1", "U1", "O1"):
        ownership.ownership_accept(key_result=krs[code], user=krs[code].owner)
    for code, granter in [
        ("G1", "Gus"),
        ("G2", "Gus"),
        ("S2", "Sal"),
        ("P1", "Pat"),
        ("M1", "Moe"),
        ("U1", "Sue"),
        ("O1", "Lea"),
    ]:
        _grant(krs[code], org.person(granter))
    for code in ("G1", "S1", "P1"):
        ownership.dependencies_declare_none(key_result=krs[code], user=krs[code].owner)
    ownership.ownership_handover(
        key_result=krs["M2"], user=org.person("Moe"), new_owner=org.person("Mona"), reason="Load"
    )

    # Dependencies, answered at once (except D4) so that only the overdue ladder applies.
    pia, stan = org.person("Pia"), org.person("Stan")
    for code, kr, provider, who, due in [
        ("D1", "G2", "Platform", "Pia", date(2026, 12, 1)),
        ("D2", "S2", "Platform", "Pia", date(2026, 11, 10)),
        ("D5", "O1", "Platform", "Pia", date(2026, 11, 9)),
        ("D3", "M1", "Support", "Stan", date(2026, 11, 13)),
        ("D4", "U1", "Data", "Dana", date(2026, 11, 30)),
    ]:
        _depend(org, code, krs[kr], provider, who, due)
    for code, who in [("D1", pia), ("D2", pia), ("D5", pia), ("D3", stan)]:
        org.deps[code] = dependencies.dependency_commit(dependency=org.deps[code], user=who)
    org.deps["D2"] = dependencies.dependency_flag_risk(
        dependency=org.deps["D2"], user=pia, reason="Vendor is late"
    )

    clock.move_to(WEEK_6)
    _check_in(org, "G2", 6, "at_risk", 5, 20)
    clock.shift(300)
    _check_in(org, "G3", 6, "on_track", 7, 40)

    # D4 (unanswered since 2 Nov + 3 days), D5 (past 9 Nov) and D2 (past 10 Nov) climb to
    # rung 1, in that order; D3 (due 13 Nov) is not due for the ladder yet.
    clock.move_to(ESCALATION_RUN)
    run = escalation.dependencies_escalate(now=timezone.now())
    assert run.escalated == 3
    clock.move_to(DELIVERED)
    org.deps["D5"] = dependencies.dependency_deliver(dependency=org.deps["D5"], user=pia)

    clock.move_to(PROMPTS)
    assert prompts.checkins_send_prompts(now=timezone.now()).prompts == 8  # not Sid: away
    for minute, (code, status, confidence, value, more) in enumerate(
        [
            ("G1", "on_track", 8, 50, {}),
            ("G2", "off_track", 3, 25, {"need": "A sandbox", "need_person": pia}),
            ("S1", "on_track", 9, 10, {}),
            ("P1", "at_risk", 4, 50, {}),
            ("M1", "on_track", 7, 50, {}),
            ("U1", "on_track", 6, 50, {}),
            ("O1", "on_track", 8, 50, {}),
        ]
    ):
        clock.move_to(PROMPTS + timedelta(hours=1, minutes=10 * minute))
        _check_in(org, code, WEEK, status, confidence, value, **more)
    assert org.checkins["S1w7"].forecast_flag
    assert not any(c.forecast_flag for k, c in org.checkins.items() if k != "S1w7")

    clock.move_to(MISSED_RUN)
    assert missed.checkins_escalate_missed(now=timezone.now()).escalated == 2  # Gina, Milo

    clock.move_to(READ_AT)
    for kr in krs.values():
        kr.refresh_from_db()
    return org


@pytest.fixture
def org(db: Any, clock: Any) -> Org:
    return build_org(clock)


@pytest.fixture
def reader(org: Org, client: Any) -> Any:
    """The test client, signed in as Lea of the leadership group."""
    client.force_login(org.person("Lea"))
    return client


# --- reading pages -----------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str, cls: str = "") -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (not cls or cls in child.classes):
                    found.append(child)
                found.extend(child.find_all(tag, cls))
        return found

    def find(self, tag: str, cls: str = "") -> Node:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag} class={cls!r}> in the page"
        return found[0]

    def by_id(self, value: str) -> Node:
        for child in self.children:
            if isinstance(child, Node):
                if child.attrs.get("id") == value:
                    return child
                try:
                    return child.by_id(value)
                except LookupError:
                    pass
        raise LookupError(value)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def page(response: Any) -> Node:
    """The response's HTML as a tree of nodes (status 200 required)."""
    assert response.status_code == 200, response.content[:500]
    reader = _Reader()
    reader.feed(response.content.decode())
    reader.close()
    return reader.root


def cells(row: Node) -> list[str]:
    return [td.text for td in row.find_all("td")]


def person_in(row: Node) -> str:
    """The name in a row's person cell, without the avatar's initials."""
    person = row.find("span", "person")
    return " ".join(c for c in person.children if isinstance(c, str)).strip()


def number(text: str) -> int:
    """The first whole number in a cell ("67%", "1/2" → 1)."""
    match = re.search(r"-?\d+", text)
    assert match, f"no number in {text!r}"
    return int(match.group())


def team_rows(html: Node) -> dict[str, dict[str, Any]]:
    """The team view's table: for each key result (by title), what its columns show."""
    rows = {}
    for tr in html.find("table", "team-table").find("tbody").find_all("tr"):
        if len(tr.find_all("td")) == 1:
            continue  # "No key results this quarter."
        title, _owner, progress, latest, _badge, deps, needs, escalated = cells(tr)
        # "At risk 4/10 week 7" (and "missed" when it is not this week's).
        said = re.match(r"(?P<status>.*?) (?P<confidence>\d+)/10", latest)
        status, confidence = (said["status"], said["confidence"]) if said else ("", "")
        committed, open_ = (int(n) for n in deps.split("/"))
        badge = tr.find("span", "acct-badge")
        rows[title] = {
            "owner": person_in(tr),
            "progress": number(progress),
            "status": status,
            "confidence": number(confidence) if confidence else None,
            "passed": badge.attrs["data-accountability"] == "pass",
            "failing": sum("no" in dot.classes for dot in badge.find_all("span", "acct-dot")),
            "committed": committed,
            "open": open_,
            "escalated": int(escalated),
            "needs": int(needs),
        }
    return rows


def people_rows(html: Node, *, escalations: bool = False) -> dict[str, tuple[int, ...]]:
    """The people view's table: for each person (by name), the seven counts of what is owed
    in page order; with ``escalations``, the two early-escalation counts (raised, answered on
    time) instead."""
    rows = {}
    for tr in html.find("table", "people-table").find("tbody").find_all("tr"):
        if "id" not in tr.attrs:
            continue  # "Nobody owes anything here."
        _person, *counts, _nudge = cells(tr)
        rows[person_in(tr)] = tuple(int(n) for n in (counts[7:] if escalations else counts[:7]))
    return rows


# The local webhook server standing in for Slack and Teams (issue 16).
from tests.webhooks import webhook  # noqa: E402, F401
