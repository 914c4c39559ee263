"""Grading a key result when its quarter is reviewing (issue 13): the score by direction
(a decreasing key result past its target included), the outcome, the rights, the grading
ladder (once per rung), the My-week form and the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from objectives.models import KeyResult
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Quarter
from reviews import responses
from reviews.grade_ladder import grades_remind
from reviews.lifecycle import grade_score, key_result_grade, quarter_start_reviewing
from reviews.models import Grade, GradeReminder, MissResponse
from tests.factories import KeyResultFactory, ObjectiveFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
ANSWERS = {
    "what_happened": "Pricing changed mid-quarter.",
    "change_how_we_work": "Agree pricing changes a quarter ahead.",
}


@pytest.fixture
def reviewing(key_result: Any, leader: Any) -> Any:
    """The key result's quarter, now reviewing (its grade created)."""
    return quarter_start_reviewing(user=leader, quarter=key_result.objective.quarter)


def _kr(direction: str, start: int, target: int) -> KeyResult:
    return KeyResult(direction=direction, start_value=Decimal(start), target_value=Decimal(target))


# --- the score ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "score"),
    [(10, "0.000"), (20, "0.500"), (24, "0.700"), (30, "1.000"), (45, "1.000"), (0, "0.000")],
)
def test_increasing_score(final: int, score: str) -> None:
    assert grade_score(_kr("increase", 10, 30), Decimal(final)) == Decimal(score)


@pytest.mark.parametrize(
    ("final", "score"),
    [(100, "0.000"), (80, "0.500"), (60, "1.000"), (20, "1.000"), (130, "0.000"), (95, "0.125")],
)
def test_decreasing_score_including_past_its_target(final: int, score: str) -> None:
    # From 100 down to 60: 20 is past the target, a full score.
    assert grade_score(_kr("decrease", 100, 60), Decimal(final)) == Decimal(score)


@pytest.mark.parametrize(
    ("final", "outcome"),
    [
        ("30", "achieved"),
        ("24", "achieved"),
        ("23.9", "partly"),
        ("16", "partly"),
        ("15", "missed"),
    ],
)
def test_outcome_from_the_score(
    reviewing: Any, key_result: Any, owner: Any, final: str, outcome: str
) -> None:
    grade = key_result_grade(user=owner, key_result=key_result, final_value=final, **ANSWERS)
    assert grade.outcome == outcome


def test_achieved_threshold_is_a_setting(
    reviewing: Any, key_result: Any, owner: Any, settings: Any
) -> None:
    settings.KR_ACHIEVED_SCORE = 0.9
    grade = key_result_grade(user=owner, key_result=key_result, final_value="26", **ANSWERS)
    assert (grade.score, grade.outcome) == (Decimal("0.800"), Grade.Outcome.PARTLY)


def test_grading_decreasing_key_result_past_target(
    reviewing: Any, objective: Any, owner: Any
) -> None:
    kr = KeyResultFactory(
        objective=objective,
        owner=owner,
        direction="decrease",
        start_value=Decimal(50),
        target_value=Decimal(20),
    )
    grade = key_result_grade(user=owner, key_result=kr, final_value="5", **ANSWERS)
    assert (grade.score, grade.outcome) == (Decimal("1.000"), Grade.Outcome.ACHIEVED)


def test_grade_stores_the_answers_and_the_final_value(
    reviewing: Any, key_result: Any, owner: Any
) -> None:
    grade = key_result_grade(user=owner, key_result=key_result, final_value="22.5", **ANSWERS)
    grade.refresh_from_db()
    key_result.refresh_from_db()
    assert grade.final_value == Decimal("22.50")
    assert grade.score == Decimal("0.625")
    assert grade.what_happened == ANSWERS["what_happened"]
    assert grade.change_how_we_work == ANSWERS["change_how_we_work"]
    assert grade.graded_by == owner
    assert grade.next_escalation_at is None
    assert key_result.current_value == Decimal("22.50")  # the key result agrees with its grade


def test_regrading_is_allowed_while_reviewing(reviewing: Any, key_result: Any, owner: Any) -> None:
    key_result_grade(user=owner, key_result=key_result, final_value="12", **ANSWERS)
    grade = key_result_grade(user=owner, key_result=key_result, final_value="30", **ANSWERS)
    assert Grade.objects.get(key_result=key_result).outcome == grade.outcome == "achieved"


# --- rights and refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["lead", "leader", "manager", "teammate", "admin_user"])
def test_only_the_owner_grades(reviewing: Any, key_result: Any, who: str, request: Any) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(NotAllowed):
        key_result_grade(user=user, key_result=key_result, final_value="20", **ANSWERS)


