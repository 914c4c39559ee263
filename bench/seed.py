"""A large organisation for the benchmark, written with ``bulk_create`` in seconds.

Deterministic (a seeded ``random.Random``), so two runs measure the same data. The shape at
1× (``seed(today, scale=N)`` multiplies every count but the busy team's by N):

1. 30 departments (top-level teams), each with 9 child teams: 300 teams, one lead each.
2. 2,000 people plus three named users: a membership each (some in two teams), a profile
   with an IANA time zone and a manager (member → team lead → department lead → the bench
   user). Profiles are bulk-created too: ``bulk_create`` skips the post_save signal that
   makes them. Every user's password is BENCH_PASSWORD (one hash, shared), so a load can
   sign in as anyone. The named users are the ones the pages are measured as:
   - ``bench``, a leader: the dashboard;
   - ``bench-owner``, owner of exactly 5 key results: My week;
   - ``bench-asked``, in the busy team: 8 dependency requests and 3 needs wait on them
     (the same at every scale): Asked of me.
3. One active quarter of 14 weeks whose 14th week contains today, and an older closed one.
4. Objectives and 3,000 key results; one busy team has 80 (two pages in the team view).
   Teams with more objectives than the default limit have it raised to their count.
5. 6,000 dependencies between teams in a realistic mix of statuses, some overdue, some on
   the escalation ladder with their ``Escalation`` rows, and their events.
6. 40,000 check-ins: weeks 1..13 nearly complete, about half of this week so far.
7. Ownership nominations (most accepted, some pending or declined, some handovers),
   authority grants with their rights, "needs no other team" declarations, this week's
   check-in prompts (and last week's for owners who missed, with their ladder rows), and a
   few notifications for the bench user.
8. The key-result status table (``ownership.status.refresh_all``) and the risk feed's items
   (``reviews.risks.refresh_all``), which the services keep in step with every write but
   ``bulk_create`` does not; then ``ANALYZE``.

Nothing here goes through the services: the point is volume, fast. The rows respect every
database constraint, so the pages read them exactly as they would read real data.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Count
from django.utils.text import slugify

from checkins.models import CheckIn, CheckInPrompt, CheckInRevision, MissedCheckIn
from dependencies.models import Dependency, DependencyEvent, Escalation
from objectives.models import KeyResult, Objective
from okrly.models import Membership, Notification, Profile, Quarter, Team
from ownership.models import AuthorityGrant, DecisionRight, NoDependencies, OwnershipNomination

BENCH_USERNAME = "bench"  # the leader: every dashboard page
OWNER_USERNAME = "bench-owner"  # owns exactly OWNER_KEY_RESULTS key results: My week
ASKED_USERNAME = "bench-asked"  # has requests, needs waiting on them: Asked of me
BENCH_PASSWORD = "okrly-bench"  # every seeded user's, so a load can sign in as anyone
BATCH = 2000

# The 1× organisation; ``--scale N`` multiplies everything but the busy team (Shape).
DEPARTMENTS = 30
CHILDREN = 9
PEOPLE = 2000
KEY_RESULTS = 3000
BUSY_KEY_RESULTS = 80
DEPENDENCIES = 6000
CHECKINS = 40_000
THIS_WEEK_CHECKINS = 1400
SECOND_TEAM_MEMBERS = 120
QUARTER_WEEKS = 14
OWNER_KEY_RESULTS = 5
# What waits on the asked user, the same at every scale so its page compares across scales.
ASKED_REQUESTS = 8
ASKED_NEEDS = 3

DEPARTMENT_NAMES = [
    "Payments", "Identity", "Search", "Marketplace", "Logistics", "Billing", "Messaging",
    "Analytics", "Security", "Infrastructure", "Mobile Apps", "Web Experience", "Growth",
    "Partnerships", "Customer Success", "Sales", "Marketing", "Finance", "People",
    "Legal", "Support", "Data Platform", "Machine Learning", "Trust & Safety", "Design",
    "Research", "Developer Tools", "Content", "Operations", "Enterprise",
]  # fmt: skip
CHILD_NAMES = ["Core", "Platform", "Growth", "Mobile", "Data", "Web", "Ops", "Quality", "Insights"]
FIRST_NAMES = [
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Kenji", "Lena", "Maya", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Sam", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Carmen", "Dmitri",
    "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Julia", "Kwame", "Lucia", "Mateo", "Nadia",
]  # fmt: skip
LAST_NAMES = [
    "Okafor", "Reyes", "Natarajan", "Fischer", "Carter", "Silva", "Watanabe", "Brown",
    "Schmidt", "Haddad", "O'Connor", "Martin", "Petrov", "Kim", "Levi", "Dubois", "García",
    "Bello", "Wright", "Rossi", "Novak", "Singh", "Chen", "Nguyen", "Kowalski", "Andersen",
    "Mensah", "Costa", "Yamamoto", "Ibrahim",
]  # fmt: skip
TIMEZONES = [
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Warsaw",
    "Europe/Dublin", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Sao_Paulo", "America/Toronto", "America/St_Johns",
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "Asia/Singapore", "Asia/Dubai",
    "Asia/Seoul", "Asia/Jerusalem", "Australia/Sydney", "Australia/Adelaide",
    "Pacific/Auckland", "Africa/Lagos", "Africa/Nairobi", "UTC",
]  # fmt: skip
VERBS = ["Raise", "Cut", "Ship", "Grow", "Reduce", "Launch", "Double", "Halve", "Improve"]
THINGS = [
    "activation", "retention", "latency", "conversion", "NPS", "uptime", "throughput",
    "onboarding time", "support tickets", "revenue per account", "test coverage",
    "release frequency", "churn", "cost per order", "time to resolution",
]  # fmt: skip
RISKS = [
    "Hiring is behind plan.",
    "The provider team has not confirmed the date.",
    "Scope keeps growing.",
    "Data quality is unknown.",
    "Vendor contract still unsigned.",
    "Two engineers are on leave.",
    "The migration may slip a week.",
    "Nothing new this week.",
]
STATUS_MIX = [
    (Dependency.Status.REQUESTED, 14),
    (Dependency.Status.COUNTERED, 4),
    (Dependency.Status.COMMITTED, 42),
    (Dependency.Status.AT_RISK, 8),
    (Dependency.Status.DELIVERED, 20),
    (Dependency.Status.DECLINED, 8),
    (Dependency.Status.BROKEN, 4),
]


@dataclass(frozen=True)
class Shape:
    """How many of each, for a scale (1 = the 1× organisation)."""

    scale: int
    departments: int
    people: int
    key_results: int
    dependencies: int
    checkins: int
    this_week_checkins: int
    second_team_members: int

    @classmethod
    def of(cls, scale: int) -> Shape:
        if scale < 1:
            raise ValueError("The scale is a whole number from 1.")
        return cls(
            scale=scale,
            departments=DEPARTMENTS * scale,
            people=PEOPLE * scale,
            key_results=KEY_RESULTS * scale,
            dependencies=DEPENDENCIES * scale,
            checkins=CHECKINS * scale,
            this_week_checkins=THIS_WEEK_CHECKINS * scale,
            second_team_members=SECOND_TEAM_MEMBERS * scale,
        )


@dataclass
class Seeded:
    counts: dict[str, int]
    seconds: float
    quarter_id: int
    week: int
    busy_team_id: int


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, dtime(hour, minute), tzinfo=UTC)


def seed(today: date, *, scale: int = 1, rng_seed: int = 2026) -> Seeded:
    """Fill an empty (freshly migrated) database; returns the counts and the time it took."""
    started = time.perf_counter()
    with transaction.atomic():
        ids = _seed(today, Shape.of(scale), random.Random(rng_seed))
        with connection.cursor() as cursor:
            # Planner statistics for the status table's one big query over fresh tables.
            cursor.execute("ANALYZE")
        _refresh_status(today)
    with connection.cursor() as cursor:
        # Fresh planner statistics, as autovacuum would gather within a minute in production.
        cursor.execute("ANALYZE")
    seconds = time.perf_counter() - started
    return Seeded(counts=_counts(today), seconds=seconds, **ids)


def _refresh_status(today: date) -> None:
    """The key-result status table, which the services keep in step with each write:
    ``bulk_create`` sends no signals, so it is built here from scratch, once."""
    if (Path(__file__).resolve().parent.parent / "ownership" / "status.py").exists():
        from ownership.status import refresh_all

        refresh_all(today=today)
    if (Path(__file__).resolve().parent.parent / "reviews" / "risks.py").exists():
        # The risk feed's items (one per key result with a signal), kept the same way.
        from reviews import risks

        risks.refresh_all()


def _counts(today: date) -> dict[str, int]:
    User = get_user_model()
    models: list[Any] = [
        Team, User, Profile, Membership, Quarter, Objective, KeyResult, Dependency,
        DependencyEvent, Escalation, CheckIn, CheckInRevision, CheckInPrompt, MissedCheckIn,
        OwnershipNomination, AuthorityGrant, AuthorityGrant.rights.through, NoDependencies,
        Notification,
    ]  # fmt: skip
    if (Path(__file__).resolve().parent.parent / "ownership" / "status.py").exists():
        from ownership.models import KeyResultStatus

        models.append(KeyResultStatus)
    counts = {m._meta.label: m.objects.count() for m in models}
    counts["departments"] = Team.objects.filter(parent=None).count()
    counts["teams with a lead"] = Team.objects.exclude(lead=None).count()
    counts["profiles with a manager"] = Profile.objects.exclude(manager=None).count()
    counts["time zones"] = Profile.objects.values("timezone").distinct().count()
    mixes: list[Any] = [Dependency, CheckIn, OwnershipNomination]
    for model in mixes:
        for row in model.objects.values("status").annotate(n=Count("pk")).order_by("status"):
            counts[f"  {model.__name__} {row['status']}"] = row["n"]
    promised = Dependency.objects.filter(status__in=Dependency.PROMISED_STATUSES)
    counts["  Dependency overdue"] = promised.filter(due_date__lt=today).count()
    counts["  Dependency escalation_rung > 0"] = Dependency.objects.exclude(
        escalation_rung=0
    ).count()
    counts["  CheckIn forecast_flag"] = CheckIn.objects.filter(forecast_flag=True).count()
    return counts


@dataclass
class Org:
    """The people and teams, as the later steps need them."""

    shape: Shape
    bench: Any  # the bench user: the leader everyone reports to in the end
    owner: Any  # owns exactly OWNER_KEY_RESULTS key results, in the second team
    asked: Any  # in the busy team; requests and needs wait on them
    users: list[Any]  # everyone else (only these are drawn at random)
    departments: list[Team]
    children: list[Team]
    members: dict[int, list[Any]]  # team pk → its people, its lead first
    home: dict[int, Team]  # user pk → their first team
    by_parent: dict[int, list[Team]]  # department pk → its teams

    @property
    def teams(self) -> list[Team]:
        return self.departments + self.children

    @property
    def busy(self) -> Team:
        """The team with many key results (two pages in the team view)."""
        return self.children[0]

    @property
    def owners_team(self) -> Team:
        """The owner's team."""
        return self.children[1]


