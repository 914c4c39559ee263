"""Reading responses to missed commitments (rule 10) for the pages, the panels and the API.

A response's state is computed in SQL (``state`` annotation) so that a page can filter and
count by it without loading every row; it is the same rule as reviews.responses'
``response_state``: done once the next step is done; before that, a response not yet recorded
is awaiting until its deadline and overdue after it, and a recorded one is in progress until
its next step's due date passes, then overdue.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Case, CharField, Prefetch, Q, QuerySet, Value, When

from reviews.models import MissResponse

if TYPE_CHECKING:
    from okrly.models import Quarter, Team
    from okrly.types import User

AWAITING = "awaiting"
OVERDUE = "overdue"
IN_PROGRESS = "in_progress"
DONE = "done"
STATES = [
    (AWAITING, "Awaiting the conversation"),
    (OVERDUE, "Overdue"),
    (IN_PROGRESS, "In progress"),
    (DONE, "Done"),
]
STATE_LABELS = dict(STATES)


def state_case(now: datetime, today: date) -> Case:
    return Case(
        When(next_step__done_at__isnull=False, then=Value(DONE)),
        When(recorded_at__isnull=True, due_at__lte=now, then=Value(OVERDUE)),
        When(recorded_at__isnull=True, then=Value(AWAITING)),
        When(next_step__due__lt=today, then=Value(OVERDUE)),
        default=Value(IN_PROGRESS),
        output_field=CharField(),
    )


def with_people(queryset: QuerySet[MissResponse] | None = None) -> QuerySet[MissResponse]:
    """Everything a row shows, in the same query: key result, its team, the dependency, the
    people, the cause and the next step with its owner."""
    queryset = MissResponse.objects.all() if queryset is None else queryset
    return queryset.select_related(
        "quarter",
        "key_result__objective__team",
        "key_result__owner",
        "dependency__provider_team",
        "accountable",
        "holder",
        "cause",
        "next_step__owner",
    )


def annotated(now: datetime, today: date) -> QuerySet[Any]:
    # QuerySet[Any]: the type checker knows no ``state`` column on MissResponse.
    return with_people().annotate(state=state_case(now, today))


def responses(
    quarter: Quarter,
    *,
    now: datetime,
    today: date,
    team: Team | None = None,
    state: str = "",
    person: User | None = None,
) -> QuerySet[Any]:
    """A quarter's responses, newest first, filtered by the key result's team, state and
    person (the one accountable or the one who holds the conversation)."""
    queryset = annotated(now, today).filter(quarter=quarter)
    if team is not None:
        queryset = queryset.filter(key_result__objective__team=team)
    if state:
        queryset = queryset.filter(state=state)
    if person is not None:
        queryset = queryset.filter(Q(accountable=person) | Q(holder=person))
    return queryset.order_by("-opened_at", "-pk")


def with_participants(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The conversation's participants, in one more query for any number of responses."""
    return queryset.prefetch_related(
        Prefetch("participants", queryset=get_user_model().objects.order_by("first_name", "pk"))
    )


def detail(pk: int, *, now: datetime, today: date) -> Any:
    return with_participants(annotated(now, today)).get(pk=pk)


def for_key_result(key_result_id: int, *, now: datetime, today: date) -> list[MissResponse]:
    return list(
        with_participants(annotated(now, today).filter(key_result_id=key_result_id)).order_by(
            "-opened_at", "-pk"
        )
    )


def for_dependency(dependency_id: int, *, now: datetime, today: date) -> list[MissResponse]:
    return list(
        with_participants(annotated(now, today).filter(dependency_id=dependency_id)).order_by(
            "-opened_at", "-pk"
        )
    )


def people_in(quarter: Quarter) -> QuerySet[Any]:
    """Everyone accountable for, or holding, one of the quarter's responses (the person
    filter's choices)."""
    ids = MissResponse.objects.filter(quarter=quarter)
    return (
        get_user_model()
        .objects.filter(Q(pk__in=ids.values("accountable_id")) | Q(pk__in=ids.values("holder_id")))
        .order_by("first_name", "last_name", "username")
    )