@pytest.mark.parametrize(
    "status", [Quarter.Status.PLANNING, Quarter.Status.ACTIVE, Quarter.Status.CLOSED]
)
def test_grading_only_while_reviewing(key_result: Any, owner: Any, status: str) -> None:
    Quarter.objects.filter(pk=key_result.objective.quarter_id).update(status=status)
    with pytest.raises(RuleBroken, match="graded while the quarter is reviewing"):
        key_result_grade(user=owner, key_result=key_result, final_value="20", **ANSWERS)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"final_value": ""}, "final_value"),
        ({"final_value": "lots"}, "final_value"),
        ({"final_value": "1e400"}, "final_value"),
        ({"final_value": "NaN"}, "final_value"),
        ({"final_value": "1000000000000"}, "final_value"),
        ({"what_happened": "  "}, "what_happened"),
        ({"change_how_we_work": ""}, "change_how_we_work"),
    ],
)
def test_bad_input_is_refused_on_its_field(
    reviewing: Any, key_result: Any, owner: Any, changes: dict[str, str], field: str
) -> None:
    data = {"final_value": "20", **ANSWERS, **changes}
    with pytest.raises(RuleBroken) as refused:
        key_result_grade(user=owner, key_result=key_result, **data)
    assert refused.value.field == field
    assert Grade.objects.get(key_result=key_result).graded_at is None


# --- the ladder ---------------------------------------------------------------------------------


def _started(key_result: Any) -> Any:
    """When reviewing started: the first rung is due GRADE_MISSED_RUNG_HOURS[0] (24) later."""
    first_rung = Grade.objects.get(key_result=key_result).next_escalation_at
    assert first_rung is not None
    return first_rung - timedelta(hours=24)


def test_ladder_climbs_once_per_rung_and_stops_when_graded(
    reviewing: Any, key_result: Any, owner: Any, manager: Any, leader: Any
) -> None:
    start = _started(key_result)
    assert grades_remind(now=start + timedelta(hours=23)).escalated == 0
    first = grades_remind(now=start + timedelta(hours=24, minutes=1))
    again = grades_remind(now=start + timedelta(hours=24, minutes=2))
    assert (first.escalated, again.escalated) == (1, 0)
    assert Notification.objects.filter(kind="grade_missed_1", recipient=owner).count() == 1
    grades_remind(now=start + timedelta(hours=48, minutes=1))
    assert Notification.objects.filter(kind="grade_missed_2", recipient=manager).count() == 1
    key_result_grade(user=owner, key_result=key_result, final_value="20", **ANSWERS)
    assert grades_remind(now=start + timedelta(hours=200)).escalated == 0
    assert list(GradeReminder.objects.values_list("rung", flat=True).order_by("rung")) == [1, 2]


def test_ladder_reaches_leadership_and_ends(reviewing: Any, key_result: Any, leader: Any) -> None:
    start = timezone.now()
    for hours in (24, 48, 96, 200):
        grades_remind(now=start + timedelta(hours=hours, minutes=1))
    assert Notification.objects.filter(kind="grade_missed_3", recipient=leader).count() == 1
    grade = Grade.objects.get(key_result=key_result)
    assert (grade.escalation_rung, grade.next_escalation_at) == (3, None)


def test_ladder_stops_when_the_quarter_closes(reviewing: Any, key_result: Any) -> None:
    Quarter.objects.filter(pk=reviewing.pk).update(status=Quarter.Status.CLOSED)
    assert grades_remind(now=timezone.now() + timedelta(hours=30)).escalated == 0
    assert Grade.objects.get(key_result=key_result).next_escalation_at is None


# --- the missed-commitment trigger uses the grade ------------------------------------------------


def test_a_graded_score_decides_the_miss_at_close(
    reviewing: Any, objective: Any, key_result: Any, owner: Any
) -> None:
    # The current value says 15 of 10→30 (a miss); the grade says achieved: no response.
    other = KeyResultFactory(objective=objective, owner=owner, current_value=Decimal(29))
    key_result_grade(user=owner, key_result=key_result, final_value="30", **ANSWERS)
    KeyResult.objects.filter(pk=key_result.pk).update(current_value=Decimal(15))
    Grade.objects.get_or_create(key_result=other, defaults={"quarter": reviewing})
    Grade.objects.filter(key_result=other).update(score=Decimal("0.2"), outcome="missed")
    Quarter.objects.filter(pk=reviewing.pk).update(status=Quarter.Status.CLOSED)
    responses.responses_open_for_quarter(reviewing)
    missed = set(MissResponse.objects.values_list("key_result_id", flat=True))
    assert missed == {other.pk}


# --- My week ------------------------------------------------------------------------------------


def test_my_week_shows_a_grading_form_only_while_reviewing(
    client_for: Any, key_result: Any, owner: Any, leader: Any
) -> None:
    client = client_for(owner)
    assert 'id="my-grades"' not in client.get(reverse("home")).content.decode()
    quarter_start_reviewing(user=leader, quarter=key_result.objective.quarter)
    html = client.get(reverse("home")).content.decode()
    assert 'id="my-grades"' in html
    assert f'id="grade-{key_result.pk}"' in html
    assert "What would you change about how we work?" in html
    assert html.index('id="my-grades"') < html.index('id="my-checkins"')
    assert "check-in done" not in html  # no check-in forms for a reviewing quarter


def _post(key_result: Any, **data: str) -> dict[str, str]:
    fields = {"final_value": "26", **ANSWERS, **data}
    return {f"grade-{key_result.pk}-{k}": v for k, v in fields.items()}


