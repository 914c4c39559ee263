"""The dependency ladder's rungs in Slack and Teams (issue 16): the providing team's channels
hear when an escalation reaches its lead, leadership's too at the top rung; once each, and
the e-mail goes out whatever the webhook does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.core import mail

from dependencies import escalation, services
from dependencies.models import Escalation
from okrly.celery import app as celery_app
from okrly.channel_services import channel_set
from okrly.channels import ChannelPost
from okrly.models import Notification
from tests.webhooks import WebhookServer

DUE = date(2026, 11, 20)
SLACK = "https://hooks.slack.com/services/T1/B1/"


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-10 10:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(
    travel: Any, request_dependency: Any, provider: Any, platform_lead: Any, leader: Any
) -> Any:
    dep = request_dependency(due_date=DUE)
    return services.dependency_commit(dependency=dep, user=provider)


def posts() -> list[tuple[str, str]]:
    return list(
        ChannelPost.objects.order_by("pk").values_list("channel__url_hint", "payload__text")
    )


@pytest.mark.django_db
def test_rungs_reach_the_providers_channel_then_leaderships(
    committed: Any, travel: Any, growth: Any, platform: Any
) -> None:
    channel_set(team=platform, provider="slack", url=SLACK + "plat")
    channel_set(team=None, provider="slack", url=SLACK + "lead")
    channel_set(team=growth, provider="slack", url=SLACK + "grow")

    travel.move_to("2026-11-21 00:00:00+00:00")
    escalation.dependencies_escalate()  # rung 1: a private reminder to the responsible person
    assert posts() == []

    travel.move_to("2026-11-23 00:00:00+00:00")
    escalation.dependencies_escalate()  # rung 2: Platform's lead
    note = Notification.objects.get(kind="escalation_team_lead")
    assert posts() == [("https://hooks.slack.com/…/plat", note.subject)]
    rung = Escalation.objects.get(rung=2)
    post = ChannelPost.objects.get()
    assert post.key == f"rung:dependencies.escalation:{rung.pk}"
    button = post.payload["blocks"][-2]["elements"][0]
    assert button["url"].endswith(committed.get_absolute_url())

    travel.move_to("2026-11-26 00:00:00+00:00")
    escalation.dependencies_escalate()  # rung 3: leadership
    top = Notification.objects.filter(kind="escalation_leadership").first()
    assert top is not None
    assert posts()[1:] == [
        ("https://hooks.slack.com/…/plat", top.subject),
        ("https://hooks.slack.com/…/lead", top.subject),
    ]
    escalation.dependencies_escalate()  # a rerun posts nothing more
    assert len(posts()) == 3


@pytest.mark.django_db
def test_the_email_goes_out_while_the_webhook_fails(
    committed: Any,
    travel: Any,
    platform: Any,
    provider: Any,
    platform_lead: Any,
    webhook: WebhookServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    channel_set(team=platform, provider="teams", url=webhook.url("/hook"))
    webhook.script(500)
    travel.move_to("2026-11-23 00:00:00+00:00")
    celery_app.conf.update(task_always_eager=True)  # the queued tasks run on commit
    try:
        with django_capture_on_commit_callbacks(execute=True):
            # Catches up rungs 1 and 2: the e-mails and the channel's kick run on commit.
            escalation.dependencies_escalate()
            escalation.dependencies_escalate()
    finally:
        celery_app.conf.update(task_always_eager=False)
    assert len(webhook.received) == 1  # the webhook was tried and failed ...
    assert ChannelPost.objects.get().status == "pending"  # ... and will be retried
    # ... and both rungs' e-mails went out regardless.
    assert [m.to for m in mail.outbox] == [[provider.email], [platform_lead.email]]
    assert "Escalation to you as Platform lead" in mail.outbox[1].subject