@dataclass
class Period:
    quarter: Quarter  # the active one
    start: date
    week: int  # the week of the active quarter that contains today


def _seed(today: date, shape: Shape, rng: random.Random) -> dict[str, int]:
    """Each kind of row in turn. The order is part of the data: every step draws from the
    same ``rng``, so moving one changes everything after it."""
    now = _at(today, 15)
    org = _people_and_teams(shape, rng)
    _profiles(org, today, rng)
    period = _quarters(today)
    key_results = _key_results(org, period, rng)
    _nominations(org, key_results, now, rng)
    _authority(org, key_results, period, rng)
    dependencies = _dependencies(org, key_results, period, today, now, rng)
    _dependency_history(dependencies, now)
    _declarations(key_results, dependencies, period, rng)
    checkins = _checkins(org, period, key_results, dependencies, rng)
    _latest_checkins()
    _revisions(checkins)
    _prompts(period, key_results, checkins, now)
    _notifications(org.bench, now)
    return {"quarter_id": period.quarter.pk, "week": period.week, "busy_team_id": org.busy.pk}


# --- 1-2. people and teams ------------------------------------------------------------------


def _people_and_teams(shape: Shape, rng: random.Random) -> Org:
    """Users 0..299 lead teams 0..299 (0..29 are the departments), at 1×."""
    named, users = _people(shape, rng)
    departments, children = _teams(shape, users)
    return _memberships(shape, named, users, departments, children, rng)


