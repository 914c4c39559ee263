"""The key-result status table (issue 14) always equals a from-scratch recomputation.

A rule-based Hypothesis machine builds a small organisation through the services (objectives,
key results, ownership answers and handovers, authority, "needs no other team", the whole
dependency life cycle, check-ins and their needs, trade-offs, an admin moving an objective or
deleting a key result) and moves the clock forward by up to ten days at a time, running the
beat jobs the schedule would have run meanwhile (the dependency ladder and the status refresh).
After every step each ``KeyResultStatus`` row must equal what the oracle below computes.

The oracle is written here, not taken from ``ownership.status.compute``: the Accountability
Test's checks, verdict and latest check-in come from the documented verdict SQL
(``ownership.verdict.verdict_sql`` and ``VERDICT_COLUMNS``, the reference the old dashboard
used); every count and date is counted in Python from plain ORM rows. A step the services
refuse (``RuleBroken``/``NotAllowed``) must leave the table exactly as it was.

Each example runs in its own savepoint, rolled back at the end, and on its own clock (nested
in the suite's pinned one). OKRLY_PROPERTY_EXAMPLES and OKRLY_PROPERTY_STEPS bound it (CI
uses the defaults); the examples are derandomized, so CI runs the same ones every time.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from hypothesis.strategies import SearchStrategy

from checkins.models import CheckIn
from checkins.prompts import _prompt_moment, checkins_send_prompts
from checkins.services import checkin_need_handle, checkin_submit
from dependencies import services as deps
from dependencies.models import Dependency
from dependencies.tasks import dependencies_escalate_task
from objectives import services as objectives
from objectives import tradeoffs
from objectives.models import Displacement, KeyResult, Objective, TradeOff, TradeOffCategory
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Membership, Team
from ownership import figures
from ownership import services as ownership
from ownership.models import AuthorityGrant, KeyResultStatus, OwnershipNomination, TeamFigures
from ownership.tasks import statuses_refresh_task
from ownership.verdict import VERDICT_COLUMNS, verdict_sql
from reviews import selectors
from tests.conftest import TEST_NOW, TEST_TODAY
from tests.factories import MembershipFactory, QuarterFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("OKRLY_PROPERTY_EXAMPLES") or 25)
STEPS = int(os.environ.get("OKRLY_PROPERTY_STEPS") or 30)

# Every column of the table the oracle must predict: all but the day it was written.
COMPARED = tuple(
    f.attname for f in KeyResultStatus._meta.concrete_fields if f.name != "computed_on"
)
S = Dependency.Status
REFUSED = (RuleBroken, NotAllowed, ProtectedError)
# The dependencies each answer applies to.
FITS: dict[str, Any] = {
    "commit": lambda d: (
        d.status in (S.REQUESTED, S.COUNTERED) and d.awaiting_id == d.responsible_id
    ),
    "decline": lambda d: (
        d.status in (S.REQUESTED, S.COUNTERED) and d.awaiting_id == d.responsible_id
    ),
    "deliver": lambda d: d.status in Dependency.PROMISED_STATUSES,
    "confirm": lambda d: d.status == S.DELIVERED,
    "reopen": lambda d: d.status == S.DELIVERED and d.confirmed_at is None,
    "flag_risk": lambda d: d.status == S.COMMITTED,
    "break": lambda d: d.status in Dependency.PROMISED_STATUSES,
    "accept_counter": lambda d: d.status == S.COUNTERED and d.awaiting_id == d.key_result.owner_id,
}
# What the steps did, over every example: the test checks each write path was taken.
OUTCOMES: Counter[tuple[str, str]] = Counter()


# --- the oracle ---------------------------------------------------------------------------


def _day(value: Any) -> date | None:
    # SQLite hands dates back from raw SQL as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def expected_statuses(today: date) -> dict[int, dict[str, Any]]:
    """Every key result's status on ``today``, from scratch, without ownership.status."""
    verdict = verdict_sql(today=today, include_displaced=True)
    with connection.cursor() as cursor:
        cursor.execute(
            verdict.sql + f"SELECT {', '.join(VERDICT_COLUMNS)} FROM {verdict.table}",
            verdict.params,
        )
        checks = {row[0]: dict(zip(VERDICT_COLUMNS, row, strict=True)) for row in cursor.fetchall()}
    dependencies: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for dep in Dependency.objects.order_by("rank").values(
        "key_result_id", "status", "rank", "due_date", "escalation_rung"
    ):
        dependencies[dep["key_result_id"]].append(dep)
    needs: dict[int, int] = defaultdict(int)
    for kr_id in CheckIn.objects.filter(
        need_person__isnull=False, need_handled_at__isnull=True
    ).values_list("key_result_id", flat=True):
        needs[kr_id] += 1

    expected = {}
    for kr in KeyResult.objects.values(
        "pk", "owner_id", "objective__team_id", "objective__quarter_id", "displaced_by_id"
    ):
        pk = kr["pk"]
        check = checks[pk]  # include_displaced: every key result has its row
        assert (check["team_id"], check["owner_id"], check["quarter_id"]) == (
            kr["objective__team_id"],
            kr["owner_id"],
            kr["objective__quarter_id"],
        )
        mine = dependencies[pk]
        open_ = [d for d in mine if d["status"] in Dependency.OPEN_STATUSES]
        promised = [d for d in mine if d["status"] in Dependency.PROMISED_STATUSES]
        # Rule 5(c): the top two by rank among those still counting (a declined one does not).
        top_two = [d for d in mine if d["status"] != S.DECLINED][:2]
        kept_until = min(
            (
                d["due_date"]
                for d in top_two
                if d["status"] == S.COMMITTED and d["due_date"] >= today
            ),
            default=None,
        )
        next_due = min((d["due_date"] for d in promised if d["due_date"] >= today), default=None)
        expected[pk] = {
            "key_result_id": pk,
            "quarter_id": kr["objective__quarter_id"],
            "team_id": kr["objective__team_id"],
            "owner_id": kr["owner_id"],
            "in_play": kr["displaced_by_id"] is None,
            "accepted": bool(check["accepted"]),
            "authority": bool(check["authority"]),
            "deps_ok": bool(check["deps_ok"]),
            "ok": bool(check["ok"]),
            "declined": bool(check["declined"]),
            "pending_to_id": check["pending_to"],
            "none_needed": bool(check["none_needed"]),
            "has_deps": bool(check["has_deps"]),
            "kept_until": kept_until,
            "checkin_week": check["checkin_week"],
            "checkin_status": check["checkin_status"] or "",
            "checkin_confidence": check["checkin_confidence"],
            "forecast_flag": bool(check["forecast_flag"]),
            "deps_open": len(open_),
            "deps_committed": len(promised),
            "open_escalations": sum(1 for d in open_ if d["escalation_rung"] > 0),
            "overdue_dependencies": sum(1 for d in promised if d["due_date"] < today),
            "open_needs": needs[pk],
            # Due on the calendar's last day, a dependency never falls due.
            "changes_at": (
                next_due + timedelta(days=1)
                if next_due is not None and next_due < date.max
                else None
            ),
        }
        # The verdict SQL's own date must agree with the rule read plainly.
        assert _day(check["kept_until"]) == kept_until, (pk, check["kept_until"], kept_until)
    return expected