def test_my_week_form_grades_with_htmx(
    client_for: Any, reviewing: Any, key_result: Any, owner: Any
) -> None:
    url = reverse("reviews:grade", args=[key_result.pk])
    response = client_for(owner).post(url, _post(key_result), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Graded: Achieved" in html
    assert Grade.objects.get(key_result=key_result).outcome == "achieved"


def test_my_week_form_without_javascript_redirects(
    client_for: Any, reviewing: Any, key_result: Any, owner: Any
) -> None:
    url = reverse("reviews:grade", args=[key_result.pk])
    response = client_for(owner).post(url, _post(key_result))
    assert response.status_code == 302
    assert Grade.objects.get(key_result=key_result).graded_at is not None


@pytest.mark.parametrize("htmx", [False, True])
def test_my_week_form_error_on_its_field_input_kept(
    client_for: Any, reviewing: Any, key_result: Any, owner: Any, htmx: bool
) -> None:
    url = reverse("reviews:grade", args=[key_result.pk])
    data = _post(key_result, final_value="a lot", what_happened="Typed words kept")
    response = client_for(owner).post(url, data, **(HTMX if htmx else {}))
    html = response.content.decode()
    assert response.status_code == (200 if htmx else 400)
    assert f'id="id_grade-{key_result.pk}-final_value_error"' in html
    assert "must be a number" in html
    assert "Typed words kept" in html
    assert Grade.objects.get(key_result=key_result).graded_at is None


def test_my_week_form_refuses_others(
    client_for: Any, reviewing: Any, key_result: Any, teammate: Any
) -> None:
    url = reverse("reviews:grade", args=[key_result.pk])
    assert client_for(teammate).post(url, _post(key_result)).status_code == 403


def test_my_week_form_404_when_not_reviewing(client_for: Any, key_result: Any, owner: Any) -> None:
    url = reverse("reviews:grade", args=[key_result.pk])
    assert client_for(owner).post(url, _post(key_result)).status_code == 404


def test_my_week_grading_query_count_does_not_grow(
    client_for: Any, reviewing: Any, objective: Any, owner: Any
) -> None:
    client = client_for(owner)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for _ in range(10):
        kr = KeyResultFactory(objective=ObjectiveFactory(quarter=reviewing), owner=owner)
        Grade.objects.create(key_result=kr, quarter=reviewing)
    assert count() == one


# --- starting the review from its page ---------------------------------------------------------


def test_leadership_starts_the_review_from_its_page(
    client_for: Any, key_result: Any, leader: Any
) -> None:
    url = reverse("reviews:start_review", args=[key_result.objective.quarter_id])
    client = client_for(leader)
    assert "Start the review now" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    assert Quarter.objects.get(pk=key_result.objective.quarter_id).status == "reviewing"
    assert client.post(url).status_code == 400  # not active any more


@pytest.mark.parametrize("who", ["owner", "lead"])
def test_others_cannot_open_the_start_review_page(
    client_for: Any, key_result: Any, who: str, request: Any
) -> None:
    url = reverse("reviews:start_review", args=[key_result.objective.quarter_id])
    client = client_for(request.getfixturevalue(who))
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403


# --- API ----------------------------------------------------------------------------------------


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_grades(reviewing: Any, key_result: Any, owner: Any) -> None:
    url = f"/api/key-results/{key_result.pk}/grade/"
    response = _api(owner).post(url, {"final_value": "16", **ANSWERS}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["score"], body["outcome"], body["final_value"]) == ("0.300", "partly", "16.00")


def test_api_accepts_a_json_number(reviewing: Any, key_result: Any, owner: Any) -> None:
    url = f"/api/key-results/{key_result.pk}/grade/"
    response = _api(owner).post(url, {"final_value": 30, **ANSWERS}, format="json")
    assert response.json()["outcome"] == "achieved"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"final_value": "x"}, "final_value"),
        ({"final_value": "9" * 30}, "final_value"),
        ({"what_happened": ""}, "what_happened"),
    ],
)
def test_api_refuses_bad_input(
    reviewing: Any, key_result: Any, owner: Any, data: dict[str, str], field: str
) -> None:
    url = f"/api/key-results/{key_result.pk}/grade/"
    response = _api(owner).post(url, {"final_value": "20", **ANSWERS, **data}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_api_rights_and_states(key_result: Any, owner: Any, teammate: Any, leader: Any) -> None:
    url = f"/api/key-results/{key_result.pk}/grade/"
    data = {"final_value": "20", **ANSWERS}
    assert _api(owner).post(url, data, format="json").status_code == 400  # still active
    quarter_start_reviewing(user=leader, quarter=key_result.objective.quarter)
    assert _api(teammate).post(url, data, format="json").status_code == 403
    assert (
        _api(owner).post("/api/key-results/999999/grade/", data, format="json").status_code == 404
    )
    assert APIClient().post(url, data, format="json").status_code in (401, 403)


def test_api_is_in_the_schema(client_for: Any, owner: Any) -> None:
    schema = client_for(owner).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/key-results/{id}/grade/"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "403"}
