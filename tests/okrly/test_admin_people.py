"""Issue 16: a trimmed admin (rows only the system writes are view-only), person pickers
that find people by name and e-mail and say "Name (Team)", and time zones as a picker."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from okrly.forms import ProfileForm, timezone_choices
from okrly.models import Notification, Profile
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM_ROWS = [
    "okrly.notification",
    "checkins.checkin",
    "checkins.checkinprompt",
    "checkins.missedcheckin",
    "dependencies.dependency",
    "ownership.ownershipnomination",
    "ownership.nodependencies",
    "reviews.earlyescalation",
]


@pytest.mark.parametrize("label", SYSTEM_ROWS)
def test_rows_only_the_system_writes_are_view_only(label: str, admin_user: Any, rf: Any) -> None:
    from django.apps import apps

    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_the_admin_home_offers_no_add_for_system_rows(client_for: Any, admin_user: Any) -> None:
    page = client_for(admin_user).get(reverse("admin:index")).content.decode()
    assert reverse("admin:okrly_notification_changelist") in page
    assert reverse("admin:okrly_notification_add") not in page
    assert reverse("admin:checkins_checkinprompt_add") not in page
    assert reverse("admin:okrly_team_add") in page  # people's rows stay editable


def test_a_notification_cannot_be_edited_in_the_admin(client_for: Any, admin_user: Any) -> None:
    notification = Notification.objects.create(recipient=admin_user, kind="x", subject="Hello")
    url = reverse("admin:okrly_notification_change", args=[notification.pk])
    client = client_for(admin_user)
    assert client.get(url).status_code == 200  # to look into
    assert client.post(url, {"subject": "Changed"}).status_code == 403
    notification.refresh_from_db()
    assert notification.subject == "Hello"


def _autocomplete(client: Any, term: str) -> list[dict[str, str]]:
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "term": term,
            "app_label": "okrly",
            "model_name": "membership",
            "field_name": "user",
        },
    )
    assert response.status_code == 200
    return list(json.loads(response.content)["results"])


def test_the_person_picker_finds_by_name_first_and_says_where_they_work(
    client_for: Any, admin_user: Any
) -> None:
    growth, data = TeamFactory(name="Growth"), TeamFactory(name="Data")
    priya = UserFactory(username="priya", first_name="Priya", last_name="Shah")
    ethan = UserFactory(username="ethan", first_name="Ethan", last_name="Cyprian")
    MembershipFactory(user=priya, team=growth)
    MembershipFactory(user=ethan, team=data)
    results = _autocomplete(client_for(admin_user), "pri")
    # Ethan matches on "Cyprian"; Priya's first name starts with the term, so she is first.
    assert [r["id"] for r in results][:2] == [str(priya.pk), str(ethan.pk)]
    assert results[0]["text"] == "Priya Shah (Growth) · priya@example.com"


def test_the_person_picker_finds_by_email(client_for: Any, admin_user: Any) -> None:
    person = UserFactory(username="x1", first_name="Noor", email="noor.h@corp.example")
    results = _autocomplete(client_for(admin_user), "noor.h@")
    assert [r["id"] for r in results] == [str(person.pk)]


def test_the_picker_costs_the_same_queries_whatever_the_page(
    client_for: Any, admin_user: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(admin_user)
    team = TeamFactory()
    MembershipFactory(user=UserFactory(first_name="Anna"), team=team)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            _autocomplete(client, "a")
        return len(queries)

    small = count()
    for n in range(15):
        MembershipFactory(user=UserFactory(first_name=f"Ann{n}"), team=TeamFactory())
    assert count() == small


# --- time zones ---------------------------------------------------------------------------------


def test_the_zone_picker_lists_iana_zones_with_their_offset() -> None:
    choices = dict(timezone_choices())
    assert choices["UTC"] == "UTC"
    assert choices["Asia/Kathmandu"] == "Asia/Kathmandu (UTC+05:45)"
    assert choices["America/Los_Angeles"] in {
        "America/Los_Angeles (UTC−08:00)",
        "America/Los_Angeles (UTC−07:00)",
    }
    assert "US/Pacific" not in choices  # legacy links stay out of the list...


def test_a_legacy_zone_already_saved_stays_selectable(owner: Any) -> None:
    Profile.objects.filter(user=owner).update(timezone="US/Pacific")
    form = ProfileForm(instance=Profile.objects.get(user=owner))
    assert ("US/Pacific", "US/Pacific") in form.fields["timezone"].choices


def test_own_profile_sets_the_zone(client_for: Any, owner: Any) -> None:
    client = client_for(owner)
    page = client.get(reverse("profile")).content.decode()
    assert "data-zone-suggest" in page
    assert 'value="Asia/Kathmandu"' in page
    response = client.post(
        reverse("profile"),
        {"display_name": "Olga O.", "timezone": "Asia/Kathmandu", "out_of_office_until": ""},
    )
    assert response.status_code == 302
    owner.profile.refresh_from_db()
    assert (owner.profile.timezone, owner.profile.display_name) == ("Asia/Kathmandu", "Olga O.")


@pytest.mark.parametrize(
    ("zone", "message"),
    [("Mars/Olympus", "is not an IANA time zone"), ("Europe/\x00", "Null characters")],
)
def test_a_bad_zone_is_refused_and_the_old_one_kept(
    client_for: Any, owner: Any, zone: str, message: str
) -> None:
    response = client_for(owner).post(
        reverse("profile"), {"display_name": "", "timezone": zone, "out_of_office_until": ""}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    owner.profile.refresh_from_db()
    assert owner.profile.timezone == "UTC"


def test_the_admin_profile_uses_the_zone_picker(
    client_for: Any, admin_user: Any, owner: Any
) -> None:
    page = client_for(admin_user).get(reverse("admin:auth_user_change", args=[owner.pk]))
    html = page.content.decode()
    assert '<select name="profile-0-timezone"' in html
    assert "js/zone-suggest.js" in html


def test_out_of_office_is_a_date(client_for: Any, owner: Any) -> None:
    response = client_for(owner).post(
        reverse("profile"),
        {"display_name": "", "timezone": "UTC", "out_of_office_until": "2026-12-24"},
    )
    assert response.status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.out_of_office_until == date(2026, 12, 24)
