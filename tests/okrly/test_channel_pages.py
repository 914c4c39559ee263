"""The set-up page of Slack and Teams channels (/setup/channels/): staff only, the webhook's
state as the delivery left it, a URL never shown back, and a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from okrly import channel_delivery
from okrly.channel_messages import Message
from okrly.channel_services import channel_post, channel_set
from okrly.channels import Channel, ChannelPost
from tests.factories import TeamFactory
from tests.webhooks import WebhookServer

PAGE = "/setup/channels/"
SECRET = "XyZsecretPart77"
SLACK_URL = f"https://hooks.slack.com/services/T01/B02/{SECRET}"


def set_url(team: Any) -> str:
    return reverse("setup_channels_team", args=[team.pk])


def form(team: Any, provider: str = "slack", url: str = SLACK_URL) -> dict[str, str]:
    prefix = f"team-{team.pk}"
    return {f"{prefix}-provider": provider, f"{prefix}-url": url}


@pytest.mark.django_db
def test_only_staff_see_and_change_channels(
    client_for: Any, admin_user: Any, lead: Any, leader: Any, outsider: Any, growth: Any
) -> None:
    channel = channel_set(team=growth, provider="slack", url=SLACK_URL)
    for user in (lead, leader, outsider):
        client = client_for(user)
        assert client.get(PAGE).status_code == 403
        assert client.post(set_url(growth), form(growth)).status_code == 403
        for name in ("remove", "enable", "test"):
            url = reverse(f"setup_channels_{name}", args=[channel.pk])
            assert client.post(url).status_code == 403
    assert Channel.objects.get().pk == channel.pk
    assert not ChannelPost.objects.exists()
    # The same requests from staff succeed: the refusals were about rights.
    client = client_for(admin_user)
    assert client.get(PAGE).status_code == 200
    assert client.post(set_url(growth), form(growth)).status_code == 302
    test = client.post(reverse("setup_channels_test", args=[channel.pk]))
    assert test.status_code == 302
    assert ChannelPost.objects.count() == 1


@pytest.mark.django_db
def test_signed_out_visitors_go_to_sign_in(client: Any) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_setting_a_webhook_shows_its_hint_never_the_url(
    client_for: Any, admin_user: Any, growth: Any, platform: Any
) -> None:
    client = client_for(admin_user)
    response = client.post(set_url(growth), form(growth), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "https://hooks.slack.com/…/rt77" in html
    assert SECRET not in html
    assert Channel.objects.get().url == SLACK_URL
    assert 'id="leadership"' in html
    assert f'id="team-{platform.pk}"' in html
    leadership = client.post(
        reverse("setup_channels_leadership"),
        {
            "leadership-provider": "teams",
            "leadership-url": "https://prod-1.westeurope.logic.azure.com/workflows/x?sig=abcd",
        },
    )
    assert leadership.status_code == 302
    assert Channel.objects.get(team__isnull=True).provider == "teams"


@pytest.mark.parametrize(
    ("provider", "url", "says"),
    [
        ("slack", "https://evil.example/services/T/B/" + SECRET, "hooks.slack.com/services/"),
        ("slack", "http://hooks.slack.com/services/T/B/" + SECRET, "must start with https://"),
        ("teams", "https://10.0.0.8/hook/" + SECRET, "public host"),
        ("teams", "https://ok.example/\x00" + SECRET, "Null characters are not allowed"),
        ("teams", "https://ok.example/" + "x" * 2100, "at most 2000 characters"),
        ("pigeon", "https://ok.example/" + SECRET, "Select a valid choice"),
        ("teams", "", "This field is required"),
    ],
)
@pytest.mark.django_db
def test_a_bad_url_is_a_form_error_that_does_not_echo_it(
    client_for: Any, admin_user: Any, growth: Any, provider: str, url: str, says: str
) -> None:
    response = client_for(admin_user).post(set_url(growth), form(growth, provider, url))
    assert response.status_code == 400
    html = response.content.decode()
    assert says in html
    assert SECRET not in html
    assert "<details open>" in html  # the row's form is open on its error
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_two_providers_at_once_and_an_unknown_team_are_refused(
    client_for: Any, admin_user: Any, growth: Any
) -> None:
    client = client_for(admin_user)
    prefix = f"team-{growth.pk}"
    two = f"{prefix}-provider=slack&{prefix}-provider=teams&{prefix}-url=x"
    response = client.post(set_url(growth), two, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not 2" in response.content.decode()
    assert client.post("/setup/channels/team/999999/", form(growth)).status_code == 404
    assert client.post("/setup/channels/999999/remove/").status_code == 404
    assert client.get(reverse("setup_channels_leadership")).status_code == 405


@pytest.mark.django_db
def test_a_404_webhook_is_shown_disabled_and_can_be_enabled_again(
    client_for: Any, admin_user: Any, growth: Any, webhook: WebhookServer, settings: Any
) -> None:
    settings.WEBHOOK_MAX_FAILURES = 2
    channel = channel_set(team=growth, provider="slack", url=webhook.url())
    webhook.script(404, 404)
    with time_machine.travel("2026-12-01 09:30:00+00:00", tick=False) as clock:
        channel_post(key="k", message=Message(title="Digest"), team_ids=[growth.pk])
        channel_delivery.deliver()
        page = client_for(admin_user).get(PAGE).content.decode()
        assert "Failing" in page
        assert "1 refusal in a row" in page
        clock.shift(timedelta(minutes=5))
        channel_delivery.deliver()
    client = client_for(admin_user)
    html = client.get(PAGE).content.decode()
    assert "Disabled" in html
    assert "after 2 refusals in a row (last: HTTP 404)" in html
    assert "Enable again" in html
    assert "Send a test message" not in html  # not offered: the service would refuse it
    assert webhook.url() not in html
    assert client.post(reverse("setup_channels_enable", args=[channel.pk])).status_code == 302
    channel.refresh_from_db()
    assert (channel.state, channel.failures) == ("ok", 0)
    # Enabled again, a test message goes through.
    client.post(reverse("setup_channels_test", args=[channel.pk]))
    assert channel_delivery.deliver().sent == 1
    assert webhook.received[-1].body["blocks"][0]["text"]["text"] == "OKRly test message"


@pytest.mark.django_db
def test_removing_a_webhook_drops_its_unsent_posts(
    client_for: Any, admin_user: Any, growth: Any
) -> None:
    channel = channel_set(team=growth, provider="slack", url=SLACK_URL)
    channel_post(key="k", message=Message(title="Digest"), team_ids=[growth.pk])
    response = client_for(admin_user).post(reverse("setup_channels_remove", args=[channel.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}#team-{growth.pk}"
    assert not Channel.objects.exists()
    assert not ChannelPost.objects.exists()


def _queries(client: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_for_5_or_50_teams(
    client_for: Any, admin_user: Any
) -> None:
    def grow_to(n: int) -> None:
        for _ in range(n - Channel.objects.count() // 2):
            team = TeamFactory()
            channel_set(team=team, provider="slack", url=SLACK_URL)
            channel_set(team=team, provider="teams", url="https://example.com/w?sig=1")
        Channel.objects.filter(pk__in=Channel.objects.values("pk")[:3]).update(
            failures=3, last_error="HTTP 404"
        )

    client = client_for(admin_user)
    grow_to(5)
    small = _queries(client)
    grow_to(50)
    assert Channel.objects.count() == 100
    assert _queries(client) == small
    assert small <= 5  # the session's user, teams, channels (and the unread badge)
