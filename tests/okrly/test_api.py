"""API base: token and session auth, read endpoints, fixed query counts, schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import KeyResultFactory, ObjectiveFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(outsider: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")
    return client


def test_token_authenticates(api: APIClient, key_result: Any) -> None:
    response = api.get("/api/key-results/")
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["title"] == "Raise trial conversion"
    assert row["owner"]["username"] == "olga"
    assert row["progress"] == 25


def test_bad_token_is_refused(key_result: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/key-results/").status_code == 401


def test_session_authenticates(client_for: Any, outsider: Any, quarter: Any) -> None:
    response = client_for(outsider).get("/api/quarters/")
    assert response.json()["results"][0]["name"] == "2026 Q4"


def test_filters_and_bad_filter_values(api: APIClient, key_result: Any, quarter: Any) -> None:
    assert api.get("/api/key-results/", {"owner": key_result.owner_id}).json()["count"] == 1
    assert api.get("/api/key-results/", {"owner": 99999}).json()["count"] == 0
    response = api.get("/api/objectives/", {"quarter": "Q4"})
    assert response.status_code == 400
    assert "quarter must be a number" in response.json()["quarter"][0]


def test_teams_by_slug(api: APIClient, lead: Any, growth: Any) -> None:
    body = api.get("/api/teams/growth/").json()
    assert (body["name"], body["lead"]["username"]) == ("Growth", "lena")


def test_api_is_read_only_for_now(api: APIClient, key_result: Any) -> None:
    assert api.post("/api/key-results/", {"title": "x"}).status_code == 405


def _count(api: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    return len(ctx.captured_queries)


def _grow(quarter: Any, n: int) -> None:
    for _ in range(n):
        objective = ObjectiveFactory(quarter=quarter, team=TeamFactory(lead=UserFactory()))
        for _ in range(2):
            KeyResultFactory(objective=objective, owner=UserFactory())


@pytest.mark.parametrize("url", ["/api/objectives/", "/api/key-results/", "/api/teams/"])
def test_list_query_counts_do_not_grow(api: APIClient, quarter: Any, url: str) -> None:
    _grow(quarter, 3)
    small = _count(api, url)
    _grow(quarter, 40)
    assert _count(api, url) == small


def test_schema_and_docs_for_signed_in_users(client_for: Any, outsider: Any) -> None:
    client = client_for(outsider)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/key-results/" in schema.content.decode()
    docs = client.get("/api/docs/").content.decode()
    assert "cdn." not in docs
    assert "jsdelivr" not in docs