def _people(shape: Shape, rng: random.Random) -> tuple[list[Any], list[Any]]:
    """The bench user, the owner, the asked user and ``shape.people`` others.
    bulk_create even for a few: create() would fire the signal that makes a profile."""
    User = get_user_model()
    password = make_password(BENCH_PASSWORD)  # hashed once, shared: hashing is slow on purpose
    named = User.objects.bulk_create(
        [
            User(
                username=username,
                first_name="Bench",
                last_name=last_name,
                email=f"{username}@example.com",
                password=password,
            )
            for username, last_name in [
                (BENCH_USERNAME, "Leader"),
                (OWNER_USERNAME, "Owner"),
                (ASKED_USERNAME, "Asked"),
            ]
        ]
    )
    users = User.objects.bulk_create(
        [
            User(
                username=f"p{i:04d}",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                email=f"p{i:04d}@example.com",
                password=password,
            )
            for i in range(shape.people)
        ],
        batch_size=BATCH,
    )
    return named, users


def _department_name(d: int) -> str:
    """The 30 names, then again with a number (Payments 2, ...) past 1×."""
    name = DEPARTMENT_NAMES[d % len(DEPARTMENT_NAMES)]
    return name if d < len(DEPARTMENT_NAMES) else f"{name} {d // len(DEPARTMENT_NAMES) + 1}"


def _teams(shape: Shape, users: list[Any]) -> tuple[list[Team], list[Team]]:
    departments = Team.objects.bulk_create(
        [
            Team(name=name, slug=slugify(name), lead=users[d])
            for d, name in ((d, _department_name(d)) for d in range(shape.departments))
        ],
        batch_size=BATCH,
    )
    children = Team.objects.bulk_create(
        [
            Team(
                name=f"{dept.name} {child}",
                slug=slugify(f"{dept.name} {child}"),
                parent=dept,
                lead=users[shape.departments + d * CHILDREN + c],
            )
            for d, dept in enumerate(departments)
            for c, child in enumerate(CHILD_NAMES[:CHILDREN])
        ],
        batch_size=BATCH,
    )
    # bulk_create skips Team.save, which keeps each team's department.
    Team.objects.refresh_departments()
    return departments, children


