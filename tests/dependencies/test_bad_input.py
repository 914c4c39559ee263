"""Bad input to a dependency answers 400 with a message, never 500, and writes nothing: a
rank beyond the smallint column, NUL in a body or a filter, ids that are not numbers, and
due dates at the end of the calendar."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dependencies import services
from dependencies.models import Dependency, DependencyEvent
from okrly.errors import RuleBroken
from okrly.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def week7() -> Iterator[Any]:
    with time_machine.travel("2026-11-17 09:30:00+00:00", tick=False) as traveller:
        yield traveller


def api_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def request_body(kr: Any, provider: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "key_result": kr.pk,
        "provider_team": "platform",
        "responsible": provider.pk,
        "deliverable": "Billing API v2",
        "due_date": "2026-12-01",
        **overrides,
    }


def nothing_written() -> bool:
    return not (
        Dependency.objects.exists()
        or DependencyEvent.objects.exists()
        or Notification.objects.exists()
    )


@pytest.mark.parametrize("rank", [32768, 99999, 2**63])
def test_a_rank_beyond_the_smallint_column_is_refused(
    owner: Any, key_result: Any, provider: Any, rank: int
) -> None:
    response = api_for(owner).post(
        "/api/dependencies/", request_body(key_result, provider, rank=rank), format="json"
    )
    assert response.status_code == 400
    assert response.json()["rank"] == ["Ensure this value is less than or equal to 32767."]
    assert nothing_written()


def test_the_service_refuses_a_rank_beyond_the_column_too(
    owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    with pytest.raises(RuleBroken) as excinfo:
        services.dependency_request(
            user=owner,
            key_result=key_result,
            provider_team=platform,
            responsible=provider,
            deliverable="Billing API v2",
            due_date=date(2026, 12, 1),
            rank=99999,
        )
    assert (excinfo.value.field, excinfo.value.message) == (
        "rank",
        "Rank goes up to 32767; choose a smaller rank.",
    )
    assert nothing_written()


def test_the_largest_rank_the_column_holds_is_accepted(
    owner: Any, key_result: Any, provider: Any
) -> None:
    response = api_for(owner).post(
        "/api/dependencies/", request_body(key_result, provider, rank=32767), format="json"
    )
    assert response.status_code == 201
    assert Dependency.objects.get().rank == 32767


@pytest.mark.parametrize(
    "overrides",
    [
        {"provider_team": "\u0000"},
        {"provider_team": "plat\u0000form"},
        {"deliverable": "Billing\u0000API"},
        {"responsible": "\u0000"},
        {"key_result": "1\u0000"},
    ],
)
def test_nul_in_a_body_is_refused(
    owner: Any, key_result: Any, provider: Any, overrides: dict[str, str]
) -> None:
    response = api_for(owner).post(
        "/api/dependencies/", request_body(key_result, provider, **overrides), format="json"
    )
    assert response.status_code == 400
    (name,) = overrides
    assert response.json()[name]
    assert nothing_written()


@pytest.mark.parametrize(
    "query",
    ["status=%00", "status=open%00", "key_result=%00", "deliverable=%00&status=x"],
)
def test_nul_in_a_filter_is_refused(owner: Any, query: str) -> None:
    response = api_for(owner).get(f"/api/dependencies/?{query}")
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("key_result=%C2%B2", "key_result"),
        ("responsible=%C2%B2", "responsible"),
        ("responsible=99999999999999999999", "responsible"),
        ("key_result=-1", "key_result"),
    ],
)
def test_id_filters_refuse_what_is_no_id(owner: Any, query: str, name: str) -> None:
    response = api_for(owner).get(f"/api/dependencies/?{query}")
    assert response.status_code == 400
    assert response.json()[name] == [f"{name} must be a number (an id)."]


def test_a_dependency_due_on_the_calendars_last_day_can_be_committed(
    owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    """Such a row may exist (it was accepted before due dates were bounded): committing it
    must work, and it never escalates (there is no day after it)."""
    dep = services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 1),
    )
    Dependency.objects.filter(pk=dep.pk).update(due_date=date.max)
    response = api_for(provider).post(f"/api/dependencies/{dep.pk}/commit/")
    assert response.status_code == 200, response.content
    dep.refresh_from_db()
    assert (dep.status, dep.next_escalation_at) == (Dependency.Status.COMMITTED, None)


@pytest.mark.parametrize("due", ["9999-12-31", "2028-01-02"])
def test_a_due_date_more_than_a_year_after_the_quarter_is_refused(
    owner: Any, key_result: Any, provider: Any, due: str
) -> None:
    response = api_for(owner).post(
        "/api/dependencies/",
        request_body(key_result, provider, due_date=due, confirm_outside_quarter=True),
        format="json",
    )
    assert response.status_code == 400
    (message,) = response.json()["due_date"]
    assert "is more than a year after 2026 Q4 ends (31 Dec 2026)" in message
    assert nothing_written()


def test_a_counter_proposal_to_the_end_of_the_calendar_is_refused(
    owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    dep = services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 1),
    )
    response = api_for(provider).post(
        f"/api/dependencies/{dep.pk}/counter/", {"due_date": "9999-12-31"}, format="json"
    )
    assert response.status_code == 400
    assert "more than a year after" in response.json()["due_date"][0]
    dep.refresh_from_db()
    assert (dep.status, dep.proposed_due_date) == (Dependency.Status.REQUESTED, None)


def test_the_request_form_refuses_a_rank_beyond_the_column_beside_the_field(
    client_for: Any, owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    response = client_for(owner).post(
        reverse("dependencies:request", args=[key_result.pk]),
        {
            "deliverable": "Billing API v2",
            "provider_team": platform.pk,
            "responsible": provider.pk,
            "due_date": "2026-12-01",
            "rank": "99999",
        },
    )
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 32767." in response.content.decode()
    assert nothing_written()