# The dashboard's figures by team, as the organisation view computed them on every request
# before TeamFigures kept them (issue 14): the reference the kept figures must read as.
REFERENCE_FIGURES = """
SELECT s.team_id,
       COUNT(*),
       SUM(CASE WHEN s.ok AND (s.kept_until IS NULL OR s.kept_until >= %(today)s)
                THEN 0 ELSE 1 END),
       SUM(CASE WHEN s.checkin_status IN ('at_risk', 'off_track') THEN 1 ELSE 0 END),
       SUM(CASE WHEN s.checkin_week = %(week)s THEN 1 ELSE 0 END),
       SUM(CASE WHEN s.checkin_week = %(week)s OR p.owner_id IS NULL THEN 0 ELSE 1 END)
FROM ownership_keyresultstatus s
LEFT JOIN (
    SELECT DISTINCT owner_id FROM checkins_checkinprompt
    WHERE quarter_id = %(quarter)s AND week = %(week)s AND sent_at IS NOT NULL
) p ON p.owner_id = s.owner_id
WHERE s.quarter_id = %(quarter)s AND s.in_play
GROUP BY s.team_id"""
REFERENCE_OWED = """
SELECT d.provider_team_id,
       SUM(CASE WHEN d.status IN ('committed', 'at_risk') AND d.due_date < %(today)s
                THEN 1 ELSE 0 END),
       SUM(CASE WHEN d.status IN ('requested', 'countered', 'committed', 'at_risk')
                     AND d.escalation_rung > 0 THEN 1 ELSE 0 END)
FROM dependencies_dependency d
WHERE d.key_result_id IN (
    SELECT s.key_result_id FROM ownership_keyresultstatus s
    WHERE s.quarter_id = %(quarter)s AND s.in_play
)
GROUP BY d.provider_team_id"""


def reference_figures(quarter_id: int, week: int, today: date) -> dict[int, tuple[int, ...]]:
    """Per team: key results, failing, at risk, checked in, missed, overdue, escalated."""
    params = {"quarter": quarter_id, "week": week, "today": today}
    found: dict[int, list[int]] = defaultdict(lambda: [0] * 7)
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_FIGURES, params)
        for team_id, *counts in cursor.fetchall():
            found[team_id][:5] = [int(c) for c in counts]
        cursor.execute(REFERENCE_OWED, params)
        for team_id, overdue, escalated in cursor.fetchall():
            found[team_id][5:] = [int(overdue), int(escalated)]
    return {team: tuple(counts) for team, counts in found.items() if any(counts)}


