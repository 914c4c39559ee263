"""The leaders' weekly digest (issue 15): Monday, from LEADER_DIGEST_HOUR in each leader's own
zone, one e-mail per leader of what changed in their teams since last week (new risks, last
week's missed check-ins, overdue dependencies) and the answers awaited from them, one link per
item; batched, and sent once however often the job runs.

2026 Q4 starts on Thursday 1 October. Monday 16 November is in week 7 (12-18 November); week
6's check-in was on Monday 9 November. Lena leads Growth (and its sub-team Growth EU), Paul
leads Platform, Lea is in the leadership group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkins.services import checkin_submit
from dependencies.models import Dependency
from okrly.models import Notification, Profile
from okrly.outbox import notifications_send_email
from okrly.tasks import notifications_send_email_task
from reviews import digest
from reviews.models import LeaderDigest
from tests.factories import KeyResultFactory, ObjectiveFactory, TeamFactory, UserFactory


@pytest.fixture
def travel(db: Any) -> Iterator[Any]:
    with time_machine.travel("2026-10-01 07:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def week(
    travel: Any,
    quarter: Any,
    growth: Any,
    platform: Any,
    lead: Any,
    platform_lead: Any,
    leader: Any,
    owner: Any,
    provider: Any,
) -> dict[str, Any]:
    """Growth's and Platform's quarter up to Monday 16 November, 07:00 UTC."""
    growth_eu = TeamFactory(name="Growth EU", slug="growth-eu", parent=growth)
    growth_obj = ObjectiveFactory(quarter=quarter, team=growth, title="Grow")
    eu_obj = ObjectiveFactory(quarter=quarter, team=growth_eu, title="Grow in Europe")
    platform_obj = ObjectiveFactory(quarter=quarter, team=platform, title="Scale")
    krs = {
        "risky": KeyResultFactory(objective=growth_obj, owner=owner, title="Trial conversion"),
        "old": KeyResultFactory(objective=growth_obj, owner=owner, title="Churn"),
        "eu": KeyResultFactory(objective=eu_obj, owner=owner, title="EU signups"),
        "platform": KeyResultFactory(objective=platform_obj, owner=provider, title="Uptime"),
    }

    def check_in(kr: Any, when: str, week: int, status: str = "on_track", **more: Any) -> Any:
        travel.move_to(when)
        return checkin_submit(
            user=kr.owner,
            key_result=kr,
            week=week,
            status=status,
            confidence=3 if status != "on_track" else 8,
            biggest_risk="Pricing page",
            # On track at the target already: no stated-vs-forecast signal.
            value=str(kr.target_value if status == "on_track" else kr.start_value),
            **more,
        )

    # An old risk (week 2) whose key result then went quiet: not new this week.
    check_in(krs["old"], "2026-10-12 10:00:00+00:00", 2, "at_risk")
    for kr in (krs["risky"], krs["old"], krs["platform"]):
        check_in(kr, "2026-11-09 10:00:00+00:00", 6)
    # EU signups missed week 6. Trial conversion turned at risk this week, asking Lena.
    check_in(
        krs["risky"],
        "2026-11-13 10:00:00+00:00",
        7,
        "at_risk",
        need="A pricing decision",
        need_person=lead,
    )
    Dependency.objects.create(
        key_result=krs["risky"],
        requesting_team=growth,
        provider_team=platform,
        deliverable="Billing API",
        due_date=date(2026, 11, 10),
        responsible=provider,
        requested_by=owner,
        rank=1,
        status=Dependency.Status.COMMITTED,
        requested_at=datetime(2026, 10, 2, tzinfo=UTC),
    )
    travel.move_to("2026-11-16 07:00:00+00:00")
    return krs


def run_at(travel: Any, moment: str) -> digest.DigestRun:
    travel.move_to(moment)
    return digest.leaders_send_digests()


def items_of(user: Any) -> list[tuple[str, str]]:
    return [tuple(i) for i in LeaderDigest.objects.get(leader=user).items]


@pytest.mark.django_db
def test_each_leader_gets_monday_at_eight_in_their_own_zone(
    travel: Any, week: dict[str, Any], lead: Any, platform_lead: Any, leader: Any
) -> None:
    Profile.objects.filter(user=lead).update(timezone="Asia/Kathmandu")  # UTC+5:45
    Profile.objects.filter(user=platform_lead).update(timezone="America/Los_Angeles")  # UTC-8
    Profile.objects.filter(user=leader).update(timezone="UTC")
    with mock.patch.object(notifications_send_email_task, "delay"):
        # Sunday 22:14 UTC is Monday 07:59 in Kathmandu: nobody yet.
        assert run_at(travel, "2026-11-16 02:14:00+00:00").sent == 0
        # 08:00 in Kathmandu.
        assert run_at(travel, "2026-11-16 02:15:00+00:00").sent == 1
        assert list(LeaderDigest.objects.values_list("leader__username", "monday")) == [
            ("lena", date(2026, 11, 16))
        ]
        assert run_at(travel, "2026-11-16 08:00:00+00:00").sent == 1  # Lea, in UTC
        assert run_at(travel, "2026-11-16 15:59:00+00:00").sent == 0
        assert run_at(travel, "2026-11-16 16:00:00+00:00").sent == 1  # Paul, 08:00 in LA
        # Tuesday in Kathmandu, still Monday in LA: nothing more, nothing twice.
        assert run_at(travel, "2026-11-16 20:00:00+00:00").sent == 0
    assert sorted(LeaderDigest.objects.values_list("leader__username", flat=True)) == [
        "lea",
        "lena",
        "paul",
    ]
    assert Notification.objects.filter(kind="leader_digest").count() == 3


@pytest.mark.django_db
def test_the_digest_names_what_changed_in_the_leaders_teams_with_a_link_each(
    travel: Any, week: dict[str, Any], lead: Any, platform_lead: Any, leader: Any
) -> None:
    with mock.patch.object(notifications_send_email_task, "delay"):
        run = run_at(travel, "2026-11-16 08:00:00+00:00")
    assert run.sent == 3
    krs = week
    kr_link = lambda key: reverse("objectives:key_result", args=[krs[key].pk])  # noqa: E731
    dep = Dependency.objects.get()

    lena = items_of(lead)
    # Growth with its sub-team Growth EU: the new risk (not answered yet), the EU key result's
    # missed week 6, the overdue dependency Growth waits on, and the need asked of Lena.
    assert ("New risk · At risk: Trial conversion (not answered yet)", kr_link("risky")) in lena
    assert ("Missed week 6 check-in · EU signups (Olga Owner)", kr_link("eu")) in lena
    assert (
        "Overdue dependency · Billing API (due 10 Nov, Pia Provider)",
        dep.get_absolute_url(),
    ) in lena
    awaited = [label for label, _ in lena if label.startswith("Awaiting your answer")]
    assert len(awaited) == 1
    assert "pricing decision" in awaited[0].lower()
    # The week-2 risk of Churn is not new; nothing of Platform's own.
    assert not any("Churn" in label or "Uptime" in label for label, _ in lena)
    assert len(lena) == 4

    # Paul sees the dependency his team owes and nothing of Growth's.
    assert items_of(platform_lead) == [
        ("Overdue dependency · Billing API (due 10 Nov, Pia Provider)", dep.get_absolute_url())
    ]
    # Lea (leadership) sees every team's.
    lea = [label for label, _ in items_of(leader)]
    assert sum(label.startswith(("New risk", "Missed", "Overdue")) for label in lea) == 3

    note = Notification.objects.get(recipient=lead, kind="leader_digest")
    assert note.subject == (
        "Your week 7: 1 new risk, 1 missed check-in, 1 overdue dependency, "
        "1 answer awaited from you"
    )
    assert note.link == f"{reverse('reviews:risks')}?unanswered=1"


@pytest.mark.django_db
def test_the_email_lists_each_item_as_a_link(travel: Any, week: dict[str, Any], lead: Any) -> None:
    with mock.patch.object(notifications_send_email_task, "delay"):
        run_at(travel, "2026-11-16 08:00:00+00:00")
    note = Notification.objects.get(recipient=lead, kind="leader_digest")
    mail.outbox.clear()
    notifications_send_email(notification_ids=[note.pk])
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    for label, path in items_of(lead):
        assert path in message.body
        assert re.search(rf'<a href="https?://[^"]+{re.escape(path)}">', html.replace("&amp;", "&"))
        assert label.split(" · ")[1][:10] in message.body


@pytest.mark.django_db
def test_running_twice_or_at_once_sends_one_digest_per_leader(
    travel: Any, week: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with (
        mock.patch.object(notifications_send_email_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = run_at(travel, "2026-11-16 08:00:00+00:00")
        second = run_at(travel, "2026-11-16 08:15:00+00:00")
    assert (first.sent, second.sent, second.already) == (3, 0, 3)
    assert Notification.objects.filter(kind="leader_digest").count() == 3
    # The e-mails went in one batch (a task that sends over one connection).
    assert delay.call_count == 1
    assert sorted(delay.call_args.args[0]) == sorted(
        Notification.objects.filter(kind="leader_digest").values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_a_second_job_that_lost_the_race_sends_nothing(
    travel: Any, week: dict[str, Any], lead: Any
) -> None:
    """Beat has no lock: a job that read the leader as due after another wrote the row."""
    travel.move_to("2026-11-16 08:00:00+00:00")
    real = digest._mondays

    def stale(leader_ids: list[int], now: Any) -> dict[int, date]:
        due = real(leader_ids, now)
        # The other job commits its rows between this one's read and its insert.
        LeaderDigest.objects.bulk_create(
            [LeaderDigest(leader_id=pk, monday=day) for pk, day in due.items()]
        )
        return due

    with (
        mock.patch.object(digest, "_mondays", stale),
        mock.patch.object(notifications_send_email_task, "delay") as delay,
    ):
        run = digest.leaders_send_digests()
    assert (run.sent, run.already) == (0, 3)
    assert not Notification.objects.filter(kind="leader_digest").exists()
    assert delay.call_count == 0


@pytest.mark.django_db
def test_a_quiet_week_marks_the_week_done_without_an_email(
    travel: Any, quarter: Any, lead: Any
) -> None:
    with mock.patch.object(notifications_send_email_task, "delay"):
        run = run_at(travel, "2026-11-16 08:00:00+00:00")
    assert (run.sent, run.quiet) == (0, 1)
    assert LeaderDigest.objects.get(leader=lead).items == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_digests_cost_a_fixed_number_of_queries_per_leader(
    travel: Any, week: dict[str, Any], growth: Any
) -> None:
    """The quarter's week is read once for all leaders; each leader adds their own inserts
    and "Asked of me" (a fixed number of queries per leader, whatever the data size)."""

    def leaders(n: int, start: int) -> None:
        for i in range(start, start + n):
            lead = UserFactory(username=f"lead{i}")
            TeamFactory(name=f"Team {i}", slug=f"team-{i}", parent=growth, lead=lead)

    def counted(moment: str) -> tuple[int, int]:
        LeaderDigest.objects.all().delete()
        Notification.objects.all().delete()
        travel.move_to(moment)
        with (
            CaptureQueriesContext(connection) as ctx,
            mock.patch.object(notifications_send_email_task, "delay"),
        ):
            run = digest.leaders_send_digests()
        return run.sent + run.quiet, len(ctx.captured_queries)

    leaders(2, 0)
    small_leaders, small = counted("2026-11-16 08:00:00+00:00")
    leaders(8, 2)
    large_leaders, large = counted("2026-11-16 08:05:00+00:00")
    assert large_leaders - small_leaders == 8
    per_leader, remainder = divmod(large - small, 8)
    assert remainder == 0
    assert per_leader <= 16