def _memberships(
    shape: Shape,
    named: list[Any],
    users: list[Any],
    departments: list[Team],
    children: list[Team],
    rng: random.Random,
) -> Org:
    """Everyone in a team: departments keep a small staff, the busy team is big, the others
    vary in size; some people also belong to a sibling team of their department. The owner
    and the asked user have a membership but are not among the members drawn from."""
    bench, owner, asked = named
    org = Org(
        shape, bench, owner, asked, users, departments, children, members={}, home={}, by_parent={}
    )
    teams, busy = org.teams, org.busy
    org.members = {t.pk: [users[i]] for i, t in enumerate(teams)}
    rest = users[len(teams) :]
    rng.shuffle(rest)
    cursor = 0
    for dept in departments:
        org.members[dept.pk] += rest[cursor : cursor + 2]
        cursor += 2
    org.members[busy.pk] += rest[cursor : cursor + 30]
    cursor += 30
    others = children[1:]
    weights = [rng.uniform(0.5, 1.5) for _ in others]
    for user in rest[cursor:]:
        org.members[rng.choices(others, weights)[0].pk].append(user)
    memberships = []
    for team in teams:
        for user in org.members[team.pk]:
            org.home[user.pk] = team
            role = Membership.Role.LEAD if team.lead_id == user.pk else Membership.Role.MEMBER
            memberships.append(Membership(user=user, team=team, role=role))
    org.by_parent = defaultdict(list)
    for team in children:
        org.by_parent[team.parent_id].append(team)  # type: ignore[index]
    for user in rng.sample(rest, shape.second_team_members):
        team = org.home[user.pk]
        if team.parent_id is None:
            continue
        sibling = rng.choice([t for t in org.by_parent[team.parent_id] if t.pk != team.pk])
        memberships.append(Membership(user=user, team=sibling))
        org.members[sibling.pk].append(user)
    for user, team in [(owner, org.owners_team), (asked, busy)]:
        org.home[user.pk] = team
        memberships.append(Membership(user=user, team=team))
    Membership.objects.bulk_create(memberships, batch_size=BATCH)
    return org


def _profiles(org: Org, today: date, rng: random.Random) -> None:
    """A profile each, with a time zone and a manager (member → team lead → department lead
    → the bench user); the leadership group. Bulk-created: ``bulk_create`` skips the
    post_save signal that makes profiles."""
    team_of_lead = {t.lead_id: t for t in org.teams}

    def manager_of(user: Any) -> Any:
        led = team_of_lead.get(user.pk)
        if led is None:
            return org.home[user.pk].lead
        if led.parent_id is None:
            return org.bench
        return next(t for t in org.departments if t.pk == led.parent_id).lead

    Profile.objects.bulk_create(
        [Profile(user=org.bench, display_name="Bench Leader", timezone="Europe/London")]
        + [
            Profile(
                user=user,
                display_name=f"{user.first_name} {user.last_name}",
                timezone=rng.choice(TIMEZONES),
                manager=manager_of(user),
                out_of_office_until=today + timedelta(days=rng.randint(1, 10))
                if rng.random() < 0.03
                else None,
            )
            for user in org.users
        ]
        + [
            Profile(
                user=user,
                display_name=f"Bench {user.last_name}",
                timezone="Europe/London",
                manager=org.home[user.pk].lead,
            )
            for user in (org.owner, org.asked)
        ],
        batch_size=BATCH,
    )
    User = get_user_model()
    leadership, _ = Group.objects.get_or_create(name=settings.LEADERSHIP_GROUP)
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=u.pk, group_id=leadership.pk)
            for u in [org.bench, *org.users[: len(org.departments)]]
        ],
        batch_size=BATCH,
    )


# --- 3. quarters ----------------------------------------------------------------------------


