"""Each trigger opens exactly one response to a missed commitment, through the service or
job that detects the miss (okrly.registry.report_miss, handled by reviews):

- a dependency marked broken;
- a promise still undelivered when its ladder reaches the top rung (rung 3);
- MISSED_CHECKINS_RESPONSE (2) weeks in a row without a check-in for a key result;
- a key result that ended its quarter below MISSED_KR_THRESHOLD (0.7) of the way to target,
  not displaced (the closed-quarter job), including two workers running it at once.

The cast is conftest's: Olga (Growth) owns the key results and asks Pia (Platform) for an
API; Paul leads Platform, Lena leads Growth, Mia is Olga's manager, Lea is leadership.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import close_old_connections, connection

from checkins import missed, prompts
from checkins import services as checkins
from dependencies import escalation
from dependencies import services as dependencies
from okrly import registry
from okrly.models import Notification, Quarter
from okrly.tasks import notifications_send_email_task
from reviews import responses
from reviews.models import MissResponse
from reviews.tasks import responses_open_for_closed_quarters
from tests.displacing import drop
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory

Kind = MissResponse.Kind


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-02 10:00:00+00:00", tick=False) as traveller:
        yield traveller


def promise(key_result: Any, platform: Any, provider: Any, due: date = date(2026, 11, 20)) -> Any:
    dep = dependencies.dependency_request(
        user=key_result.owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=due,
    )
    return dependencies.dependency_commit(dependency=dep, user=provider)


def kr(objective: Any, owner: Any, title: str, current: int, **kwargs: Any) -> Any:
    values = {"start_value": Decimal(0), "target_value": Decimal(100)}
    values.update(kwargs)
    return KeyResultFactory(
        objective=objective, owner=owner, title=title, current_value=Decimal(current), **values
    )


# --- a dependency broken --------------------------------------------------------------------


@pytest.mark.django_db
def test_breaking_a_dependency_opens_one_response_for_the_person_responsible(
    travel: Any, key_result: Any, platform: Any, provider: Any, platform_lead: Any
) -> None:
    dep = promise(key_result, platform, provider)
    travel.move_to("2026-11-18 10:00:00+00:00")

    dependencies.dependency_break(
        dependency=dep, user=key_result.owner, reason="Platform moved the team to SSO."
    )

    response = MissResponse.objects.get()
    assert (response.kind, response.subject_key) == (Kind.DEPENDENCY_BROKEN, f"dependency:{dep.pk}")
    assert (response.key_result, response.dependency, response.quarter) == (
        key_result,
        dep,
        key_result.objective.quarter,
    )
    # Pia answers for it; with no manager, the Platform lead holds the conversation.
    assert (response.accountable, response.holder) == (provider, platform_lead)
    assert response.committed == (
        "Platform to deliver “Billing API v2” by 20 Nov 2026, for the key result "
        "“Raise trial conversion”."
    )
    assert response.delivered == "Not delivered; marked broken: Platform moved the team to SSO."
    assert sorted(
        Notification.objects.filter(kind="response_opened").values_list(
            "recipient__username", flat=True
        )
    ) == ["paul", "pia"]

    # Reported again (a second break cannot happen: broken is final): still one.
    registry.report_miss(
        kind=registry.MISS_DEPENDENCY_BROKEN, key_result=key_result, dependency=dep
    )
    assert MissResponse.objects.count() == 1
    assert Notification.objects.filter(kind="response_opened").count() == 2


# --- a promise undelivered at the top of its ladder -----------------------------------------


@pytest.mark.django_db
def test_an_overdue_promise_opens_its_response_at_the_top_rung_only(
    travel: Any, key_result: Any, platform: Any, provider: Any, leader: Any
) -> None:
    dep = promise(key_result, platform, provider)  # due Friday 20 November
    # DEPENDENCY_ESCALATION_RUNG_HOURS 0, 48, 120 after the end of the due date.
    for moment in ("2026-11-21 00:00:00+00:00", "2026-11-23 00:00:00+00:00"):
        travel.move_to(moment)
        assert escalation.dependencies_escalate().escalated == 1
        assert not MissResponse.objects.exists()

    travel.move_to("2026-11-26 00:00:00+00:00")
    assert escalation.dependencies_escalate().escalated == 1  # rung 3: leadership
    assert escalation.dependencies_escalate().escalated == 0  # the same run again

    response = MissResponse.objects.get()
    assert (response.kind, response.dependency, response.accountable) == (
        Kind.DEPENDENCY_UNDELIVERED,
        dep,
        provider,
    )
    assert response.delivered == "Not delivered."

    # Breaking it afterwards is another kind of miss: its own response.
    dependencies.dependency_break(dependency=dep, user=key_result.owner, reason="Gave up.")
    assert sorted(MissResponse.objects.values_list("kind", flat=True)) == [
        Kind.DEPENDENCY_BROKEN,
        Kind.DEPENDENCY_UNDELIVERED,
    ]


@pytest.mark.django_db
def test_a_request_never_answered_reaches_leadership_without_a_response(
    travel: Any, key_result: Any, platform: Any, provider: Any, leader: Any
) -> None:
    dependencies.dependency_request(
        user=key_result.owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 18),
    )
    # Unanswered 3 days, then 0, 48, 120 hours: rung 3 by 10 November.
    for day in (5, 7, 10):
        travel.move_to(f"2026-11-{day:02d} 10:00:00+00:00")
        escalation.dependencies_escalate()
    assert escalation.Escalation.objects.filter(rung=3).exists()
    assert not MissResponse.objects.exists()  # never promised: not a missed commitment


# --- check-ins missed weeks in a row ---------------------------------------------------------


def checked_in(key_result: Any, week: int) -> None:
    checkins.checkin_submit(
        user=key_result.owner,
        key_result=key_result,
        status="on_track",
        confidence=7,
        biggest_risk="The pricing page rewrite slips",
        value=Decimal(18),
        week=week,
    )


def week_passes(travel: Any, monday: str) -> None:
    """The Monday 09:00 UTC prompt, then the missed ladder's first rung 24 hours later."""
    travel.move_to(f"{monday} 09:00:00+00:00")
    prompts.checkins_send_prompts()
    travel.shift(24 * 3600)
    missed.checkins_escalate_missed()


