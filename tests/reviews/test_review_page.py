"""The quarterly review's page (rule 11): the evidence computed, factors and decisions added
through their forms (errors on the field, input kept), last quarter's decisions followed up,
closing refused without a decision, forms only for the people who run the review, and the
same queries for a small and a large quarter."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from okrly.models import Quarter
from reviews.models import (
    ContributingFactor,
    DecisionFollowUp,
    Grade,
    Review,
    StructuralDecision,
)
from tests.conftest import TEST_NOW
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def next_quarter(quarter: Any) -> Any:
    return QuarterFactory(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))


@pytest.fixture
def previous(quarter: Any, leader: Any) -> StructuralDecision:
    """Last quarter's organisation review, closed, with one decision taking effect now."""
    before = QuarterFactory(
        name="2026 Q3",
        start=date(2026, 7, 1),
        end=date(2026, 9, 30),
        status=Quarter.Status.CLOSED,
    )
    review = Review.objects.create(quarter=before, status=Review.Status.CLOSED)
    return StructuralDecision.objects.create(
        review=review,
        what_changes="Dependency requests are made in week 0 with a named person",
        why="Three dependencies were requested in week 6",
        owner=leader,
        takes_effect=quarter,
        success_check="No dependency requested after week 2",
        follow_up_on=quarter.start + timedelta(days=40),
        created_by=leader,
    )


@pytest.fixture
def review(quarter: Any) -> Review:
    quarter.status = Quarter.Status.REVIEWING
    quarter.save()
    return Review.objects.create(quarter=quarter)


def _grade(key_result: Any, outcome: str, score: str | None) -> Grade:
    return Grade.objects.create(
        key_result=key_result,
        quarter=key_result.objective.quarter,
        outcome=outcome,
        score=Decimal(score) if score is not None else None,
    )


def test_the_quarter_resolves_to_its_organisation_review(
    client_for: Any, leader: Any, quarter: Any
) -> None:
    response = client_for(leader).get(
        reverse("reviews:review_of_quarter") + f"?quarter={quarter.pk}"
    )
    review = Review.objects.get(quarter=quarter, team=None)
    assert response.status_code == 302
    assert response["Location"] == review.get_absolute_url()
    assert client_for(leader).get(
        reverse("reviews:review_of_quarter") + "?quarter=x"
    ).status_code in (400, 404)


