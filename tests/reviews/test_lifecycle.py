"""A quarter's life cycle (issue 13, section 1): planning → active (the admin), active →
reviewing (the beat job on the last day, or leadership earlier), the grades reviewing creates,
and how a reviewing quarter behaves elsewhere (prompts, check-ins, objectives, the dashboard's
current quarter)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkins.services import checkin_submit
from objectives import services as objective_services
from objectives.models import KeyResult, TradeOff, TradeOffCategory
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Quarter
from reviews.lifecycle import quarter_start_reviewing, quarters_start_reviewing_due
from reviews.models import Grade
from reviews.tasks import quarters_start_reviewing_task
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, UserFactory

pytestmark = pytest.mark.django_db


# Quarters these tests make far from the fixtures' quarter (no overlap with it).
TODAY_START = datetime(2030, 6, 1).date()


def _at(day: Any, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour, 30), tzinfo=UTC)


def test_planning_to_active_is_the_admins_change(admin_client: Any) -> None:
    quarter = QuarterFactory(status=Quarter.Status.PLANNING)
    data = {
        "name": quarter.name,
        "start": quarter.start.isoformat(),
        "end": quarter.end.isoformat(),
        "checkin_weekday": quarter.checkin_weekday,
        "checkin_hour": quarter.checkin_hour,
        "status": Quarter.Status.ACTIVE,
    }
    response = admin_client.post(f"/admin/okrly/quarter/{quarter.pk}/change/", data)
    assert response.status_code == 302
    quarter.refresh_from_db()
    assert quarter.status == Quarter.Status.ACTIVE


def test_job_moves_an_active_quarter_on_its_last_day(key_result: Any) -> None:
    quarter = key_result.objective.quarter
    run = quarters_start_reviewing_due(_at(quarter.end - timedelta(days=1), 23))
    assert run.quarters == 0
    quarter.refresh_from_db()
    assert quarter.status == Quarter.Status.ACTIVE
    run = quarters_start_reviewing_due(_at(quarter.end))
    quarter.refresh_from_db()
    assert (run.quarters, run.grades, run.notifications) == (1, 1, 1)
    assert quarter.status == Quarter.Status.REVIEWING
    grade = Grade.objects.get(key_result=key_result)
    assert grade.quarter == quarter
    assert grade.graded_at is None
    assert grade.outcome == ""
    assert grade.next_escalation_at == _at(quarter.end) + timedelta(hours=24)


def test_job_run_twice_moves_once_and_notifies_once(key_result: Any) -> None:
    quarter = key_result.objective.quarter
    now = _at(quarter.end, 5)
    quarters_start_reviewing_due(now)
    again = quarters_start_reviewing_due(now + timedelta(minutes=15))
    assert (again.quarters, again.grades, again.notifications) == (0, 0, 0)
    assert Grade.objects.filter(key_result=key_result).count() == 1
    assert Notification.objects.filter(kind="grade_prompt").count() == 1


def test_job_moves_a_quarter_whose_end_has_passed_and_leaves_others(owner: Any) -> None:
    past = QuarterFactory(
        start=TODAY_START - timedelta(days=200), end=TODAY_START - timedelta(days=110)
    )
    planning = QuarterFactory(
        start=TODAY_START - timedelta(days=100),
        end=TODAY_START - timedelta(days=95),
        status=Quarter.Status.PLANNING,
    )
    closed = QuarterFactory(
        start=TODAY_START - timedelta(days=90),
        end=TODAY_START - timedelta(days=85),
        status=Quarter.Status.CLOSED,
    )
    quarters_start_reviewing_due(_at(TODAY_START))
    statuses = dict(Quarter.objects.values_list("pk", "status"))
    assert statuses[past.pk] == Quarter.Status.REVIEWING
    assert statuses[planning.pk] == Quarter.Status.PLANNING
    assert statuses[closed.pk] == Quarter.Status.CLOSED


def test_the_beat_task_runs_the_job(key_result: Any) -> None:
    quarter = key_result.objective.quarter
    with time_machine.travel(_at(quarter.end, 12), tick=False):
        assert quarters_start_reviewing_task() == {"quarters": 1, "grades": 1, "notifications": 1}
    quarter.refresh_from_db()
    assert quarter.status == Quarter.Status.REVIEWING


def test_one_grade_per_key_result_one_notice_per_owner(objective: Any, owner: Any) -> None:
    other = UserFactory(username="otto")
    KeyResultFactory.create_batch(3, objective=objective, owner=owner)
    KeyResultFactory(objective=objective, owner=other)
    run = quarters_start_reviewing_due(_at(objective.quarter.end))
    assert run.grades == 4
    assert Notification.objects.filter(kind="grade_prompt", recipient=owner).count() == 1
    assert Notification.objects.filter(kind="grade_prompt", recipient=other).count() == 1


def test_displaced_key_results_are_graded_displaced_without_a_ladder(
    key_result: Any, lead: Any, growth: Any
) -> None:
    trade_off = TradeOff.objects.create(
        team=growth,
        quarter=key_result.objective.quarter,
        category=TradeOffCategory.objects.get_or_create(name="Client escalation")[0],
        decided_by=lead,
        reason="Urgent",
    )
    KeyResult.objects.filter(pk=key_result.pk).update(displaced_by=trade_off)
    run = quarters_start_reviewing_due(_at(key_result.objective.quarter.end))
    grade = Grade.objects.get(key_result=key_result)
    assert grade.outcome == Grade.Outcome.DISPLACED
    assert grade.next_escalation_at is None
    assert run.notifications == 0  # the owner owes nothing


def test_the_jobs_queries_do_not_grow_with_key_results(objective: Any, owner: Any) -> None:
    def count(n: int) -> int:
        quarter = QuarterFactory(
            start=TODAY_START + timedelta(days=n * 10),
            end=TODAY_START + timedelta(days=n * 10 + 5),
        )
        obj = ObjectiveFactory(quarter=quarter, team=objective.team)
        KeyResultFactory.create_batch(n, objective=obj, owner=owner)
        with CaptureQueriesContext(connection) as ctx:
            quarters_start_reviewing_due(_at(quarter.end))
        return len(ctx.captured_queries)

    Quarter.objects.filter(pk=objective.quarter.pk).update(status=Quarter.Status.CLOSED)
    assert count(5) == count(20)


def test_leadership_starts_reviewing_early(key_result: Any, leader: Any) -> None:
    quarter = quarter_start_reviewing(user=leader, quarter=key_result.objective.quarter)
    assert quarter.status == Quarter.Status.REVIEWING
    assert Grade.objects.filter(key_result=key_result).exists()


@pytest.mark.parametrize("who", ["owner", "lead", "admin_user", "outsider"])
def test_others_cannot_start_reviewing(key_result: Any, who: str, request: Any) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(NotAllowed):
        quarter_start_reviewing(user=user, quarter=key_result.objective.quarter)
    key_result.objective.quarter.refresh_from_db()
    assert key_result.objective.quarter.status == Quarter.Status.ACTIVE


@pytest.mark.parametrize(
    "status", [Quarter.Status.PLANNING, Quarter.Status.REVIEWING, Quarter.Status.CLOSED]
)
def test_reviewing_starts_only_from_active(leader: Any, status: str) -> None:
    quarter = QuarterFactory(status=status)
    with pytest.raises(RuleBroken, match="only an active quarter"):
        quarter_start_reviewing(user=leader, quarter=quarter)
    quarter.refresh_from_db()
    assert quarter.status == status
    assert not Grade.objects.exists()


# --- a reviewing quarter elsewhere ------------------------------------------------------------


def test_no_check_ins_while_reviewing(key_result: Any, owner: Any, leader: Any) -> None:
    quarter_start_reviewing(user=leader, quarter=key_result.objective.quarter)
    with pytest.raises(RuleBroken, match="reviewing; check-ins are over"):
        checkin_submit(
            user=owner,
            key_result=key_result,
            status="on_track",
            confidence=7,
            biggest_risk="None",
            value=Decimal(20),
        )


def test_objectives_cannot_be_changed_while_reviewing(
    key_result: Any, lead: Any, leader: Any
) -> None:
    quarter_start_reviewing(user=leader, quarter=key_result.objective.quarter)
    with pytest.raises(RuleBroken, match="reviewing"):
        objective_services.objective_update(
            user=lead, objective=key_result.objective, title="Something else"
        )


def test_the_current_quarter_is_a_reviewing_one_when_none_is_active(leader: Any) -> None:
    quarter = QuarterFactory()
    quarter_start_reviewing(user=leader, quarter=quarter)
    assert Quarter.objects.current(quarter.end + timedelta(days=3)) == quarter
    assert Quarter.objects.current(quarter.start) == quarter
    following = QuarterFactory(
        start=quarter.end + timedelta(days=1), end=quarter.end + timedelta(days=90)
    )
    assert Quarter.objects.current(quarter.end + timedelta(days=3)) == following
