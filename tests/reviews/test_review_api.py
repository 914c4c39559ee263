"""The reviews API (rule 11): the list (fixed query count) and one review with its factors,
decisions and follow-ups; adding a factor and a decision, following up last quarter's
decisions and closing, through the same services and rights as the page. Closing without a
structural decision answers 400 {"code": "structural_decision_required"}; every bad input is a
4xx."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from okrly.models import Quarter
from reviews import review_services as services
from reviews.models import DecisionFollowUp, Review, StructuralDecision
from tests.factories import KeyResultFactory, ObjectiveFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/api/reviews/"


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def after(db: Any) -> Quarter:
    return Quarter.objects.create(
        name="2027 Q1",
        start=date(2027, 1, 1),
        end=date(2027, 3, 31),
        status=Quarter.Status.PLANNING,
    )


@pytest.fixture
def review(quarter: Quarter) -> Review:
    quarter.status = Quarter.Status.REVIEWING
    quarter.save()
    return services.review_for(quarter)


def decision_body(owner: Any, after: Quarter, key_result: Any, /, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "what_changes": "Dependency requests are made in week 0 with a named person.",
        "why": "Three misses waited on requests made in week 6.",
        "key_result": key_result.pk,
        "owner": owner.pk,
        "takes_effect": after.pk,
        "success_check": "Every dependency is requested by the first Friday.",
        "follow_up_on": (after.start + timedelta(days=40)).isoformat(),
    }
    data.update(changes)
    return data


def test_close_without_a_decision_answers_the_code(leader: Any, review: Review) -> None:
    answer = api_as(leader).post(f"{URL}{review.pk}/close/")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "structural_decision_required",
        "detail": services.NO_DECISION_MESSAGE,
    }
    review.refresh_from_db()
    assert review.status == Review.Status.OPEN


def test_a_whole_review_through_the_api(
    leader: Any, owner: Any, review: Review, after: Quarter, key_result: Any
) -> None:
    client = api_as(leader)
    factor = client.post(
        f"{URL}{review.pk}/factors/", {"text": "Platform's outage.", "key_result": key_result.pk}
    )
    assert factor.status_code == 201, factor.json()
    assert factor.json()["evidence"]["key_result"] == key_result.pk
    decision = client.post(
        f"{URL}{review.pk}/decisions/",
        decision_body(owner, after, key_result, setting="RESPONSE_DAYS", setting_value=4),
        format="json",
    )
    assert decision.status_code == 201, decision.json()
    assert decision.json()["owner"]["username"] == "olga"
    assert decision.json()["takes_effect"] == {"id": after.pk, "name": "2027 Q1"}
    assert decision.json()["setting"] == "RESPONSE_DAYS"
    detail = client.get(f"{URL}{review.pk}/").json()
    assert [f["text"] for f in detail["factors"]] == ["Platform's outage."]
    assert [d["id"] for d in detail["decisions"]] == [decision.json()["id"]]
    assert detail["decisions_to_follow_up"] == []
    assert detail["follow_ups"] == []
    closed = client.post(f"{URL}{review.pk}/close/")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_by"]["username"] == "lea"
    assert Quarter.objects.get(pk=review.quarter_id).status == Quarter.Status.CLOSED


def test_follow_up_through_the_api_unblocks_the_close(
    leader: Any, owner: Any, review: Review, after: Quarter, key_result: Any
) -> None:
    client = api_as(leader)
    made = client.post(
        f"{URL}{review.pk}/decisions/", decision_body(owner, after, key_result), format="json"
    )
    assert client.post(f"{URL}{review.pk}/close/").status_code == 200
    next_review = services.review_for(after)
    decision_id = made.json()["id"]
    made_next = client.post(
        f"{URL}{next_review.pk}/decisions/",
        decision_body(
            owner,
            Quarter.objects.create(name="2027 Q2", start=date(2027, 4, 1), end=date(2027, 6, 30)),
            KeyResultFactory(objective=ObjectiveFactory(quarter=after)),
            follow_up_on="2027-05-01",
        ),
        format="json",
    )
    assert made_next.status_code == 201, made_next.json()
    after.status = Quarter.Status.REVIEWING
    after.save()
    refused = client.post(f"{URL}{next_review.pk}/close/")
    assert refused.status_code == 400
    assert refused.json()["code"] == "follow_up_required"
    assert refused.json()["decisions"] == [decision_id]
    detail = client.get(f"{URL}{next_review.pk}/").json()
    assert [d["id"] for d in detail["decisions_to_follow_up"]] == [decision_id]
    no_note = client.post(
        f"{URL}{next_review.pk}/follow-up/{decision_id}/", {"verdict": "working", "note": ""}
    )
    assert no_note.status_code == 400
    assert "note" in no_note.json()
    marked = client.post(
        f"{URL}{next_review.pk}/follow-up/{decision_id}/",
        {"verdict": "not_done", "note": "Nobody owned the list."},
    )
    assert marked.status_code == 200, marked.json()
    assert marked.json()["verdict_display"] == "Not done"
    assert DecisionFollowUp.objects.filter(decision_id=decision_id).count() == 1
    assert client.get(f"{URL}{next_review.pk}/").json()["follow_ups"][0]["decision"] == decision_id
    assert client.post(f"{URL}{next_review.pk}/close/").status_code == 200


def test_only_leadership_runs_the_organisations_review(
    lead: Any, owner: Any, outsider: Any, review: Review, after: Quarter, key_result: Any
) -> None:
    for user in (lead, owner, outsider):
        client = api_as(user)
        assert client.get(f"{URL}{review.pk}/").status_code == 200  # everyone reads
        answer = client.post(
            f"{URL}{review.pk}/decisions/", decision_body(owner, after, key_result), format="json"
        )
        assert answer.status_code == 403
        assert "leadership" in answer.json()["detail"]
        assert client.post(f"{URL}{review.pk}/close/").status_code == 403
    assert not StructuralDecision.objects.exists()
    assert APIClient().get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    "changes",
    [
        {"key_result": None},
        {"key_result": 10**30},
        {"key_result": "x"},
        {"owner": 0},
        {"takes_effect": -1},
        {"follow_up_on": "soon"},
        {"setting": "RESPONSE_DAYS", "setting_value": 10**12},
        {"setting": "NOPE", "setting_value": 3},
        {"what_changes": ""},
        {"what_changes": "x" * 10_001},
    ],
)
def test_bad_decisions_are_400(
    leader: Any, owner: Any, review: Review, after: Quarter, key_result: Any, changes: Any
) -> None:
    answer = api_as(leader).post(
        f"{URL}{review.pk}/decisions/",
        decision_body(owner, after, key_result, **changes),
        format="json",
    )
    assert answer.status_code == 400
    assert not StructuralDecision.objects.exists()


def test_bad_ids_are_404(leader: Any, review: Review) -> None:
    client = api_as(leader)
    assert client.get(f"{URL}{10**18}/").status_code == 404
    assert client.get(f"{URL}{10**25}/").status_code == 404
    for decision in ("999999", "9" * 19):
        answer = client.post(
            f"{URL}{review.pk}/follow-up/{decision}/", {"verdict": "working", "note": "x"}
        )
        assert answer.status_code == 404
    assert client.get(URL, {"quarter": "x"}).status_code == 400
    assert client.post(f"{URL}{review.pk}/factors/", {"text": "x"}).status_code == 400


def _count(client: APIClient, params: dict[str, Any]) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get(URL, params)
    assert answer.status_code == 200
    return len(ctx.captured_queries), answer.json()["count"]


def test_the_list_costs_the_same_queries_for_3_and_30_reviews(
    leader: Any, owner: Any, quarter: Quarter, after: Quarter, key_result: Any
) -> None:
    client = api_as(leader)

    def add(teams: int) -> None:
        for _ in range(teams):
            review = services.review_for(quarter, TeamFactory())
            services.decision_add(
                user=leader,
                review=review,
                what_changes="w",
                why="y",
                owner=owner,
                takes_effect=after,
                success_check="s",
                follow_up_on=after.start,
                key_result=key_result,
            )
            Review.objects.filter(pk=review.pk).update(
                status=Review.Status.CLOSED, closed_by=leader
            )

    add(3)
    few, listed = _count(client, {"quarter": quarter.pk})
    assert listed == 3
    add(27)
    many, listed = _count(client, {"quarter": quarter.pk})
    assert listed == 30
    assert few == many == 2  # the count and the page (quarter, team, closer joined)
    only_org = client.get(URL, {"team": 0}).json()
    assert only_org["count"] == 0
