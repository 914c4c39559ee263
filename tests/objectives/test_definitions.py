"""Shared definitions (issue 11, part 1): the definition group, versions and acknowledgements.

The cast is tests/conftest.py's: Lena leads Growth, Olga owns Growth's key result, Paul leads
Platform (Pia works there), Lea is in the leadership group, Mia is Olga's manager.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dependencies.services import dependency_request
from objectives import services
from objectives.definitions import (
    current_version,
    definition_group,
    definition_status,
    publish_definition,
)
from objectives.models import DefinitionAcknowledgement, Objective
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Membership, Notification
from tests.conftest import TEST_TODAY
from tests.factories import (
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    TeamFactory,
    UserFactory,
)
from tests.objectives.test_pages import count_queries

pytestmark = pytest.mark.django_db

READING = "I will stop hiring quota reps for it."


def _names(people: list[Any]) -> set[str]:
    return {p.username for p in people}


# --- the group: five shapes ---------------------------------------------------------------------


def test_same_team_the_group_is_leadership_and_the_teams_leads(
    objective: Any, key_result: Any, lead: Any, leader: Any, manager: Any, teammate: Any
) -> None:
    # The owner, her manager and her teammate read it, but are not asked to acknowledge it.
    assert _names(definition_group(objective)) == {"lena", "lea"}


def test_a_dependency_on_another_team_adds_that_teams_leads(
    objective: Any,
    key_result: Any,
    lead: Any,
    leader: Any,
    owner: Any,
    platform: Any,
    provider: Any,
    platform_lead: Any,
) -> None:
    assert _names(definition_group(objective)) == {"lena", "lea"}
    dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=TEST_TODAY,  # the quarter's last day at the latest, on any pinned day
    )
    assert _names(definition_group(objective)) == {"lena", "lea", "paul"}


def test_teams_aligned_below_it_at_any_depth_add_their_leads(
    quarter: Any, growth: Any, lead: Any, leader: Any
) -> None:
    company = TeamFactory(name="Company", slug="company")
    growth.parent = company
    growth.save()
    squad = TeamFactory(name="Trials squad", slug="trials", parent=growth)
    squad_lead = UserFactory(username="sam")
    MembershipFactory(user=squad_lead, team=squad, role=Membership.Role.LEAD)
    top = ObjectiveFactory(quarter=quarter, team=company, title="Be the default OKR tool")
    middle = ObjectiveFactory(quarter=quarter, team=growth, parent=top)
    ObjectiveFactory(quarter=quarter, team=squad, parent=middle)
    # Two levels down, the squad's lead still must read the company objective the same way.
    assert _names(definition_group(top)) == {"lena", "lea", "sam"}
    assert _names(definition_group(middle)) == {"lena", "lea", "sam"}


def test_a_leader_in_two_roles_is_in_the_group_once(
    objective: Any, key_result: Any, lead: Any, leader: Any
) -> None:
    # Lea is in the leadership group and also leads Growth (named lead and lead role).
    MembershipFactory(user=leader, team=objective.team, role=Membership.Role.LEAD)
    group = definition_group(objective)
    assert [p.username for p in group].count("lea") == 1
    assert _names(group) == {"lena", "lea"}


def test_a_lead_who_owns_the_key_result_is_in_the_group_as_lead(
    objective: Any, lead: Any, leader: Any
) -> None:
    KeyResultFactory(objective=objective, owner=lead)
    assert _names(definition_group(objective)) == {"lena", "lea"}


# --- versions and the flag ------------------------------------------------------------------


def test_creating_an_objective_publishes_version_one(quarter: Any, growth: Any, lead: Any) -> None:
    objective = services.objective_create(
        user=lead,
        quarter=quarter,
        team=growth,
        title="Grow",
        means="Protect margin",
        tradeoff_rule="Margin beats volume",
    )
    version = current_version(objective)
    assert version is not None
    assert (version.number, version.means, version.tradeoff_rule, version.author) == (
        1,
        "Protect margin",
        "Margin beats volume",
        lead,
    )


def test_edits_before_anyone_acknowledged_rewrite_the_draft(
    quarter: Any, growth: Any, lead: Any
) -> None:
    objective = services.objective_create(user=lead, quarter=quarter, team=growth, title="Grow")
    services.objective_update(user=lead, objective=objective, means="Add quota reps")
    assert objective.definition_versions.count() == 1
    assert current_version(objective).means == "Add quota reps"  # type: ignore[union-attr]


def test_an_edit_after_an_acknowledgement_is_a_new_version_and_resets_the_flag(
    quarter: Any, growth: Any, lead: Any, leader: Any
) -> None:
    objective = services.objective_create(
        user=lead, quarter=quarter, team=growth, title="Grow", means="Protect margin"
    )
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    assert definition_status(objective).shared

    # A title is not the definition: no new version.
    services.objective_update(user=lead, objective=objective, title="Grow revenue")
    assert current_version(objective).number == 1  # type: ignore[union-attr]

    services.objective_update(user=lead, objective=objective, does_not_mean="Quota reps")
    status = definition_status(objective)
    assert status.version is not None
    assert status.version.number == 2
    assert not status.shared
    assert _names(status.missing) == {"lena", "lea"}
    # The history is kept: version 1 and its two readings, now out of date.
    old = objective.definition_versions.get(number=1)
    assert (old.means, old.does_not_mean) == ("Protect margin", "")
    assert old.acknowledgements.count() == 2


def test_an_objective_without_a_version_is_not_shared(objective: Any, lead: Any) -> None:
    status = definition_status(objective)
    assert status.version is None
    assert not status.shared


def test_the_flag_clears_only_when_every_member_acknowledged(
    objective: Any, lead: Any, leader: Any
) -> None:
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    status = definition_status(objective)
    assert not status.shared
    assert _names(status.missing) == {"lea"}
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    assert definition_status(objective).shared


# --- acknowledging ------------------------------------------------------------------------------


@pytest.mark.parametrize("reading", ["", "OK", "   ok, got it   ", "Fine by me, ok"])
def test_a_reading_under_15_characters_is_refused_saying_why(
    objective: Any, lead: Any, reading: str
) -> None:
    with pytest.raises(RuleBroken, match="A bare 'OK' doesn't show you read it the same way"):
        services.definition_acknowledge(user=lead, objective=objective, reading=reading)
    assert not DefinitionAcknowledgement.objects.exists()


def test_a_reading_is_kept_in_the_members_own_words(objective: Any, lead: Any) -> None:
    ack = services.definition_acknowledge(user=lead, objective=objective, reading=f"  {READING}  ")
    assert (ack.person, ack.reading, ack.version.number) == (lead, READING, 1)


def test_acknowledging_the_same_version_twice_is_refused(objective: Any, lead: Any) -> None:
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    with pytest.raises(RuleBroken, match="already acknowledged version 1"):
        services.definition_acknowledge(user=lead, objective=objective, reading=READING)


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "admin_user"])
def test_only_group_members_acknowledge(
    request: pytest.FixtureRequest, objective: Any, key_result: Any, lead: Any, who: str
) -> None:
    with pytest.raises(NotAllowed, match="Only the leaders who must share"):
        services.definition_acknowledge(
            user=request.getfixturevalue(who), objective=objective, reading=READING
        )


# --- "Definition not shared": pages and API -----------------------------------------------------


def test_the_objectives_page_flags_a_definition_not_shared(
    client_for: Any, objective: Any, lead: Any, leader: Any
) -> None:
    publish_definition(objective=objective, author=lead)
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    html = client_for(lead).get(reverse("objectives:list")).content.decode()
    assert "Definition not shared" in html
    assert "1 of 2 acknowledged" in html
    assert "Not yet acknowledged by: Lea Leader" in html
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    html = client_for(lead).get(reverse("objectives:list")).content.decode()
    assert "Definition not shared" not in html
    assert "Definition shared" in html


def test_the_key_result_page_flags_a_definition_not_shared(
    client_for: Any, key_result: Any, lead: Any, leader: Any
) -> None:
    html = client_for(lead).get(key_result.get_absolute_url()).content.decode()
    assert "Definition not shared" in html


def _build(quarter: Any, teams: int, per_team: int) -> None:
    """Teams with a named lead and a lead member, objectives with a published definition and
    one reading each, and one key result each."""
    for _ in range(teams):
        team = TeamFactory(lead=UserFactory())
        second = UserFactory()
        MembershipFactory(user=second, team=team, role=Membership.Role.LEAD)
        for _ in range(per_team):
            objective = ObjectiveFactory(quarter=quarter, team=team, means="Protect margin")
            KeyResultFactory(objective=objective, owner=UserFactory())
            version = publish_definition(objective=objective, author=team.lead)
            DefinitionAcknowledgement.objects.create(
                version=version, person=second, reading=READING
            )


@pytest.mark.parametrize("url", ["/objectives/", "/api/objectives/"])
def test_the_flag_costs_the_same_queries_for_5_and_50_objectives(
    client_for: Any, quarter: Any, leader: Any, url: str
) -> None:
    client = client_for(leader)
    _build(quarter, teams=1, per_team=5)
    small = count_queries(client, url)
    _build(quarter, teams=9, per_team=5)
    assert Objective.objects.count() == 50
    large = count_queries(client, url)
    assert large == small, f"{small} queries for 5 objectives, {large} for 50"


@pytest.fixture
def api(lead: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(lead)
    return client


def test_the_api_gives_the_definitions_state(
    api: APIClient, objective: Any, lead: Any, leader: Any
) -> None:
    publish_definition(objective=objective, author=lead)
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    row = api.get(f"/api/objectives/{objective.pk}/").json()
    assert row["definition_version"] == 1
    assert row["definition_shared"] is False
    assert [
        (a["who"]["username"], a["reading"], a["version"]) for a in row["acknowledgements"]
    ] == [("lena", READING, 1)]
    assert row["acknowledgements"][0]["when"].startswith(TEST_TODAY.isoformat())
    assert [m["who"]["username"] for m in row["missing_acknowledgements"]] == ["lea"]
    listed = api.get("/api/objectives/").json()["results"][0]
    assert listed["definition_shared"] is False


def test_the_api_acknowledges_and_refuses_a_bare_ok(
    api: APIClient, objective: Any, lead: Any, leader: Any, outsider: Any
) -> None:
    url = f"/api/objectives/{objective.pk}/acknowledge/"
    refused = api.post(url, {"reading": "OK"}, format="json")
    assert refused.status_code == 400
    assert "A bare 'OK' doesn't show you read it" in refused.content.decode()
    assert api.post(url, {}, format="json").status_code == 400
    done = api.post(url, {"reading": READING}, format="json")
    assert done.status_code == 200
    assert [a["who"]["username"] for a in done.json()["acknowledgements"]] == ["lena"]
    stranger = APIClient()
    stranger.force_authenticate(outsider)
    assert stranger.post(url, {"reading": READING}, format="json").status_code == 403


# --- the objective's page: the divergence view --------------------------------------------------


def test_the_divergence_view_shows_each_reading_with_name_role_and_team(
    client_for: Any,
    objective: Any,
    key_result: Any,
    lead: Any,
    leader: Any,
    owner: Any,
    platform: Any,
    provider: Any,
    platform_lead: Any,
) -> None:
    dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=TEST_TODAY,  # the quarter's last day at the latest, on any pinned day
    )
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    services.definition_acknowledge(
        user=platform_lead, objective=objective, reading="We ship the billing API before SSO."
    )
    html = client_for(leader).get(reverse("objectives:detail", args=[objective.pk])).content
    page = html.decode()
    assert "Definition not shared" in page
    assert "Lena Lead" in page
    assert "Lead, Growth" in page
    assert READING in page
    assert "Lead, Platform (depended on)" in page
    assert "We ship the billing API before SSO." in page
    assert "Not yet acknowledged by:</strong> Lea Leader" in page
    assert "(Leadership)" in page
    # Lea has not acknowledged: she is offered the form; Lena, who has, is not.
    assert "Acknowledge this definition" in page
    lena_page = client_for(lead).get(reverse("objectives:detail", args=[objective.pk]))
    assert "Acknowledge this definition" not in lena_page.content.decode()


def test_the_form_is_hidden_outside_the_group_and_a_post_is_refused(
    client_for: Any, objective: Any, lead: Any, owner: Any
) -> None:
    client = client_for(owner)
    page = client.get(reverse("objectives:detail", args=[objective.pk])).content.decode()
    assert "Acknowledge this definition" not in page
    response = client.post(
        reverse("objectives:acknowledge", args=[objective.pk]), {"reading": READING}
    )
    assert response.status_code == 403
    assert not DefinitionAcknowledgement.objects.exists()


def test_a_member_acknowledges_through_the_form_and_a_bare_ok_says_why(
    client_for: Any, objective: Any, lead: Any
) -> None:
    client = client_for(lead)
    url = reverse("objectives:acknowledge", args=[objective.pk])
    refused = client.post(url, {"reading": "OK"})
    assert refused.status_code == 400
    assert "A bare &#x27;OK&#x27; doesn&#x27;t show you read it" in refused.content.decode()
    done = client.post(url, {"reading": READING})
    assert done.status_code == 302
    assert DefinitionAcknowledgement.objects.get().reading == READING


def test_a_refused_reading_comes_back_focused_and_described_by_its_reason(
    client_for: Any, objective: Any, lead: Any
) -> None:
    """Without a script: the field takes the focus (autofocus) and names the reason's element
    (aria-describedby), so a screen reader reads why as the page comes back."""
    client = client_for(lead)
    page = client.get(reverse("objectives:detail", args=[objective.pk])).content.decode()
    assert "autofocus" not in page
    assert 'aria-describedby="id_reading_helptext"' in page
    assert '<small id="id_reading_helptext">' in page
    refused = client.post(reverse("objectives:acknowledge", args=[objective.pk]), {"reading": ""})
    html = refused.content.decode()
    field = html[html.index("<textarea") : html.index(">", html.index("<textarea"))]
    assert "autofocus" in field
    assert 'aria-invalid="true"' in field
    assert "id_reading_error" in field
    assert '<small class="field-error" id="id_reading_error">What will you do' in html


def test_the_objective_page_is_404_for_an_unknown_objective(client_for: Any, lead: Any) -> None:
    assert client_for(lead).get(reverse("objectives:detail", args=[999999])).status_code == 404


# --- notifications ------------------------------------------------------------------------------


def test_the_group_is_notified_when_a_definition_is_published_and_changed(
    quarter: Any, growth: Any, lead: Any, leader: Any, owner: Any
) -> None:
    objective = services.objective_create(
        user=lead, quarter=quarter, team=growth, title="Grow", means="Protect margin"
    )
    published = Notification.objects.get()
    assert (published.recipient, published.kind) == (leader, "definition_published")
    assert published.subject == "Definition published: “Grow” (version 1)"
    assert published.link == reverse("objectives:detail", args=[objective.pk])

    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    services.objective_update(user=lead, objective=objective, title="Grow revenue")
    assert Notification.objects.count() == 1  # a title is not the definition

    services.objective_update(user=lead, objective=objective, tradeoff_rule="Margin first")
    changed = Notification.objects.latest("pk")
    assert (changed.recipient, changed.kind) == (leader, "definition_changed")
    assert "version 2" in changed.subject
    # The author (Lena) and people outside the group (Olga, the owner) are not notified.
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"lea"}


def test_an_objective_created_without_a_definition_notifies_nobody(
    quarter: Any, growth: Any, lead: Any, leader: Any
) -> None:
    services.objective_create(user=lead, quarter=quarter, team=growth, title="Grow")
    assert not Notification.objects.exists()


def test_an_administrators_edit_in_the_admin_is_versioned_too(
    rf: Any, objective: Any, lead: Any, admin_user: Any
) -> None:
    from django.contrib import admin

    publish_definition(objective=objective, author=lead)
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    request = rf.post("/admin/")
    request.user = admin_user
    objective.means = "Add quota reps"
    admin.site._registry[Objective].save_model(request, objective, form=None, change=True)
    status = definition_status(objective)
    assert status.version is not None
    assert (status.version.number, status.version.means) == (2, "Add quota reps")
    assert not status.shared
