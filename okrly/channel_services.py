"""Channels' services: setting a team's (or leadership's) webhooks, and queuing posts.

``channel_post`` is what the features call (the ladders, early escalations, the team
digest): it inserts one row per enabled channel of the teams named, unique per (channel,
key), in the caller's transaction, and queues delivery after commit. With the broker down
the rows wait for the every-minute beat run; e-mail never waits on a channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from okrly.channel_messages import Message
from okrly.channels import Channel, ChannelPost, validate_webhook_url
from okrly.errors import RuleBroken
from okrly.models import Team
from okrly.tasks import channels_deliver_task


def _kick() -> None:
    # After commit, so that the worker finds the rows; robust: a broker outage must not turn
    # the escalation or page that queued them into an error (beat's run sends them later).
    transaction.on_commit(lambda: channels_deliver_task.delay(), robust=True)


@transaction.atomic
def channel_set(*, team: Team | None, provider: str, url: str) -> Channel:
    """Set (or replace) the webhook of ``team`` (None: the leadership group) for ``provider``.
    Replacing one starts it afresh: enabled, no failures."""
    if provider not in Channel.Provider.values:
        raise RuleBroken("Choose Slack or Microsoft Teams.", field="provider")
    url = validate_webhook_url(provider, url)
    channel = Channel.objects.select_for_update().filter(
        team=team, provider=provider
    ).first() or Channel(team=team, provider=provider)
    channel.set_url(url)
    channel.failures = 0
    channel.disabled_at = None
    channel.last_error = ""
    channel.last_error_at = None
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        # Two people set the same team's first webhook at once: the other one was first.
        raise RuleBroken(
            "This webhook was set by someone else meanwhile: reload the page and try again."
        ) from None
    return channel


def channel_remove(*, channel: Channel) -> None:
    channel.delete()  # its posts go with it (CASCADE): nothing is sent to a removed URL


def channel_enable(*, channel: Channel) -> Channel:
    """Re-enable a disabled channel (its URL was fixed on the provider's side): it starts
    afresh, its past errors acknowledged."""
    Channel.objects.filter(pk=channel.pk).update(
        disabled_at=None, failures=0, last_error="", last_error_at=None, updated_at=timezone.now()
    )
    channel.refresh_from_db()
    return channel


def channel_post(
    *, key: str, message: Message, team_ids: Iterable[int] = (), leadership: bool = False
) -> int:
    """Queue ``message`` for the enabled channels of these teams (and of leadership): one row
    per channel and ``key``, so the same digest or escalation queued twice is sent once.
    Returns how many rows were new. Two queries, and a third when something is new."""
    key = key[:120]
    where = Q(team_id__in=list(team_ids))
    if leadership:
        where |= Q(team__isnull=True)
    channels = list(Channel.objects.filter(where, disabled_at__isnull=True))
    if not channels:
        return 0
    already = set(
        ChannelPost.objects.filter(channel__in=channels, key=key).values_list(
            "channel_id", flat=True
        )
    )
    fresh = [
        ChannelPost(channel=c, key=key, payload=message.payload(c.provider))
        for c in channels
        if c.pk not in already
    ]
    if fresh:
        # ignore_conflicts: a concurrent caller inserting the same key wins, this one skips.
        ChannelPost.objects.bulk_create(fresh, ignore_conflicts=True)
        _kick()
    return len(fresh)


def channel_send_test(*, channel: Channel) -> None:
    """Queue a test message for this channel (each press is a message of its own)."""
    team = channel.team.name if channel.team else "the leadership group"
    message = Message(
        title="OKRly test message",
        lines=[f"This channel now gets {team}'s OKRly messages."],
        link="/",
    )
    ChannelPost.objects.create(
        channel=channel,
        key=f"test:{uuid.uuid4()}",
        payload=message.payload(channel.provider),
    )
    _kick()
