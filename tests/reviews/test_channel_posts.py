"""Early escalations in Slack and Teams (issue 16): the raising team's channels hear of one
when it is raised, and again when it climbs to a lead and to leadership (with leadership's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine

from okrly.channel_services import channel_set
from okrly.channels import ChannelPost
from reviews import early_escalations as svc
from reviews.early_escalation_ladder import early_escalations_escalate

SLACK = "https://hooks.slack.com/services/T1/B1/"


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-12-04 15:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def channels(growth: Any, platform: Any) -> None:
    channel_set(team=growth, provider="slack", url=SLACK + "grow")
    channel_set(team=platform, provider="slack", url=SLACK + "plat")
    channel_set(team=None, provider="teams", url="https://example.com/workflows/lead")


def posts() -> list[tuple[str, str]]:
    return list(ChannelPost.objects.order_by("pk").values_list("channel__url_hint", "key"))


@pytest.mark.django_db
def test_raising_posts_to_the_raising_teams_channel_with_a_link(
    travel: Any, channels: None, key_result: Any, owner: Any, provider: Any, settings: Any
) -> None:
    esc = svc.escalation_raise(
        user=owner,
        key_result=key_result,
        asked_of=provider,
        need="Decide: ship without SSO?",
        needed_by=date(2026, 12, 11),
    )
    assert posts() == [("https://hooks.slack.com/…/grow", f"early_escalation:{esc.pk}")]
    blocks = ChannelPost.objects.get().payload["blocks"]
    assert blocks[0]["text"]["text"] == "Olga Owner escalated early: “Raise trial conversion”"
    assert "Decide: ship without SSO?" in blocks[1]["text"]["text"]
    assert "Asked of Pia Provider, needed by Fri 11 Dec 2026." in blocks[1]["text"]["text"]
    assert blocks[2]["elements"][0]["url"] == settings.SITE_URL + esc.get_absolute_url()


@pytest.mark.django_db
def test_the_ladder_posts_when_it_reaches_a_lead_and_leadership(
    travel: Any,
    channels: None,
    key_result: Any,
    owner: Any,
    provider: Any,
    platform_lead: Any,
    leader: Any,
) -> None:
    svc.escalation_raise(
        user=owner,
        key_result=key_result,
        asked_of=provider,
        need="Decide: ship without SSO?",
        needed_by=date(2026, 12, 11),
    )
    # Deadline Tue 8 Dec 15:00 (48 working hours); rungs 0 h, 24 h, 72 h after it.
    travel.move_to("2026-12-08 15:00:00+00:00")
    early_escalations_escalate()  # rung 1: the named person, privately
    assert len(posts()) == 1
    travel.move_to("2026-12-09 15:00:00+00:00")
    early_escalations_escalate()  # rung 2: their lead
    assert [hint for hint, _ in posts()[1:]] == ["https://hooks.slack.com/…/grow"]
    travel.move_to("2026-12-11 15:00:00+00:00")
    early_escalations_escalate()  # rung 3: leadership
    assert [hint for hint, _ in posts()[2:]] == [
        "https://hooks.slack.com/…/grow",
        "https://example.com/…/lead",
    ]
    teams = ChannelPost.objects.get(channel__team__isnull=True).payload
    title = teams["attachments"][0]["content"]["body"][0]["text"]
    assert title.startswith("Escalation to leadership: “Raise trial conversion”")
