"""Each write that changes a team's dashboard figures rewrites its ``TeamFigures`` rows in the
same transaction (issue 14): read inside the ``transaction.atomic()`` block, right after the
write, the rows already hold the new figures. The property test (test_status_property.py)
shows the rows equal a sum from scratch, and read as the old per-request SQL, after any
sequence of writes; these pin each path that is not a status row's own write: the team a
key result leaves, the team a dependency is owed by, a deleted key result and dependency,
the prompt job, a prompt written by hand, and the date a commitment lapses on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkins.models import CheckIn, CheckInPrompt
from checkins.prompts import _prompt_moment, checkins_send_prompts
from checkins.services import checkin_submit
from dependencies import services as deps
from dependencies.models import Dependency
from objectives.models import KeyResult
from ownership import figures
from ownership import services as ownership
from ownership.models import TeamFigures
from ownership.status import refresh_due
from reviews import selectors
from tests.conftest import TEST_NOW, TEST_TODAY
from tests.factories import KeyResultFactory, TeamFactory
from tests.ownership import test_status_writes as status_writes

pytestmark = pytest.mark.django_db
DUE = TEST_TODAY + timedelta(days=3)


def kept(team: Any, week: int = 0) -> dict[str, int]:
    row = TeamFigures.objects.filter(team=team, week=week).values(*figures.FIGURES).first()
    return row or dict.fromkeys(figures.FIGURES, 0)


def week_now(kr: KeyResult) -> int:
    return kr.objective.quarter.week_of(timezone.localdate())


def request(kr: KeyResult, platform: Any, provider: Any) -> Dependency:
    # test_status_writes' request, due in three days (the overdue test moves past it).
    return status_writes.request(kr, platform, provider, due=DUE)


def test_a_new_key_result_counts_in_its_team_at_once(key_result: KeyResult, growth: Any) -> None:
    assert kept(growth)["key_results"] == 1
    assert kept(growth)["not_ok"] == 1  # not accepted yet


def test_a_check_in_moves_its_teams_week_and_risk(
    key_result: KeyResult, owner: Any, growth: Any
) -> None:
    week = week_now(key_result)
    with transaction.atomic():
        checkin_submit(
            user=owner,
            key_result=key_result,
            status=CheckIn.Status.OFF_TRACK,
            confidence=3,
            biggest_risk="Hiring.",
            value="12",
        )
        assert kept(growth)["at_risk"] == 1
        assert kept(growth, week)["checked_in"] == 1
        # The team view's trend: the week's check-ins and their summed confidence.
        assert (kept(growth, week)["checkins"], kept(growth, week)["confidence"]) == (1, 3)


def test_a_rolled_back_check_in_leaves_the_figures(
    key_result: KeyResult, owner: Any, growth: Any
) -> None:
    before = list(TeamFigures.objects.values())

    class Rollback(Exception):
        pass

    def check_in_then_roll_back() -> None:
        with transaction.atomic():
            checkin_submit(
                user=owner,
                key_result=key_result,
                status=CheckIn.Status.AT_RISK,
                confidence=4,
                biggest_risk="Hiring.",
                value="12",
            )
            assert kept(growth)["at_risk"] == 1
            raise Rollback

    with pytest.raises(Rollback):
        check_in_then_roll_back()
    assert list(TeamFigures.objects.values()) == before


def test_the_team_owed_a_dependency_counts_it_overdue_and_escalated(
    key_result: KeyResult, owner: Any, platform: Any, provider: Any
) -> None:
    dep = request(key_result, platform, provider)
    deps.dependency_commit(dependency=dep, user=provider)
    assert kept(platform)["overdue"] == 0
    with time_machine.travel(TEST_NOW + timedelta(days=4), tick=False):
        # The date alone: the refresh job rewrites the key result and the team owed.
        with transaction.atomic():
            assert refresh_due() == 1
            assert kept(platform)["overdue"] == 1
        Dependency.objects.filter(pk=dep.pk).update(escalation_rung=1)
        with transaction.atomic():
            dep.refresh_from_db()
            dep.save()  # any save of the dependency, as the ladder's
            assert kept(platform)["escalated"] == 1


def test_a_deleted_dependency_leaves_the_team_it_was_owed_by(
    key_result: KeyResult, owner: Any, platform: Any, provider: Any
) -> None:
    dep = request(key_result, platform, provider)
    deps.dependency_commit(dependency=dep, user=provider)
    Dependency.objects.filter(pk=dep.pk).update(escalation_rung=1)
    dep.refresh_from_db()
    dep.save()
    assert kept(platform)["escalated"] == 1
    with transaction.atomic():
        Dependency.objects.get(pk=dep.pk).delete()
        assert kept(platform)["escalated"] == 0


def test_a_deleted_key_result_leaves_its_team_and_the_team_it_asked(
    key_result: KeyResult, owner: Any, growth: Any, platform: Any, provider: Any
) -> None:
    dep = request(key_result, platform, provider)
    deps.dependency_commit(dependency=dep, user=provider)
    Dependency.objects.filter(pk=dep.pk).update(escalation_rung=1)
    dep.refresh_from_db()
    dep.save()
    assert kept(platform)["escalated"] == 1
    with transaction.atomic():
        KeyResult.objects.get(pk=key_result.pk).delete()
        assert kept(growth)["key_results"] == 0
        assert kept(platform)["escalated"] == 0


def test_an_objective_moved_to_another_team_leaves_the_old_one(
    key_result: KeyResult, objective: Any, growth: Any
) -> None:
    KeyResultFactory(objective=objective)
    new_team = TeamFactory(name="Growth EU")
    with transaction.atomic():
        objective.team = new_team
        objective.save()
        assert kept(growth)["key_results"] == 0
        assert kept(new_team)["key_results"] == 2


def prompt_moment(quarter: Any, owner: Any) -> tuple[Any, int]:
    """A check-in moment of the quarter in the owner's zone and its week: the latest one, or
    the next when the latest was before the quarter began (a pinned first day; on its last
    day the next is after it ends)."""
    zone = ZoneInfo(owner.profile.timezone)
    now = timezone.now().astimezone(zone)
    moment = _prompt_moment(now, quarter.checkin_weekday, quarter.checkin_hour)
    if moment.date() < quarter.start:
        later = now + timedelta(days=7)
        moment = _prompt_moment(later, quarter.checkin_weekday, quarter.checkin_hour)
    return moment, quarter.week_of(moment.date())


def test_the_prompt_job_counts_a_prompted_owners_missing_check_in(
    key_result: KeyResult, owner: Any, growth: Any
) -> None:
    moment, week = prompt_moment(key_result.objective.quarter, owner)
    with time_machine.travel(moment + timedelta(minutes=5), tick=False), transaction.atomic():
        assert checkins_send_prompts().prompts == 1
        assert kept(growth, week)["missed"] == 1


def test_prompts_sent_in_several_batches_add_up_in_the_teams_week(
    key_result: KeyResult, owner: Any, teammate: Any, growth: Any
) -> None:
    """The job adds each batch's missed check-ins to the team's week (it does not count the
    team again): a batch of one owner at a time, to a week that already holds a check-in,
    gives what a sum from scratch gives."""
    quarter = key_result.objective.quarter
    teammate.profile.timezone = owner.profile.timezone
    teammate.profile.save()
    theirs = [KeyResultFactory(objective=key_result.objective, owner=teammate) for _ in range(2)]
    moment, week = prompt_moment(quarter, owner)
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        checkin_submit(
            user=teammate,
            key_result=theirs[1],
            status=CheckIn.Status.ON_TRACK,
            confidence=7,
            biggest_risk="None yet.",
            value="12",
        )
    with time_machine.travel(moment + timedelta(minutes=5), tick=False):
        run = checkins_send_prompts(batch_size=1)
        assert (run.prompts, run.batches) == (2, 2)
        row = kept(growth, week)
        assert (row["missed"], row["checked_in"]) == (2, 1)
        from_scratch = figures.compute([growth.pk], timezone.localdate())
        assert row == from_scratch[quarter.pk, growth.pk, week].values()


def test_a_prompt_written_by_hand_counts_too(
    key_result: KeyResult, owner: Any, growth: Any
) -> None:
    quarter = key_result.objective.quarter
    now = timezone.now()
    with transaction.atomic():
        prompt = CheckInPrompt.objects.create(
            owner=owner, quarter=quarter, week=3, due_at=now, sent_at=now
        )
        assert kept(growth, 3)["missed"] == 1
        prompt.delete()
        assert kept(growth, 3)["missed"] == 0


def test_a_lapsed_commitment_fails_the_test_before_the_job_runs(
    key_result: KeyResult, owner: Any, lead: Any, growth: Any, platform: Any, provider: Any
) -> None:
    """Check (c) fails the day after a committed top-two dependency's date: the organisation
    view counts it at once, from the status row's kept_until, before any job rewrites it."""
    ownership.ownership_accept(key_result=key_result, user=owner)
    ownership.authority_grant(
        key_result=key_result,
        user=lead,
        rights=ownership.decision_rights_ensure_defaults()[:2],
        scope="Backlog",
    )
    dep = request(key_result, platform, provider)
    deps.dependency_commit(dependency=dep, user=provider)
    quarter = key_result.objective.quarter
    today = timezone.localdate()
    week = selectors.dashboard_week(quarter, today)
    assert selectors._team_signals(quarter, today, week, [growth.pk])[growth.pk].failing == 0
    later = DUE + timedelta(days=1)
    assert selectors._team_signals(quarter, later, week, [growth.pk])[growth.pk].failing == 1


