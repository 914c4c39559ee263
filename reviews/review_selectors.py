"""Reading a quarterly review (rule 11): the quarter's evidence, computed from what the other
pages already count (never typed), the review's factors and decisions, last quarter's decisions
with their follow-up, the evidence a factor or decision may point at, and the figures that
compare the last quarters. Each function costs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet

from dependencies.models import Dependency
from objectives.models import KeyResult, TradeOff
from objectives.tradeoffs import ledger
from okrly.models import Quarter
from ownership.accountability import accountability_for
from reviews import response_selectors, selectors
from reviews.models import (
    ContributingFactor,
    DecisionFollowUp,
    EarlyEscalation,
    Grade,
    Review,
    StructuralDecision,
)

Outcome = Grade.Outcome
EVIDENCE = ("key_result", "dependency", "trade_off", "response")


@dataclass
class TeamGrades:
    team: str
    achieved: int
    partly: int
    missed: int
    displaced: int
    ungraded: int
    average: Decimal | None

    @property
    def average_percent(self) -> int | None:
        return None if self.average is None else round(100 * self.average)


@dataclass
class Evidence:
    """What the review page shows, all of it computed."""

    quarter: Quarter
    headline: selectors.Signals
    grades: list[TeamGrades]
    average_score: Decimal | None
    responses: list[Any]
    trade_offs: list[TradeOff]
    escalations: list[EarlyEscalation]
    accountability_passed: int
    accountability_total: int
    factors: list[ContributingFactor]
    decisions: list[StructuralDecision]
    previous: list[StructuralDecision]  # last quarter's decisions, each with ``follow_up``


def previous_quarter(quarter: Quarter) -> Quarter | None:
    return Quarter.objects.filter(end__lt=quarter.start).order_by("-end").first()


def grades_by_team(quarter: Quarter) -> tuple[list[TeamGrades], Decimal | None]:
    """Count per outcome and average score, per team and overall: one grouped query."""

    def n(outcome: str) -> Count:
        return Count("pk", filter=Q(outcome=outcome))

    rows = (
        Grade.objects.filter(quarter=quarter)
        .values("key_result__objective__team__name")
        .annotate(
            achieved=n(Outcome.ACHIEVED),
            partly=n(Outcome.PARTLY),
            missed=n(Outcome.MISSED),
            displaced=n(Outcome.DISPLACED),
            ungraded=n(""),
            average=Avg("score"),
            scored=Count("score"),
        )
        .order_by("key_result__objective__team__name")
    )
    teams, total, scored = [], Decimal(0), 0
    for row in rows:
        teams.append(
            TeamGrades(
                team=row["key_result__objective__team__name"],
                achieved=row["achieved"],
                partly=row["partly"],
                missed=row["missed"],
                displaced=row["displaced"],
                ungraded=row["ungraded"],
                average=row["average"],
            )
        )
        if row["average"] is not None:
            total += row["average"] * row["scored"]
            scored += row["scored"]
    # The organisation's average weighs every scored key result once, not every team once.
    return teams, (total / scored if scored else None)


def _decisions(queryset: QuerySet[StructuralDecision]) -> QuerySet[StructuralDecision]:
    return queryset.select_related(
        "owner", "takes_effect", "setting_team", "key_result", "dependency", "trade_off"
    ).order_by("created_at", "pk")


def evidence(review: Review, *, now: datetime, today: date) -> Evidence:
    quarter = review.quarter
    # The dashboard's figures for the quarter, read as of its last day once it is over.
    headline = selectors.org_view(quarter, min(today, quarter.end)).headline
    grades, average = grades_by_team(quarter)
    responses = list(response_selectors.responses(quarter, now=now, today=today))
    for r in responses:
        r.state_label = response_selectors.STATE_LABELS[r.state]
    key_results = list(
        KeyResult.objects.in_play().filter(objective__quarter=quarter).only("pk", "objective_id")
    )
    results = accountability_for(key_results, today=min(today, quarter.end))
    previous = previous_quarter(quarter)
    last = (
        list(
            _decisions(
                StructuralDecision.objects.filter(review__quarter=previous, review__team=None)
            )
        )
        if previous is not None
        else []
    )
    follow_ups = {
        f.decision_id: f
        for f in DecisionFollowUp.objects.filter(review=review).select_related("by")
    }
    for decision in last:
        decision.follow_up = follow_ups.get(decision.pk)  # type: ignore[attr-defined]
    return Evidence(
        quarter=quarter,
        headline=headline,
        grades=grades,
        average_score=average,
        responses=responses,
        trade_offs=list(ledger(quarter)),
        escalations=list(
            EarlyEscalation.objects.filter(key_result__objective__quarter=quarter)
            .select_related("key_result__objective__team", "raised_by", "asked_of")
            .order_by("raised_at", "pk")
        ),
        accountability_passed=sum(1 for r in results.values() if r.passed),
        accountability_total=len(results),
        factors=list(
            review.factors.select_related(
                "author", "key_result", "dependency", "trade_off", "response__key_result"
            )
        ),
        decisions=list(_decisions(review.decisions.all())),
        previous=last,
    )


@dataclass
class EvidenceChoices:
    """What a factor or a decision may point at: the quarter's key results, dependencies,
    trade-offs and responses (four queries), as (id, label) lists and by id."""

    key_result: dict[int, Any] = field(default_factory=dict)
    dependency: dict[int, Any] = field(default_factory=dict)
    trade_off: dict[int, Any] = field(default_factory=dict)
    response: dict[int, Any] = field(default_factory=dict)

    def choices(self, kind: str) -> list[tuple[str, str]]:
        return [("", "—")] + [(str(pk), label) for pk, (_, label) in getattr(self, kind).items()]

    def get(self, kind: str, pk: int | None) -> Any:
        found = getattr(self, kind).get(pk)
        return found[0] if found is not None else None


def evidence_choices(quarter: Quarter, trade_offs: list[TradeOff] | None = None) -> EvidenceChoices:
    found = EvidenceChoices()
    for kr in KeyResult.objects.filter(objective__quarter=quarter).select_related(
        "objective__team"
    ):
        found.key_result[kr.pk] = (kr, f"{kr.title} ({kr.objective.team.name})")
    for dep in Dependency.objects.filter(key_result__objective__quarter=quarter).select_related(
        "provider_team"
    ):
        found.dependency[dep.pk] = (dep, f"{dep.deliverable} ({dep.provider_team.name})")
    offs = trade_offs if trade_offs is not None else list(ledger(quarter))
    for t in offs:
        found.trade_off[t.pk] = (t, f"{t.team.name}: {t.reason[:80]}")
    for r in response_selectors.with_people().filter(quarter=quarter):
        found.response[r.pk] = (r, f"{r.get_kind_display()}: {r.key_result.title}")
    return found


@dataclass
class QuarterPoint:
    name: str
    average_score: int | None  # percent
    surprise_rate: int | None  # percent
    responses_on_time: int | None  # percent
    decisions_done: int | None  # percent of last quarter's decisions done (working or not)


def comparison(quarter: Quarter, today: date, *, count: int = 4) -> list[QuarterPoint]:
    """The last ``count`` quarters up to ``quarter``, oldest first: one query for the quarters,
    one for the grades, one for the follow-ups, and the dashboard's (cached) figures of each."""
    quarters = list(Quarter.objects.filter(start__lte=quarter.start).order_by("-start")[:count])
    quarters.reverse()
    ids = [q.pk for q in quarters]
    scores = {
        row["quarter"]: row["average"]
        for row in Grade.objects.filter(quarter__in=ids, score__isnull=False)
        .values("quarter")
        .annotate(average=Avg("score"))
        .order_by()
    }
    follow_ups = {
        row["review__quarter"]: row
        for row in DecisionFollowUp.objects.filter(review__quarter__in=ids, review__team=None)
        .values("review__quarter")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=~Q(verdict=DecisionFollowUp.Verdict.NOT_DONE)),
        )
        .order_by()
    }
    points = []
    for q in quarters:
        headline = selectors.org_view(q, min(today, q.end)).headline
        score = scores.get(q.pk)
        done = follow_ups.get(q.pk)
        points.append(
            QuarterPoint(
                name=q.name,
                average_score=None if score is None else round(100 * score),
                surprise_rate=headline.surprise_percent,
                responses_on_time=headline.responses_on_time_percent,
                decisions_done=round(100 * done["done"] / done["total"]) if done else None,
            )
        )
    return points
