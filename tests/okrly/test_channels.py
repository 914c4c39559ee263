"""Slack and Teams channels (issue 16) against a real local webhook server (tests/webhooks.py):
the payloads' shapes, retries after 429/5xx honouring Retry-After, never a post twice, a
refusing webhook disabled after WEBHOOK_MAX_FAILURES, and the URL kept out of every log."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import close_old_connections, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from okrly import channel_delivery
from okrly.channel_messages import Message
from okrly.channel_services import channel_post, channel_set
from okrly.channels import Channel, ChannelPost
from okrly.errors import RuleBroken
from okrly.tasks import channels_deliver_task
from tests.okrly.test_settings import (
    improperly_configured_message,
    load_settings,
    valid_production_env,
)
from tests.webhooks import SLACK_PATH, TEAMS_PATH, WebhookServer

NOW = "2026-11-17 09:30:00+00:00"
MESSAGE = Message(
    title="Escalation to you as Platform lead: “Billing API v2” is 3 days late",
    lines=["Platform → Growth, for the key result “Raise trial conversion”.", "Rung 2 of 3."],
    link="/dependencies/7/",
    facts=[("Due", "20 Nov")],
)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def slack(growth: Any, webhook: WebhookServer) -> Channel:
    return channel_set(team=growth, provider="slack", url=webhook.url(SLACK_PATH))


def post(growth: Any, key: str = "k1") -> int:
    return channel_post(key=key, message=MESSAGE, team_ids=[growth.pk])


@pytest.mark.django_db
def test_slack_gets_block_kit_with_a_button_to_the_item(
    growth: Any, webhook: WebhookServer, settings: Any
) -> None:
    slack(growth, webhook)
    assert post(growth) == 1
    run = channel_delivery.deliver()
    assert run.sent == 1
    [got] = webhook.received
    assert got.method == "POST"
    assert got.path == SLACK_PATH
    assert got.headers["Content-Type"] == "application/json"
    body = got.body
    assert body["text"].startswith("Escalation to you as Platform lead")
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "actions", "context"]
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": MESSAGE.title}
    assert "Rung 2 of 3." in body["blocks"][1]["text"]["text"]
    assert body["blocks"][2]["fields"][0]["text"] == "*Due*\n20 Nov"
    button = body["blocks"][3]["elements"][0]
    assert button["type"] == "button"
    assert button["url"] == f"{settings.SITE_URL}/dependencies/7/"
    assert ChannelPost.objects.get().status == "sent"


@pytest.mark.django_db
def test_teams_gets_an_adaptive_card_with_an_open_url_action(
    growth: Any, webhook: WebhookServer, settings: Any
) -> None:
    channel_set(team=growth, provider="teams", url=webhook.url(TEAMS_PATH))
    post(growth)
    channel_delivery.deliver()
    [got] = webhook.received
    assert got.path == TEAMS_PATH
    assert got.body["type"] == "message"
    [attachment] = got.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": MESSAGE.title,
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
    }
    assert [b["type"] for b in card["body"]] == ["TextBlock", "TextBlock", "TextBlock", "FactSet"]
    assert card["body"][3]["facts"] == [{"title": "Due", "value": "20 Nov"}]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in OKRly",
            "url": f"{settings.SITE_URL}/dependencies/7/",
        }
    ]


@pytest.mark.django_db
def test_slack_text_cannot_inject_markup_or_links(growth: Any, webhook: WebhookServer) -> None:
    slack(growth, webhook)
    channel_post(
        key="k",
        message=Message(title="T", lines=["<!channel> & <https://evil.example|click>"]),
        team_ids=[growth.pk],
    )
    channel_delivery.deliver()
    text = webhook.received[0].body["blocks"][1]["text"]["text"]
    assert text == "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"


@pytest.mark.django_db
def test_a_429_is_retried_after_its_retry_after_and_sent_once(
    growth: Any, webhook: WebhookServer, clock: Any
) -> None:
    slack(growth, webhook)
    post(growth)
    webhook.script((429, {"Retry-After": "120"}))
    run = channel_delivery.deliver()
    assert (run.sent, run.retried) == (0, 1)
    row = ChannelPost.objects.get()
    assert row.status == "pending"
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=120)

    clock.shift(timedelta(seconds=119))
    assert channel_delivery.deliver().claimed == 0  # not before Retry-After
    assert len(webhook.received) == 1

    clock.shift(timedelta(seconds=1))
    assert channel_delivery.deliver().sent == 1
    assert len(webhook.received) == 2
    assert webhook.received[0].body == webhook.received[1].body
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    channel = Channel.objects.get()
    assert channel.failures == 0  # a rate limit is not the webhook's fault
    assert channel.disabled_at is None


@pytest.mark.django_db
def test_a_429_holds_back_the_channels_other_posts_in_the_batch(
    growth: Any, webhook: WebhookServer, clock: Any
) -> None:
    slack(growth, webhook)
    post(growth, "a")
    post(growth, "b")
    webhook.script((429, {"Retry-After": "30"}))
    channel_delivery.deliver()
    assert len(webhook.received) == 1  # the second post was not hammered at a rate limit
    assert set(ChannelPost.objects.values_list("status", "attempts")) == {
        ("pending", 1),
        ("pending", 0),
    }
    clock.shift(timedelta(seconds=30))
    assert channel_delivery.deliver().sent == 2


@pytest.mark.django_db
def test_a_5xx_backs_off_exponentially(growth: Any, webhook: WebhookServer, clock: Any) -> None:
    slack(growth, webhook)
    post(growth)
    webhook.script(500, 503)
    channel_delivery.deliver()
    row = ChannelPost.objects.get()
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=30)
    clock.shift(timedelta(seconds=30))
    channel_delivery.deliver()
    row.refresh_from_db()
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=60)
    assert Channel.objects.get().last_error == "HTTP 503"
    clock.shift(timedelta(seconds=60))
    assert channel_delivery.deliver().sent == 1


@pytest.mark.django_db
def test_retry_after_as_an_http_date() -> None:
    now = timezone.now()
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert channel_delivery.retry_after(later, now) == pytest.approx(90, abs=1)
    assert channel_delivery.retry_after("soon", now) is None
    assert channel_delivery.retry_after("999999", now) == channel_delivery.RETRY_AFTER_MAX


@pytest.mark.django_db
def test_the_same_key_is_queued_and_sent_once(growth: Any, webhook: WebhookServer) -> None:
    slack(growth, webhook)
    assert post(growth) == 1
    assert post(growth) == 0  # the same digest or escalation queued again
    channel_delivery.deliver()
    channel_delivery.deliver()
    assert post(growth) == 0
    channel_delivery.deliver()
    assert len(webhook.received) == 1


@pytest.mark.django_db
def test_a_post_claimed_by_a_worker_that_died_is_sent_once_after_the_timeout(
    growth: Any, webhook: WebhookServer, clock: Any, settings: Any
) -> None:
    slack(growth, webhook)
    post(growth)
    # A worker claimed it and was killed before its answer came back.
    ChannelPost.objects.update(
        status="sending", claim=uuid.uuid4(), claimed_at=timezone.now(), attempts=1
    )
    assert channel_delivery.deliver().claimed == 0  # the claim may still be live
    clock.shift(timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT + 1))
    assert channel_delivery.deliver().sent == 1  # the restarted worker's run
    assert channel_delivery.deliver().claimed == 0
    assert len(webhook.received) == 1
    assert ChannelPost.objects.get().status == "sent"


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_post_once(growth: Any, webhook: WebhookServer) -> None:
    slack(growth, webhook)
    for n in range(6):
        post(growth, f"k{n}")
    start = threading.Barrier(2)
    runs: list[channel_delivery.DeliveryRun] = []

    def worker() -> None:
        try:
            start.wait()
            runs.append(channel_delivery.deliver())
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in runs) == 6
    assert sorted(r.body["text"] for r in webhook.received) == [MESSAGE.text()] * 6
    assert len({r.path for r in webhook.received}) == 1
    assert ChannelPost.objects.filter(status="sent").count() == 6


@pytest.mark.django_db
def test_a_404_webhook_is_disabled_after_n_refusals(
    growth: Any, webhook: WebhookServer, clock: Any, settings: Any
) -> None:
    settings.WEBHOOK_MAX_FAILURES = 3
    channel = slack(growth, webhook)
    post(growth, "a")
    webhook.script(404, 404, 404)
    for _ in range(2):
        assert channel_delivery.deliver().refused == 1
        clock.shift(timedelta(hours=1))
    channel.refresh_from_db()
    assert (channel.failures, channel.state, channel.disabled_at) == (2, "failing", None)
    post(growth, "b")  # queued while failing: dropped with the rest when it is disabled
    channel_delivery.deliver()
    channel.refresh_from_db()
    assert channel.state == "disabled"
    assert channel.disabled_at is not None
    assert channel.last_error == "HTTP 404"
    assert len(webhook.received) == 3
    assert set(ChannelPost.objects.values_list("status", flat=True)) == {"failed"}
    # Disabled: nothing more is queued for it, nor sent.
    assert post(growth, "c") == 0
    clock.shift(timedelta(hours=2))
    assert channel_delivery.deliver().claimed == 0
    assert len(webhook.received) == 3


@pytest.mark.django_db
def test_a_success_resets_the_refusal_count(
    growth: Any, webhook: WebhookServer, clock: Any
) -> None:
    slack(growth, webhook)
    post(growth)
    webhook.script(410)
    channel_delivery.deliver()
    assert Channel.objects.get().failures == 1
    clock.shift(timedelta(minutes=5))
    channel_delivery.deliver()
    channel = Channel.objects.get()
    assert (channel.failures, channel.state) == (0, "ok")


@pytest.mark.django_db
def test_a_post_is_given_up_after_its_last_attempt(
    growth: Any, webhook: WebhookServer, clock: Any, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    slack(growth, webhook)
    post(growth)
    webhook.script(500, 500)
    channel_delivery.deliver()
    clock.shift(timedelta(hours=1))
    assert channel_delivery.deliver().dropped == 1
    clock.shift(timedelta(hours=1))
    assert channel_delivery.deliver().claimed == 0
    assert ChannelPost.objects.get().status == "failed"


@pytest.mark.django_db
def test_the_webhook_url_is_never_logged_nor_stored_in_an_error(
    growth: Any, webhook: WebhookServer, clock: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    slack(growth, webhook)
    post(growth)
    webhook.script(404, 500)
    channel_delivery.deliver()
    clock.shift(timedelta(hours=1))
    channel_delivery.deliver()
    # No server at all: requests' exception quotes the URL; only its class is kept.
    webhook.httpd.server_close()
    webhook.httpd.shutdown()
    clock.shift(timedelta(hours=1))
    channel_delivery.deliver()
    channel = Channel.objects.get()
    assert channel.last_error == "ConnectionError"
    assert "failed: HTTP 404" in caplog.text  # the failures are logged...
    assert "SeCrEtToKeN" not in caplog.text  # ...without the secret
    assert "/services/" not in caplog.text
    assert "SeCrEtToKeN" not in channel.url_encrypted
    assert channel.url_hint.endswith("/…/1234")


@pytest.mark.django_db
def test_a_channel_elsewhere_gets_nothing(
    growth: Any, platform: Any, webhook: WebhookServer
) -> None:
    channel_set(team=platform, provider="slack", url=webhook.url())
    assert post(growth) == 0
    assert channel_post(key="l", message=MESSAGE, leadership=True) == 0
    channel_set(team=None, provider="teams", url=webhook.url(TEAMS_PATH))
    assert channel_post(key="l", message=MESSAGE, leadership=True) == 1


@pytest.mark.parametrize(
    ("provider", "url", "says"),
    [
        ("slack", "http://hooks.slack.com/services/T/B/x", "https://"),
        ("slack", "https://example.com/services/T/B/x", "hooks.slack.com/services/"),
        ("slack", "https://hooks.slack.com/other", "hooks.slack.com/services/"),
        ("teams", "https://127.0.0.1/hook", "public host"),
        ("teams", "https://localhost/hook", "public host"),
        ("teams", "ftp://example.com/x", "https://"),
        ("teams", "https://exa mple.com/x", "no spaces"),
        ("teams", "https://ex\x00ample.com/x", "control characters"),
        ("teams", "https://user:pw@example.com/x", "user name"),
        ("teams", "https://example.com:port/x", "not a valid URL"),
        ("teams", "https://example.com/" + "x" * 2000, "at most 2000"),
        ("teams", "   ", "Paste"),
    ],
)
@pytest.mark.django_db
def test_bad_webhook_urls_are_refused_with_a_reason(
    growth: Any, provider: str, url: str, says: str
) -> None:
    with pytest.raises(RuleBroken, match=says) as refused:
        channel_set(team=growth, provider=provider, url=url)
    assert refused.value.field == "url"
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_real_webhook_urls_are_accepted(growth: Any) -> None:
    channel_set(team=growth, provider="slack", url="https://hooks.slack.com/services/T1/B2/abcd")
    channel_set(
        team=growth,
        provider="teams",
        url="https://prod-12.westeurope.logic.azure.com:443/workflows/1/triggers/manual/paths/invoke?sig=Zz9",
    )
    hints = sorted(Channel.objects.values_list("url_hint", flat=True))
    assert hints == [
        "https://hooks.slack.com/…/abcd",
        "https://prod-12.westeurope.logic.azure.com/…/=Zz9",
    ]


@pytest.mark.django_db
def test_replacing_a_webhook_starts_it_afresh(growth: Any, webhook: WebhookServer) -> None:
    channel = slack(growth, webhook)
    Channel.objects.filter(pk=channel.pk).update(
        failures=5, disabled_at=timezone.now(), last_error="HTTP 404"
    )
    again = channel_set(team=growth, provider="slack", url=webhook.url("/services/T/B/new1"))
    assert again.pk == channel.pk
    assert (again.failures, again.disabled_at, again.last_error, again.state) == (0, None, "", "ok")
    assert again.url == webhook.url("/services/T/B/new1")


@pytest.mark.django_db
def test_a_url_stored_under_another_key_is_reported_not_sent(
    growth: Any, webhook: WebhookServer, settings: Any
) -> None:
    slack(growth, webhook)
    post(growth)
    settings.CHANNEL_KEY = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg="
    channel_delivery.deliver()
    assert webhook.received == []
    channel = Channel.objects.get()
    assert "set it again" in channel.last_error


@pytest.mark.django_db
def test_a_broker_outage_leaves_the_post_for_the_beat_run(
    growth: Any, webhook: WebhookServer, django_capture_on_commit_callbacks: Any
) -> None:
    slack(growth, webhook)
    with (
        mock.patch.object(
            channels_deliver_task,
            "delay",
            side_effect=OperationalError("Error 111 connecting to 127.0.0.1:6379"),
        ) as delay,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        assert post(growth) == 1  # the caller's write is not turned into an error
    delay.assert_called_once_with()
    assert ChannelPost.objects.get().status == "pending"
    assert channels_deliver_task.apply().get() == {"sent": 1, "retried": 0, "dropped": 0}
    assert len(webhook.received) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CHANNEL_KEY", "not-a-fernet-key"),
        ("CHANNEL_KEY", "c2hvcnQ="),
        ("WEBHOOK_MAX_FAILURES", "0"),
        ("WEBHOOK_TIMEOUT", "soon"),
        ("WEBHOOK_ALLOW_HTTP", "perhaps"),
        ("WEBHOOK_ALLOW_HTTP", "true"),  # development and tests only
    ],
)
def test_a_bad_channel_setting_stops_start_up_and_names_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = load_settings({**valid_production_env(), variable: value}, tmp_path)
    assert result.returncode != 0
    assert variable in improperly_configured_message(result.stderr)


def test_a_fernet_channel_key_is_accepted(tmp_path: Path) -> None:
    key = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg="
    result = load_settings({**valid_production_env(), "CHANNEL_KEY": key}, tmp_path)
    assert result.returncode == 0, result.stderr
