"""Slack and Microsoft Teams channels (issue 16): where a team's (or the leadership group's)
messages go, and the posts queued for them.

A ``Channel`` is one incoming webhook: a team has at most one per provider, and so has the
leadership group. Its URL is a secret (whoever holds it can post to the channel), so it is
stored encrypted (Fernet, key CHANNEL_KEY or one derived from SECRET_KEY), shown only as a
hint, and never written to a log or to ``last_error``. A ``ChannelPost`` is one message for
one channel, unique per (channel, key): whatever queues the same digest or escalation twice
inserts one row, and okrly/channel_delivery.py sends each row at most once (a claim, like
the e-mail outbox's).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from okrly.errors import RuleBroken
from okrly.models import Team, TimeStampedModel

URL_MAX = 2000
SLACK_HOST = "hooks.slack.com"


def _fernet() -> Fernet:
    key = settings.CHANNEL_KEY
    if not key:
        # No key of its own: one derived from SECRET_KEY (rotating SECRET_KEY then means
        # setting the webhooks again, which the set-up page says when a URL can't be read).
        digest = hashlib.sha256(b"okrly-channels:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt_url(url: str) -> str:
    return _fernet().encrypt(url.encode()).decode()


def decrypt_url(token: str) -> str | None:
    """The URL, or None when the key changed since it was stored."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def url_hint(url: str) -> str:
    """What the page shows of a webhook: its host and last four characters."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…/{url[-4:]}"


def _is_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name, not an address


def validate_webhook_url(provider: str, url: str) -> str:
    """The URL, stripped, or RuleBroken (field "url") saying what is wrong with it.

    https only; Slack's incoming webhooks live on hooks.slack.com/services/; a Teams workflow
    URL has no fixed host (it varies by tenant and region), so any public https host. With
    WEBHOOK_ALLOW_HTTP (development and tests only) http and any host, a local server, are
    accepted.
    """
    url = url.strip()
    if not url:
        raise RuleBroken("Paste the webhook URL.", field="url")
    if len(url) > URL_MAX:
        raise RuleBroken(f"A webhook URL is at most {URL_MAX} characters.", field="url")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise RuleBroken("A webhook URL has no spaces or control characters.", field="url")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise RuleBroken("This is not a valid URL.", field="url") from None
    relaxed = settings.WEBHOOK_ALLOW_HTTP
    if parts.scheme != "https" and not (relaxed and parts.scheme == "http"):
        raise RuleBroken("A webhook URL must start with https://.", field="url")
    if not host or parts.username or parts.password:
        raise RuleBroken("This is not a valid webhook URL (no host, or a user name).", field="url")
    if relaxed:
        return url
    if provider == Channel.Provider.SLACK:
        if host != SLACK_HOST or not parts.path.startswith("/services/"):
            raise RuleBroken(
                "A Slack incoming webhook URL starts with https://hooks.slack.com/services/ "
                "(Slack: Apps → Incoming Webhooks → Add New Webhook).",
                field="url",
            )
    elif _is_private_host(host):
        raise RuleBroken(
            "A Teams workflow URL is on a public host, not a local or private address.",
            field="url",
        )
    return url


class Channel(TimeStampedModel):
    """One incoming webhook of a team, or of the leadership group (``team`` empty)."""

    class Provider(models.TextChoices):
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams"

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="channels"
    )
    provider = models.CharField(max_length=5, choices=Provider.choices)
    # Fernet token of the URL: never shown, never logged (see the module docstring).
    url_encrypted = models.TextField()
    url_hint = models.CharField(max_length=120)
    # Refusals in a row (4xx other than 429); WEBHOOK_MAX_FAILURES of them disable it.
    failures = models.PositiveSmallIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # What the last failed attempt got (a status or an error's class, never the URL).
    last_error = models.CharField(max_length=200, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "provider"],
                condition=Q(team__isnull=False),
                name="one_channel_per_team_provider",
            ),
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(team__isnull=True),
                name="one_leadership_channel_per_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} of {self.team or 'Leadership'}"

    @property
    def is_leadership(self) -> bool:
        return self.team_id is None

    @property
    def url(self) -> str | None:
        return decrypt_url(self.url_encrypted)

    def set_url(self, url: str) -> None:
        self.url_encrypted = encrypt_url(url)
        self.url_hint = url_hint(url)

    @property
    def state(self) -> str:
        """ok | failing | disabled, for the set-up page."""
        if self.disabled_at is not None:
            return "disabled"
        if self.failures or (
            self.last_error_at is not None
            and (self.last_sent_at is None or self.last_error_at > self.last_sent_at)
        ):
            return "failing"
        return "ok"


class ChannelPost(models.Model):
    """One message for one channel, sent at most once (okrly/channel_delivery.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posts")
    # What the message is ("escalation:dependencies.escalation:12", "team_digest:3"): one
    # row per channel and key, so queuing the same message twice sends it once.
    key = models.CharField(max_length=120)
    # The provider's JSON body (Block Kit or an Adaptive Card message), built when queued.
    payload = models.JSONField()
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    claim = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="one_post_per_channel_key")
        ]
        indexes = [
            # deliver(): the posts due now (pending, or claimed by a worker that died).
            models.Index(
                fields=["next_attempt_at"],
                name="channelpost_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → channel {self.channel_id} ({self.status})"
