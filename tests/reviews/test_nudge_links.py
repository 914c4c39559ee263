"""Each nudge links to where its item is answered, never to an empty "Asked of me": a missing
check-in to its card in My week, a dependency to its page (with the answer forms), a
nomination to "Asked of me" (where it is accepted), and a nudge about a person to the first
of the places where something waits for them.

Time is frozen on Tuesday 17 November 2026, week 7 of 2026 Q4."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from dependencies import services as dependencies
from okrly.errors import RuleBroken
from okrly.models import Notification
from ownership import services as ownership
from reviews import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def nudge(sender: Any, recipient: Any, kind: str, item_id: int) -> Notification:
    services.nudge_send(
        user=sender, recipient=recipient, item_kind=kind, item_id=item_id, message="please"
    )
    return Notification.objects.filter(recipient=recipient, kind="nudge").latest("pk")


def follow(client_for: Any, user: Any, link: str) -> str:
    """Open the notification's link as its recipient: the page must exist for them."""
    path, _, anchor = link.partition("#")
    response = client_for(user).get(path)
    assert response.status_code == 200, link
    html = response.content.decode()
    if anchor:
        assert f'id="{anchor}"' in html, f"{link}: no element with that id"
    return html


def test_a_missing_checkin_nudge_opens_its_card_in_my_week(
    client_for: Any, lead: Any, owner: Any, key_result: Any
) -> None:
    note = nudge(lead, owner, "checkin", key_result.pk)

    assert note.link == f"{reverse('home')}#checkin-{key_result.pk}"
    assert "week 7 check-in for “Raise trial conversion”" in note.body
    assert "My week" in note.body
    html = follow(client_for, owner, note.link)
    assert reverse("checkins:submit", args=[key_result.pk]) in html  # the card's form


def test_a_nudge_about_a_person_who_owes_a_checkin_opens_my_week_not_an_empty_asked_of_me(
    client_for: Any, lead: Any, owner: Any, key_result: Any
) -> None:
    ownership.ownership_accept(key_result=key_result, user=owner)
    assert "Nothing waiting on you" in client_for(owner).get("/asked/").content.decode()

    note = nudge(lead, owner, "person", owner.pk)

    assert note.link == f"{reverse('home')}#checkin-{key_result.pk}"
    assert "Your week 7 check-in is missing for “Raise trial conversion”" in note.body
    assert "Asked of me" not in note.body
    follow(client_for, owner, note.link)


def test_a_nudge_about_a_person_with_a_nomination_opens_where_it_is_accepted(
    client_for: Any, lead: Any, teammate: Any, key_result: Any
) -> None:
    ownership.ownership_handover(
        key_result=key_result, user=lead, new_owner=teammate, reason="Olga moves to Sales"
    )

    note = nudge(lead, teammate, "person", teammate.pk)

    # The row itself, where it is accepted (issue 15: a nudge lands on its item).
    assert note.link == f"{reverse('asked_of_me')}#accept-{key_result.pk}"
    assert "1 item waits for you in “Asked of me”" in note.body
    html = follow(client_for, teammate, note.link)
    assert f'id="accept-{key_result.pk}"' in html
    assert reverse("ownership:accept", args=[key_result.pk]) in html


def test_a_dependency_nudge_opens_the_dependency_with_its_answer_forms(
    client_for: Any, owner: Any, key_result: Any, platform: Any, provider: Any, platform_lead: Any
) -> None:
    dep = dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 1),
    )

    note = nudge(platform_lead, provider, "dependency", dep.pk)

    assert note.link == dep.get_absolute_url()
    assert "“Billing API v2”" in note.body
    html = follow(client_for, provider, note.link)
    assert reverse("dependencies:act", args=[dep.pk, "commit"]) in html


def test_a_nudge_about_an_item_that_is_not_the_recipients_is_refused(
    lead: Any, owner: Any, teammate: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    dep = dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 1),
    )
    for kind, item_id, message in [
        ("checkin", key_result.pk, "Tim Teammate does not own “Raise trial conversion”"),
        ("checkin", 999999, "There is no such key result."),
        ("dependency", dep.pk, "“Billing API v2” is neither Tim Teammate's to deliver nor"),
        ("dependency", 999999, "There is no such dependency."),
    ]:
        with pytest.raises(RuleBroken, match=message):
            services.nudge_send(
                user=lead, recipient=teammate, item_kind=kind, item_id=item_id, message="x"
            )
    assert not Notification.objects.filter(kind="nudge").exists()

    nudge(lead, owner, "dependency", dep.pk)  # the owner who asked for it may be nudged
