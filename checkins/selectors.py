"""Reads for My week, the key-result timeline and the needs in "Asked of me"."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from checkins.models import CheckIn, CheckInComment, DependencyReview
from dependencies.models import Dependency
from objectives.models import KeyResult, Objective, progress_percent
from okrly import sql
from okrly.links import link
from okrly.models import Quarter, Team

if TYPE_CHECKING:
    from okrly.types import User


@dataclass
class CardTeam:
    pk: int
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass
class CardObjective:
    title: str
    quarter_id: int
    team_id: int
    team: CardTeam


@dataclass
class CardKeyResult:
    """What a My-week card and its form read of its key result."""

    pk: int
    title: str
    start_value: Decimal
    target_value: Decimal
    current_value: Decimal
    unit: str
    displaced_by_id: int | None
    objective: CardObjective
    direction: str = KeyResult.Direction.INCREASE
    created_at: datetime | None = None

    @property
    def progress(self) -> int:
        return progress_percent(self.start_value, self.target_value, self.current_value)

    def get_absolute_url(self) -> str:
        return link("objectives:key_result", self.pk)

    @property
    def submit_url(self) -> str:
        """Where its check-in form posts (the form names it twice: action and hx-post)."""
        return link("checkins:submit", self.pk)


@dataclass
class CardReview:
    dependency_id: int
    on_track: bool
    note: str


@dataclass
class CardCheckIn:
    """This week's check-in of a card: its answers (the form starts from them) and its
    dependency reviews (weeks 1-2)."""

    pk: int
    status: str
    confidence: int
    biggest_risk: str
    need: str
    need_person_id: int | None
    need_dependency_id: int | None
    value: Decimal
    forecast_value: Decimal | None
    forecast_flag: bool
    edited_at: datetime | None
    reviews: list[CardReview] = field(default_factory=list)
    week: int = 0
    late: bool = False

    def get_status_display(self) -> str:
        return str(CheckIn.Status(self.status).label)


@dataclass
class CardDependency:
    """A dependency of a card's key result, as its form and the week 1-2 review show it."""

    pk: int
    deliverable: str
    status: str
    due_date: date
    provider_team: CardTeam
    responsible_id: int
    responsible: sql.Person


@dataclass
class WeekCard:
    key_result: Any  # a CardKeyResult (``my_week``)
    check_in: Any  # the form week's CardCheckIn, or the CheckIn just submitted; None before
    dependencies: list[Any]  # CardDependency
    # Every check-in of the key result by week (the card's context: last week's answers, the
    # confidence trend, the points of the live forecast).
    by_week: dict[int, Any] = field(default_factory=dict)
    # The week its form is for: this week, or a missed earlier one checked in late.
    week: int = 0
    current_week: int = 0  # the owner's week now
    weeks: int = 13  # the quarter's
    # Missed earlier weeks that can still be checked in late, with until when (the view's).
    late: dict[int, datetime] = field(default_factory=dict)

    def for_week(self, week: int) -> WeekCard:
        """The same card with its form for ``week`` (a late check-in of a missed week)."""
        return replace(self, check_in=self.by_week.get(week), week=week)

    @property
    def is_late(self) -> bool:
        return self.week < self.current_week

    @property
    def displaced(self) -> bool:
        """Dropped or deferred by a trade-off (rule 8): shown, with why, but no check-in is
        asked for it and it is not in the "N of M done" count."""
        return self.key_result.displaced_by_id is not None


def still_due(cards: list[WeekCard]) -> list[WeekCard]:
    """The cards that ask for a check-in: every one but the displaced."""
    return [card for card in cards if not card.displaced]


