"""The two ladders of a response (reviews.response_ladders) under controlled time: once per
rung, never duplicated, stopped by recording the response or finishing the next step.

Olga (Growth, UTC) misses “Raise trial conversion”; the response opens on Monday 30 November
2026 at 10:00 UTC and is due five working days later, Monday 7 December at 10:00.
RESPONSE_RUNG_HOURS and NEXT_STEP_RUNG_HOURS are 0, 48, 96. Mia is her manager, Lena leads
Growth, Lea is leadership.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from okrly.ladder import LadderRun
from okrly.models import Notification, Quarter
from reviews import response_ladders, responses
from reviews.models import MissResponse, NextStep, ResponseCause, ResponseReminder
from reviews.tasks import responses_escalate_task
from tests.factories import KeyResultFactory

OPENED = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel(OPENED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def response(travel: Any, key_result: Any, quarter: Any) -> MissResponse:
    opened = responses.response_open(
        kind=MissResponse.Kind.KEY_RESULT_MISSED, key_result=key_result, quarter=quarter
    )
    assert opened is not None
    return opened


def run_at(travel: Any, moment: str | datetime) -> LadderRun:
    travel.move_to(moment)
    return response_ladders.responses_escalate()


def told(prefix: str) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(kind__startswith=prefix)
        .order_by("pk")
        .values_list("recipient__username", "kind")
    )


def rungs() -> list[tuple[str, int]]:
    return list(ResponseReminder.objects.order_by("pk").values_list("subject", "rung"))


def record(response: MissResponse, due: date, owner: Any = None) -> None:
    olga = response.accountable
    manager: Any = olga.profile.manager
    responses.response_record(
        user=olga,
        response=response,
        conversation_on=date(2026, 11, 30),
        participants=[olga, manager],
        cause=ResponseCause.objects.get_or_create(name="Capacity")[0],
        gap="Two engineers moved to the SSO fix.",
        next_step_what="Ship the pricing test",
        next_step_owner=owner or olga,
        next_step_due=due,
    )


@pytest.mark.django_db
def test_an_unrecorded_response_climbs_one_rung_at_a_time(
    travel: Any, manager: Any, lead: Any, leader: Any, response: MissResponse
) -> None:
    assert run_at(travel, datetime(2026, 12, 7, 9, 59, tzinfo=UTC)).escalated == 0

    assert run_at(travel, DUE).escalated == 1  # rung 1: Olga and Mia, who holds it
    assert response_ladders.responses_escalate().escalated == 0  # the same run again
    assert told("response_") == [
        ("olga", "response_opened"),
        ("mia", "response_opened"),
        ("olga", "response_reminder"),
        ("mia", "response_reminder"),
    ]
    reminder = Notification.objects.filter(kind="response_reminder").first()
    assert reminder is not None
    assert reminder.subject == (
        "Reminder: the response to “Raise trial conversion” (key result missed at the "
        "quarter's close) is not recorded, 0 days past its deadline"
    )
    assert reminder.link == response.get_absolute_url()

    assert run_at(travel, "2026-12-09 09:59:00+00:00").escalated == 0
    assert run_at(travel, "2026-12-09 10:00:00+00:00").escalated == 1  # rung 2: Growth's lead
    assert told("response_lead") == [("lena", "response_lead")]

    # The beat task, called the way a worker calls it: rung 3, leadership.
    travel.move_to("2026-12-11 10:00:00+00:00")
    assert responses_escalate_task.apply().get() == {"escalated": 1, "notifications": 1}
    assert told("response_leadership") == [("lea", "response_leadership")]

    assert run_at(travel, "2027-01-31 00:00:00+00:00").escalated == 0  # three rungs only
    assert rungs() == [("response", 1), ("response", 2), ("response", 3)]
    assert list(ResponseReminder.objects.values_list("notified", flat=True)) == [2, 1, 1]
    response.refresh_from_db()
    assert (response.escalation_rung, response.next_escalation_at) == (3, None)


@pytest.mark.django_db
def test_with_no_holder_rung_one_tells_olga_and_rung_two_leadership(
    travel: Any, leader: Any, response: MissResponse
) -> None:
    assert response.holder is None
    run_at(travel, DUE)
    run_at(travel, "2026-12-09 10:00:00+00:00")
    assert told("response_") == [
        ("olga", "response_opened"),
        ("olga", "response_reminder"),
        ("lea", "response_lead"),
    ]


@pytest.mark.django_db
def test_recording_the_response_stops_its_ladder(
    travel: Any, manager: Any, lead: Any, response: MissResponse
) -> None:
    run_at(travel, DUE)
    travel.shift(60)
    record(response, date(2026, 12, 31))
    assert run_at(travel, "2026-12-20 00:00:00+00:00").escalated == 0
    assert rungs() == [("response", 1)]
    response.refresh_from_db()
    assert not responses.recorded_on_time(response)  # recorded after its deadline


@pytest.mark.django_db
def test_an_overdue_next_step_climbs_owner_manager_leadership(
    travel: Any, manager: Any, lead: Any, leader: Any, response: MissResponse
) -> None:
    record(response, date(2026, 12, 2))  # due Wednesday: late from Thursday 00:00 (UTC)
    step = NextStep.objects.get()
    assert step.next_escalation_at == datetime(2026, 12, 3, tzinfo=UTC)

    assert run_at(travel, "2026-12-02 23:59:00+00:00").escalated == 0
    assert run_at(travel, "2026-12-03 00:00:00+00:00").escalated == 1
    assert response_ladders.responses_escalate().escalated == 0
    assert run_at(travel, "2026-12-05 00:00:00+00:00").escalated == 1
    assert run_at(travel, "2026-12-07 00:00:00+00:00").escalated == 1
    assert run_at(travel, "2027-01-31 00:00:00+00:00").escalated == 0
    assert told("next_step_") == [
        ("olga", "next_step_reminder"),
        ("mia", "next_step_lead"),
        ("lea", "next_step_leadership"),
    ]
    first = Notification.objects.get(kind="next_step_reminder")
    assert first.subject == (
        "Reminder: the next step “Ship the pricing test” is 1 day past its due date (02 Dec)"
    )
    assert rungs() == [("next_step", 1), ("next_step", 2), ("next_step", 3)]
    assert responses.response_state(MissResponse.objects.get()) == responses.OVERDUE


@pytest.mark.django_db
def test_without_a_manager_the_next_steps_second_rung_goes_to_the_team_lead(
    travel: Any, lead: Any, teammate: Any, response: MissResponse
) -> None:
    # No manager: Lena holds the conversation and takes part in it.
    responses.response_record(
        user=lead,
        response=response,
        conversation_on=date(2026, 11, 30),
        participants=[response.accountable, lead],
        cause=ResponseCause.objects.get_or_create(name="Capacity")[0],
        gap="Two engineers moved to the SSO fix.",
        next_step_what="Pair on the pricing test",
        next_step_owner=teammate,
        next_step_due=date(2026, 12, 2),
    )
    run_at(travel, "2026-12-03 00:00:00+00:00")
    run_at(travel, "2026-12-05 00:00:00+00:00")
    assert told("next_step_") == [("tim", "next_step_reminder"), ("lena", "next_step_lead")]


@pytest.mark.django_db
def test_marking_the_next_step_done_stops_its_ladder(
    travel: Any, manager: Any, response: MissResponse
) -> None:
    record(response, date(2026, 12, 2))
    run_at(travel, "2026-12-03 00:00:00+00:00")
    responses.next_step_done(user=response.accountable, response=response)
    assert run_at(travel, "2026-12-31 00:00:00+00:00").escalated == 0
    assert rungs() == [("next_step", 1)]
    assert responses.response_state(MissResponse.objects.get()) == responses.DONE


@pytest.mark.django_db
def test_moving_the_due_date_keeps_the_rungs_reached(
    travel: Any, manager: Any, leader: Any, response: MissResponse
) -> None:
    """A re-record with a later due date resumes at the next rung, never repeats one."""
    record(response, date(2026, 12, 2))
    run_at(travel, "2026-12-03 00:00:00+00:00")  # rung 1
    record(response, date(2026, 12, 9))
    step = NextStep.objects.get()
    # Rung 2 is 48 hours after the end of the new due date.
    assert (step.escalation_rung, step.next_escalation_at) == (
        1,
        datetime(2026, 12, 12, tzinfo=UTC),
    )
    assert run_at(travel, "2026-12-12 00:00:00+00:00").escalated == 1
    assert rungs() == [("next_step", 1), ("next_step", 2)]


def _open_many(count: int, objective: Any, owner: Any, quarter: Any) -> None:
    for n in range(count):
        kr = KeyResultFactory(objective=objective, owner=owner, title=f"Missed {n}")
        responses.response_open(
            kind=MissResponse.Kind.KEY_RESULT_MISSED, key_result=kr, quarter=quarter
        )


@pytest.mark.django_db
def test_the_jobs_cost_does_not_grow_with_responses_not_due(
    travel: Any, objective: Any, owner: Any, quarter: Any
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response_ladders.responses_escalate()
        return len(queries)

    _open_many(5, objective, owner, quarter)
    five = count()
    _open_many(45, objective, owner, quarter)
    assert count() == five == 2  # one indexed listing per ladder, nothing due


@pytest.mark.django_db
def test_a_rerun_of_the_closed_quarter_job_costs_the_same_however_many_were_opened(
    objective: Any, owner: Any, quarter: Any
) -> None:
    Quarter.objects.filter(pk=quarter.pk).update(status=Quarter.Status.CLOSED)

    def rerun() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert responses.responses_open_for_closed_quarters() == 0
        return len(queries)

    for n in range(5):
        KeyResultFactory(objective=objective, owner=owner, title=f"Missed {n}")
    responses.responses_open_for_closed_quarters()
    five = rerun()
    for n in range(45):
        KeyResultFactory(objective=objective, owner=owner, title=f"Also missed {n}")
    with CaptureQueriesContext(connection) as opening:
        assert responses.responses_open_for_closed_quarters() == 45
    assert rerun() == five == 1  # the anti-join lists nothing left to open
    # Opening costs a fixed number of statements per response (savepoints, the existing row,
    # the insert, two notifications; the holder is the select_related manager), plus the
    # listing, one read of the key results and one of the organisation's RESPONSE_DAYS.
    assert len(opening) == 3 + 8 * 45
