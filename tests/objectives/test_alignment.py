"""Alignment: an objective serves a parent objective of the same quarter, owned by a team above
its own or by the leadership team; the alignment page shows the quarter's tree.

The org chart: Company (the leadership team: Lea, in the leadership group, leads it; Lars, also
leadership, is its member) above Growth (Lena leads it, Olga and Tim are members). Platform
(Paul leads it) is a top-level department beside Company, unrelated to Growth. The clock is
pinned by conftest (30 November 2026, inside 2026 Q4).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from objectives import services
from objectives.models import Objective
from okrly import access
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Membership
from tests.factories import (
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(leader: Any, growth: Any) -> Any:
    """The leadership team, above Growth."""
    team = TeamFactory(name="Company", slug="company", lead=leader)
    MembershipFactory(user=leader, team=team, role=Membership.Role.LEAD)
    lars = UserFactory(username="lars", first_name="Lars", last_name="Leadership")
    Group.objects.get(name="Leadership").user_set.add(lars)
    MembershipFactory(user=lars, team=team)
    growth.parent = team
    growth.save()
    return team


@pytest.fixture
def company_objective(quarter: Any, company: Any) -> Any:
    return ObjectiveFactory(quarter=quarter, team=company, title="Become the default OKR tool")


@pytest.fixture
def platform_objective(quarter: Any, platform: Any) -> Any:
    return ObjectiveFactory(quarter=quarter, team=platform, title="A platform teams trust")


# --- the service's rules -------------------------------------------------------------------------


def test_a_lead_aligns_an_objective_to_its_parent_teams_objective(
    lead: Any, objective: Any, company_objective: Any
) -> None:
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    objective.refresh_from_db()
    assert objective.parent == company_objective
    assert list(company_objective.children.all()) == [objective]


def test_an_ancestor_two_levels_up_is_a_valid_parent(
    lead: Any, quarter: Any, growth: Any, company: Any, company_objective: Any
) -> None:
    squad = TeamFactory(name="Growth Squad", slug="growth-squad", parent=growth)
    squad.lead = lead
    squad.save()
    squad_objective = ObjectiveFactory(quarter=quarter, team=squad, title="Ship trials")
    services.objective_align(user=lead, objective=squad_objective, parent=company_objective)
    assert Objective.objects.get(pk=squad_objective.pk).parent_id == company_objective.pk


def test_the_leadership_team_is_a_valid_parent_without_being_above(
    platform_lead: Any, platform_objective: Any, company_objective: Any
) -> None:
    # Platform is not under Company in the org chart; company objectives are for everyone.
    services.objective_align(
        user=platform_lead, objective=platform_objective, parent=company_objective
    )
    assert Objective.objects.get(pk=platform_objective.pk).parent_id == company_objective.pk


def test_an_objective_cannot_align_to_itself(lead: Any, objective: Any) -> None:
    with pytest.raises(RuleBroken, match="cannot align to itself"):
        services.objective_align(user=lead, objective=objective, parent=objective)


def test_an_alignment_that_would_make_a_loop_is_refused(
    leader: Any, lead: Any, objective: Any, company_objective: Any
) -> None:
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    # Company is not under Growth either, so the loop is the first thing said.
    with pytest.raises(RuleBroken, match="would make a loop"):
        services.objective_align(user=leader, objective=company_objective, parent=objective)
    company_objective.refresh_from_db()
    assert company_objective.parent is None


def test_a_parent_from_another_quarter_is_refused(lead: Any, objective: Any, company: Any) -> None:
    last_quarter = QuarterFactory(name="2026 Q3")
    old = ObjectiveFactory(quarter=last_quarter, team=company, title="Last quarter's aim")
    with pytest.raises(RuleBroken, match="is in 2026 Q3") as refusal:
        services.objective_align(user=lead, objective=objective, parent=old)
    assert refusal.value.field == "parent"


def test_a_parent_owned_by_an_unrelated_team_is_refused(
    lead: Any, objective: Any, platform_objective: Any
) -> None:
    with pytest.raises(RuleBroken, match="neither above Growth nor the leadership team"):
        services.objective_align(user=lead, objective=objective, parent=platform_objective)
    assert Objective.objects.get(pk=objective.pk).parent is None


def test_a_sibling_objective_of_the_same_team_is_refused(
    lead: Any, quarter: Any, growth: Any, objective: Any
) -> None:
    other = ObjectiveFactory(quarter=quarter, team=growth, title="Retain customers")
    with pytest.raises(RuleBroken, match="Growth's own objective"):
        services.objective_align(user=lead, objective=other, parent=objective)


def test_a_department_led_by_an_executive_is_not_the_leadership_team(
    leader: Any, platform: Any, platform_objective: Any, lead: Any, objective: Any
) -> None:
    # Platform led by a leadership member, but its members are not all leadership.
    platform.lead = leader
    platform.save()
    MembershipFactory(user=UserFactory(username="pete"), team=platform)
    assert not access.leadership_teams().filter(pk=platform.pk).exists()
    with pytest.raises(RuleBroken, match="neither above"):
        services.objective_align(user=lead, objective=objective, parent=platform_objective)


def test_unaligning_sets_no_parent(lead: Any, objective: Any, company_objective: Any) -> None:
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    services.objective_align(user=lead, objective=objective, parent=None)
    assert Objective.objects.get(pk=objective.pk).parent is None


def test_create_and_update_apply_the_same_rules(
    lead: Any, quarter: Any, growth: Any, company_objective: Any, platform_objective: Any
) -> None:
    created = services.objective_create(
        user=lead, quarter=quarter, team=growth, title="Win SMBs", parent=company_objective
    )
    assert created.parent == company_objective
    with pytest.raises(RuleBroken, match="neither above"):
        services.objective_create(
            user=lead, quarter=quarter, team=growth, title="Nope", parent=platform_objective
        )
    with pytest.raises(RuleBroken, match="neither above"):
        services.objective_update(user=lead, objective=created, parent=platform_objective)
    # Other fields change without touching a valid parent.
    services.objective_update(user=lead, objective=created, title="Win small businesses")
    assert Objective.objects.get(pk=created.pk).parent_id == company_objective.pk


def test_a_parent_with_children_cannot_be_deleted(
    lead: Any, objective: Any, company_objective: Any
) -> None:
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    with pytest.raises(ProtectedError):
        company_objective.delete()


# --- rights --------------------------------------------------------------------------------------


def test_a_member_cannot_align_and_the_lead_can(
    owner: Any, lead: Any, objective: Any, company_objective: Any
) -> None:
    assert not access.can_manage_objectives(owner, objective.team)
    with pytest.raises(NotAllowed, match="Only a lead of Growth"):
        services.objective_align(user=owner, objective=objective, parent=company_objective)
    assert Objective.objects.get(pk=objective.pk).parent is None
    # The same request by the lead succeeds: the refusal was about rights.
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    assert Objective.objects.get(pk=objective.pk).parent_id == company_objective.pk


def test_the_edit_form_aligns_and_shows_a_refusal(
    client_for: Any, lead: Any, objective: Any, company_objective: Any, platform_objective: Any
) -> None:
    client = client_for(lead)
    url = reverse("objectives:edit", args=[objective.pk])
    data = {"title": objective.title, "means": "", "does_not_mean": "", "rank": 1}
    response = client.post(url, {**data, "parent": platform_objective.pk})
    assert response.status_code == 200
    assert "neither above Growth nor the leadership team" in response.content.decode()
    response = client.post(url, {**data, "parent": company_objective.pk})
    assert response.status_code == 302
    assert Objective.objects.get(pk=objective.pk).parent_id == company_objective.pk


# --- the alignment page --------------------------------------------------------------------------


def test_the_page_nests_children_under_their_parent_roots_first(
    client_for: Any,
    outsider: Any,
    lead: Any,
    key_result: Any,
    objective: Any,
    company_objective: Any,
    platform_objective: Any,
) -> None:
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    response = client_for(outsider).get(reverse("objectives:alignment"))
    assert response.status_code == 200
    tree = response.context["tree"]
    # Company's objective (leadership, top) first; Platform's unaligned one is a root too.
    assert [n.objective.title for n in tree] == [
        "Become the default OKR tool",
        "A platform teams trust",
    ]
    assert [c.objective.title for c in tree[0].children] == ["Grow self-serve revenue"]
    html = response.content.decode()
    company_at = html.index(f'id="aligned-{company_objective.pk}"')
    growth_at = html.index(f'id="aligned-{objective.pk}"')
    children_at = html.index('class="alignment-children"', company_at)
    assert company_at < children_at < growth_at
    assert "<details open>" in html
    assert "<summary>" in html
    # The key result, its progress and the Accountability badge (as on the objectives page).
    assert "Raise trial conversion" in html
    assert '<progress value="25" max="100">' in html
    listed = client_for(outsider).get(reverse("objectives:list")).content.decode()
    badge = listed.split("Raise trial conversion</a>", 1)[1].split("</td>", 1)[0].strip()
    assert badge
    assert badge in html


def test_the_objectives_page_links_to_the_alignment_page(
    client_for: Any, outsider: Any, quarter: Any
) -> None:
    html = client_for(outsider).get(reverse("objectives:list")).content.decode()
    assert f"{reverse('objectives:alignment')}?quarter={quarter.pk}" in html


def test_the_page_shows_the_quarter_asked_for_and_404s_an_unknown_one(
    client_for: Any, outsider: Any, quarter: Any
) -> None:
    older = QuarterFactory(name="2026 Q3")
    ObjectiveFactory(quarter=older, title="Old aim")
    client = client_for(outsider)
    html = client.get(reverse("objectives:alignment"), {"quarter": older.pk}).content.decode()
    assert "Old aim" in html
    assert client.get(reverse("objectives:alignment"), {"quarter": 99999}).status_code == 404
    assert client.get(reverse("objectives:alignment"), {"quarter": "x"}).status_code == 404


def _build_tree(quarter: Any, company: Any, roots: int) -> None:
    """``roots`` company objectives, each with a department and a team objective under it
    (three levels), and two key results on each."""
    for _ in range(roots):
        department = TeamFactory(lead=UserFactory(), parent=company)
        team = TeamFactory(lead=UserFactory(), parent=department)
        top = ObjectiveFactory(quarter=quarter, team=company)
        middle = ObjectiveFactory(quarter=quarter, team=department, parent=top)
        bottom = ObjectiveFactory(quarter=quarter, team=team, parent=middle)
        for objective in (top, middle, bottom):
            for _ in range(2):
                KeyResultFactory(objective=objective, owner=UserFactory())


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_costs_the_same_queries_for_5_and_50_objectives(
    client_for: Any, outsider: Any, quarter: Any, company: Any
) -> None:
    client = client_for(outsider)
    url = reverse("objectives:alignment")
    _build_tree(quarter, company, roots=1)
    ObjectiveFactory(quarter=quarter, team=company)
    ObjectiveFactory(quarter=quarter, team=company)
    assert Objective.objects.count() == 5
    small = _count(client, url)
    _build_tree(quarter, company, roots=15)
    assert Objective.objects.count() == 50
    large = _count(client, url)
    assert large == small, f"{small} queries for 5 objectives, {large} for 50"
    # Session, user, quarters (picker), quarter, teams, leadership team, objectives, key
    # results (+owners), the accountability badges.
    assert large <= 12


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def api(outsider: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(outsider)
    return client


def test_the_api_gives_parent_and_children_ids(
    api: APIClient, lead: Any, quarter: Any, growth: Any, objective: Any, company_objective: Any
) -> None:
    second = ObjectiveFactory(quarter=quarter, team=growth, title="Retain customers")
    services.objective_align(user=lead, objective=objective, parent=company_objective)
    services.objective_align(user=lead, objective=second, parent=company_objective)
    rows = {row["id"]: row for row in api.get("/api/objectives/").json()["results"]}
    assert rows[company_objective.pk]["parent"] is None
    assert rows[company_objective.pk]["children"] == [objective.pk, second.pk]
    assert rows[objective.pk]["parent"] == company_objective.pk
    assert rows[objective.pk]["children"] == []
    detail = api.get(f"/api/objectives/{objective.pk}/").json()
    assert (detail["parent"], detail["children"]) == (company_objective.pk, [])


def test_the_api_costs_the_same_queries_for_5_and_50_objectives(
    api: APIClient, quarter: Any, company: Any
) -> None:
    _build_tree(quarter, company, roots=1)
    ObjectiveFactory(quarter=quarter, team=company)
    ObjectiveFactory(quarter=quarter, team=company)
    assert Objective.objects.count() == 5
    small = _count(api, "/api/objectives/")
    _build_tree(quarter, company, roots=15)
    assert Objective.objects.count() == 50
    large = _count(api, "/api/objectives/")
    assert large == small, f"{small} queries for 5 objectives, {large} for 50"