def my_week(user: User, quarter: Quarter, week: int) -> list[WeekCard]:
    """The user's key results with this week's check-in (and its dependency reviews) and
    their dependencies: 3 queries (1 when they own none). SQL (``okrly.sql``): My week runs
    it on every request; each card holds only what it shows and its form reads."""
    kr_table, objective, team = sql.table(KeyResult), sql.table(Objective), sql.table(Team)
    key_results = [
        CardKeyResult(
            pk=row.id,
            title=row.title,
            start_value=sql.decimal(row.start_value),
            target_value=sql.decimal(row.target_value),
            current_value=sql.decimal(row.current_value),
            unit=row.unit,
            displaced_by_id=row.displaced_by_id,
            direction=row.direction,
            created_at=row.created_at,
            objective=CardObjective(
                title=row.objective_title,
                quarter_id=row.quarter_id,
                team_id=row.team_id,
                team=CardTeam(row.team_id, row.team_name),
            ),
        )
        for row in sql.rows(
            f"""
SELECT k.id, k.title, k.start_value, k.target_value, k.current_value, k.unit,
       k.displaced_by_id, k.direction, k.created_at, o.title AS objective_title, o.quarter_id,
       o.team_id,
       t.name AS team_name
FROM {kr_table} k
JOIN {objective} o ON o.id = k.objective_id
JOIN {team} t ON t.id = o.team_id
WHERE k.owner_id = %s AND o.quarter_id = %s
ORDER BY t.name, o.rank, k.id""",
            [user.pk, quarter.pk],
        )
    ]
    if not key_results:
        return []
    ids = [kr.pk for kr in key_results]
    marks = sql.placeholders(ids)
    check_ins: dict[int, dict[int, CardCheckIn]] = {pk: {} for pk in ids}
    # Every check-in of the key results (at most a quarter's weeks each) with their reviews
    # (a row per review, or one without): this week's answers, and the weeks before for the
    # card's context.
    for row in sql.rows(
        f"""
SELECT c.id, c.key_result_id, c.week, c.status, c.confidence, c.biggest_risk, c.need,
       c.need_person_id, c.need_dependency_id, c.value, c.forecast_value, c.forecast_flag,
       c.edited_at, c.late, r.dependency_id, r.on_track, r.note
FROM {sql.table(CheckIn)} c
LEFT JOIN {sql.table(DependencyReview)} r ON r.check_in_id = c.id
WHERE c.key_result_id IN ({marks})
ORDER BY c.week, c.id, r.id""",
        ids,
    ):
        weeks = check_ins[row.key_result_id]
        found = weeks.get(row.week)
        if found is None:
            found = weeks[row.week] = CardCheckIn(
                pk=row.id,
                week=row.week,
                status=row.status,
                confidence=row.confidence,
                biggest_risk=row.biggest_risk,
                need=row.need,
                need_person_id=row.need_person_id,
                need_dependency_id=row.need_dependency_id,
                value=sql.decimal(row.value),
                forecast_value=None
                if row.forecast_value is None
                else sql.decimal(row.forecast_value),
                forecast_flag=bool(row.forecast_flag),
                edited_at=row.edited_at,
                late=bool(row.late),
            )
        if row.dependency_id is not None:
            found.reviews.append(CardReview(row.dependency_id, bool(row.on_track), row.note))
    dependencies: dict[int, list[CardDependency]] = {pk: [] for pk in ids}
    for row in sql.rows(
        f"""
SELECT d.id, d.key_result_id, d.deliverable, d.status, d.due_date, d.provider_team_id,
       pt.name AS provider_team, d.responsible_id, u.username, u.first_name, u.last_name
FROM {sql.table(Dependency)} d
JOIN {team} pt ON pt.id = d.provider_team_id
JOIN {sql.table(get_user_model())} u ON u.id = d.responsible_id
WHERE d.key_result_id IN ({marks})
ORDER BY d.key_result_id, d.rank""",
        ids,
    ):
        dependencies[row.key_result_id].append(
            CardDependency(
                pk=row.id,
                deliverable=row.deliverable,
                status=row.status,
                due_date=row.due_date,
                provider_team=CardTeam(row.provider_team_id, row.provider_team),
                responsible_id=row.responsible_id,
                responsible=sql.Person(
                    row.responsible_id, row.username, row.first_name, row.last_name
                ),
            )
        )
    return [
        WeekCard(
            kr,
            check_ins[kr.pk].get(week),
            dependencies[kr.pk],
            check_ins[kr.pk],
            week=week,
            current_week=week,
            weeks=quarter.weeks,
        )
        for kr in key_results
    ]


def with_thread(check_ins: QuerySet[CheckIn]) -> QuerySet[CheckIn]:
    """Check-ins with their threads' entries and authors (one query more)."""
    return check_ins.prefetch_related(
        Prefetch("comments", queryset=CheckInComment.objects.select_related("author"))
    )


def timeline(key_result: KeyResult) -> list[CheckIn]:
    return list(
        with_thread(
            CheckIn.objects.filter(key_result=key_result)
            .select_related("need_person", "need_dependency")
            .prefetch_related("revisions")
            .order_by("-week")
        )
    )


def needs_for(user: User) -> list[Any]:
    """Needs addressed to the user that they have not handled yet, oldest first: rows of the
    check-in's columns with what the page's words need (``kr_title``, ``owner_*``,
    ``dependency``: the deliverable of the dependency it names, if any). SQL
    (``okrly.sql``): "Asked of me" runs it on every request."""
    checkin, kr, person, dep = (
        sql.table(CheckIn),
        sql.table(KeyResult),
        sql.table(get_user_model()),
        sql.table(Dependency),
    )
    return sql.rows(
        f"""
SELECT c.id, c.need, c.week, c.submitted_at, c.key_result_id,
       k.title AS kr_title, o.first_name AS owner_first, o.last_name AS owner_last,
       o.username AS owner_username, d.deliverable AS dependency
FROM {checkin} c
JOIN {kr} k ON k.id = c.key_result_id
JOIN {person} o ON o.id = k.owner_id
LEFT JOIN {dep} d ON d.id = c.need_dependency_id
WHERE {_NEEDS_OPEN}
ORDER BY c.submitted_at, c.id""",
        [user.pk],
    )


# The needs still waiting on a person (``%s``), of check-ins ``c``: listed and counted alike.
_NEEDS_OPEN = "c.need_person_id = %s AND c.need_handled_at IS NULL"


def needs_count_sql(user: User) -> tuple[str, list[Any]]:
    """``len(needs_for(user))`` as a scalar SQL subquery (the navigation's count)."""
    return f"SELECT COUNT(*) FROM {sql.table(CheckIn)} c WHERE {_NEEDS_OPEN}", [user.pk]
