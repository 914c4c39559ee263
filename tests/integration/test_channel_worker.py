"""A real worker, on Redis and on the embedded broker, posts each Slack or Teams message once
across a restart (issue 16): the task redelivered or queued again by beat finds nothing left
to claim, and a post a killed worker had claimed is taken over once its claim is stale."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okrly.channel_messages import Message
from okrly.channel_services import channel_post, channel_set
from okrly.channels import ChannelPost
from okrly.tasks import channels_deliver_task
from tests.factories import TeamFactory
from tests.integration.conftest import Broker, running_worker
from tests.webhooks import SLACK_PATH, WebhookServer

pytestmark = pytest.mark.integration


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_a_worker_restart_sends_nothing_twice(
    broker: Broker, transactional_db: None, tmp_path: Path, webhook: WebhookServer
) -> None:
    growth = TeamFactory(name="Growth", slug="growth")
    channel_set(team=growth, provider="slack", url=webhook.url())
    queued: list[str] = []

    def delay() -> None:
        queued.append(broker.send(channels_deliver_task))

    with (
        mock.patch.object(channels_deliver_task, "delay", side_effect=delay),
        transaction.atomic(),
    ):
        channel_post(key="digest", message=Message(title="Week 7"), team_ids=[growth.pk])
        assert queued == []  # not before the row is committed
    with running_worker(broker, _folder(tmp_path, "first")) as worker:
        result = ast.literal_eval(worker.wait_for_task(queued[0]))
    assert result == {"sent": 1, "retried": 0, "dropped": 0}

    # A post claimed by a worker killed before it sent it: its claim is long stale.
    stale = timezone.now() - timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT + 5)
    channel_post(key="escalation", message=Message(title="Rung 2"), team_ids=[growth.pk])
    ChannelPost.objects.filter(key="escalation").update(
        status="sending", claimed_at=stale, attempts=1
    )
    with running_worker(broker, _folder(tmp_path, "second")) as worker:
        # The restarted worker gets the task redelivered and beat's run as well.
        runs = [broker.send(channels_deliver_task) for _ in range(2)]
        results = [ast.literal_eval(worker.wait_for_task(t)) for t in runs]
    assert sorted(r["sent"] for r in results) == [0, 1]
    assert [r.path for r in webhook.received] == [SLACK_PATH, SLACK_PATH]
    assert [r.body["text"] for r in webhook.received] == ["Week 7", "Rung 2"]
    assert set(ChannelPost.objects.values_list("status", flat=True)) == {"sent"}