def _quarters(today: date) -> Period:
    """The active quarter, whose 14th week contains today, and a closed one before it."""
    start = today - timedelta(days=(QUARTER_WEEKS - 1) * 7 + today.weekday())
    quarter = Quarter.objects.create(
        name=f"Bench {today.year} Q",
        start=start,
        end=start + timedelta(days=QUARTER_WEEKS * 7 - 1),
        status=Quarter.Status.ACTIVE,
        checkin_weekday=Quarter.Weekday.MONDAY,
        checkin_hour=9,
    )
    Quarter.objects.create(
        name=f"Bench {today.year} Q-previous",
        start=start - timedelta(days=91),
        end=start - timedelta(days=1),
        status=Quarter.Status.CLOSED,
    )
    return Period(quarter=quarter, start=start, week=(today - start).days // 7 + 1)


# --- 4. objectives and key results ----------------------------------------------------------


def _key_results(org: Org, period: Period, rng: random.Random) -> list[KeyResult]:
    """``shape.key_results`` in all, spread unevenly over the teams; the busy team has
    BUSY_KEY_RESULTS at every scale. About three per objective. The owner's team's first
    OWNER_KEY_RESULTS are the owner's (and no other is)."""
    per_team: defaultdict[int, int] = defaultdict(int)
    per_team[org.busy.pk] = BUSY_KEY_RESULTS
    pool = [t for t in org.teams if t.pk != org.busy.pk]
    team_weights = [0.4 if t.parent_id is None else rng.uniform(0.3, 1.7) for t in pool]
    for team in rng.choices(pool, team_weights, k=org.shape.key_results - BUSY_KEY_RESULTS):
        per_team[team.pk] += 1
    while per_team[org.owners_team.pk] < OWNER_KEY_RESULTS:  # the total stays exact
        per_team[org.owners_team.pk] += 1
        per_team[max(per_team, key=per_team.__getitem__)] -= 1
    objectives_of = _objectives(org, period, per_team, rng)
    key_results = [
        _key_result(team, n, objectives_of[team.pk], org.members[team.pk], rng)
        for team in org.teams
        for n in range(per_team[team.pk])
    ]
    owners = [kr for kr in key_results if kr.objective.team_id == org.owners_team.pk]
    for kr in owners[:OWNER_KEY_RESULTS]:
        kr.owner = org.owner
    return KeyResult.objects.bulk_create(key_results, batch_size=BATCH)


def _objectives(
    org: Org, period: Period, per_team: dict[int, int], rng: random.Random
) -> dict[int, list[Objective]]:
    objectives = [
        Objective(
            quarter=period.quarter,
            team=team,
            title=f"{rng.choice(VERBS)} {rng.choice(THINGS)} for {team.name}",
            means="Customers notice the difference.",
            does_not_mean="Busywork that moves no number.",
            rank=rank,
        )
        for team in org.teams
        for rank in range(1, (per_team[team.pk] + 2) // 3 + 1)
    ]
    objectives_of: dict[int, list[Objective]] = defaultdict(list)
    for objective in Objective.objects.bulk_create(objectives, batch_size=BATCH):
        objectives_of[objective.team_id].append(objective)
    # Busy teams carry more objectives than OBJECTIVE_LIMIT_DEFAULT (the busiest, 27): as if
    # an administrator had raised their limit, so the data is what the product could hold
    # and a lead adding one more in the benchmark meets the limit, not a team already over it.
    over: defaultdict[int, list[int]] = defaultdict(list)
    for team_id, team_objectives in objectives_of.items():
        if len(team_objectives) > settings.OBJECTIVE_LIMIT_DEFAULT:
            over[len(team_objectives)].append(team_id)
    for limit, team_ids in over.items():
        Team.objects.filter(pk__in=team_ids).update(objective_limit=limit)
    return objectives_of


def _key_result(
    team: Team, n: int, objectives: list[Objective], members: list[Any], rng: random.Random
) -> KeyResult:
    """The team's n-th key result: most increase, progress anywhere from 0 to 110 %, owned by
    a member (sometimes the lead)."""
    increase = rng.random() < 0.8
    start_value = Decimal(rng.randint(0, 200))
    span = Decimal(rng.randint(10, 300))
    target = start_value + span if increase else start_value + span / 2 - span
    if not increase:
        start_value = target + span
    progress = Decimal(str(round(rng.uniform(0, 1.1), 2)))
    return KeyResult(
        objective=objectives[n % len(objectives)],
        title=f"{rng.choice(VERBS)} {rng.choice(THINGS)} #{n + 1}",
        start_value=start_value,
        target_value=target,
        current_value=(start_value + (target - start_value) * progress).quantize(Decimal("0.01")),
        unit=rng.choice(["%", "ms", "users", "€k", "tickets", ""]),
        direction=KeyResult.Direction.INCREASE if increase else KeyResult.Direction.DECREASE,
        owner=rng.choice(members[1:] or members) if rng.random() < 0.85 else team.lead,
    )


# --- 7 (first, for the owners' habits). ownership and authority ----------------------------


def _nominations(org: Org, key_results: list[KeyResult], now: datetime, rng: random.Random) -> None:
    """Most owners accepted; some have not answered or declined; some accepted and then
    handed over to a teammate who has not answered yet."""
    answer = OwnershipNomination.Status
    nominations = []
    for kr in key_results:
        roll = rng.random()
        if roll < 0.84:
            nominations.append(_nomination(kr, kr.owner, answer.ACCEPTED, now, rng))
        elif roll < 0.92:
            nominations.append(_nomination(kr, kr.owner, answer.PENDING, now, rng))
        elif roll < 0.95:
            nominations.append(_nomination(kr, kr.owner, answer.DECLINED, now, rng))
        else:
            nominations.append(_nomination(kr, kr.owner, answer.ACCEPTED, now, rng))
            team = kr.objective.team
            nominee = rng.choice(org.members[team.pk])
            if nominee.pk != kr.owner_id:
                handover = _nomination(kr, nominee, answer.PENDING, now, rng)
                handover.previous_owner = kr.owner
                handover.nominated_by = team.lead
                handover.reason = "Moving to another team next quarter."
                nominations.append(handover)
    OwnershipNomination.objects.bulk_create(nominations, batch_size=BATCH)


def _authority(org: Org, key_results: list[KeyResult], period: Period, rng: random.Random) -> None:
    """Most owners hold authority in force, a few had it revoked, some never had any; each
    grant with one to three decision rights."""
    grants = []
    for kr in key_results:
        roll = rng.random()
        if roll < 0.12:
            continue
        team = kr.objective.team
        by = team.lead if team.lead_id != kr.owner_id else org.bench
        granted_at = _at(period.start + timedelta(days=rng.randint(0, 30)), rng.randint(8, 18))
        grant = AuthorityGrant(
            key_result=kr,
            grantee=kr.owner,
            scope="Reorder the backlog; spend up to €5k.",
            granted_by=by,
            granted_at=granted_at,
        )
        if roll < 0.17:
            grant.scope = "Up to €10k and the team's backlog."
            grant.revoked_at = granted_at + timedelta(days=rng.randint(5, 40))
            grant.revoked_by = by
            grant.revoke_reason = "Scope changed after the budget review."
        grants.append(grant)
    grants = AuthorityGrant.objects.bulk_create(grants, batch_size=BATCH)
    rights = list(DecisionRight.objects.all())
    Through = AuthorityGrant.rights.through
    Through.objects.bulk_create(
        [
            Through(authoritygrant_id=g.pk, decisionright_id=r.pk)
            for g in grants
            for r in rng.sample(rights, rng.randint(1, min(3, len(rights))))
        ],
        batch_size=BATCH,
    )


# --- 5. dependencies ------------------------------------------------------------------------


def _dependencies(
    org: Org,
    key_results: list[KeyResult],
    period: Period,
    today: date,
    now: datetime,
    rng: random.Random,
) -> list[Dependency]:
    """``shape.dependencies`` between teams (often within a department, often on the busy
    team) in STATUS_MIX, with dates and ladders that fit their status. ASKED_REQUESTS of
    those the busy team provides are requests to the asked user, not yet answered."""
    target = org.shape.dependencies
    n_deps = {kr.pk: rng.choices([0, 1, 2, 3, 4], [18, 17, 30, 22, 13])[0] for kr in key_results}
    while (total := sum(n_deps.values())) != target:  # topped up to exactly that
        kr = rng.choice(key_results)
        if total < target and 0 < n_deps[kr.pk] < 5:
            n_deps[kr.pk] += 1
        elif total > target and n_deps[kr.pk] > 1:
            n_deps[kr.pk] -= 1
    statuses, status_weights = zip(*STATUS_MIX, strict=True)
    teams = org.teams
    provider_weights = [6.0 if t.pk == org.busy.pk else 1.0 for t in teams]
    dependencies = []
    for kr in key_results:
        requester = kr.objective.team
        for rank in range(1, n_deps[kr.pk] + 1):
            provider = requester
            while provider.pk == requester.pk:
                if requester.parent_id and rng.random() < 0.5:
                    provider = rng.choice(org.by_parent[requester.parent_id])
                else:
                    provider = rng.choices(teams, provider_weights)[0]
            dependencies.append(
                _dependency(
                    kr, rank, requester, provider, org.members, rng, statuses, status_weights
                )
            )
    asked = [d for d in dependencies if d.provider_team_id == org.busy.pk][:ASKED_REQUESTS]
    for dep in asked:
        dep.status = Dependency.Status.REQUESTED
        dep.responsible = org.asked
    for dep in dependencies:
        _lifecycle(dep, period.start, today, now, rng)
    for dep in asked:  # waiting for an answer, not escalated: the same at every scale
        dep.escalation_trigger, dep.escalation_rung, dep.next_escalation_at = "", 0, None
    return Dependency.objects.bulk_create(dependencies, batch_size=BATCH)


def _dependency_history(dependencies: list[Dependency], now: datetime) -> None:
    """Each dependency's events (the request, and its answer) and its ladder's rungs."""
    escalations, events = [], []
    for dep in dependencies:
        events.append(
            DependencyEvent(
                dependency=dep,
                actor=dep.requested_by,
                action="request",
                to_status=Dependency.Status.REQUESTED,
            )
        )
        if dep.status != Dependency.Status.REQUESTED:
            events.append(
                DependencyEvent(
                    dependency=dep,
                    actor=dep.responsible,
                    action=str(dep.status),
                    from_status=Dependency.Status.REQUESTED,
                    to_status=dep.status,
                )
            )
        for rung in range(1, dep.escalation_rung + 1):
            escalations.append(
                Escalation(
                    dependency=dep,
                    trigger=dep.escalation_trigger,
                    rung=rung,
                    sent_at=now - timedelta(hours=48 * (dep.escalation_rung - rung) + 3),
                    recipients=rung,
                )
            )
    DependencyEvent.objects.bulk_create(events, batch_size=BATCH)
    Escalation.objects.bulk_create(escalations, batch_size=BATCH)


def _declarations(
    key_results: list[KeyResult],
    dependencies: list[Dependency],
    period: Period,
    rng: random.Random,
) -> None:
    """ "Needs no other team", declared for most key results without dependencies."""
    with_deps = {dep.key_result_id for dep in dependencies}
    NoDependencies.objects.bulk_create(
        [
            NoDependencies(
                key_result=kr,
                declared_by=kr.owner,
                declared_at=_at(period.start + timedelta(days=rng.randint(0, 20))),
                note="Everything is inside the team.",
            )
            for kr in key_results
            if kr.pk not in with_deps and rng.random() < 0.6
        ],
        batch_size=BATCH,
    )


# --- 6. check-ins ---------------------------------------------------------------------------


def _checkins(
    org: Org,
    period: Period,
    key_results: list[KeyResult],
    dependencies: list[Dependency],
    rng: random.Random,
) -> list[CheckIn]:
    """Every (key result, week) slot of weeks 1..week-1 but a few, and about half of this
    week, exactly ``shape.checkins`` in all; each key result keeps a mood (on track, at risk,
    off track) most weeks. ASKED_NEEDS of this week's, in the busy team, name a need of the
    asked user not yet handled."""
    week = period.week
    this_week = rng.sample(key_results, k=min(len(key_results), org.shape.this_week_checkins))
    earlier = [(kr, w) for kr in key_results for w in range(1, week)]
    keep = org.shape.checkins - len(this_week)
    if keep < len(earlier):
        earlier = rng.sample(earlier, keep)
    slots = sorted(earlier + [(kr, week) for kr in this_week], key=lambda s: (s[0].pk, s[1]))
    mood = {kr.pk: rng.choices([0, 1, 2], [65, 25, 10])[0] for kr in key_results}
    deps_of: dict[int, list[Dependency]] = defaultdict(list)
    for dep in dependencies:
        deps_of[dep.key_result_id].append(dep)
    checkins = [
        _checkin(kr, w, mood[kr.pk], period, org.users, deps_of[kr.pk], rng) for kr, w in slots
    ]
    busy_now = [
        c for c in checkins if c.week == week and c.key_result.objective.team_id == org.busy.pk
    ]
    for c in busy_now[:ASKED_NEEDS]:
        c.need, c.need_person, c.need_dependency = "A review of the rollout plan.", org.asked, None
        c.need_handled_at = None
    return CheckIn.objects.bulk_create(checkins, batch_size=BATCH)


def _checkin(
    kr: KeyResult,
    w: int,
    mood: int,
    period: Period,
    people: list[Any],
    deps: list[Dependency],
    rng: random.Random,
) -> CheckIn:
    """One week's check-in: its answers follow the mood; some name a need (of a person, of
    a dependency), handled or not; a few were edited."""
    drift = mood if rng.random() < 0.75 else rng.choice([0, 1, 2])
    status = [CheckIn.Status.ON_TRACK, CheckIn.Status.AT_RISK, CheckIn.Status.OFF_TRACK][drift]
    confidence = [rng.randint(6, 10), rng.randint(3, 7), rng.randint(0, 4)][drift]
    share = Decimal(w) / Decimal(QUARTER_WEEKS) * Decimal(str(rng.uniform(0.6, 1.1)))
    value = (kr.start_value + (kr.target_value - kr.start_value) * share).quantize(Decimal("0.01"))
    check_in = CheckIn(
        key_result=kr,
        week=w,
        author=kr.owner,
        status=status,
        confidence=confidence,
        biggest_risk=rng.choice(RISKS),
        value=value,
        forecast_value=value + (kr.target_value - kr.start_value) / 10,
        forecast_flag=status == CheckIn.Status.ON_TRACK and rng.random() < 0.06,
        submitted_at=_at(period.start + timedelta(days=7 * (w - 1)), rng.randint(8, 18)),
    )
    if rng.random() < 0.12:
        check_in.need = "A decision on the API contract."
        if rng.random() < 0.5:
            check_in.need_person = rng.choice(people)
            if deps and rng.random() < 0.5:
                check_in.need_dependency = rng.choice(deps)
            if w < period.week - 2 or rng.random() < 0.4:
                check_in.need_handled_at = check_in.submitted_at + timedelta(days=1)
    if rng.random() < 0.05:
        check_in.edited_at = check_in.submitted_at + timedelta(hours=3)
    return check_in


def _latest_checkins() -> None:
    """The check-in service keeps each key result's latest answers on the key result; a
    bulk insert bypasses it, so copy them here. One statement: ``bulk_update``'s CASE per
    row took minutes at 10×."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {KeyResult._meta.db_table} AS kr
            SET latest_checkin_week = c.week,
                latest_checkin_status = c.status,
                latest_checkin_confidence = c.confidence,
                latest_forecast_flag = c.forecast_flag
            FROM (
                SELECT DISTINCT ON (key_result_id)
                    key_result_id, week, status, confidence, forecast_flag
                FROM {CheckIn._meta.db_table}
                ORDER BY key_result_id, week DESC
            ) AS c
            WHERE kr.id = c.key_result_id
            """
        )


def _revisions(checkins: list[CheckIn]) -> None:
    """The first draft of each edited check-in."""
    CheckInRevision.objects.bulk_create(
        [
            CheckInRevision(
                check_in=c,
                status=CheckIn.Status.ON_TRACK,
                confidence=min(10, c.confidence + 1),
                biggest_risk="First draft.",
                value=c.value,
                written_at=c.submitted_at,
            )
            for c in checkins
            if c.edited_at
        ],
        batch_size=BATCH,
    )


# --- 7. prompts and notifications -----------------------------------------------------------


def _prompts(
    period: Period, key_results: list[KeyResult], checkins: list[CheckIn], now: datetime
) -> None:
    """This week's prompt for every owner, sent once their 9:00 has come in their zone;
    last week's for owners who missed a check-in then, with their ladder rows."""
    owners: dict[int, Any] = {}
    krs_of: dict[int, list[int]] = defaultdict(list)
    for kr in key_results:
        owners.setdefault(kr.owner_id, kr.owner)
        krs_of[kr.owner_id].append(kr.pk)
    tz_of = dict(Profile.objects.values_list("user_id", "timezone"))
    checked = {(c.key_result_id, c.week) for c in checkins}
    prompts = []
    for owner_id, owner in owners.items():
        for w in (period.week - 1, period.week):
            done = all((k, w) in checked for k in krs_of[owner_id])
            if w < period.week and done:
                continue
            day = period.start + timedelta(days=7 * (w - 1))
            due = datetime.combine(day, dtime(9), tzinfo=ZoneInfo(tz_of[owner_id]))
            sent = due.astimezone(UTC) if due <= now else None
            missed_rung = 0 if done or sent is None else min(3, (now - due).days)
            prompts.append(
                CheckInPrompt(
                    owner=owner,
                    quarter=period.quarter,
                    week=w,
                    due_at=due,
                    sent_at=sent,
                    escalation_rung=missed_rung,
                    next_escalation_at=None
                    if done or sent is None or missed_rung == 3
                    else due + timedelta(hours=24 * (missed_rung + 1)),
                    completed_at=now if done else None,
                )
            )
    prompts = CheckInPrompt.objects.bulk_create(prompts, batch_size=BATCH)
    MissedCheckIn.objects.bulk_create(
        [
            MissedCheckIn(prompt=p, rung=r, sent_at=p.due_at + timedelta(hours=24 * r))
            for p in prompts
            for r in range(1, p.escalation_rung + 1)
        ],
        batch_size=BATCH,
    )


def _notifications(bench: Any, now: datetime) -> None:
    """A few for the bench user, a quarter of them unread."""
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=bench,
                kind="escalation",
                subject=f"Escalation {i}: a dependency is overdue",
                link="/dashboard/risks/",
                read_at=None if i % 4 == 0 else now,
                email_status=Notification.EmailStatus.SENT,
                emailed_at=now,
            )
            for i in range(40)
        ]
    )


