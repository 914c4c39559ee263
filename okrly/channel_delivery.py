"""Sending channel posts to their webhooks, at most once each (what channels_deliver_task runs).

Apart from okrly/channel_services.py (which writes the posts and queues the task): the task
imports this module and the services import the task, so the imports form no circle.

The webhook URL is a secret: nothing here logs it or stores it in an error. An exception
from ``requests`` can quote the URL in its message, so only its class name is kept.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from okrly.channels import Channel, ChannelPost

log = logging.getLogger(__name__)

S = ChannelPost.Status
# Answers worth another try later: rate limited, or the provider's own trouble.
TRANSIENT = {408, 429, 500, 502, 503, 504}
RETRY_AFTER_MAX = 3600  # a Retry-After beyond an hour is read as an hour


@dataclass
class DeliveryRun:
    sent: int = 0
    retried: int = 0  # a transient failure: scheduled again
    refused: int = 0  # a 4xx: counted against the channel
    dropped: int = 0  # gave up (attempts ran out, or its channel is disabled)
    claimed: int = 0


def _claimable(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT)
    return Q(status=S.PENDING, next_attempt_at__lte=now) | Q(status=S.SENDING, claimed_at__lt=stale)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), RETRY_AFTER_MAX))


def backoff(attempts: int) -> float:
    """30 s after the first failed attempt, doubling, at most WEBHOOK_BACKOFF_MAX."""
    return float(min(30 * 2 ** max(attempts - 1, 0), settings.WEBHOOK_BACKOFF_MAX))


def deliver(*, now: datetime | None = None, limit: int = 100) -> DeliveryRun:
    """Send the posts due now, at most once each.

    1. Claim: one UPDATE writes a fresh token on up to ``limit`` due posts (pending and due,
       or claimed so long ago that their worker must have died); a post sent or claimed by
       a live worker is left alone, so a second run or worker sends nothing twice.
    2. Each claimed post of an enabled channel is POSTed (with a timeout, never a sleep).
    3. 2xx: the post is sent and its channel's failures reset.
    4. 408/429/5xx or no answer: the post is scheduled again after Retry-After, else an
       exponential backoff; the channel's other posts in this batch wait as long.
    5. Another 4xx: the channel's failures go up; at WEBHOOK_MAX_FAILURES it is disabled
       (shown on the set-up page) and its unsent posts dropped. The post is retried later
       like 4., and dropped after WEBHOOK_MAX_ATTEMPTS attempts in all.
    """
    now = now or timezone.now()
    run = DeliveryRun()
    token = uuid.uuid4()
    due = list(
        ChannelPost.objects.filter(_claimable(now), channel__disabled_at__isnull=True)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return run
    # The condition again in the UPDATE: a post another worker claimed meanwhile is skipped.
    ChannelPost.objects.filter(_claimable(now), pk__in=due).update(
        status=S.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1
    )
    posts = list(ChannelPost.objects.filter(claim=token).select_related("channel").order_by("pk"))
    run.claimed = len(posts)
    # One session for the run: posts to the same host reuse its connection.
    with requests.Session() as session:
        _send_all(posts, token, session, now, run)
    return run


def _send_all(
    posts: list[ChannelPost],
    token: uuid.UUID,
    session: requests.Session,
    now: datetime,
    run: DeliveryRun,
) -> None:
    paused: dict[int, datetime] = {}  # channel id -> when it may be tried again
    disabled: set[int] = set()  # channels disabled during this run
    for post in posts:
        channel = post.channel
        if channel.disabled_at is not None or channel.pk in disabled:
            _finish(post, token, status=S.FAILED)
            run.dropped += 1
            continue
        if channel.pk in paused:
            _again(post, token, at=paused[channel.pk], undo_attempt=True)
            run.retried += 1
            continue
        url = channel.url
        if url is None:
            # The key changed since the URL was stored: only setting it again can help.
            if _refused(channel, "the stored URL can't be decrypted: set it again", now):
                disabled.add(channel.pk)
            _finish(post, token, status=S.FAILED)
            run.dropped += 1
            continue
        try:
            response = session.post(
                url, json=post.payload, timeout=settings.WEBHOOK_TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as exc:
            error, status_code, wait = type(exc).__name__, None, None
        else:
            status_code = response.status_code
            error = f"HTTP {status_code}"
            wait = retry_after(response.headers.get("Retry-After"), now)
        if status_code is not None and 200 <= status_code < 300:
            _finish(post, token, status=S.SENT, sent_at=timezone.now())
            Channel.objects.filter(pk=channel.pk).update(failures=0, last_sent_at=timezone.now())
            run.sent += 1
            continue
        log.warning(
            "channel %s (%s) post %s failed: %s", channel.pk, channel.provider, post.pk, error
        )
        if status_code is None or status_code in TRANSIENT:
            Channel.objects.filter(pk=channel.pk).update(last_error=error, last_error_at=now)
            at = now + timedelta(seconds=wait if wait is not None else backoff(post.attempts))
            paused[channel.pk] = at
            if _again(post, token, at=at):
                run.retried += 1
            else:
                run.dropped += 1
            continue
        run.refused += 1
        if _refused(channel, error, now):
            disabled.add(channel.pk)
            _finish(post, token, status=S.FAILED)
            run.dropped += 1
        elif not _again(post, token, at=now + timedelta(seconds=backoff(post.attempts))):
            run.dropped += 1


def _finish(
    post: ChannelPost, token: uuid.UUID, *, status: str, sent_at: datetime | None = None
) -> None:
    ChannelPost.objects.filter(pk=post.pk, claim=token).update(
        status=status, claim=None, sent_at=sent_at
    )


def _again(
    post: ChannelPost, token: uuid.UUID, *, at: datetime, undo_attempt: bool = False
) -> bool:
    """Back to pending for another try at ``at``; False (and failed) once attempts ran out."""
    mine = ChannelPost.objects.filter(pk=post.pk, claim=token)
    if undo_attempt:  # never tried in this run: the claim's count is given back
        mine.update(
            status=S.PENDING,
            claim=None,
            claimed_at=None,
            next_attempt_at=at,
            attempts=F("attempts") - 1,
        )
        return True
    if post.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        mine.update(status=S.FAILED, claim=None)
        return False
    mine.update(status=S.PENDING, claim=None, claimed_at=None, next_attempt_at=at)
    return True


def _refused(channel: Channel, error: str, now: datetime) -> bool:
    """Count a refusal against the channel; True when that disabled it (its unsent posts are
    then dropped: re-enabling it starts afresh rather than posting stale news)."""
    Channel.objects.filter(pk=channel.pk).update(
        failures=F("failures") + 1, last_error=error[:200], last_error_at=now
    )
    disabled = Channel.objects.filter(
        pk=channel.pk, disabled_at__isnull=True, failures__gte=settings.WEBHOOK_MAX_FAILURES
    ).update(disabled_at=now)
    if disabled:
        log.warning(
            "channel %s (%s) disabled after repeated refusals", channel.pk, channel.provider
        )
        ChannelPost.objects.filter(channel=channel, status=S.PENDING).update(status=S.FAILED)
    return bool(disabled)
