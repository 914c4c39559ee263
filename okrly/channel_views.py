"""The set-up page of Slack and Teams channels (/setup/channels/, staff only).

One row per team and one for the leadership group: each provider's webhook as its hint and
state (ok, failing, disabled with the last error), with the actions that apply, and a form to
set or replace one. The URL itself is never rendered: not in the page, not in a bound form
sent back with an error (the field is emptied), and the POST is marked sensitive so Django's
error reports leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from okrly import channel_services
from okrly.access import require_configure_channels
from okrly.channel_forms import ChannelForm
from okrly.channels import Channel
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Team
from okrly.types import AuthedRequest

LEADERSHIP = "leadership"


@dataclass
class Row:
    """One team (or leadership, ``team`` None) and its channels by provider."""

    name: str
    anchor: str
    action: str
    team: Team | None = None
    channels: list[tuple[str, Channel | None]] = field(default_factory=list)
    form: ChannelForm | None = None


def _rows(bound: tuple[str, ChannelForm] | None = None) -> list[Row]:
    """Every row, in two queries whatever the number of teams."""
    by_target: dict[int | None, dict[str, Channel]] = {}
    for channel in Channel.objects.defer("url_encrypted"):
        by_target.setdefault(channel.team_id, {})[channel.provider] = channel
    rows = [Row("Leadership group", LEADERSHIP, reverse("setup_channels_leadership"))]
    rows += [
        Row(team.name, f"team-{team.pk}", reverse("setup_channels_team", args=[team.pk]), team)
        for team in Team.objects.order_by("name").only("pk", "name")
    ]
    for row in rows:
        found = by_target.get(row.team.pk if row.team else None, {})
        row.channels = [(label, found.get(value)) for value, label in Channel.Provider.choices]
        if bound is not None and bound[0] == row.anchor:
            row.form = bound[1]
        else:
            row.form = ChannelForm(prefix=row.anchor)
    return rows


def _page(request: AuthedRequest, bound: tuple[str, ChannelForm] | None = None) -> HttpResponse:
    return render(
        request,
        "okrly/setup_channels.html",
        {"rows": _rows(bound), "max_failures": settings.WEBHOOK_MAX_FAILURES},
        status=400 if bound is not None else 200,
    )


@login_required
@require_http_methods(["GET"])
def setup_channels(request: AuthedRequest) -> HttpResponse:
    require_configure_channels(request.user)
    return _page(request)


def _back(anchor: str) -> HttpResponse:
    return redirect(f"{reverse('setup_channels')}#{anchor}")


@sensitive_post_parameters()
@login_required
@require_http_methods(["POST"])
def setup_channels_set(request: AuthedRequest, team_id: int | None = None) -> HttpResponse:
    """Set or replace a webhook of a team (``team_id``) or of leadership (none)."""
    require_configure_channels(request.user)
    team = get_object_or_404(Team, pk=team_id) if team_id is not None else None
    anchor = f"team-{team.pk}" if team else LEADERSHIP
    form = ChannelForm(request.POST, prefix=anchor)
    if form.is_valid():
        try:
            channel = channel_services.channel_set(
                team=team, provider=form.cleaned_data["provider"], url=form.cleaned_data["url"]
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{channel}: set ({channel.url_hint}).")
            return _back(anchor)
    # Sent back with its errors, but never with the URL typed in: the page would show it.
    data = request.POST.copy()
    data[form.add_prefix("url")] = ""
    form.data = data
    return _page(request, (anchor, form))


def _channel(request: AuthedRequest, pk: int) -> Channel:
    require_configure_channels(request.user)
    return get_object_or_404(Channel.objects.select_related("team"), pk=pk)


def _anchor(channel: Channel) -> str:
    return f"team-{channel.team_id}" if channel.team_id else LEADERSHIP


@login_required
@require_http_methods(["POST"])
def setup_channel_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    channel_services.channel_remove(channel=channel)
    messages.success(request, f"{channel}: removed.")
    return _back(_anchor(channel))


@login_required
@require_http_methods(["POST"])
def setup_channel_enable(request: AuthedRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    channel_services.channel_enable(channel=channel)
    messages.success(request, f"{channel}: enabled again.")
    return _back(_anchor(channel))


@login_required
@require_http_methods(["POST"])
def setup_channel_test(request: AuthedRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    if channel.disabled_at is not None:
        messages.error(request, f"{channel} is disabled: enable it before testing it.")
        return _back(_anchor(channel))
    channel_services.channel_send_test(channel=channel)
    messages.success(
        request, f"{channel}: a test message is on its way; this page shows if it fails."
    )
    return _back(_anchor(channel))