def test_reading_the_figures_costs_one_query_however_many_teams(quarter: Any, owner: Any) -> None:
    from tests.factories import ObjectiveFactory

    def read() -> int:
        today = timezone.localdate()
        with CaptureQueriesContext(connection) as queries:
            selectors._team_signals(
                quarter, today, selectors.dashboard_week(quarter, today), None, by_department=True
            )
        return len(queries)

    TeamFigures.objects.all().delete()
    for _ in range(3):
        KeyResultFactory(
            objective=ObjectiveFactory(quarter=quarter, team=TeamFactory()), owner=owner
        )
    few = read()
    for _ in range(12):
        KeyResultFactory(
            objective=ObjectiveFactory(quarter=quarter, team=TeamFactory()), owner=owner
        )
    assert read() == few


def test_a_check_in_rewrites_its_status_and_figures_once(
    key_result: KeyResult, owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its row is saved twice and its key result once; the status row and the teams' figures
    are rewritten once, at the service's end (okrly.registry.key_results_batched)."""
    calls: list[list[int]] = []
    real = figures.refresh

    def counted(team_ids: Any, **kwargs: Any) -> None:
        calls.append(sorted(team_ids))
        real(team_ids, **kwargs)

    monkeypatch.setattr(figures, "refresh", counted)
    checkin_submit(
        user=owner,
        key_result=key_result,
        status=CheckIn.Status.AT_RISK,
        confidence=4,
        biggest_risk="Hiring.",
        value="12",
    )
    assert calls == [[key_result.objective.team_id]]
    assert kept(key_result.objective.team)["at_risk"] == 1


def test_a_batch_that_fails_reports_nothing_and_an_inner_one_reports_with_the_outer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from okrly import registry

    reported: list[list[int]] = []
    monkeypatch.setattr(registry, "_key_results_changed", {"test": reported.append})

    def failing() -> None:
        with registry.key_results_batched():
            assert registry.defer_key_results([3])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert reported == []
    with registry.key_results_batched():
        registry.defer_key_results([5, 2])
        with registry.key_results_batched():
            registry.defer_key_results([2, 9])
        assert reported == []
    assert reported == [[2, 5, 9]]
    assert not registry.defer_key_results([1])  # outside a batch: written at once