def read_figures(quarter: Any, week: int, today: date) -> dict[int, tuple[int, ...]]:
    """The same, as the dashboard reads them now (the teams' kept rows)."""
    found: dict[int, tuple[int, ...]] = {}
    for team, s in selectors._team_signals(quarter, today, week, None).items():
        counts = (
            s.key_results,
            s.failing,
            s.at_risk,
            s.checked_in,
            s.missed,
            s.overdue,
            s.escalations,
        )
        if any(counts):
            found[team] = counts
    return found


# The team view's trend as it grouped the check-ins on every request before the kept figures
# held it (issue 14): the reference the kept trend must read as.
REFERENCE_TREND = """
SELECT c.week, COUNT(*) AS n, AVG(c.confidence) AS confidence
FROM checkins_checkin c
JOIN ownership_keyresultstatus s ON s.key_result_id = c.key_result_id
WHERE s.quarter_id = %s AND s.team_id = %s AND s.in_play
GROUP BY c.week"""


def reference_trend(quarter: Any, team: int, today: date) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_TREND, [quarter.pk, team])
        rows = {week: (n, float(confidence)) for week, n, confidence in cursor.fetchall()}
    points = []
    for w in range(1, selectors.dashboard_week(quarter, today) + 1):
        n, confidence = rows.get(w, (0, None))
        points.append((w, round(100 * n / 7), None if confidence is None else round(confidence, 1)))
    return points


def read_trend(quarter: Any, team: int, today: date) -> list[Any]:
    """The same, as the team view reads it now (the team's kept week rows), of 7 key results."""
    found = selectors.team_trend_read(quarter, team).get()
    return [
        (p.week, p.completion, p.confidence)
        for p in selectors.trend_points(found, quarter, today, 7)
    ]


def kept_figures() -> dict[tuple[int, int, int], dict[str, int]]:
    return {
        (row.pop("quarter_id"), row.pop("team_id"), row.pop("week")): row
        for row in TeamFigures.objects.values("quarter_id", "team_id", "week", *figures.FIGURES)
    }


def latest_checkins() -> dict[int, tuple[int, str, int, bool]]:
    """The latest check-in of each key result, read from the check-ins themselves."""
    latest: dict[int, tuple[int, str, int, bool]] = {}
    for c in CheckIn.objects.order_by("week").values(
        "key_result_id", "week", "status", "confidence", "forecast_flag"
    ):
        latest[c["key_result_id"]] = (c["week"], c["status"], c["confidence"], c["forecast_flag"])
    return latest


def table() -> dict[int, dict[str, Any]]:
    return {
        row["key_result_id"]: row
        for row in KeyResultStatus.objects.values("computed_on", *COMPARED)
    }


# --- the machine --------------------------------------------------------------------------

pick = st.integers(min_value=0, max_value=10_000)
# Mostly the person entitled to act, sometimes anyone (whose attempt is refused, or not).
right_person = st.integers(min_value=0, max_value=9).map(lambda n: n < 8)


@dataclass
class Action:
    """One kind of step: its method, the strategies of its arguments, when it applies."""

    method: Callable[..., None]
    strategies: dict[str, SearchStrategy[Any]]
    check: Callable[[Any], bool] | None = None


ACTIONS: list[Action] = []


def action(**strategies: SearchStrategy[Any]) -> Callable[[Any], Any]:
    def register(method: Any) -> Any:
        ACTIONS.append(Action(method, strategies))
        return method

    return register


def when(check: Callable[[Any], bool]) -> Callable[[Any], Any]:
    def mark(method: Any) -> Any:
        next(a for a in ACTIONS if a.method is method).check = check
        return method

    return mark


def person() -> User:
    return cast(User, UserFactory())


def nth(items: list[Any], i: int) -> Any:
    return items[i % len(items)]