@pytest.mark.django_db
def test_two_missed_weeks_in_a_row_open_one_response_per_key_result(
    travel: Any, key_result: Any, objective: Any, owner: Any, manager: Any
) -> None:
    checked = kr(objective, owner, "Publish the pricing study", 40)

    week_passes(travel, "2026-11-09")  # week 6: both missed, once
    assert not MissResponse.objects.exists()
    travel.move_to("2026-11-16 08:00:00+00:00")
    checked_in(checked, 7)
    week_passes(travel, "2026-11-16")  # week 7: the second in a row for key_result only

    response = MissResponse.objects.get()
    assert (response.kind, response.key_result, response.accountable, response.holder) == (
        Kind.CHECKINS_MISSED,
        key_result,
        owner,
        manager,
    )
    assert response.delivered == (
        "15%: 25% of the way to target. No check-in for 2 weeks in a row."
    )
    missed.checkins_escalate_missed()  # the ladder runs on: still one
    assert MissResponse.objects.count() == 1
    week_passes(travel, "2026-11-23")  # a third week: still one response this quarter
    assert MissResponse.objects.count() == 1


@pytest.mark.django_db
def test_a_week_with_a_check_in_breaks_the_run(travel: Any, key_result: Any, settings: Any) -> None:
    week_passes(travel, "2026-11-09")  # week 6 missed
    travel.move_to("2026-11-16 08:00:00+00:00")
    checked_in(key_result, 7)
    week_passes(travel, "2026-11-16")  # week 7 checked in
    week_passes(travel, "2026-11-23")  # week 8 missed: one in a row
    assert not MissResponse.objects.exists()
    settings.MISSED_CHECKINS_RESPONSE = 1
    week_passes(travel, "2026-11-30")  # with a run of one, week 9 is enough
    assert MissResponse.objects.get().kind == Kind.CHECKINS_MISSED