# --- one row at a time ----------------------------------------------------------------------


def _nomination(kr: Any, nominee: Any, status: str, now: datetime, rng: random.Random) -> Any:
    answered = status != OwnershipNomination.Status.PENDING
    return OwnershipNomination(
        key_result=kr,
        nominee=nominee,
        status=status,
        decline_reason="I cannot own this with my current load."
        if status == OwnershipNomination.Status.DECLINED
        else "",
        answered_at=now - timedelta(days=rng.randint(20, 80)) if answered else None,
    )


def _dependency(
    kr: Any,
    rank: int,
    requester: Team,
    provider: Team,
    members: dict[int, list[Any]],
    rng: random.Random,
    statuses: tuple[str, ...],
    weights: tuple[int, ...],
) -> Dependency:
    return Dependency(
        key_result=kr,
        requesting_team=requester,
        provider_team=provider,
        deliverable=f"{rng.choice(['API', 'Dataset', 'Review', 'Design', 'Migration'])} "
        f"for {kr.title}",
        due_date=date.min,  # set by _lifecycle
        responsible=rng.choice(members[provider.pk]),
        requested_by=kr.owner,
        rank=rank,
        status=rng.choices(statuses, weights)[0],
        requested_at=datetime.min.replace(tzinfo=UTC),  # set by _lifecycle
    )