class Organisation:
    """Three teams of a lead and two members, and a leader; one objective per team with a
    key result per member, accepted; then ``scenario``."""

    def __init__(self) -> None:
        today = TEST_TODAY
        self.quarter = QuarterFactory(
            name="This quarter",
            start=today - timedelta(days=28),
            end=today + timedelta(days=62),
        )
        self.category = TradeOffCategory.objects.get_or_create(name="Client escalation")[0]
        self.rights = ownership.decision_rights_ensure_defaults()[:2]
        self.leader = person()
        Group.objects.get_or_create(name="Leadership")[0].user_set.add(self.leader)
        self.teams: list[Team] = []
        self.leads: dict[int, User] = {}
        self.members: dict[int, list[User]] = {}
        self.people: list[User] = [self.leader]
        for _ in range(3):
            team = TeamFactory()
            lead = person()
            team.lead = lead
            team.save()
            MembershipFactory(user=lead, team=team, role=Membership.Role.LEAD)
            members = [lead]
            for _ in range(2):
                member = person()
                MembershipFactory(user=member, team=team)
                members.append(member)
            self.teams.append(team)
            self.leads[team.pk] = lead
            self.members[team.pk] = members
            self.people += members
            objective = objectives.objective_create(
                user=lead, quarter=self.quarter, team=team, title=f"{team.name} grows"
            )
            for owner in members[1:]:
                kr = objectives.key_result_create(
                    user=lead,
                    objective=objective,
                    title=f"{team.name} ships",
                    owner=owner,
                    target_value=Decimal(100),
                )
                ownership.ownership_accept(key_result=kr, user=owner)
        self.scenario(today)

    def scenario(self, today: date) -> None:
        """A start with a dependency in every state, a need raised and one handled, authority
        granted and revoked, a handover waiting: every example begins past each write path
        once, and its random steps go on from there."""
        krs = list(KeyResult.objects.select_related("owner").order_by("pk"))
        a, b, c, d, e, f = krs
        t0, t1, t2 = self.teams
        m = self.members

        def ask(kr: KeyResult, team: Team, responsible: User, days: int) -> Dependency:
            return deps.dependency_request(
                user=kr.owner,
                key_result=kr,
                provider_team=team,
                responsible=responsible,
                deliverable="An API",
                due_date=today + timedelta(days=days),
                confirm_outside_quarter=True,
            )

        committed = ask(a, t1, m[t1.pk][1], 5)
        deps.dependency_commit(dependency=committed, user=m[t1.pk][1])
        countered = ask(a, t2, m[t2.pk][1], 9)
        deps.dependency_counter(
            dependency=countered, user=m[t2.pk][1], due_date=today + timedelta(days=12)
        )
        deps.dependency_accept_counter(dependency=countered, user=a.owner)
        at_risk = ask(b, t1, m[t1.pk][2], 3)
        deps.dependency_commit(dependency=at_risk, user=m[t1.pk][2])
        deps.dependency_flag_risk(dependency=at_risk, user=b.owner, reason="Key engineer ill.")
        delivered = ask(c, t2, m[t2.pk][2], 4)
        deps.dependency_commit(dependency=delivered, user=m[t2.pk][2])
        deps.dependency_deliver(dependency=delivered, user=m[t2.pk][2])
        deps.dependency_reopen(dependency=delivered, user=c.owner, reason="Half done.")
        deps.dependency_deliver(dependency=delivered, user=m[t2.pk][2])
        declined = ask(d, t0, m[t0.pk][1], 6)
        deps.dependency_decline(dependency=declined, user=m[t0.pk][1], reason="No capacity.")
        ownership.dependencies_declare_none(key_result=d, user=d.owner)
        broken = ask(e, t0, m[t0.pk][2], 2)
        deps.dependency_commit(dependency=broken, user=m[t0.pk][2])
        deps.dependency_break(dependency=broken, user=e.owner, reason="Not coming.")
        ask(f, t1, m[t1.pk][1], 7)  # left waiting: the unanswered ladder starts in 3 days
        for kr in (a, c):
            ownership.authority_grant(
                key_result=kr,
                user=self.leads[t0.pk] if kr is a else self.leader,
                rights=self.rights,
                scope="The team's backlog",
            )
        grant = AuthorityGrant.objects.get(key_result=c, revoked_at=None)
        ownership.authority_revoke(grant=grant, user=self.leader, reason="Reorganised.")
        week = self.quarter.week_of(today)
        handled = checkin_submit(
            user=a.owner,
            key_result=a,
            status=CheckIn.Status.ON_TRACK,
            confidence=7,
            biggest_risk="Hiring.",
            value=10,
            need="A design review.",
            need_person=m[t1.pk][1],
            week=week,
        )
        checkin_need_handle(check_in=handled, user=m[t1.pk][1])
        checkin_submit(
            user=b.owner,
            key_result=b,
            status=CheckIn.Status.AT_RISK,
            confidence=4,
            biggest_risk="The API.",
            value=20,
            need="The API by Friday.",
            need_dependency=at_risk,
            week=week,
        )
        ownership.ownership_handover(
            key_result=b, user=self.leads[t0.pk], new_owner=m[t0.pk][1], reason="Rebalancing."
        )