@pytest.mark.django_db
def test_a_key_result_added_during_the_run_is_not_owed_its_first_week(
    travel: Any, key_result: Any, objective: Any, owner: Any
) -> None:
    week_passes(travel, "2026-11-09")  # week 6 missed; then Olga adds a key result
    kr(objective, owner, "Added after the week 6 prompt", 10)
    week_passes(travel, "2026-11-16")
    assert MissResponse.objects.get().key_result == key_result


# --- key results missed at the quarter's end -------------------------------------------------


@pytest.mark.django_db
def test_the_closed_quarter_job_opens_one_response_per_missed_key_result(
    key_result: Any, objective: Any, owner: Any, lead: Any, quarter: Any
) -> None:
    achieved = kr(objective, owner, "Achieved", 80)
    at_threshold = kr(objective, owner, "Exactly 70%", 70)
    displaced = kr(objective, owner, "Dropped by a trade-off", 0)
    drop(lead, displaced)
    down_missed = kr(
        objective,
        owner,
        "Cut churn, missed",
        80,
        start_value=Decimal(100),
        target_value=Decimal(50),
        direction="decrease",
    )  # 40% of the way down
    down_met = kr(
        objective,
        owner,
        "Cut churn, met",
        60,
        start_value=Decimal(100),
        target_value=Decimal(50),
        direction="decrease",
    )  # 80%

    # An active quarter that has not ended: nothing yet.
    assert responses.responses_open_for_closed_quarters() == 0
    Quarter.objects.filter(pk=quarter.pk).update(status=Quarter.Status.CLOSED)

    assert responses_open_for_closed_quarters.apply().get() == {"opened": 2}
    assert responses_open_for_closed_quarters.apply().get() == {"opened": 0}
    assert responses.responses_open_for_quarter(quarter) == 0

    opened = MissResponse.objects.filter(kind=Kind.KEY_RESULT_MISSED)
    assert set(opened.values_list("key_result", flat=True)) == {key_result.pk, down_missed.pk}
    for other in (achieved, at_threshold, displaced, down_met):
        assert not MissResponse.objects.filter(key_result=other).exists()
    assert opened.get(key_result=down_missed).delivered == "80%: 40% of the way to target."


@pytest.mark.django_db
def test_a_quarter_past_its_end_date_counts_as_closed(
    growth: Any, owner: Any, settings: Any
) -> None:
    summer = QuarterFactory(name="2026 Q3", start=date(2026, 7, 1), end=date(2026, 9, 30))
    objective = ObjectiveFactory(quarter=summer, team=growth)
    missed_kr = kr(objective, owner, "Missed in Q3", 65)
    assert responses.responses_open_for_quarter(summer) == 1
    response = MissResponse.objects.get()
    assert (response.quarter, response.key_result) == (summer, missed_kr)
    settings.MISSED_KR_THRESHOLD = 0.6  # 65% is no longer a miss, but it is already open
    assert responses.responses_open_for_closed_quarters() == 0
    assert MissResponse.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_the_closed_quarter_job_open_each_response_once(
    objective: Any, owner: Any, manager: Any, quarter: Any
) -> None:
    """Four workers at once (threads with their own connections), in small batches."""
    missed_krs = [kr(objective, owner, f"Missed {n}", 10 * n) for n in range(6)]
    Quarter.objects.filter(pk=quarter.pk).update(status=Quarter.Status.CLOSED)
    barrier = threading.Barrier(4)
    opened: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(4):
                opened.append(responses.responses_open_for_closed_quarters(limit=2))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    with mock.patch.object(notifications_send_email_task, "delay"):
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert sum(opened) == len(missed_krs)
    assert sorted(MissResponse.objects.values_list("key_result", flat=True)) == sorted(
        k.pk for k in missed_krs
    )
    for person in (owner, manager):
        assert Notification.objects.filter(recipient=person, kind="response_opened").count() == 6