def _lifecycle(
    dep: Dependency, start: date, today: date, now: datetime, rng: random.Random
) -> None:
    """Dates, answers and the escalation ladder consistent with the dependency's status."""
    S = Dependency.Status
    requested = _at(start + timedelta(days=rng.randint(0, (today - start).days - 1)), 10)
    dep.requested_at = requested
    overdue = rng.random() < 0.25
    dep.due_date = (
        today - timedelta(days=rng.randint(1, 30))
        if overdue
        else today + timedelta(days=rng.randint(0, 45))
    )
    if dep.status in (S.REQUESTED, S.COUNTERED):
        dep.awaiting = dep.responsible if dep.status == S.REQUESTED else dep.requested_by
        dep.awaiting_since = requested
        if dep.status == S.COUNTERED:
            dep.proposed_due_date = dep.due_date + timedelta(days=14)
            dep.proposed_deliverable = "A smaller first version."
        waited = (now - requested).days
        if waited > 3 and rng.random() < 0.4:
            dep.escalation_trigger = Dependency.Trigger.UNANSWERED
            dep.escalation_rung = rng.randint(1, 3)
    if dep.status in (S.COMMITTED, S.AT_RISK, S.DELIVERED, S.BROKEN):
        dep.committed_at = requested + timedelta(days=rng.randint(0, 3))
    if dep.status in (S.COMMITTED, S.AT_RISK) and overdue and rng.random() < 0.6:
        dep.escalation_trigger = Dependency.Trigger.OVERDUE
        dep.escalation_rung = rng.randint(1, 3)
    if dep.status == S.DELIVERED:
        dep.due_date = today - timedelta(days=rng.randint(0, 40))
        dep.delivered_at = _at(dep.due_date - timedelta(days=rng.randint(0, 5)), 16)
        if rng.random() < 0.7:
            dep.confirmed_at = dep.delivered_at + timedelta(days=1)
        if rng.random() < 0.1:
            dep.escalation_trigger = Dependency.Trigger.OVERDUE
            dep.escalation_rung = 1
    if dep.status in (S.DECLINED, S.AT_RISK, S.BROKEN):
        dep.reason = "The team's capacity went to an incident."
    if dep.escalation_rung and dep.escalation_rung < 3 and dep.status in Dependency.OPEN_STATUSES:
        dep.next_escalation_at = now + timedelta(hours=rng.randint(1, 48))
