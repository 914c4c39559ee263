"""Invitations (issue 16): the link's token (expiry, resend, revoke, used once), joining,
batch sending over one connection at most once, a broker outage, and staff-only pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from okrly import tasks
from okrly.errors import NotAllowed
from okrly.invitations import Invitation, Status, invitations_send, person_status
from okrly.inviting import invitation_resend, invitation_revoke, invitations_create
from okrly.people_import import people_import_apply
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/join/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def newcomer(growth: Any) -> Any:
    """Imported, never signed in, no usable password."""
    people_import_apply("name,email,team\nNina Newcomer,nina@example.com,Growth\n")
    return User.objects.get(email="nina@example.com")


def invite(person: Any, admin: Any) -> Invitation:
    invitations_create(user_ids=[person.pk], by=admin)
    invitation: Invitation = person.invitation
    invitations_send(invitation_ids=[invitation.pk])
    invitation.refresh_from_db()
    return invitation


def last_link() -> str:
    found = LINK.search(str(mail.outbox[-1].body))
    assert found is not None, mail.outbox[-1].body
    return found.group(1)


@pytest.fixture(autouse=True)
def _site_url(settings: Any) -> None:
    settings.SITE_URL = "http://testserver"


def test_the_email_carries_an_absolute_join_link_that_sets_the_password_and_signs_in(
    newcomer: Any, admin_user: Any, client: Client
) -> None:
    invite(newcomer, admin_user)
    assert mail.outbox[0].to == ["nina@example.com"]
    html = mail.outbox[0].alternatives[0][0]  # type: ignore[union-attr]
    assert "http://testserver/join/" in str(html)
    link = last_link()
    page = client.get(link)
    assert page.status_code == 200
    assert "Welcome, Nina Newcomer" in page.content.decode()
    answer = client.post(link, {"new_password1": "a-long pass 42!", "new_password2": "x"})
    assert answer.status_code == 400  # the two passwords differ
    answer = client.post(
        link, {"new_password1": "a-long pass 42!", "new_password2": "a-long pass 42!"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    newcomer.refresh_from_db()
    assert newcomer.check_password("a-long pass 42!")
    assert client.get("/").wsgi_request.user == newcomer
    newcomer.invitation.refresh_from_db()
    assert newcomer.invitation.accepted_at is not None
    assert person_status(newcomer, newcomer.invitation, timezone.now()) == Status.JOINED
    # Used once: the same link now says so.
    client.logout()
    again = client.get(link)
    assert again.status_code == 400
    assert "used already" in again.content.decode()


def test_the_link_expires_after_invitation_timeout_days(
    newcomer: Any, admin_user: Any, client: Client, settings: Any
) -> None:
    settings.INVITATION_TIMEOUT_DAYS = 7
    invite(newcomer, admin_user)
    link = last_link()
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert client.get(link).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, hours=1)):
        page = client.get(link)
        assert page.status_code == 400
        assert "expired" in page.content.decode()
        newcomer.invitation.refresh_from_db()
        assert person_status(newcomer, newcomer.invitation, timezone.now()) == Status.EXPIRED


def test_resend_invalidates_the_earlier_link(
    newcomer: Any, admin_user: Any, client: Client
) -> None:
    invitation = invite(newcomer, admin_user)
    first = last_link()
    invitation_resend(invitation=invitation, by=admin_user)
    invitations_send(invitation_ids=[invitation.pk])
    second = last_link()
    assert first != second
    assert len(mail.outbox) == 2
    old = client.get(first)
    assert old.status_code == 400
    assert "newer invitation replaced" in old.content.decode()
    assert client.get(second).status_code == 200
    invitation.refresh_from_db()
    assert invitation.send_count == 2


def test_revoke_kills_the_link_and_an_unsent_email(
    newcomer: Any, admin_user: Any, client: Client
) -> None:
    invitation = invite(newcomer, admin_user)
    link = last_link()
    invitation_revoke(invitation=invitation, by=admin_user)
    page = client.get(link)
    assert page.status_code == 400
    assert "withdrawn" in page.content.decode()
    # Resend renews it; revoked again before its e-mail went out, nothing is sent.
    invitation_resend(invitation=invitation, by=admin_user)
    invitation_revoke(invitation=invitation, by=admin_user)
    assert invitations_send(invitation_ids=[invitation.pk]).sent == []
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "path",
    ["/join/xx/yy/", "/join/MQ/1-abc/", "/join/!!!/zz-zz/", "/join/OTk5OTk5/abc-def/"],
)
def test_a_bad_link_is_a_clear_4xx_page(newcomer: Any, client: Client, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 400
    assert "not a valid invitation" in page.content.decode()


def test_a_batch_is_sent_over_one_connection_and_never_twice(
    growth: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    people = [UserFactory(username=f"n{i}", last_login=None) for i in range(5)]
    User.objects.filter(pk__in=[p.pk for p in people]).update(last_login=None)
    opened = []
    real = mail.get_connection

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real(*args, **kwargs)

    with (
        mock.patch("okrly.invitations.get_connection", counting),
        # The queued task runs here, as the worker would run it.
        mock.patch.object(tasks.invitations_send_task, "delay", tasks.invitations_send_task),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert invitations_create(user_ids=[p.pk for p in people], by=admin_user) == 5
    assert len(mail.outbox) == 5
    assert len(opened) == 1
    # The task again (a redelivery) and the sweep find nothing left to send.
    ids = list(Invitation.objects.values_list("pk", flat=True))
    tasks.invitations_send_task(ids)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert tasks.invitations_email_sweep() == 0
    assert len(mail.outbox) == 5
    assert set(Invitation.objects.values_list("email_status", flat=True)) == {"sent"}


def test_inviting_while_the_broker_is_down_succeeds_and_the_sweep_sends_later(
    newcomer: Any, admin_user: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(admin_user)
    # Publishing fails as kombu does with Redis down (tests/okrly/test_notifications.py).
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch.object(tasks.invitations_send_task, "delay", side_effect=down) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = client.post(f"/setup/people/{newcomer.pk}/invite/")
    assert answer.status_code == 302
    delay.assert_called_once()
    assert Invitation.objects.get(user=newcomer).email_status == "pending"
    assert mail.outbox == []
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=5)),
        mock.patch.object(tasks.invitations_send_task, "delay", tasks.invitations_send_task),
    ):
        assert tasks.invitations_email_sweep() == 1
    assert len(mail.outbox) == 1


def test_the_people_pages_are_for_staff_only(
    newcomer: Any, owner: Any, lead: Any, admin_user: Any, client_for: Any
) -> None:
    for person in (owner, lead):
        client = client_for(person)
        assert client.get("/setup/people/").status_code == 403
        assert client.get("/setup/people/import/").status_code == 403
        assert client.post(f"/setup/people/{newcomer.pk}/invite/").status_code == 403
        assert client.post("/setup/people/invite-all/").status_code == 403
    assert not Invitation.objects.exists()
    with pytest.raises(NotAllowed):
        invitations_create(user_ids=[newcomer.pk], by=owner)
    client = client_for(admin_user)
    assert client.get("/setup/people/").status_code == 200
    assert client.post(f"/setup/people/{newcomer.pk}/invite/").status_code == 302
    assert Invitation.objects.filter(user=newcomer).exists()


def test_the_people_list_costs_a_fixed_number_of_queries(
    growth: Any, platform: Any, admin_user: Any, client_for: Any, django_assert_num_queries: Any
) -> None:
    client = client_for(admin_user)

    def add(n: int) -> None:
        for i in range(n):
            person = UserFactory(username=f"p{User.objects.count()}-{i}")
            MembershipFactory(user=person, team=growth if i % 2 else platform)
        invitations_create(
            user_ids=User.objects.filter(is_staff=False).values_list("pk", flat=True),
            by=admin_user,
        )

    add(3)
    client.get("/setup/people/")  # warm the session
    with django_assert_num_queries(5) as few:
        assert client.get("/setup/people/").status_code == 200
    add(40)
    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get("/setup/people/")
    assert page.content.decode().count('class="person-status"') == 44


def test_the_list_shows_each_status_and_only_the_actions_that_apply(
    newcomer: Any, owner: Any, admin_user: Any, client_for: Any
) -> None:
    quiet = UserFactory(username="quiet", first_name="Quinn", last_name="Quiet")
    User.objects.filter(pk__in=[quiet.pk, owner.pk]).update(last_login=None)
    User.objects.filter(pk=owner.pk).update(last_login=timezone.now())
    invite(newcomer, admin_user)
    client = client_for(admin_user)
    html = client.get("/setup/people/").content.decode()
    nina = html[html.index(f'id="person-{newcomer.pk}"') :].split("</tr>")[0]
    assert "Invited" in nina
    assert "1 time" in nina
    assert "Resend" in nina
    assert "Revoke" in nina
    olga = html[html.index(f'id="person-{owner.pk}"') :].split("</tr>")[0]
    assert "Joined" in olga
    assert "<button" not in olga
    quinn = html[html.index(f'id="person-{quiet.pk}"') :].split("</tr>")[0]
    assert "Never signed in" in quinn
    assert ">Invite<" in quinn
    # htmx revoke answers the row, now revoked, with Resend only.
    row = client.post(f"/setup/people/{newcomer.pk}/revoke/", headers={"HX-Request": "true"})
    assert row.status_code == 200
    text = row.content.decode()
    assert "Invitation revoked" in text
    assert "Resend" in text
    assert "Revoke</button>" not in text


@override_settings(INVITATION_TIMEOUT_DAYS=1)
def test_the_timeout_is_a_setting(newcomer: Any, admin_user: Any, client: Client) -> None:
    invite(newcomer, admin_user)
    link = last_link()
    with time_machine.travel(timezone.now() + timedelta(days=1, hours=1)):
        assert client.get(link).status_code == 400


def test_an_action_that_no_longer_applies_is_refused_with_a_message_not_an_error(
    newcomer: Any, admin_user: Any, client_for: Any
) -> None:
    client = client_for(admin_user)
    assert client.post(f"/setup/people/{newcomer.pk}/invite/").status_code == 302
    # Invited twice (two tabs): the second is refused, saying why.
    again = client.post(f"/setup/people/{newcomer.pk}/invite/", follow=True)
    assert "was not invited: already invited" in again.content.decode()
    assert Invitation.objects.filter(user=newcomer).count() == 1
    assert client.post(f"/setup/people/{newcomer.pk}/revoke/").status_code == 302
    twice = client.post(f"/setup/people/{newcomer.pk}/revoke/", headers={"HX-Request": "true"})
    assert twice.status_code == 200
    assert "already accepted or revoked" in twice.content.decode()
    # Nobody's invitation: 404, not 500.
    assert client.post(f"/setup/people/{admin_user.pk}/resend/").status_code == 404
    assert client.get(f"/setup/people/{newcomer.pk}/revoke/").status_code == 405


def test_the_admin_lists_invitations_read_only(
    newcomer: Any, admin_user: Any, client_for: Any
) -> None:
    invitation = invite(newcomer, admin_user)
    client = client_for(admin_user)
    listing = client.get("/admin/okrly/invitation/")
    assert listing.status_code == 200
    assert "nina" in listing.content.decode()
    assert client.get("/admin/okrly/invitation/add/").status_code == 403
    page = client.get(f"/admin/okrly/invitation/{invitation.pk}/change/")
    assert page.status_code == 200  # viewable
    assert 'name="_save"' not in page.content.decode()


def test_each_status_tab_lists_exactly_the_people_with_that_status(
    growth: Any, admin_user: Any, client_for: Any, settings: Any
) -> None:
    settings.INVITATION_TIMEOUT_DAYS = 7
    names = ["never", "invited", "queued", "expired", "revoked", "accepted", "signed"]
    people = {n: UserFactory(username=n, first_name=n.title(), last_name="X") for n in names}
    User.objects.filter(pk__in=[p.pk for p in people.values()]).update(last_login=None)
    User.objects.filter(pk=people["signed"].pk).update(last_login=timezone.now())
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        invite(people["expired"], admin_user)
    for name in ("invited", "revoked", "accepted"):
        invite(people[name], admin_user)
    invitations_create(user_ids=[people["queued"].pk], by=admin_user)  # not sent yet
    invitation_revoke(invitation=people["revoked"].invitation, by=admin_user)
    Invitation.objects.filter(user=people["accepted"]).update(accepted_at=timezone.now())
    expected = {
        Status.NEVER: {"never"},
        Status.INVITED: {"invited", "queued"},
        Status.EXPIRED: {"expired"},
        Status.REVOKED: {"revoked"},
        Status.JOINED: {"accepted", "signed", "ada"},
    }
    client = client_for(admin_user)
    now = timezone.now()
    for user in User.objects.select_related("invitation"):
        found = person_status(user, getattr(user, "invitation", None), now)
        assert user.username in expected[found], (user.username, found)
    for status, usernames in expected.items():
        html = client.get(f"/setup/people/?status={status.value}").content.decode()
        shown = set(re.findall(r'id="person-(\d+)"', html))
        assert shown == {str(User.objects.get(username=u).pk) for u in usernames}, status
    bad = client.get("/setup/people/?status=nope")
    assert bad.status_code == 400
    assert "Unknown status" in bad.content.decode()
