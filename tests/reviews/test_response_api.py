"""The responses API (rule 10): the list with its filters and a fixed query count, one
response, recording it (PATCH) and marking its next step done, through the same services and
rights as the pages; every bad input is a 4xx.

Olga (``owner``) misses "Raise trial conversion"; Lena (``lead``, Growth's lead) holds the
conversation.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from reviews import responses
from reviews.models import MissResponse, ResponseCause
from tests.conftest import TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory

pytestmark = pytest.mark.django_db

# Dates relative to the pinned day (CI runs from the quarter's first day to its last): the
# conversation is neither in the future nor before the quarter (QuarterFactory's) started, the
# next step is not due in the past.
QUARTER_START = date(2026, 10, 1)
TALKED_ON = max(TEST_TODAY - timedelta(days=3), QUARTER_START)
STEP_DUE = TEST_TODAY + timedelta(days=11)
YESTERDAY = TEST_TODAY - timedelta(days=1)

URL = "/api/responses/"
KR_MISSED = MissResponse.Kind.KEY_RESULT_MISSED


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def open_response(kr: Any, quarter: Any, minutes_ago: int = 0) -> MissResponse:
    response = responses.response_open(
        kind=KR_MISSED,
        key_result=kr,
        quarter=quarter,
        # Minutes, not days: on the quarter's first day a response opened days ago would be
        # older than its quarter.
        now=timezone.now() - timedelta(minutes=minutes_ago),
    )
    assert response is not None
    return response


@pytest.fixture
def cause() -> ResponseCause:
    return ResponseCause.objects.get_or_create(name="Capacity", defaults={"position": 1})[0]


@pytest.fixture
def response(key_result: Any, quarter: Any, lead: Any) -> MissResponse:
    return open_response(key_result, quarter)


def body(owner: Any, lead: Any, chosen: ResponseCause, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "conversation_on": TALKED_ON.isoformat(),
        "participants": [owner.pk, lead.pk],
        "cause": chosen.pk,
        "gap": "Two engineers moved to the outage.",
        "next_step": {
            "what": "Re-plan the funnel work",
            "owner": owner.pk,
            "due": STEP_DUE.isoformat(),
        },
    }
    data.update(changes)
    return data


def test_the_list_and_one_response(
    lead: Any, owner: Any, response: MissResponse, quarter: Any
) -> None:
    listed = api_as(lead).get(URL, {"quarter": quarter.pk})
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["id"] == response.pk
    assert row["kind"] == "kr_missed"
    assert row["state"] == "awaiting"
    assert row["key_result"] == {"id": response.key_result_id, "title": "Raise trial conversion"}
    assert row["team"]["name"] == "Growth"
    assert row["accountable"]["username"] == "olga"
    assert row["holder"]["username"] == "lena"
    assert row["committed"] == response.committed
    assert row["next_step"] is None
    assert row["cause"] is None
    assert api_as(lead).get(f"{URL}{response.pk}/").json() == row


def test_record_then_mark_the_next_step_done(
    lead: Any, owner: Any, response: MissResponse, cause: ResponseCause
) -> None:
    answer = api_as(lead).patch(f"{URL}{response.pk}/", body(owner, lead, cause), format="json")
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert data["state"] == "in_progress"
    assert data["conversation_on"] == TALKED_ON.isoformat()
    assert {p["username"] for p in data["participants"]} == {"olga", "lena"}
    assert data["cause"] == {"id": cause.pk, "name": "Capacity"}
    assert data["next_step"]["what"] == "Re-plan the funnel work"
    assert data["next_step"]["owner"]["username"] == "olga"
    assert data["next_step"]["done_at"] is None

    done = api_as(owner).post(f"{URL}{response.pk}/next-step-done/")
    assert done.status_code == 200
    assert done.json()["state"] == "done"
    assert done.json()["next_step"]["done_at"] is not None
    again = api_as(owner).post(f"{URL}{response.pk}/next-step-done/")
    assert again.status_code == 400
    assert again.json() == ["The next step is already done."]


def test_a_rule_broken_is_a_400_on_its_field(
    lead: Any, owner: Any, teammate: Any, response: MissResponse, cause: ResponseCause
) -> None:
    client = api_as(owner)
    missing_lead = client.patch(
        f"{URL}{response.pk}/",
        body(owner, lead, cause, participants=[owner.pk, teammate.pk]),
        format="json",
    )
    assert missing_lead.status_code == 400
    assert "participants" in missing_lead.json()
    past = client.patch(
        f"{URL}{response.pk}/",
        body(owner, lead, cause, next_step={"what": "x", "owner": owner.pk, "due": str(YESTERDAY)}),
        format="json",
    )
    assert past.status_code == 400
    assert "due" in past.json()["next_step"]
    blank = client.patch(f"{URL}{response.pk}/", body(owner, lead, cause, gap=" "), format="json")
    assert blank.status_code == 400
    assert "gap" in blank.json()
    response.refresh_from_db()
    assert response.recorded_at is None


@pytest.mark.parametrize(
    "changes",
    [
        {"participants": [10**30]},
        {"participants": ["1e400"]},
        {"participants": [1.5]},
        {"participants": "olga"},
        {"participants": list(range(1, 60))},
        {"cause": 99999999999999999999},
        {"cause": None},
        {"conversation_on": "27/11/2026"},
        {"gap": "x" * 10_001},
        {"gap": "nul \x00"},
        {"next_step": {"what": "x", "owner": -1, "due": STEP_DUE.isoformat()}},
        {"next_step": {"what": "x", "owner": 1, "due": "9999-99-99"}},
        {"next_step": "soon"},
    ],
)
def test_malformed_input_is_a_400(
    lead: Any,
    owner: Any,
    response: MissResponse,
    cause: ResponseCause,
    changes: dict[str, Any],
) -> None:
    answer = api_as(lead).patch(
        f"{URL}{response.pk}/", body(owner, lead, cause, **changes), format="json"
    )
    assert answer.status_code == 400
    assert set(answer.json()) & set(changes)


def test_only_those_with_the_right_record_or_close(
    lead: Any, owner: Any, teammate: Any, response: MissResponse, cause: ResponseCause
) -> None:
    refused = api_as(teammate).patch(
        f"{URL}{response.pk}/", body(owner, lead, cause), format="json"
    )
    assert refused.status_code == 403
    api_as(lead).patch(f"{URL}{response.pk}/", body(owner, lead, cause), format="json")
    assert api_as(teammate).post(f"{URL}{response.pk}/next-step-done/").status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)


def test_no_next_step_yet_is_a_400(lead: Any, response: MissResponse) -> None:
    answer = api_as(lead).post(f"{URL}{response.pk}/next-step-done/")
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "params",
    [{"state": "lost"}, {"quarter": "x"}, {"team": "99999999999999999999"}, {"person": "1.5"}],
)
def test_bad_filters_are_a_400(lead: Any, params: dict[str, str]) -> None:
    assert api_as(lead).get(URL, params).status_code == 400


def test_unknown_ids_are_a_404(lead: Any) -> None:
    client = api_as(lead)
    assert client.get(f"{URL}424242/").status_code == 404
    assert client.get(f"{URL}99999999999999999999/").status_code == 404
    assert client.patch(f"{URL}abc/", {}, format="json").status_code == 404


def test_filters(
    lead: Any,
    owner: Any,
    teammate: Any,
    platform_lead: Any,
    key_result: Any,
    quarter: Any,
    cause: ResponseCause,
) -> None:
    mine = open_response(key_result, quarter)
    recorded = open_response(
        KeyResultFactory(objective=key_result.objective, owner=owner, title="Recorded"), quarter
    )
    api_as(lead).patch(f"{URL}{recorded.pk}/", body(owner, lead, cause), format="json")
    platform = platform_lead.led_teams.get()
    theirs = open_response(
        KeyResultFactory(
            objective=ObjectiveFactory(quarter=quarter, team=platform), owner=platform_lead
        ),
        quarter,
    )
    client = api_as(lead)

    def ids(**params: Any) -> list[int]:
        answer = client.get(URL, params)
        assert answer.status_code == 200
        return [r["id"] for r in answer.json()["results"]]

    assert set(ids(quarter=quarter.pk)) == {mine.pk, recorded.pk, theirs.pk}
    assert set(ids(team=platform.pk)) == {theirs.pk}
    assert ids(state="in_progress") == [recorded.pk]
    assert set(ids(state="awaiting")) == {mine.pk, theirs.pk}
    assert set(ids(person=owner.pk)) == {mine.pk, recorded.pk}
    assert ids(person=teammate.pk) == []


def _count(client: APIClient, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get(URL, params)
    assert answer.status_code == 200
    return len(ctx.captured_queries)


def test_the_list_costs_the_same_queries_for_5_and_50_responses(
    lead: Any, owner: Any, objective: Any, quarter: Any, cause: ResponseCause
) -> None:
    client = api_as(lead)

    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            r = open_response(
                KeyResultFactory(objective=objective, owner=owner, title=f"KR {n}"), quarter, n
            )
            if n % 2:
                client.patch(f"{URL}{r.pk}/", body(owner, lead, cause), format="json")

    add(5, 0)
    few = _count(client, {"quarter": quarter.pk})
    add(45, 5)
    assert _count(client, {"quarter": quarter.pk}) == few
    assert _count(client, {"quarter": quarter.pk, "state": "awaiting"}) == few


def test_the_schema_documents_the_operations(client_for: Any, lead: Any) -> None:
    schema = client_for(lead).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    assert {"get", "patch"} <= set(paths["/api/responses/{id}/"])
    assert "post" in paths["/api/responses/{id}/next-step-done/"]
    patch = paths["/api/responses/{id}/"]["patch"]
    assert "examples" in patch["requestBody"]["content"]["application/json"]
    assert {"400", "403"} <= set(patch["responses"])
    states = [p for p in paths["/api/responses/"]["get"]["parameters"] if p["name"] == "state"]
    assert states[0]["schema"]["enum"] == ["awaiting", "done", "in_progress", "overdue"]


def test_dates_are_those_of_the_record(
    lead: Any, owner: Any, response: MissResponse, cause: ResponseCause
) -> None:
    api_as(lead).patch(f"{URL}{response.pk}/", body(owner, lead, cause), format="json")
    step = MissResponse.objects.get(pk=response.pk).next_step
    assert step.due == STEP_DUE
    assert step.owner == owner
