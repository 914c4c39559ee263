"""Reads for My week, the key-result timeline and the needs in "Asked of me"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch

from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import sql
from okrly.models import Quarter

if TYPE_CHECKING:
    from okrly.types import User


@dataclass
class WeekCard:
    key_result: KeyResult
    check_in: CheckIn | None
    dependencies: list[Dependency]

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
    their dependencies: 4 queries."""
    # Each read takes only the columns the cards, their forms and the "from whom" options
    # use: My week runs these on every request, and the ORM's cost grows with the columns.
    key_results = (
        KeyResult.objects.filter(owner=user, objective__quarter=quarter)
        .select_related("objective__team")
        .only(
            "title",
            "start_value",
            "target_value",
            "current_value",
            "unit",
            "owner_id",
            "displaced_by_id",
            "objective__title",
            "objective__quarter_id",
            "objective__team__name",
        )
        .prefetch_related(
            Prefetch(
                "checkins",
                queryset=CheckIn.objects.filter(week=week)
                .only(
                    "key_result_id",
                    "status",
                    "confidence",
                    "biggest_risk",
                    "need",
                    "need_person_id",
                    "need_dependency_id",
                    "value",
                    "forecast_value",
                    "forecast_flag",
                    "edited_at",
                )
                .prefetch_related("dependency_reviews"),
                to_attr="this_week",
            ),
            Prefetch(
                "dependencies",
                queryset=Dependency.objects.select_related("provider_team", "responsible")
                .only(
                    "key_result_id",
                    "deliverable",
                    "status",
                    "due_date",
                    "rank",
                    "provider_team__name",
                    "responsible__first_name",
                    "responsible__last_name",
                    "responsible__username",
                )
                .order_by("rank"),
                to_attr="deps",
            ),
        )
        .order_by("objective__team__name", "objective__rank", "pk")
    )
    # Rows carry the prefetched ``this_week`` and ``deps`` lists (typed loosely for them).
    rows: list[Any] = list(key_results)
    return [WeekCard(kr, kr.this_week[0] if kr.this_week else None, kr.deps) for kr in rows]


def timeline(key_result: KeyResult) -> list[CheckIn]:
    return list(
        CheckIn.objects.filter(key_result=key_result)
        .select_related("need_person", "need_dependency")
        .prefetch_related("revisions")
        .order_by("-week")
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
WHERE c.need_person_id = %s AND c.need_handled_at IS NULL
ORDER BY c.submitted_at, c.id""",
        [user.pk],
    )
