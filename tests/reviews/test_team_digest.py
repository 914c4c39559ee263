"""The teams' weekly digest in Slack and Teams (issue 16): after the week's check-in deadline
(check-in moment + CHECKIN_MISSED_RUNG_HOURS[0]), one post per team with a channel: who
checked in, new risks, needs, overdue dependencies, with links; once per week.

2026 Q4 starts on Thursday 1 October; check-ins are on Mondays at 09:00 in the owner's zone.
Week 7 runs 12-18 November: its check-in is Monday 16 November 09:00, its deadline Tuesday
17 November 09:00 UTC (24 hours later); week 6's deadline was Tuesday 10 November.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine

from checkins.services import checkin_submit
from dependencies import services as dependencies
from okrly import channel_delivery
from okrly.channel_services import channel_set
from okrly.channels import ChannelPost
from reviews.models import TeamDigest
from reviews.tasks import teams_post_digests_task
from reviews.team_digest import teams_post_digests
from tests.factories import KeyResultFactory
from tests.webhooks import WebhookServer


@pytest.fixture
def travel(db: Any) -> Iterator[Any]:
    with time_machine.travel("2026-10-01 07:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def week7(
    travel: Any,
    key_result: Any,
    objective: Any,
    owner: Any,
    teammate: Any,
    platform: Any,
    provider: Any,
) -> dict[str, Any]:
    """Growth's week 7: Olga checked in at risk with a need, Tim did not; Platform owes
    Growth an API due 10 November."""
    second = KeyResultFactory(objective=objective, owner=teammate, title="Cut onboarding time")
    dep = dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 11, 10),
    )
    travel.move_to("2026-11-16 10:00:00+00:00")
    checkin_submit(
        user=owner,
        key_result=key_result,
        week=7,
        status="at_risk",
        confidence=3,
        biggest_risk="Pricing page",
        value="12",
        need="A design review of the pricing page",
        need_person=teammate,
    )
    return {"second": second, "dep": dep}


@pytest.mark.django_db
def test_the_digest_posts_once_after_the_deadline_with_a_link_per_item(
    week7: dict[str, Any],
    travel: Any,
    growth: Any,
    key_result: Any,
    webhook: WebhookServer,
    settings: Any,
) -> None:
    channel_set(team=growth, provider="slack", url=webhook.url())
    travel.move_to("2026-11-17 08:59:00+00:00")
    assert teams_post_digests().posted == 1  # week 6's, the latest past its deadline
    assert list(TeamDigest.objects.values_list("week", flat=True)) == [6]

    travel.move_to("2026-11-17 09:00:00+00:00")
    assert teams_post_digests_task.apply().get() == {"posted": 1, "already": 0}
    assert teams_post_digests().posted == 0  # a rerun posts nothing
    digest = TeamDigest.objects.get(week=7)
    kr = f"/objectives/key-results/{key_result.pk}/"
    assert [tuple(i) for i in digest.items] == [
        (
            "Checked in · Raise trial conversion (Olga Owner: at risk, confidence 3/10)",
            kr,
        ),
        (
            "No check-in · Cut onboarding time (Tim Teammate)",
            f"/objectives/key-results/{week7['second'].pk}/",
        ),
        ("New risk · At risk: Raise trial conversion (not answered yet)", kr),
        ("Need · Olga Owner from Tim Teammate: A design review of the pricing page", kr),
        (
            "Overdue dependency · Billing API v2 (due 10 Nov, Pia Provider)",
            week7["dep"].get_absolute_url(),
        ),
    ]
    channel_delivery.deliver()
    assert len(webhook.received) == 2
    body = webhook.received[1].body
    assert body["text"] == "Growth · week 7: 1 of 2 checked in"
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert fields == [
        "*Checked in*\n1 of 2",
        "*New risks*\n1",
        "*Needs*\n1",
        "*Overdue dependencies*\n1",
    ]
    listed = body["blocks"][2]["text"]["text"]
    assert f"<{settings.SITE_URL}{kr}|Checked in · Raise trial conversion" in listed
    assert body["blocks"][3]["elements"][0]["url"] == f"{settings.SITE_URL}/teams/growth/"


@pytest.mark.django_db
def test_the_deadline_waits_for_the_latest_owners_zone(
    week7: dict[str, Any], travel: Any, growth: Any, teammate: Any
) -> None:
    teammate.profile.timezone = "America/Los_Angeles"  # 09:00 there is 17:00 UTC
    teammate.profile.save()
    channel_set(team=growth, provider="teams", url="https://example.com/workflow?sig=1")
    travel.move_to("2026-11-17 09:00:00+00:00")
    teams_post_digests()
    assert list(TeamDigest.objects.values_list("week", flat=True)) == [6]
    travel.move_to("2026-11-17 17:00:00+00:00")
    teams_post_digests()
    assert list(TeamDigest.objects.order_by("week").values_list("week", flat=True)) == [6, 7]
    latest = ChannelPost.objects.order_by("-pk")[0]
    card = latest.payload["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Growth · week 7: 1 of 2 checked in"


@pytest.mark.django_db
def test_teams_without_a_channel_get_nothing_and_a_row_taken_is_not_posted_again(
    week7: dict[str, Any], travel: Any, growth: Any, platform: Any, quarter: Any
) -> None:
    travel.move_to("2026-11-17 09:00:00+00:00")
    assert teams_post_digests().posted == 0  # no channel anywhere: nothing read or written
    assert not TeamDigest.objects.exists()
    channel_set(team=platform, provider="slack", url="https://hooks.slack.com/services/T/B/p")
    channel = channel_set(
        team=growth, provider="slack", url="https://hooks.slack.com/services/T/B/g"
    )
    # Another worker already wrote Growth's row for week 7.
    TeamDigest.objects.create(team=growth, quarter=quarter, week=7)
    run = teams_post_digests()
    assert (run.posted, run.already) == (1, 1)
    assert not ChannelPost.objects.filter(channel=channel).exists()
    posted = ChannelPost.objects.get()
    assert posted.payload["text"] == "Platform · week 7: 0 of 0 checked in"
    # Platform provides the overdue dependency: it is in Platform's digest too.
    assert "Overdue dependency · Billing API v2" in str(posted.payload["blocks"])


@pytest.mark.django_db
def test_leaderships_channel_gets_the_organisations_digest_once(
    week7: dict[str, Any], travel: Any, growth: Any, platform: Any, provider: Any, settings: Any
) -> None:
    KeyResultFactory(
        objective__team=platform,
        objective__quarter=week7["dep"].key_result.objective.quarter,
        owner=provider,
        title="Uptime",
    )
    channel_set(team=None, provider="teams", url="https://example.com/workflow?sig=lead")
    travel.move_to("2026-11-17 09:00:00+00:00")
    assert teams_post_digests().posted == 1
    assert teams_post_digests().posted == 0  # once per week
    digest = TeamDigest.objects.get()
    assert (digest.team_id, digest.week) == (None, 7)
    # Growth first: more left to do (a check-in missing, a new risk, an overdue dependency).
    assert [tuple(i) for i in digest.items] == [
        (
            "Growth: 1 of 2 checked in, 1 new risk, 1 overdue dependency",
            "/teams/growth/",
        ),
        ("Platform: 0 of 1 checked in", "/teams/platform/"),
    ]
    card = ChannelPost.objects.get().payload["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Organisation · week 7: 1 of 3 checked in"
    assert card["actions"][0]["url"] == f"{settings.SITE_URL}/dashboard/"
