"""Dependency pages: htmx request form, Asked of me, detail actions, team promises, API."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from dependencies import services
from dependencies.models import Dependency
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
HTMX = {"HTTP_HX_REQUEST": "true"}


def request_form(platform: Any, provider: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "deliverable": "Billing API v2",
        "provider_team": platform.pk,
        "responsible": provider.pk,
        "due_date": "2026-12-01",
        "rank": "",
    }
    data.update(overrides)
    return data


def test_owner_sees_the_request_form_others_do_not(
    client_for: Any, owner: Any, teammate: Any, key_result: Any
) -> None:
    assert (
        "Request a dependency"
        in client_for(owner).get(key_result.get_absolute_url()).content.decode()
    )
    assert (
        "Request a dependency"
        not in client_for(teammate).get(key_result.get_absolute_url()).content.decode()
    )


def test_htmx_request_returns_the_panel_with_the_new_row(
    client_for: Any, owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    response = client_for(owner).post(
        reverse("dependencies:request", args=[key_result.pk]),
        request_form(platform, provider),
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a fragment, swapped in place
    assert 'id="dependencies-panel"' in html
    assert "Billing API v2" in html
    assert "Requested" in html
    assert Dependency.objects.get().responsible == provider


def test_bad_request_keeps_what_was_typed_and_says_what_to_change(
    client_for: Any, owner: Any, key_result: Any, platform: Any, teammate: Any
) -> None:
    response = client_for(owner).post(
        reverse("dependencies:request", args=[key_result.pk]),
        request_form(platform, teammate, deliverable="Webhooks for invoices"),
        **HTMX,
    )
    html = response.content.decode()
    assert "Tim Teammate is not on Platform" in html
    assert 'value="Webhooks for invoices"' in html
    assert 'value="2026-12-01"' in html
    assert not Dependency.objects.exists()


def test_outside_the_quarter_asks_for_confirmation_then_accepts(
    client_for: Any, owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    client = client_for(owner)
    url = reverse("dependencies:request", args=[key_result.pk])
    html = client.post(
        url, request_form(platform, provider, due_date="2027-01-20"), **HTMX
    ).content.decode()
    assert "Tick the box to confirm" in html
    assert not Dependency.objects.exists()
    client.post(
        url,
        request_form(platform, provider, due_date="2027-01-20", confirm_outside_quarter="on"),
        **HTMX,
    )
    assert Dependency.objects.get().due_date == date(2027, 1, 20)


def test_non_owner_post_is_refused(
    client_for: Any, teammate: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    response = client_for(teammate).post(
        reverse("dependencies:request", args=[key_result.pk]), request_form(platform, provider)
    )
    assert response.status_code == 403
    assert not Dependency.objects.exists()


def test_asked_of_me_lists_the_request_and_commits_in_one_click(
    client_for: Any, request_dependency: Any, provider: Any
) -> None:
    dep = request_dependency()
    client = client_for(provider)
    html = client.get(reverse("asked_of_me")).content.decode()
    assert "Dependency request" in html
    assert "Billing API v2" in html
    response = client.post(
        reverse("dependencies:act", args=[dep.pk, "commit"]), {"from": "asked"}, **HTMX
    )
    assert "You committed" in response.content.decode()
    dep.refresh_from_db()
    assert dep.status == Dependency.Status.COMMITTED
    assert "Billing API v2" not in client.get(reverse("asked_of_me")).content.decode()


def test_asked_of_me_query_count_is_fixed(
    client_for: Any, owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    client = client_for(provider)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("asked_of_me")).status_code == 200
        return len(ctx.captured_queries)

    services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="One",
        due_date=date(2026, 12, 1),
    )
    few = count()
    for i in range(30):
        services.dependency_request(
            user=owner,
            key_result=key_result,
            provider_team=platform,
            responsible=provider,
            deliverable=f"Thing {i}",
            due_date=date(2026, 12, 1),
        )
    assert count() == few


def test_key_result_and_team_pages_query_counts_are_fixed(
    client_for: Any, owner: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    client = client_for(owner)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        for _ in range(n):
            team = TeamFactory()
            person = UserFactory()
            MembershipFactory(user=person, team=team)
            services.dependency_request(
                user=owner,
                key_result=key_result,
                provider_team=team,
                responsible=person,
                deliverable="Something",
                due_date=date(2026, 12, 1),
            )

    add(1)
    few = (count(key_result.get_absolute_url()), count(reverse("team_detail", args=["platform"])))
    add(25)
    assert (
        count(key_result.get_absolute_url()),
        count(reverse("team_detail", args=["platform"])),
    ) == few


def test_team_page_shows_what_the_team_promised(
    client_for: Any, outsider: Any, request_dependency: Any, provider: Any
) -> None:
    services.dependency_commit(dependency=request_dependency(), user=provider)
    html = client_for(outsider).get(reverse("team_detail", args=["platform"])).content.decode()
    assert "Promised to other teams" in html
    assert "Billing API v2" in html
    assert "Committed" in html


def test_detail_page_offers_the_right_answers(
    client_for: Any, request_dependency: Any, provider: Any, owner: Any
) -> None:
    dep = request_dependency()
    provider_html = client_for(provider).get(dep.get_absolute_url()).content.decode()
    assert "Commit</button>" in provider_html
    assert "Decline" in provider_html
    owner_html = client_for(owner).get(dep.get_absolute_url()).content.decode()
    assert "Commit</button>" not in owner_html
    assert "Nothing for you to do here" in owner_html


def test_decline_without_reason_shows_the_message_and_keeps_state(
    client_for: Any, request_dependency: Any, provider: Any
) -> None:
    dep = request_dependency()
    response = client_for(provider).post(
        reverse("dependencies:act", args=[dep.pk, "decline"]), {"decline-reason": ""}
    )
    assert response.status_code == 400
    assert "Say why you decline" in response.content.decode()
    dep.refresh_from_db()
    assert dep.status == Dependency.Status.REQUESTED


def test_counter_without_date_is_refused_with_typed_text_kept(
    client_for: Any, request_dependency: Any, provider: Any
) -> None:
    dep = request_dependency()
    response = client_for(provider).post(
        reverse("dependencies:act", args=[dep.pk, "counter"]),
        {"due_date": "", "deliverable": "Read-only API", "note": "Write needs a migration"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "needs the date" in html
    assert 'value="Read-only API"' in html
    assert "Write needs a migration" in html


def test_answer_by_someone_else_is_a_403_then_the_right_person_succeeds(
    client_for: Any, request_dependency: Any, provider: Any, teammate: Any
) -> None:
    dep = request_dependency()
    url = reverse("dependencies:act", args=[dep.pk, "commit"])
    assert client_for(teammate).post(url).status_code == 403
    assert client_for(provider).post(url).status_code == 302
    dep.refresh_from_db()
    assert dep.status == Dependency.Status.COMMITTED


class TestApi:
    def api(self, user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    def test_create_commit_and_list(
        self, owner: Any, provider: Any, key_result: Any, platform: Any, teammate: Any
    ) -> None:
        payload = {
            "key_result": key_result.pk,
            "provider_team": "platform",
            "responsible": provider.pk,
            "deliverable": "Billing API v2",
            "due_date": "2026-12-01",
        }
        assert self.api(teammate).post("/api/dependencies/", payload).status_code == 403
        created = self.api(owner).post("/api/dependencies/", payload)
        assert created.status_code == 201
        pk = created.json()["id"]
        assert self.api(teammate).post(f"/api/dependencies/{pk}/commit/").status_code == 403
        committed = self.api(provider).post(f"/api/dependencies/{pk}/commit/")
        assert committed.json()["status"] == "committed"
        again = self.api(provider).post(f"/api/dependencies/{pk}/commit/")
        assert again.status_code == 400
        assert "already committed" in again.json()[0]
        listed = self.api(teammate).get("/api/dependencies/", {"key_result": key_result.pk})
        assert listed.json()["count"] == 1

    def test_bad_input_is_a_400_naming_the_field(
        self, owner: Any, key_result: Any, teammate: Any
    ) -> None:
        response = self.api(owner).post(
            "/api/dependencies/",
            {
                "key_result": key_result.pk,
                "provider_team": "growth",
                "responsible": teammate.pk,
                "deliverable": "x",
                "due_date": "2026-12-01",
            },
        )
        assert response.status_code == 400
        assert "own team" in response.json()["provider_team"][0]

    def test_counter_decline_deliver(
        self, request_dependency: Any, provider: Any, owner: Any
    ) -> None:
        dep = request_dependency()
        api = self.api(provider)
        no_date = api.post(f"/api/dependencies/{dep.pk}/counter/", {"deliverable": "less"})
        assert no_date.status_code == 400
        assert "needs the date" in no_date.json()["due_date"][0]
        countered = api.post(f"/api/dependencies/{dep.pk}/counter/", {"due_date": "2026-12-09"})
        assert countered.json()["status"] == "countered"
        accepted = self.api(owner).post(f"/api/dependencies/{dep.pk}/accept-counter/")
        assert (accepted.json()["status"], accepted.json()["due_date"]) == (
            "committed",
            "2026-12-09",
        )
        assert api.post(f"/api/dependencies/{dep.pk}/deliver/").json()["status"] == "delivered"

    def test_list_query_count_is_fixed(
        self, owner: Any, key_result: Any, request_dependency: Any
    ) -> None:
        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert self.api(owner).get("/api/dependencies/").status_code == 200
            return len(ctx.captured_queries)

        request_dependency()
        few = count()
        for i in range(20):
            request_dependency(deliverable=f"Thing {i}")
        assert count() == few