class StatusMachine(RuleBasedStateMachine):
    # Built once per test (the examples' savepoints roll back to it): building it is most of
    # an example's queries otherwise.
    organisation: Organisation | None = None

    def __init__(self) -> None:
        super().__init__()
        assert self.organisation is not None
        self.org = self.organisation
        self._stack = ExitStack()
        # The example's own clock (nested in the suite's pinned one) and its own savepoint.
        self.clock = self._stack.enter_context(time_machine.travel(TEST_NOW, tick=False))
        self._stack.enter_context(transaction.atomic())
        self.steps = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._stack.close()

    # --- helpers ----------------------------------------------------------------------------

    def attempt(self, action: Any, *args: Any, **kwargs: Any) -> None:
        """Run one write; a refused one must leave every status row as it was."""
        before = table()
        try:
            action(*args, **kwargs)
        except REFUSED:
            assert table() == before, f"{action.__name__} was refused but changed the table"
            OUTCOMES[action.__name__, "refused"] += 1
        else:
            OUTCOMES[action.__name__, "done"] += 1

    def someone(self, i: int) -> User:
        return nth(self.org.people, i)

    def key_results(self) -> list[KeyResult]:
        return list(
            KeyResult.objects.select_related(
                "objective__team", "objective__quarter", "owner", "status"
            ).order_by("pk")
        )

    def dependencies(self) -> list[Dependency]:
        return list(Dependency.objects.select_related("key_result").order_by("pk"))

    def lead_of(self, team_id: int) -> User:
        return self.org.leads[team_id]

    # --- the organisation ---------------------------------------------------------------------

    # --- objectives and key results -----------------------------------------------------------

    @action(team=pick, right=right_person, who=pick)
    def add_objective(self, team: int, right: bool, who: int) -> None:
        chosen = nth(self.org.teams, team)
        user = self.lead_of(chosen.pk) if right else self.someone(who)
        self.attempt(
            objectives.objective_create,
            user=user,
            quarter=self.org.quarter,
            team=chosen,
            title="Another objective",
        )

    @action(objective=pick, owner=pick, right=right_person, who=pick)
    def add_key_result(self, objective: int, owner: int, right: bool, who: int) -> None:
        chosen = nth(list(Objective.objects.select_related("team", "quarter")), objective)
        user = self.lead_of(chosen.team_id) if right else self.someone(who)
        self.attempt(
            objectives.key_result_create,
            user=user,
            objective=chosen,
            title="Another key result",
            owner=self.someone(owner),
            target_value=Decimal(50),
        )

    @action(objective=pick, team=pick)
    def move_objective(self, objective: int, team: int) -> None:
        """An administrator moves an objective to another team (the admin saves the row)."""
        chosen = nth(list(Objective.objects.order_by("pk")), objective)
        chosen.team = nth(self.org.teams, team)
        chosen.save()
        OUTCOMES["move_objective", "done"] += 1

    @when(lambda self: KeyResult.objects.exists())
    @action(kr=pick)
    def delete_key_result(self, kr: int) -> None:
        """An administrator deletes a key result (with everything hanging from it)."""
        self.attempt(nth(self.key_results(), kr).delete)

    # --- ownership and authority ------------------------------------------------------------

    def waiting_for_an_answer(self) -> list[KeyResult]:
        """Key results whose owner has not accepted, or with a handover waiting."""
        pending = set(
            OwnershipNomination.objects.filter(status="pending").values_list(
                "key_result_id", flat=True
            )
        )
        return [k for k in self.key_results() if not k.status.accepted or k.pk in pending]

    def _nominee(self, kr: KeyResult) -> User:
        pending = kr.nominations.filter(status="pending").select_related("nominee").first()
        return pending.nominee if pending else kr.owner

    @when(lambda self: KeyResult.objects.exists())
    @action(kr=pick, right=right_person, who=pick)
    def accept(self, kr: int, right: bool, who: int) -> None:
        waiting = self.waiting_for_an_answer()
        chosen = nth(waiting if right and waiting else self.key_results(), kr)
        user = self._nominee(chosen) if right else self.someone(who)
        self.attempt(ownership.ownership_accept, key_result=chosen, user=user)

    @when(lambda self: KeyResult.objects.exists())
    @action(kr=pick, right=right_person, who=pick, reason=st.sampled_from(["Too much on", ""]))
    def decline(self, kr: int, right: bool, who: int, reason: str) -> None:
        waiting = self.waiting_for_an_answer()
        chosen = nth(waiting if right and waiting else self.key_results(), kr)
        user = self._nominee(chosen) if right else self.someone(who)
        self.attempt(ownership.ownership_decline, key_result=chosen, user=user, reason=reason)

    @when(lambda self: KeyResult.objects.exists())
    @action(kr=pick, new_owner=pick, right=right_person, who=pick)
    def hand_over(self, kr: int, new_owner: int, right: bool, who: int) -> None:
        chosen = nth(self.key_results(), kr)
        user = self.lead_of(chosen.objective.team_id) if right else self.someone(who)
        self.attempt(
            ownership.ownership_handover,
            key_result=chosen,
            user=user,
            new_owner=self.someone(new_owner),
            reason="Moves to the team that does the work.",
        )

    @when(lambda self: KeyResult.objects.exists())
    @action(kr=pick, by=st.sampled_from(["lead", "leader", "owner", "anyone"]), who=pick)
    def grant(self, kr: int, by: str, who: int) -> None:
        chosen = nth(self.key_results(), kr)
        user = {
            "lead": self.lead_of(chosen.objective.team_id),
            "leader": self.org.leader,
            "owner": chosen.owner,
            "anyone": self.someone(who),
        }[by]
        self.attempt(
            ownership.authority_grant,
            key_result=chosen,
            user=user,
            rights=self.org.rights,
            scope="The team's backlog",
        )

    @when(lambda self: AuthorityGrant.objects.exists())
    @action(grant=pick, right=right_person, who=pick)
    def revoke(self, grant: int, right: bool, who: int) -> None:
        chosen = nth(
            list(AuthorityGrant.objects.select_related("key_result").order_by("pk")), grant
        )
        user = self.org.leader if right else self.someone(who)
        self.attempt(ownership.authority_revoke, grant=chosen, user=user, reason="Reorganised.")

    @when(lambda self: KeyResult.objects.exists())
    @action(kr=pick, right=right_person, who=pick, withdraw=st.booleans())
    def no_dependencies(self, kr: int, right: bool, who: int, withdraw: bool) -> None:
        chosen = nth(self.key_results(), kr)
        user = chosen.owner if right else self.someone(who)
        if withdraw:
            self.attempt(ownership.dependencies_withdraw_none, key_result=chosen, user=user)
        else:
            self.attempt(ownership.dependencies_declare_none, key_result=chosen, user=user)

    # --- dependencies -------------------------------------------------------------------------

    @when(lambda self: KeyResult.objects.exists())
    @action(
        kr=pick,
        team=pick,
        responsible=pick,
        due_in=st.integers(min_value=-1, max_value=40),
        rank=st.sampled_from([None, None, 1, 2, 3]),
        right=right_person,
        who=pick,
    )
    def request(
        self,
        kr: int,
        team: int,
        responsible: int,
        due_in: int,
        rank: int | None,
        right: bool,
        who: int,
    ) -> None:
        chosen = nth(self.key_results(), kr)
        provider = nth(self.org.teams, team)
        self.attempt(
            deps.dependency_request,
            user=chosen.owner if right else self.someone(who),
            key_result=chosen,
            provider_team=provider,
            responsible=nth(self.org.members[provider.pk], responsible),
            deliverable="An API",
            due_date=timezone.localdate() + timedelta(days=due_in),
            rank=rank,
            confirm_outside_quarter=True,
        )

    def answer(self, action: str, dep: int, right: bool, who: int) -> None:
        # Mostly a dependency in a state the answer applies to, so that the life cycle
        # gets far; otherwise any one (refused, or not).
        fitting = [d for d in self.dependencies() if FITS[action](d)] if right else []
        chosen = nth(fitting or self.dependencies(), dep)
        owner = chosen.key_result.owner
        entitled = {
            "commit": chosen.responsible,
            "decline": chosen.responsible,
            "deliver": chosen.responsible,
            "confirm": owner,
            "reopen": owner,
            "flag_risk": owner if who % 2 else chosen.responsible,
            "break": owner,
            "accept_counter": chosen.awaiting or owner,
        }[action]
        user = entitled if right else self.someone(who)
        service, extra = {
            "commit": (deps.dependency_commit, {}),
            "decline": (deps.dependency_decline, {"reason": "No capacity."}),
            "deliver": (deps.dependency_deliver, {}),
            "confirm": (deps.dependency_confirm, {}),
            "reopen": (deps.dependency_reopen, {"reason": "Half done."}),
            "flag_risk": (deps.dependency_flag_risk, {"reason": "Key engineer ill."}),
            "break": (deps.dependency_break, {"reason": "Not coming."}),
            "accept_counter": (deps.dependency_accept_counter, {}),
        }[action]
        self.attempt(service, dependency=chosen, user=user, **extra)

    # One kind of step per answer, so that the dependency life cycle gets its share.
    def _answering(kind: str) -> Any:
        @when(lambda self: Dependency.objects.exists())
        @action(dep=pick, right=right_person, who=pick)
        def answering(self: StatusMachine, dep: int, right: bool, who: int) -> None:
            self.answer(kind, dep, right, who)

        answering.__name__ = kind
        return answering

    commit = _answering("commit")
    decline_dependency = _answering("decline")
    deliver = _answering("deliver")
    confirm = _answering("confirm")
    reopen = _answering("reopen")
    flag_risk = _answering("flag_risk")
    break_promise = _answering("break")
    accept_counter = _answering("accept_counter")

    @when(lambda self: Dependency.objects.exists())
    @action(dep=pick, due_in=st.integers(min_value=-1, max_value=40), right=right_person, who=pick)
    def counter(self, dep: int, due_in: int, right: bool, who: int) -> None:
        fitting = [d for d in self.dependencies() if d.awaiting_id] if right else []
        chosen = nth(fitting or self.dependencies(), dep)
        user = chosen.awaiting if right and chosen.awaiting else self.someone(who)
        self.attempt(
            deps.dependency_counter,
            dependency=chosen,
            user=user,
            due_date=timezone.localdate() + timedelta(days=due_in),
        )

    # --- check-ins ----------------------------------------------------------------------------

    @when(lambda self: KeyResult.objects.exists())
    @action(
        kr=pick,
        status=st.sampled_from(CheckIn.Status.values),
        confidence=st.integers(min_value=0, max_value=10),
        value=st.integers(min_value=0, max_value=120),
        weeks_back=st.sampled_from([None, None, 0, 1, 3]),
        need=st.sampled_from(["none", "none", "person", "dependency"]),
        right=right_person,
        who=pick,
    )
    def check_in(
        self,
        kr: int,
        status: str,
        confidence: int,
        value: int,
        weeks_back: int | None,
        need: str,
        right: bool,
        who: int,
    ) -> None:
        chosen = nth(self.key_results(), kr)
        user = chosen.owner if right else self.someone(who)
        week = None
        if weeks_back is not None:
            week = chosen.objective.quarter.week_of(timezone.localdate()) - weeks_back
        need_dependency = chosen.dependencies.order_by("rank").first()
        self.attempt(
            checkin_submit,
            user=user,
            key_result=chosen,
            status=status,
            confidence=confidence,
            biggest_risk="Hiring.",
            value=value,
            need="" if need == "none" else "A review of the design.",
            need_person=self.someone(who) if need == "person" else None,
            need_dependency=need_dependency if need == "dependency" else None,
            week=week,
        )

    @when(lambda self: CheckIn.objects.filter(need_person__isnull=False).exists())
    @action(check_in=pick, right=right_person, who=pick)
    def handle_need(self, check_in: int, right: bool, who: int) -> None:
        chosen = nth(
            list(
                CheckIn.objects.filter(need_person__isnull=False)
                .select_related("key_result__owner", "need_person")
                .order_by("pk")
            ),
            check_in,
        )
        user = chosen.need_person if right and chosen.need_person else self.someone(who)
        self.attempt(checkin_need_handle, check_in=chosen, user=user)

    # --- trade-offs ---------------------------------------------------------------------------

    @action(
        team=pick,
        item=pick,
        action=st.sampled_from(Displacement.Action.values),
        by=st.sampled_from(["lead", "leader"]),
        adds=st.sampled_from(["objective", "key_result"]),
        owner=pick,
    )
    def trade_off(self, team: int, item: int, action: str, by: str, adds: str, owner: int) -> None:
        chosen = nth(self.org.teams, team)
        mine = list(Objective.objects.filter(team=chosen).order_by("pk"))
        items: list[Any] = mine + list(
            KeyResult.objects.filter(objective__in=mine).select_related("objective").order_by("pk")
        )
        if not items:
            return
        displaced = nth(items, item)
        in_play = [o for o in mine if o.displaced_by_id is None]
        addition: dict[str, Any] = {"kind": adds, "title": "Keep Acme"}
        if adds == "key_result":
            addition.update(
                objective=in_play[0].pk if in_play else 0,
                owner=self.someone(owner).pk,
                target_value="10",
            )
        self.attempt(
            tradeoffs.trade_off_decide,
            user=self.lead_of(chosen.pk) if by == "lead" else self.org.leader,
            team=chosen,
            quarter=self.org.quarter,
            category=self.org.category,
            reason="Acme threatens to leave.",
            displaced=[tradeoffs.Displace(displaced, action, Decimal(1))],
            addition=addition,
        )

    @when(lambda self: TradeOff.objects.filter(status=TradeOff.Status.AWAITING_APPROVAL).exists())
    @action(approve=st.booleans())
    def leadership_answers(self, approve: bool) -> None:
        waiting = TradeOff.objects.filter(status=TradeOff.Status.AWAITING_APPROVAL).first()
        service = tradeoffs.trade_off_approve if approve else tradeoffs.trade_off_refuse
        self.attempt(service, user=self.org.leader, trade_off=waiting)

    @action()
    def prompts_go_out(self) -> None:
        """The quarter's next check-in hour comes (the clock moves to just after it, with the
        beat jobs time_passes runs) and the prompt job runs: the owners are prompted in bulk,
        reported to the figures through okrly.registry.prompts_sent. Moving to the hour
        itself, not waiting for a random walk to land in its grace period: from some pinned
        days (CI's reruns) a walk never did."""
        quarter = self.org.quarter
        zone = ZoneInfo(self.org.people[1].profile.timezone)
        later = timezone.now().astimezone(zone) + timedelta(days=7)
        moment = _prompt_moment(later, quarter.checkin_weekday, quarter.checkin_hour)
        self.time_passes_to(moment + timedelta(minutes=5))
        sent = checkins_send_prompts().prompts
        OUTCOMES["prompts sent", "done" if sent else "none due"] += 1

    # --- the clock ----------------------------------------------------------------------------

    @action(
        days=st.integers(min_value=0, max_value=10),
        hours=st.integers(min_value=0, max_value=23),
    )
    def time_passes(self, days: int, hours: int) -> None:
        """Move on, then run what the beat would have run meanwhile, in both orders: the
        status refresh of the rows whose date has come on its own first (the ladder's saves
        would rewrite most of those rows before it saw them), then the ladder until no rung
        is left due (it runs every 15 minutes, so every rung due by now has been climbed), then
        the refresh again after the ladder. Both orders every time: with the order drawn, a
        walk could go without the refresh ever finding a row (an exploration that changed
        with unrelated code once did), and its coverage check below failed."""
        self.clock.shift(timedelta(days=days, hours=hours))
        self._beat()

    def time_passes_to(self, moment: datetime) -> None:
        self.clock.shift(moment - timezone.now())
        self._beat()

    def _beat(self) -> None:
        OUTCOMES["refresh_due rewrote", "done"] += statuses_refresh_task()["refreshed"]
        while climbed := dependencies_escalate_task()["escalated"]:
            OUTCOMES["ladder climbed", "done"] += climbed
        statuses_refresh_task()

    # --- choosing the step -------------------------------------------------------------------

    @rule(shift=st.integers(min_value=0, max_value=len(ACTIONS) - 1), data=st.data())
    def step(self, shift: int, data: st.DataObject) -> None:
        """The next kind of step in turn, shifted by ``shift``: any kind can follow any other,
        and the simplest choice (0) takes them in turn, so that every example, however
        small, goes through every kind (Hypothesis's own choice of rules left some unused
        over a whole run)."""
        chosen = ACTIONS[(self.steps + shift) % len(ACTIONS)]
        self.steps += 1
        if chosen.check is not None and not chosen.check(self):
            return
        arguments = data.draw(st.fixed_dictionaries(chosen.strategies), label="arguments")
        chosen.method(self, **arguments)

    # --- the property -------------------------------------------------------------------------

    @invariant()
    def table_equals_recomputation(self) -> None:
        today = timezone.localdate()
        rows = table()
        expected = expected_statuses(today)
        # One row per key result (``expected`` has one per key result there is).
        assert sorted(rows) == sorted(expected)
        for pk, want in expected.items():
            got = {name: rows[pk][name] for name in COMPARED}
            assert got == want, f"key result {pk} on {today}: table {got} != oracle {want}"
        # Every team's kept figures equal a sum from scratch of what the database holds...
        teams = list(Team.objects.values_list("pk", flat=True))
        want_figures = {key: f.values() for key, f in figures.compute(teams, today).items()}
        assert kept_figures() == want_figures, f"team figures on {today}"
        # ...and read as the organisation view's SQL before them computed them, this week
        # and the week before (whose prompts and check-ins are settled).
        quarter = self.org.quarter
        week = selectors.dashboard_week(quarter, today)
        for w in {week, max(1, week - 1)}:
            assert read_figures(quarter, w, today) == reference_figures(quarter.pk, w, today), (
                f"figures of week {w} on {today}"
            )
        # ...and the team view's trend reads as its own grouped SQL before them.
        for team in teams:
            assert read_trend(quarter, team, today) == reference_trend(quarter, team, today), (
                f"trend of team {team} on {today}"
            )
        # The verdict's latest check-in (the key result's own columns) is the latest row.
        for pk, (week, status, confidence, flag) in latest_checkins().items():
            assert (
                expected[pk]["checkin_week"],
                expected[pk]["checkin_status"],
                expected[pk]["checkin_confidence"],
                expected[pk]["forecast_flag"],
            ) == (week, status, confidence, flag)


# Writes the random steps must have made at least once over the examples (every service is
# also called once by the scenario every example starts from), or the property says little.
MUST_HAPPEN = [
    "key_result_create",
    "delete",
    "ownership_handover",
    "authority_grant",
    "dependency_request",
    "dependency_commit",
    "checkin_submit",
    "trade_off_decide",
    "ladder climbed",
    "refresh_due rewrote",
    "prompts sent",
]


def test_status_table_equals_a_recomputation_after_every_step() -> None:
    OUTCOMES.clear()
    with time_machine.travel(TEST_NOW, tick=False):
        StatusMachine.organisation = Organisation()
    try:
        run_state_machine_as_test(
            StatusMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[
                    HealthCheck.function_scoped_fixture,
                    HealthCheck.too_slow,
                    HealthCheck.filter_too_much,
                    HealthCheck.data_too_large,
                ],
            ),
        )
    finally:
        StatusMachine.organisation = None
    print(sorted(OUTCOMES.items()))
    if EXAMPLES >= 25:  # a quick run with fewer examples may miss one
        assert not [name for name in MUST_HAPPEN if not OUTCOMES[name, "done"]], OUTCOMES