def test_grades_by_team_are_counted_and_averaged(
    client_for: Any, leader: Any, review: Review, objective: Any, owner: Any
) -> None:
    _grade(KeyResultFactory(objective=objective, owner=owner), Grade.Outcome.ACHIEVED, "0.9")
    _grade(KeyResultFactory(objective=objective, owner=owner), Grade.Outcome.MISSED, "0.3")
    _grade(KeyResultFactory(objective=objective, owner=owner), "", None)
    page = client_for(leader).get(review.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    # Growth: 1 achieved, 0 partly, 1 missed, 0 displaced, 1 not graded, average 60%.
    assert (
        '<th scope="row">Growth</th><td>1</td><td>0</td><td>1</td><td>0</td><td>1</td><td>60%</td>'
        in html
    )
    assert "The quarter's evidence" in html
    assert "Quarters compared" in html
    assert '<svg class="quarter-chart"' in html


def test_a_leader_adds_a_factor_linked_to_a_key_result(
    client_for: Any, leader: Any, review: Review, key_result: Any
) -> None:
    url = reverse("reviews:review_factor_add", args=[review.pk])
    response = client_for(leader).post(
        url, {"factor-text": "Platform was asked too late", "factor-key_result": key_result.pk}
    )
    assert response.status_code == 302
    factor = ContributingFactor.objects.get(review=review)
    assert factor.key_result == key_result
    assert factor.author == leader
    assert (
        "Platform was asked too late"
        in client_for(leader).get(review.get_absolute_url()).content.decode()
    )


def test_a_factor_without_evidence_is_refused_on_the_field_with_the_text_kept(
    client_for: Any, leader: Any, review: Review
) -> None:
    url = reverse("reviews:review_factor_add", args=[review.pk])
    response = client_for(leader).post(url, {"factor-text": "We were busy"})
    assert response.status_code == 400
    assert "We were busy" in response.content.decode()
    assert "field-error" in response.content.decode()
    assert not ContributingFactor.objects.exists()
    # Evidence from nowhere (an id that is not the quarter's) is a 400 too, never a 500.
    bad = client_for(leader).post(url, {"factor-text": "x", "factor-key_result": "999999"})
    assert bad.status_code == 400


def _decision_post(
    key_result: Any, owner: Any, next_quarter: Quarter, **changes: Any
) -> dict[str, Any]:
    data = {
        "decision-what_changes": "Dependency requests are made in week 0",
        "decision-why": "Requested late",
        "decision-key_result": key_result.pk,
        "decision-owner": owner.pk,
        "decision-takes_effect": next_quarter.pk,
        "decision-success_check": "No request after week 2",
        "decision-follow_up_on": (next_quarter.start + timedelta(days=30)).isoformat(),
        "decision-setting": "",
    }
    data.update(changes)
    return data


def test_a_leader_adds_a_decision_and_a_bad_date_stays_on_its_field(
    client_for: Any, leader: Any, review: Review, key_result: Any, owner: Any, next_quarter: Quarter
) -> None:
    url = reverse("reviews:review_decision_add", args=[review.pk])
    bad = client_for(leader).post(
        url,
        _decision_post(key_result, owner, next_quarter, **{"decision-follow_up_on": "2026-01-01"}),
    )
    assert bad.status_code == 400
    assert "Dependency requests are made in week 0" in bad.content.decode()
    assert not StructuralDecision.objects.exists()
    ok = client_for(leader).post(url, _decision_post(key_result, owner, next_quarter))
    assert ok.status_code == 302
    decision = StructuralDecision.objects.get(review=review)
    assert decision.owner == owner
    assert decision.takes_effect == next_quarter
    # The owner picker names people with their team.
    page = client_for(leader).get(review.get_absolute_url()).content.decode()
    assert f"{owner.get_full_name() or owner.username} (Growth)" in page


def test_closing_is_refused_without_a_decision_then_needs_the_follow_up(
    client_for: Any,
    leader: Any,
    review: Review,
    key_result: Any,
    owner: Any,
    next_quarter: Quarter,
    previous: StructuralDecision,
) -> None:
    client = client_for(leader)
    close = reverse("reviews:review_close", args=[review.pk])
    refused = client.post(close)
    assert refused.status_code == 400
    assert "structural decision" in refused.content.decode()
    client.post(
        reverse("reviews:review_decision_add", args=[review.pk]),
        _decision_post(key_result, owner, next_quarter),
    )
    # Last quarter's decision is not marked yet: still refused.
    assert client.post(close).status_code == 400
    follow = reverse("reviews:review_follow_up", args=[review.pk, previous.pk])
    prefix = f"follow{previous.pk}"
    missing_note = client.post(follow, {f"{prefix}-verdict": "not_done"})
    assert missing_note.status_code == 400
    assert (
        client.post(
            follow, {f"{prefix}-verdict": "not_done", f"{prefix}-note": "Nobody owned it"}
        ).status_code
        == 302
    )
    assert DecisionFollowUp.objects.get(decision=previous, review=review).verdict == "not_done"
    assert client.post(close).status_code == 302
    review.refresh_from_db()
    assert review.status == Review.Status.CLOSED
    # A closed review offers no forms.
    page = client.get(review.get_absolute_url()).content.decode()
    assert "Add decision" not in page
    assert "Nobody owned it" in page


def test_only_the_people_running_the_review_see_its_forms(
    client_for: Any, owner: Any, review: Review, key_result: Any
) -> None:
    page = client_for(owner).get(review.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Add factor" not in html
    assert "Close the review" not in html
    url = reverse("reviews:review_factor_add", args=[review.pk])
    assert (
        client_for(owner)
        .post(url, {"factor-text": "x", "factor-key_result": key_result.pk})
        .status_code
        == 403
    )
    assert (
        client_for(owner).post(reverse("reviews:review_close", args=[review.pk])).status_code == 403
    )


def _fill(quarter: Any, leader: Any, review: Review, n: int) -> None:
    for i in range(n):
        team = TeamFactory(name=f"Team {n}-{i}", slug=f"team-{n}-{i}")
        kr = KeyResultFactory(objective=ObjectiveFactory(quarter=quarter, team=team), owner=leader)
        _grade(kr, Grade.Outcome.ACHIEVED, "0.8")
        ContributingFactor.objects.create(review=review, text=f"f{i}", key_result=kr, author=leader)


def test_the_page_costs_the_same_queries_for_a_small_and_a_large_quarter(
    client_for: Any, leader: Any, review: Review, quarter: Any, previous: StructuralDecision
) -> None:
    client = client_for(leader)
    counts = []
    for n in (2, 20):
        _fill(quarter, leader, review, n)
        from django.core.cache import cache

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(review.get_absolute_url()).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    print("review page queries:", counts[0], TEST_NOW)


def test_a_decision_may_change_a_teams_objective_limit(
    client_for: Any,
    leader: Any,
    review: Review,
    key_result: Any,
    owner: Any,
    next_quarter: Any,
    growth: Any,
) -> None:
    url = reverse("reviews:review_decision_add", args=[review.pk])
    client = client_for(leader)
    # A team's limit without the team is refused on a field, the input kept.
    refused = client.post(
        url,
        _decision_post(
            key_result,
            owner,
            next_quarter,
            **{"decision-setting": "TEAM_OBJECTIVE_LIMIT", "decision-setting_value": "3"},
        ),
    )
    assert refused.status_code == 400
    assert "field-error" in refused.content.decode()
    ok = client.post(
        url,
        _decision_post(
            key_result,
            owner,
            next_quarter,
            **{
                "decision-setting": "TEAM_OBJECTIVE_LIMIT",
                "decision-setting_team": growth.pk,
                "decision-setting_value": "3",
            },
        ),
    )
    assert ok.status_code == 302
    decision = StructuralDecision.objects.get(review=review)
    assert (decision.setting, decision.setting_team, decision.setting_value) == (
        "TEAM_OBJECTIVE_LIMIT",
        growth,
        3,
    )


def test_the_chart_compares_the_last_four_quarters(
    leader: Any, review: Review, quarter: Any, objective: Any, owner: Any
) -> None:
    from reviews.review_selectors import comparison

    starts = [date(2025, 10, 1), date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1)]
    older = [
        QuarterFactory(
            name=f"old{i}",
            start=s,
            end=([*starts, quarter.start])[i + 1] - timedelta(days=1),
            status=Quarter.Status.CLOSED,
        )
        for i, s in enumerate(starts)
    ]
    # The quarter before holds two decisions: this review follows one up as done, one not.
    before = Review.objects.create(quarter=older[-1], status=Review.Status.CLOSED)
    for verdict in ("not_working", "not_done"):
        decision = StructuralDecision.objects.create(
            review=before,
            what_changes=verdict,
            why="w",
            owner=leader,
            takes_effect=quarter,
            success_check="c",
            follow_up_on=quarter.end,
            created_by=leader,
        )
        DecisionFollowUp.objects.create(
            decision=decision, review=review, verdict=verdict, note="n", by=leader, at=TEST_NOW
        )
    _grade(KeyResultFactory(objective=objective, owner=owner), Grade.Outcome.ACHIEVED, "0.9")
    _grade(KeyResultFactory(objective=objective, owner=owner), Grade.Outcome.MISSED, "0.4")
    points = comparison(quarter, quarter.start)
    assert [p.name for p in points] == ["old1", "old2", "old3", "2026 Q4"]
    assert points[-1].average_score == 65
    assert points[-1].decisions_done == 50
    assert points[0].average_score is None
    assert points[0].decisions_done is None
    # No misses yet: no surprise rate nor responses on time, never a misleading 0.
    assert points[-1].surprise_rate is None
    assert points[-1].responses_on_time is None


def test_the_demo_review_opens_with_last_quarters_decisions(client: Any, frozen_now: Any) -> None:
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    current = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    client.force_login(get_user_model().objects.get(username="maya"))
    page = client.get(reverse("reviews:review_of_quarter") + f"?quarter={current.pk}", follow=True)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Dependency requests are made in week 0, each with a named person" in html
    assert "Not done" in html
    assert "Each team&#x27;s lead reviews its check-ins" in html
    previous = Review.objects.get(quarter__status=Quarter.Status.CLOSED, team=None)
    closed = client.get(previous.get_absolute_url()).content.decode()
    assert "Add decision" not in closed
    assert "Dependency requests are made in week 0, each with a named person" in closed


def test_a_closed_review_refuses_more_with_a_400(
    client_for: Any, leader: Any, review: Review, key_result: Any
) -> None:
    Review.objects.filter(pk=review.pk).update(status=Review.Status.CLOSED)
    client = client_for(leader)
    url = reverse("reviews:review_factor_add", args=[review.pk])
    refused = client.post(url, {"factor-text": "late", "factor-key_result": key_result.pk})
    assert refused.status_code == 400
    assert "This review is closed" in refused.content.decode()
    assert client.post(reverse("reviews:review_close", args=[review.pk])).status_code == 400
    assert not ContributingFactor.objects.exists()


def test_start_the_review_now_is_offered_to_leadership_only_while_active(
    client_for: Any, leader: Any, lead: Any, quarter: Any
) -> None:
    """The early start is offered exactly where the service accepts it (can_start_review on an
    active quarter); the review starts by itself on the quarter's last day otherwise."""
    quarter.status = Quarter.Status.ACTIVE
    quarter.save()
    review = Review.objects.create(quarter=quarter)
    start = reverse("reviews:start_review", args=[quarter.pk])
    assert start in client_for(leader).get(review.get_absolute_url()).content.decode()
    assert start not in client_for(lead).get(review.get_absolute_url()).content.decode()
    quarter.status = Quarter.Status.REVIEWING
    quarter.save()
    assert start not in client_for(leader).get(review.get_absolute_url()).content.decode()
