"""Writing objectives through the API (issue 11, part 3): POST /api/objectives/ and PATCH
/api/objectives/{id}/ go through objective_create / objective_update, so the rights (the team's
leads and staff) and the priority limit are the pages' own.

Growth (led by Lena) has "Grow self-serve revenue" in the active 2026 Q4; its limit is 3.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from objectives import services
from objectives.definitions import publish_definition
from objectives.models import Objective
from okrly.models import Quarter
from tests.factories import ObjectiveFactory

pytestmark = pytest.mark.django_db

URL = "/api/objectives/"
READING = "We stop hiring quota reps until margin is back to 70%."


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def new_objective(quarter: Any, team: Any, **fields: Any) -> dict[str, Any]:
    return {
        "quarter": quarter.pk,
        "team": team.pk,
        "title": "Win back churned accounts",
        "means": "Accounts that left this year come back on a paid plan.",
        "does_not_mean": "Discounting new sign-ups.",
        "tradeoff_rule": "Retention wins over new features until churn is under 3%.",
        **fields,
    }


def fill_to_the_limit(quarter: Any, team: Any) -> None:
    have = Objective.objects.filter(quarter=quarter, team=team).count()
    for n in range(have, 3):
        ObjectiveFactory(quarter=quarter, team=team, title=f"Already planned {n}", rank=n + 1)


# --- POST --------------------------------------------------------------------------------------


def test_a_lead_creates_an_objective_with_its_definition(
    lead: Any, quarter: Any, growth: Any, objective: Any
) -> None:
    response = api_as(lead).post(URL, new_objective(quarter, growth), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    created = Objective.objects.get(pk=body["id"])
    assert (created.team, created.quarter, created.title) == (growth, quarter, body["title"])
    assert created.rank == 2  # after "Grow self-serve revenue"
    assert body["means"] == "Accounts that left this year come back on a paid plan."
    assert body["tradeoff_rule"].startswith("Retention wins")
    assert body["definition_version"] == 1
    assert body["definition_shared"] is False
    assert body["parent"] is None
    assert body["key_results"] == []


def test_staff_create_and_rank_and_parent_are_taken(
    admin_user: Any, quarter: Any, growth: Any, platform: Any
) -> None:
    growth.parent = platform
    growth.save()
    above = ObjectiveFactory(quarter=quarter, team=platform, title="Platform first")
    response = api_as(admin_user).post(
        URL, new_objective(quarter, growth, rank=7, parent=above.pk), format="json"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["rank"], response.json()["parent"]) == (7, above.pk)


@pytest.mark.parametrize("role", ["teammate", "owner", "platform_lead", "outsider"])
def test_only_the_teams_leads_and_staff_create(
    request: pytest.FixtureRequest, lead: Any, quarter: Any, growth: Any, role: str
) -> None:
    response = api_as(request.getfixturevalue(role)).post(
        URL, new_objective(quarter, growth), format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only a lead of Growth (or an administrator) can change its objectives and "
        "key results."
    }
    assert not Objective.objects.filter(title="Win back churned accounts").exists()


def test_over_the_limit_mid_quarter_a_trade_off_is_required(
    lead: Any, quarter: Any, growth: Any, objective: Any
) -> None:
    fill_to_the_limit(quarter, growth)

    response = api_as(lead).post(URL, new_objective(quarter, growth), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "trade_off_required",
        "limit": 3,
        "team": growth.pk,
        "team_name": "Growth",
        "detail": "Growth already has 3 objectives (the limit) and 2026 Q4 is under way: adding "
        "one now is a trade-off decision that says what it displaces.",
    }
    assert Objective.objects.filter(team=growth).count() == 3


def test_over_the_limit_in_planning_the_limit_is_reached(
    lead: Any, quarter: Any, growth: Any, objective: Any
) -> None:
    quarter.status = Quarter.Status.PLANNING
    quarter.save()
    fill_to_the_limit(quarter, growth)

    response = api_as(lead).post(URL, new_objective(quarter, growth), format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["limit"], body["team"]) == ("limit_reached", 3, growth.pk)
    assert "the limit for Growth in 2026 Q4" in body["detail"]


def test_a_team_limit_is_named_as_set(lead: Any, quarter: Any, growth: Any) -> None:
    growth.objective_limit = 1
    growth.save()
    ObjectiveFactory(quarter=quarter, team=growth)
    response = api_as(lead).post(URL, new_objective(quarter, growth), format="json")
    assert (response.status_code, response.json()["limit"]) == (400, 1)


def test_a_closed_quarter_takes_no_objective(lead: Any, quarter: Any, growth: Any) -> None:
    quarter.status = Quarter.Status.CLOSED
    quarter.save()
    response = api_as(lead).post(URL, new_objective(quarter, growth), format="json")
    assert response.status_code == 400
    assert "closed" in response.json()["quarter"][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"title": ["a list"]}, "title"),
        ({"means": {"a": "dict"}}, "means"),
        ({"rank": 0}, "rank"),
        ({"rank": 32768}, "rank"),
        ({"rank": "first"}, "rank"),
        ({"rank": 1.5}, "rank"),
        ({"quarter": "Q4"}, "quarter"),
        ({"quarter": 99999999}, "quarter"),
        ({"quarter": 10**30}, "quarter"),
        ({"quarter": True}, "quarter"),
        ({"team": -1}, "team"),
        ({"team": None}, "team"),
        ({"parent": "²"}, "parent"),
        ({"parent": 0}, "parent"),
    ],
)
def test_every_field_is_checked_before_the_service(
    lead: Any, quarter: Any, growth: Any, changes: dict[str, Any], field: str
) -> None:
    body = {**new_objective(quarter, growth), **changes}
    response = api_as(lead).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Objective.objects.exists()


@pytest.mark.parametrize("raw", ['{"quarter": 1e400, "team": 1, "title": "x"}', "[]", "7", '"x"'])
def test_odd_json_is_a_400(lead: Any, quarter: Any, growth: Any, raw: str) -> None:
    # 1e400 is JSON for infinity: an id that must not reach int() in the query.
    response = api_as(lead).post(URL, raw, content_type="application/json")
    assert response.status_code == 400


def test_the_title_column_length_is_the_limit(lead: Any, quarter: Any, growth: Any) -> None:
    response = api_as(lead).post(
        URL, new_objective(quarter, growth, title="x" * 200), format="json"
    )
    assert response.status_code == 201


def test_a_parent_from_an_unrelated_team_is_refused_by_the_service(
    lead: Any, quarter: Any, growth: Any, platform: Any
) -> None:
    sideways = ObjectiveFactory(quarter=quarter, team=platform)
    response = api_as(lead).post(
        URL, new_objective(quarter, growth, parent=sideways.pk), format="json"
    )
    assert response.status_code == 400
    assert "neither above Growth nor the leadership team" in response.json()["parent"][0]


# --- PATCH -------------------------------------------------------------------------------------


def test_a_lead_changes_an_objective(lead: Any, objective: Any) -> None:
    response = api_as(lead).patch(
        f"{URL}{objective.pk}/", {"title": "Grow revenue", "rank": 4}, format="json"
    )
    assert response.status_code == 200, response.content
    objective.refresh_from_db()
    assert (objective.title, objective.rank) == ("Grow revenue", 4)
    assert (response.json()["title"], response.json()["rank"]) == ("Grow revenue", 4)


def test_changing_an_acknowledged_definition_publishes_a_new_version(
    lead: Any, objective: Any
) -> None:
    publish_definition(objective=objective, author=lead)
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)

    response = api_as(lead).patch(
        f"{URL}{objective.pk}/", {"does_not_mean": "Discounts."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["definition_version"] == 2
    assert response.json()["acknowledgements"] == []


def test_a_parent_is_set_and_cleared(lead: Any, objective: Any, growth: Any, platform: Any) -> None:
    growth.parent = platform
    growth.save()
    above = ObjectiveFactory(quarter=objective.quarter, team=platform, title="Platform first")
    client = api_as(lead)
    url = f"{URL}{objective.pk}/"
    assert client.patch(url, {"parent": above.pk}, format="json").json()["parent"] == above.pk
    assert client.patch(url, {"parent": None}, format="json").json()["parent"] is None


def test_a_parent_of_its_own_team_is_refused(lead: Any, objective: Any, growth: Any) -> None:
    sibling = ObjectiveFactory(quarter=objective.quarter, team=growth)
    response = api_as(lead).patch(f"{URL}{objective.pk}/", {"parent": sibling.pk}, format="json")
    assert response.status_code == 400
    assert "Growth's own objective" in response.json()["parent"][0]


@pytest.mark.parametrize("role", ["teammate", "owner", "platform_lead", "outsider", "leader"])
def test_only_the_teams_leads_and_staff_change(
    request: pytest.FixtureRequest, lead: Any, objective: Any, role: str
) -> None:
    response = api_as(request.getfixturevalue(role)).patch(
        f"{URL}{objective.pk}/", {"title": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    assert "Only a lead of Growth" in response.json()["detail"]
    objective.refresh_from_db()
    assert objective.title == "Grow self-serve revenue"


def test_staff_change_an_objective(admin_user: Any, objective: Any) -> None:
    response = api_as(admin_user).patch(f"{URL}{objective.pk}/", {"means": "More."}, format="json")
    assert (response.status_code, response.json()["means"]) == (200, "More.")


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"rank": 0},
        {"rank": 10**6},
        {"parent": "nope"},
        {"parent": 10**25},
        {"tradeoff_rule": ["x"]},
    ],
)
def test_bad_changes_are_400(lead: Any, objective: Any, changes: dict[str, Any]) -> None:
    response = api_as(lead).patch(f"{URL}{objective.pk}/", changes, format="json")
    assert response.status_code == 400, response.content
    assert set(changes) <= set(response.json())


def test_unknown_objective_and_no_put_or_delete(lead: Any, objective: Any) -> None:
    client = api_as(lead)
    assert client.patch(f"{URL}999999/", {"title": "x"}, format="json").status_code == 404
    assert client.put(f"{URL}{objective.pk}/", {"title": "x"}, format="json").status_code == 405
    assert client.delete(f"{URL}{objective.pk}/").status_code == 405


def test_the_schema_documents_writing_and_the_trade_off_required_answer(lead: Any) -> None:
    schema = api_as(lead).get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/objectives/"]["post"]
    examples = create["responses"]["400"]["content"]["application/json"]["examples"]
    codes = {example["value"].get("code") for example in examples.values()}
    assert {"trade_off_required", "limit_reached"} <= codes
    assert create["requestBody"]["content"]["application/json"]["examples"]
    patch = schema["paths"]["/api/objectives/{id}/"]["patch"]
    assert patch["responses"]["403"]["content"]["application/json"]["examples"]
    request = schema["components"]["schemas"]["ObjectiveCreateRequest"]
    assert request["properties"]["title"]["maxLength"] == 200
    assert request["properties"]["rank"]["maximum"] == 32767
