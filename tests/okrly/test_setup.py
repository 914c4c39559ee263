"""The set-up page (issue 16): quarters with one active at a time, the team tree, members and
roles, one concept of lead, and the person picker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from okrly.forms import person_picker_options
from okrly.models import Membership, Quarter, Team, sync_team_leads
from okrly.quarters import next_quarter_initial
from tests.factories import (
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _migration(name: str) -> Any:
    return __import__(f"okrly.migrations.{name}", fromlist=["Migration"])


# --- one active quarter ------------------------------------------------------------------------


def test_the_database_refuses_a_second_active_quarter() -> None:
    QuarterFactory(name="2026 Q4", status=Quarter.Status.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Quarter.objects.create(
            name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31), status="active"
        )
    # Planned, reviewing and closed quarters are as many as wanted.
    Quarter.objects.create(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    Quarter.objects.create(
        name="2026 Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), status="reviewing"
    )
    assert Quarter.objects.filter(status="active").count() == 1


def test_a_bulk_update_cannot_activate_two_quarters_either() -> None:
    QuarterFactory(name="2026 Q4", status=Quarter.Status.ACTIVE)
    Quarter.objects.create(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        Quarter.objects.update(status="active")


def test_clean_names_the_active_quarter() -> None:
    QuarterFactory(name="2026 Q4", status=Quarter.Status.ACTIVE)
    other = Quarter(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31), status="active")
    with pytest.raises(ValidationError) as refused:
        other.full_clean()
    assert "2026 Q4 is active" in str(refused.value.message_dict["status"])


def test_the_migration_message_lists_the_active_quarters(monkeypatch: Any) -> None:
    migration = _migration("0008_one_active_quarter")

    class Rows:
        def filter(self, **_: Any) -> Rows:
            return self

        def order_by(self, *_: Any) -> Rows:
            return self

        def values_list(self, *_: Any) -> list[tuple[str]]:
            return [("2026 Q3",), ("2026 Q4",)]

    class Model:
        objects = Rows()

    class Apps:
        def get_model(self, *_: Any) -> type[Model]:
            return Model

    with pytest.raises(RuntimeError, match=r"2026 Q3, 2026 Q4"):
        migration.refuse_several_active(Apps(), None)


def test_the_factory_plans_a_second_quarter_instead_of_activating_it() -> None:
    first, second = QuarterFactory(), QuarterFactory()
    assert (first.status, second.status) == ("active", "planning")


# --- the next quarter, prefilled ------------------------------------------------------------------


def test_the_next_quarter_follows_a_calendar_quarter() -> None:
    QuarterFactory(
        name="2026 Q4",
        start=date(2026, 10, 1),
        end=date(2026, 12, 31),
        checkin_weekday=2,
        checkin_hour=14,
    )
    assert next_quarter_initial(date(2026, 11, 30)) == {
        "name": "2027 Q1",
        "start": date(2027, 1, 1),
        "end": date(2027, 3, 31),
        "checkin_weekday": 2,
        "checkin_hour": 14,
        "objective_limit": None,
    }


def test_a_quarter_of_its_own_length_follows_an_unaligned_one() -> None:
    QuarterFactory(name="Autumn", start=date(2026, 9, 15), end=date(2026, 12, 14))
    initial = next_quarter_initial(date(2026, 11, 30))
    assert (initial["start"], initial["end"]) == (date(2026, 12, 15), date(2027, 3, 15))
    assert initial["name"] == "Dec 2026 – Mar 2027"


def test_the_first_quarter_is_todays_calendar_quarter() -> None:
    initial = next_quarter_initial(date(2026, 11, 30))
    assert (initial["name"], initial["start"], initial["end"]) == (
        "2026 Q4",
        date(2026, 10, 1),
        date(2026, 12, 31),
    )


# --- the set-up page ------------------------------------------------------------------------------


def test_only_staff_reach_set_up(client_for: Any, lead: Any, admin_user: Any) -> None:
    for name, args in [
        ("setup", []),
        ("setup_teams", []),
        ("setup_team", [lead.led_teams.get().pk]),
    ]:
        assert client_for(lead).get(reverse(name, args=args)).status_code == 403
        assert client_for(admin_user).get(reverse(name, args=args)).status_code == 200


def test_set_up_is_in_the_navigation_for_staff_only(
    client_for: Any, owner: Any, admin_user: Any
) -> None:
    assert reverse("setup") not in client_for(owner).get(reverse("home")).content.decode()
    assert reverse("setup") in client_for(admin_user).get(reverse("home")).content.decode()


def test_the_page_prefills_the_next_quarter(client_for: Any, admin_user: Any, quarter: Any) -> None:
    page = client_for(admin_user).get(reverse("setup")).content.decode()
    assert 'value="2027 Q1"' in page
    assert 'value="2027-01-01"' in page


def test_creating_a_quarter_plans_it(client_for: Any, admin_user: Any, quarter: Any) -> None:
    response = client_for(admin_user).post(
        reverse("setup_quarter_new"),
        {
            "name": "2027 Q1",
            "start": "2027-01-01",
            "end": "2027-03-31",
            "checkin_weekday": "0",
            "checkin_hour": "9",
        },
    )
    assert response.status_code == 302
    assert Quarter.objects.get(name="2027 Q1").status == "planning"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"start": "2026-12-01"}, "start", "overlap 2026 Q4"),
        ({"checkin_hour": "24"}, "checkin_hour", "less than or equal to 23"),
        ({"checkin_hour": "9x"}, "checkin_hour", "whole number"),
        ({"objective_limit": "40000"}, "objective_limit", "less than or equal to 32767"),
        ({"end": "2026-12-31"}, "end", "end after it starts"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_a_bad_quarter_is_refused_with_its_reason_and_keeps_the_input(
    client_for: Any, admin_user: Any, quarter: Any, change: dict[str, str], field: str, message: str
) -> None:
    data = {
        "name": "2027 Q1",
        "start": "2027-01-01",
        "end": "2027-03-31",
        "checkin_weekday": "0",
        "checkin_hour": "9",
    } | change
    response = client_for(admin_user).post(reverse("setup_quarter_new"), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Quarter.objects.filter(name="2027 Q1").exists()


def test_a_nul_character_is_a_4xx(client_for: Any, admin_user: Any, quarter: Any) -> None:
    response = client_for(admin_user).post(
        reverse("setup_quarter_new"),
        {
            "name": "Q\x00",
            "start": "2027-01-01",
            "end": "2027-03-31",
            "checkin_weekday": "0",
            "checkin_hour": "9",
        },
    )
    assert 400 <= response.status_code < 500


def test_activating_with_none_active(client_for: Any, admin_user: Any) -> None:
    planned = Quarter.objects.create(
        name="2026 Q4", start=date(2026, 10, 1), end=date(2026, 12, 31)
    )
    response = client_for(admin_user).post(reverse("setup_quarter_activate", args=[planned.pk]))
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.status == "active"


def test_activating_while_another_is_active_offers_its_review(
    client_for: Any, admin_user: Any, key_result: Any
) -> None:
    current = key_result.objective.quarter
    nxt = Quarter.objects.create(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    client = client_for(admin_user)
    response = client.post(reverse("setup_quarter_activate", args=[nxt.pk]))
    assert response.status_code == 409
    page = response.content.decode()
    assert f"Start {current.name}'s review and activate 2027 Q1" in page
    current.refresh_from_db()
    assert current.status == "active"  # nothing changed yet
    response = client.post(reverse("setup_quarter_activate", args=[nxt.pk]), {"review_other": "1"})
    assert response.status_code == 302
    current.refresh_from_db()
    nxt.refresh_from_db()
    assert (current.status, nxt.status) == ("reviewing", "active")
    # The review started as it does on the quarter's last day: its owners grade.
    assert key_result.grade.quarter_id == current.pk


def test_only_a_planned_quarter_is_activated(
    client_for: Any, admin_user: Any, quarter: Any
) -> None:
    response = client_for(admin_user).post(reverse("setup_quarter_activate", args=[quarter.pk]))
    assert response.status_code == 302
    page = client_for(admin_user).get(reverse("setup")).content.decode()
    assert "only a quarter being planned can be activated" in page


def test_the_set_up_page_costs_the_same_queries_whatever_the_size(
    client_for: Any, admin_user: Any
) -> None:
    client = client_for(admin_user)

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("setup")).status_code == 200
        return len(queries)

    QuarterFactory(name="A")
    small = count()
    for year in range(2010, 2020):
        Quarter.objects.create(name=f"{year}", start=date(year, 1, 1), end=date(year, 3, 31))
    for _ in range(15):
        MembershipFactory(team=TeamFactory())
    assert count() == small


# --- one concept of lead -----------------------------------------------------------------------


def test_a_lead_membership_makes_the_team_lead(growth: Any) -> None:
    person = UserFactory()
    membership = MembershipFactory(user=person, team=growth, role=Membership.Role.LEAD)
    growth.refresh_from_db()
    assert growth.lead == person
    membership.role = Membership.Role.MEMBER
    membership.save()
    growth.refresh_from_db()
    assert growth.lead is None


def test_naming_a_lead_on_the_team_makes_them_a_lead_member(growth: Any) -> None:
    person = UserFactory()
    growth.lead = person
    growth.save()
    assert Membership.objects.get(team=growth, user=person).role == "lead"


def test_the_next_lead_takes_over_when_the_lead_leaves(growth: Any) -> None:
    first, second = UserFactory(), UserFactory()
    MembershipFactory(user=first, team=growth, role="lead")
    MembershipFactory(user=second, team=growth, role="lead")
    growth.refresh_from_db()
    assert growth.lead == first  # the longest-serving lead
    Membership.objects.get(user=first, team=growth).delete()
    growth.refresh_from_db()
    assert growth.lead == second
    second.delete()  # a cascade deletes the membership: the signal still runs
    growth.refresh_from_db()
    assert growth.lead is None


def test_sync_repairs_bulk_writes(growth: Any) -> None:
    person = UserFactory()
    Membership.objects.bulk_create([Membership(user=person, team=growth, role="lead")])
    assert Team.objects.get(pk=growth.pk).lead is None  # bulk writes skip signals
    assert sync_team_leads([growth.pk]) == 1
    assert Team.objects.get(pk=growth.pk).lead == person
    assert sync_team_leads() == 0


def test_the_data_migration_keeps_existing_leads(growth: Any, platform: Any) -> None:
    migration = _migration("0009_team_lead_derived")
    named, member_lead = UserFactory(), UserFactory()
    # As before: a lead named on the team who was not a member, and a lead member whose team
    # named nobody.
    Team.objects.filter(pk=growth.pk).update(lead=named)
    Membership.objects.bulk_create([Membership(user=member_lead, team=platform, role="lead")])
    migration.leads_become_memberships(apps, None)
    assert Membership.objects.get(user=named, team=growth).role == "lead"
    assert Team.objects.get(pk=growth.pk).lead == named
    assert Team.objects.get(pk=platform.pk).lead == member_lead


# --- teams on the set-up page ------------------------------------------------------------------


def test_the_tree_shows_teams_under_their_parents(client_for: Any, admin_user: Any) -> None:
    product = TeamFactory(name="Product")
    TeamFactory(name="Design", parent=product)
    TeamFactory(name="Sales")
    page = client_for(admin_user).get(reverse("setup_teams")).content.decode()
    assert page.index(">Product<") < page.index(">Design<") < page.index(">Sales<")
    assert 'class="depth-1"><a href="/setup/teams/' in page


def test_adding_a_team_gives_it_a_unique_slug(client_for: Any, admin_user: Any) -> None:
    TeamFactory(name="Growth!", slug="growth")
    response = client_for(admin_user).post(reverse("setup_teams"), {"name": "Growth"})
    team = Team.objects.get(name="Growth")
    assert response.status_code == 302
    assert response.url == reverse("setup_teams")  # ready for the next team
    assert team.slug == "growth-2"


def test_a_team_cannot_sit_under_itself(client_for: Any, admin_user: Any) -> None:
    top = TeamFactory(name="Top")
    below = TeamFactory(name="Below", parent=top)
    response = client_for(admin_user).post(
        reverse("setup_team", args=[top.pk]), {"action": "team", "name": "Top", "parent": below.pk}
    )
    assert response.status_code == 400
    assert "loop" in " ".join(response.context["form"].errors["parent"])
    top.refresh_from_db()
    assert top.parent is None


def test_members_are_added_by_email_and_leads_by_role(
    client_for: Any, admin_user: Any, growth: Any
) -> None:
    priya = UserFactory(username="priya", first_name="Priya", email="Priya@Example.com")
    client = client_for(admin_user)
    url = reverse("setup_team", args=[growth.pk])
    response = client.post(url, {"action": "add", "person": "priya@example.com", "role": "lead"})
    assert response.status_code == 302
    growth.refresh_from_db()
    assert growth.lead == priya
    membership = Membership.objects.get(user=priya, team=growth)
    client.post(url, {"action": "role", "membership": membership.pk, "role": "member"})
    growth.refresh_from_db()
    assert growth.lead is None
    client.post(url, {"action": "remove", "membership": membership.pk})
    assert not Membership.objects.filter(user=priya, team=growth).exists()


def test_an_unknown_person_is_named_in_the_error(
    client_for: Any, admin_user: Any, growth: Any
) -> None:
    response = client_for(admin_user).post(
        reverse("setup_team", args=[growth.pk]),
        {"action": "add", "person": "nobody@x.org", "role": "member"},
    )
    assert response.status_code == 400
    assert "No one with the e-mail or username “nobody@x.org”" in response.content.decode()


def test_a_membership_of_another_team_is_refused(
    client_for: Any, admin_user: Any, growth: Any, provider: Any
) -> None:
    theirs = Membership.objects.get(user=provider)
    response = client_for(admin_user).post(
        reverse("setup_team", args=[growth.pk]),
        {"action": "remove", "membership": theirs.pk},
        follow=True,
    )
    assert "no longer in this team" in response.content.decode()
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_the_team_page_costs_the_same_queries_whatever_the_size(
    client_for: Any, admin_user: Any, growth: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(admin_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("setup_team", args=[growth.pk])).status_code == 200
            assert client.get(reverse("setup_teams")).status_code == 200
        return len(queries)

    MembershipFactory(team=growth)
    small = count()
    for _ in range(12):
        MembershipFactory(team=growth, role="lead")
        MembershipFactory(team=TeamFactory(parent=growth))
    assert count() == small


def test_the_picker_labels_people_with_their_teams(growth: Any, platform: Any) -> None:
    priya = UserFactory(username="priya", first_name="Priya", last_name="Shah", email="p@x.org")
    MembershipFactory(user=priya, team=growth)
    MembershipFactory(user=priya, team=platform)
    UserFactory(username="gone", is_active=False)
    options = dict(person_picker_options())
    assert options["p@x.org"] == "Priya Shah (Growth, Platform)"
    assert "gone@example.com" not in options


def test_objectives_still_follow_the_derived_lead(client_for: Any, growth: Any) -> None:
    # leads_team (the rights) and Team.lead (the pages) agree after a role change.
    from okrly import access

    person = UserFactory()
    MembershipFactory(user=person, team=growth, role="lead")
    growth.refresh_from_db()
    assert access.leads_team(person, growth)
    assert growth.lead == person
    objective = ObjectiveFactory(team=growth)
    assert access.can_manage_objectives(person, objective.team)


def test_in_app_pickers_name_each_persons_team(growth: Any, platform: Any) -> None:
    from okrly.forms import PersonChoiceField

    both = UserFactory(username="bo", first_name="Bo", last_name="Berg")
    MembershipFactory(user=both, team=growth)
    MembershipFactory(user=both, team=platform, role="lead")
    loner = UserFactory(username="solo", first_name="Sam", last_name="Solo")
    labels = dict(PersonChoiceField().choices)
    # The team they lead first; someone in no team is told apart by their username.
    assert labels[both.pk] == "Bo Berg (Platform)"
    assert labels[loner.pk] == "Sam Solo (solo)"


def test_my_weeks_need_picker_names_each_persons_team(
    owner: Any, teammate: Any, growth: Any
) -> None:
    from checkins.forms import person_choices
    from tests.factories import KeyResultFactory

    key_result = KeyResultFactory(objective=ObjectiveFactory(team=growth), owner=owner)

    class Card:
        def __init__(self) -> None:
            self.key_result = key_result
            self.dependencies: list[Any] = []
            self.check_in = None

    labels = dict(person_choices([Card()]))
    assert labels[teammate.pk] == "Tim Teammate (Growth)"
