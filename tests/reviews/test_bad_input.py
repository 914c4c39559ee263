"""The dashboard's pages and API answer bad parameters with 400/404 and a message, never
500: ids that are not ASCII numbers ("²"), ids beyond any column, a nudge about item
99999999999999999999, and a department that is itself a sub-team."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from reviews.models import Nudge
from tests.factories import TeamFactory
from tests.reviews.conftest import Org

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # more than bigint holds


@pytest.fixture
def api(org: Org) -> APIClient:
    client = APIClient()
    client.force_authenticate(org.person("Lea"))
    return client


@pytest.mark.parametrize("value", ["²", HUGE, "-3", "1.5"])
@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/dashboard/org/", "quarter"),
        ("/api/dashboard/people/", "quarter"),
        ("/api/dashboard/people/", "team"),
    ],
)
def test_api_id_parameters_answer_400_with_the_parameters_name(
    api: APIClient, url: str, name: str, value: str
) -> None:
    response = api.get(url, {name: value})
    assert response.status_code == 400
    assert response.json() == {name: [f"{name} must be a number (an id)."]}


@pytest.mark.parametrize("value", ["²", HUGE])
@pytest.mark.parametrize(
    ("url", "name", "message"),
    [
        ("/dashboard/", "quarter", "No such quarter."),
        ("/dashboard/people/", "quarter", "No such quarter."),
        ("/dashboard/people/", "team", "No such team."),
        ("/dashboard/risks/", "quarter", "No such quarter."),
    ],
)
def test_page_id_parameters_that_name_nothing_answer_404(
    reader: Any, url: str, name: str, message: str, value: str
) -> None:
    response = reader.get(url, {name: value})
    assert response.status_code == 404
    assert message in response.content.decode()


@pytest.mark.parametrize("number", ["²", HUGE, "-1"])
def test_the_risk_feed_shows_its_first_page_for_a_page_number_it_cannot_use(
    reader: Any, number: str
) -> None:
    response = reader.get("/dashboard/risks/", {"page": number})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "fields",
    [{"item": HUGE, "kind": "dependency"}, {"item": "²"}, {"person": "²"}, {"person": HUGE}],
)
def test_a_nudge_about_an_id_no_column_holds_answers_404(
    org: Org, reader: Any, fields: dict[str, str]
) -> None:
    data = {"person": org.person("Gina").pk, "kind": "person", **fields}
    response = reader.post("/dashboard/nudge/", data)
    assert response.status_code == 404
    assert not Nudge.objects.exists()


def test_a_sub_teams_department_view_lists_its_own_teams(
    org: Org, reader: Any, api: APIClient
) -> None:
    """Growth is a team under Commerce; with a team of its own below it, its expand (HTML)
    and its API both list Growth's subtree instead of failing on an empty IN ()."""
    growth = org.teams["Growth"]
    TeamFactory(name="Growth EU", slug="growth-eu", parent=growth)
    page = reader.get(f"/dashboard/departments/{growth.pk}/")
    assert page.status_code == 200
    assert "Growth" in page.content.decode()
    body = api.get(f"/api/dashboard/departments/{growth.pk}/").json()
    assert [row["team"]["name"] for row in body["teams"]] == ["Growth"]
    # Its figures are the same as in its top-level department's expand.
    top = api.get(f"/api/dashboard/departments/{org.teams['Commerce'].pk}/").json()
    assert body["teams"][0] in top["teams"]


def test_a_team_without_any_team_below_or_figures_gives_an_empty_list(
    org: Org, api: APIClient
) -> None:
    finance = org.teams["Finance"]
    response = api.get(f"/api/dashboard/departments/{finance.pk}/")
    assert response.status_code == 200
    assert response.json()["teams"] == []
