"""Objectives pages: grouping, owners, forms that keep what was typed, fixed query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from objectives.models import KeyResult, Objective
from tests.factories import KeyResultFactory, ObjectiveFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def build_objectives(quarter: Any, teams: int, per_team: int) -> None:
    for t in range(teams):
        team = TeamFactory(lead=UserFactory())
        for _ in range(per_team):
            objective = ObjectiveFactory(quarter=quarter, team=team)
            for _ in range(3):
                KeyResultFactory(objective=objective, owner=UserFactory())
        del t


def count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_objectives_page_groups_by_team_with_owner_and_progress(
    client_for: Any, outsider: Any, key_result: Any
) -> None:
    response = client_for(outsider).get(reverse("objectives:list"))
    html = response.content.decode()
    assert "Growth" in html
    assert "Grow self-serve revenue" in html
    assert "Raise trial conversion" in html
    assert "Olga Owner" in html
    assert '<progress value="25" max="100">' in html


def test_objectives_page_query_count_does_not_grow(
    client_for: Any, outsider: Any, quarter: Any
) -> None:
    client = client_for(outsider)
    build_objectives(quarter, teams=2, per_team=2)
    small = count_queries(client, reverse("objectives:list"))
    build_objectives(quarter, teams=10, per_team=5)  # 54 objectives, 162 key results in all
    assert Objective.objects.count() >= 50
    large = count_queries(client, reverse("objectives:list"))
    assert large == small, f"{small} queries for 4 objectives, {large} for 54"
    # Session, user, quarters, objectives, key results (+owners), accountability badges (2),
    # and the definition flag (8: dependencies' teams, the quarter's alignment, team leads,
    # lead memberships, leadership, the people, versions, acknowledgements).
    assert large <= 18


def test_other_quarter_is_selectable(client_for: Any, outsider: Any, objective: Any) -> None:
    response = client_for(outsider).get(
        reverse("objectives:list"), {"quarter": objective.quarter_id}
    )
    assert objective.title in response.content.decode()
    assert client_for(outsider).get(reverse("objectives:list"), {"quarter": 999}).status_code == 404


def test_key_result_page_shows_the_owner(client_for: Any, outsider: Any, key_result: Any) -> None:
    response = client_for(outsider).get(key_result.get_absolute_url())
    html = response.content.decode()
    assert "Olga Owner" in html
    assert "Raise trial conversion" in html
    assert "Edit" not in html  # the outsider may read, not edit


def test_key_result_page_query_count_is_fixed(
    client_for: Any, outsider: Any, key_result: Any
) -> None:
    # Session, user, key result; the panels: ownership (test, handover, grants, history,
    # rights of the viewer), dependencies, check-in timeline and its revisions; the
    # objective's definition flag (8 at most: see objectives.definitions.definition_statuses);
    # early escalations (the viewer's membership of the team, the escalations); carry-over
    # (where it was carried from or into, and whether the viewer leads its team); the
    # timeline's threads and whether the viewer leads the owner (their Seen), and the owner's
    # zone (their missed weeks).
    assert count_queries(client_for(outsider), key_result.get_absolute_url()) <= 29


def test_lead_creates_an_objective_and_a_key_result_through_the_forms(
    client_for: Any, lead: Any, owner: Any, quarter: Any, growth: Any
) -> None:
    client = client_for(lead)
    response = client.post(
        reverse("objectives:create"),
        {"quarter": quarter.pk, "team": growth.pk, "title": "Own the SMB segment", "rank": ""},
    )
    assert response.status_code == 302
    objective = Objective.objects.get(title="Own the SMB segment")
    response = client.post(
        reverse("objectives:key_result_create", args=[objective.pk]),
        {
            "title": "Paying SMB teams",
            "owner": owner.pk,
            "direction": "increase",
            "start_value": "0",
            "target_value": "50",
            "current_value": "",
            "unit": "teams",
        },
    )
    key_result = KeyResult.objects.get(title="Paying SMB teams")
    assert response["Location"] == key_result.get_absolute_url()
    assert key_result.owner == owner


def test_bad_key_result_input_is_explained_and_kept(
    client_for: Any, lead: Any, owner: Any, objective: Any
) -> None:
    response = client_for(lead).post(
        reverse("objectives:key_result_create", args=[objective.pk]),
        {
            "title": "Cut churn",
            "owner": owner.pk,
            "direction": "increase",
            "start_value": "8",
            "target_value": "4",
            "unit": "%",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "must be above the start" in html or "above the start" in html
    assert 'value="Cut churn"' in html
    assert 'value="4"' in html
    assert not KeyResult.objects.filter(title="Cut churn").exists()


def test_key_result_without_owner_is_refused_in_the_form(
    client_for: Any, lead: Any, objective: Any
) -> None:
    response = client_for(lead).post(
        reverse("objectives:key_result_create", args=[objective.pk]),
        {
            "title": "Nobody owns this",
            "direction": "increase",
            "start_value": "0",
            "target_value": "3",
        },
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert 'value="Nobody owns this"' in response.content.decode()


def test_non_lead_gets_a_plain_403_on_the_forms(
    client_for: Any, owner: Any, objective: Any, key_result: Any
) -> None:
    client = client_for(owner)
    for url in [
        reverse("objectives:create"),
        reverse("objectives:edit", args=[objective.pk]),
        reverse("objectives:key_result_create", args=[objective.pk]),
        reverse("objectives:key_result_edit", args=[key_result.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "lead" in response.content.decode()


def test_lead_edits_a_key_result_but_not_its_owner(
    client_for: Any, lead: Any, owner: Any, teammate: Any, key_result: Any
) -> None:
    client = client_for(lead)
    assert (
        'name="owner"'
        not in client.get(
            reverse("objectives:key_result_edit", args=[key_result.pk])
        ).content.decode()
    )
    response = client.post(
        reverse("objectives:key_result_edit", args=[key_result.pk]),
        {
            "title": "Raise trial conversion",
            "owner": teammate.pk,  # ignored: not a field of the edit form
            "direction": "increase",
            "start_value": "10",
            "target_value": "35",
            "current_value": "20",
            "unit": "%",
        },
    )
    assert response.status_code == 302
    key_result.refresh_from_db()
    assert (key_result.owner, key_result.target_value, key_result.current_value) == (
        owner,
        35,
        20,
    )


def test_my_week_lists_my_key_results(
    client_for: Any, owner: Any, key_result: Any, frozen_now: Any
) -> None:
    html = client_for(owner).get(reverse("home")).content.decode()
    assert "Raise trial conversion" in html


def test_team_page_and_dashboard_query_counts_are_fixed(
    client_for: Any,
    outsider: Any,
    quarter: Any,
    growth: Any,
    frozen_now: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(outsider)
    build_objectives(quarter, teams=2, per_team=2)
    small = [count_queries(client, u) for u in ("/teams/", "/dashboard/", "/teams/growth/")]
    # Growing commits, as a real write does: the dashboard cache is invalidated on commit.
    with django_capture_on_commit_callbacks(execute=True):
        build_objectives(quarter, teams=12, per_team=4)
    large = [count_queries(client, u) for u in ("/teams/", "/dashboard/", "/teams/growth/")]
    assert small == large


def test_dashboard_and_team_list_show_a_team_without_a_lead(
    client_for: Any, outsider: Any, key_result: Any, frozen_now: Any
) -> None:
    """Growth has objectives but no lead: the pages say so instead of failing."""
    client = client_for(outsider)
    dashboard = client.get(reverse("reviews:dashboard"))
    assert dashboard.status_code == 200
    assert "Growth" in dashboard.content.decode()
    assert "No lead" in client.get(reverse("team_list")).content.decode()


def test_key_result_page_renders_each_panel_once_in_the_body(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    html = client_for(owner).get(key_result.get_absolute_url()).content.decode()
    title = html[html.index("<title>") : html.index("</title>")]
    assert title == "<title>Raise trial conversion · OKRly"
    assert html.count('id="dependencies-panel"') == 1
