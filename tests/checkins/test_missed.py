"""The missed-check-in ladder under controlled time: owner, then their manager (or a team
lead), then leadership; one rung per run, each rung once, and it stops when the check-ins
are in.

Olga (Growth) lives in Paris. Her week 7 prompt is due on Monday 16 November 2026 at 09:00
Paris time, 08:00 UTC. Default rung delays after that moment: 24 h, 48 h, 96 h. The people
are conftest's: her manager Mia, the Growth lead Lena, and Lea of the leadership group.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from checkins import missed, prompts, services
from checkins.models import CheckInPrompt, MissedCheckIn
from checkins.tasks import checkins_escalate_missed_task
from okrly.models import Notification, Profile, Quarter
from tests.factories import KeyResultFactory, UserFactory

DUE = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-15 12:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def paris_owner(owner: Any, key_result: Any) -> Any:
    """Olga, in Paris, owns “Raise trial conversion”."""
    Profile.objects.filter(user=owner).update(timezone="Europe/Paris")
    owner.refresh_from_db()
    return owner


@pytest.fixture
def prompt(travel: Any, paris_owner: Any) -> CheckInPrompt:
    """The week 7 prompt, sent on time."""
    travel.move_to(DUE)
    assert prompts.checkins_send_prompts().prompts == 1
    return CheckInPrompt.objects.get(owner=paris_owner)


def run_at(travel: Any, moment: datetime) -> missed.MissedRun:
    travel.move_to(moment)
    return missed.checkins_escalate_missed()


def missed_notes() -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(kind__startswith="checkin_missed")
        .order_by("pk")
        .values_list("recipient__username", "kind")
    )


def check_in(user: Any, key_result: Any, week: int = 7) -> None:
    services.checkin_submit(
        user=user,
        key_result=key_result,
        status="on_track",
        confidence=7,
        biggest_risk="The pricing page rewrite slips",
        value=Decimal(18),
        week=week,
    )


@pytest.mark.django_db
def test_missed_checkin_climbs_one_rung_at_a_time(
    travel: Any, prompt: CheckInPrompt, manager: Any, lead: Any, leader: Any
) -> None:
    assert prompt.due_at == DUE
    assert prompt.next_escalation_at == DUE + timedelta(hours=24)

    assert run_at(travel, DUE + timedelta(hours=24) - MINUTE).escalated == 0
    assert missed_notes() == []

    assert run_at(travel, DUE + timedelta(hours=24)).escalated == 1  # rung 1: Olga herself
    assert missed.checkins_escalate_missed().escalated == 0  # the same run again
    assert missed_notes() == [("olga", "checkin_missed_1")]
    assert run_at(travel, DUE + timedelta(hours=48) - MINUTE).escalated == 0

    assert run_at(travel, DUE + timedelta(hours=48)).escalated == 1  # rung 2: her manager
    assert missed.checkins_escalate_missed().escalated == 0
    assert missed_notes()[1:] == [("mia", "checkin_missed_2")]  # not the team lead
    assert run_at(travel, DUE + timedelta(hours=96) - MINUTE).escalated == 0

    assert run_at(travel, DUE + timedelta(hours=96)).escalated == 1  # rung 3: leadership
    # The beat task, called the way a worker calls it.
    assert checkins_escalate_missed_task.apply().get() == {"escalated": 0, "completed": 0}
    assert missed_notes()[2:] == [("lea", "checkin_missed_3")]

    assert run_at(travel, datetime(2026, 12, 31, tzinfo=UTC)).escalated == 0  # three rungs
    assert list(MissedCheckIn.objects.order_by("rung").values_list("rung", flat=True)) == [1, 2, 3]
    prompt.refresh_from_db()
    assert (prompt.escalation_rung, prompt.next_escalation_at) == (3, None)


@pytest.mark.django_db
def test_missed_notifications_name_the_week_and_the_missing_key_result(
    travel: Any, prompt: CheckInPrompt, key_result: Any, manager: Any
) -> None:
    run_at(travel, DUE + timedelta(hours=24))
    run_at(travel, DUE + timedelta(hours=48))

    reminder = Notification.objects.get(kind="checkin_missed_1")
    assert reminder.subject == "Reminder: your week 7 check-in is missing"
    assert reminder.body == "No check-in yet for “Raise trial conversion”. Rung 1 of 3."
    assert reminder.link == "/"
    to_manager = Notification.objects.get(kind="checkin_missed_2")
    assert to_manager.subject == "Olga Owner has not checked in for week 7"
    assert to_manager.link == key_result.get_absolute_url()


@pytest.mark.django_db
@pytest.mark.parametrize("manager_state", ["none", "left the company"])
def test_rung_two_goes_to_the_team_lead_when_the_owner_has_no_manager(
    travel: Any, paris_owner: Any, lead: Any, leader: Any, manager_state: str
) -> None:
    if manager_state == "left the company":
        former = UserFactory(username="fred", is_active=False)
        Profile.objects.filter(user=paris_owner).update(manager=former)
    travel.move_to(DUE)
    prompts.checkins_send_prompts()

    run_at(travel, DUE + timedelta(hours=24))
    run_at(travel, DUE + timedelta(hours=48))
    assert missed_notes() == [("olga", "checkin_missed_1"), ("lena", "checkin_missed_2")]


@pytest.mark.django_db
def test_rung_two_goes_to_leadership_when_the_owner_leads_their_own_team(
    travel: Any, objective: Any, lead: Any, leader: Any
) -> None:
    """Lena is the Growth lead and has no manager: nobody in between is left to tell."""
    Profile.objects.filter(user=lead).update(timezone="Europe/Paris")
    KeyResultFactory(objective=objective, owner=lead, title="Hire two engineers")
    travel.move_to(DUE)
    prompts.checkins_send_prompts()

    run_at(travel, DUE + timedelta(hours=24))
    run_at(travel, DUE + timedelta(hours=48))
    assert missed_notes() == [("lena", "checkin_missed_1"), ("lea", "checkin_missed_2")]


@pytest.mark.django_db
def test_checking_in_before_rung_two_stops_the_ladder(
    travel: Any, prompt: CheckInPrompt, paris_owner: Any, key_result: Any, manager: Any, leader: Any
) -> None:
    run_at(travel, DUE + timedelta(hours=24))
    travel.move_to(DUE + timedelta(hours=30))
    check_in(paris_owner, key_result)
    prompt.refresh_from_db()
    assert prompt.completed_at == DUE + timedelta(hours=30)
    assert prompt.next_escalation_at is None

    assert run_at(travel, DUE + timedelta(hours=48)).escalated == 0
    assert run_at(travel, DUE + timedelta(hours=96)).escalated == 0
    assert missed_notes() == [("olga", "checkin_missed_1")]
    assert list(MissedCheckIn.objects.values_list("rung", flat=True)) == [1]


@pytest.mark.django_db
def test_checking_in_on_time_means_no_ladder_at_all(
    travel: Any, prompt: CheckInPrompt, paris_owner: Any, key_result: Any, manager: Any, leader: Any
) -> None:
    travel.move_to(DUE + timedelta(hours=2))
    check_in(paris_owner, key_result)
    for hours in (24, 48, 96):
        assert run_at(travel, DUE + timedelta(hours=hours)).escalated == 0
    assert missed_notes() == []
    assert not MissedCheckIn.objects.exists()


@pytest.mark.django_db
def test_owner_with_two_key_results_who_checked_in_one_is_still_escalated(
    travel: Any, paris_owner: Any, key_result: Any, manager: Any, leader: Any
) -> None:
    second = KeyResultFactory(
        objective=key_result.objective, owner=paris_owner, title="Cut onboarding time"
    )
    travel.move_to(DUE)
    prompts.checkins_send_prompts()
    travel.move_to(DUE + timedelta(hours=2))
    check_in(paris_owner, key_result)
    assert CheckInPrompt.objects.get().completed_at is None

    assert run_at(travel, DUE + timedelta(hours=24)).escalated == 1
    reminder = Notification.objects.get(kind="checkin_missed_1")
    assert reminder.body == "No check-in yet for “Cut onboarding time”. Rung 1 of 3."
    assert run_at(travel, DUE + timedelta(hours=48)).escalated == 1
    to_manager = Notification.objects.get(kind="checkin_missed_2")
    assert (to_manager.recipient, to_manager.link) == (manager, second.get_absolute_url())
    assert "Raise trial conversion" not in to_manager.body

    # The second check-in arrives: leadership is never told.
    travel.move_to(DUE + timedelta(hours=50))
    check_in(paris_owner, second)
    assert run_at(travel, DUE + timedelta(hours=96)).escalated == 0
    assert [kind for _, kind in missed_notes()] == ["checkin_missed_1", "checkin_missed_2"]


@pytest.mark.django_db
def test_owner_out_of_office_is_never_prompted_so_never_escalated(
    travel: Any, paris_owner: Any, key_result: Any, manager: Any, leader: Any
) -> None:
    Profile.objects.filter(user=paris_owner).update(out_of_office_until=date(2026, 11, 20))
    travel.move_to(DUE)
    assert prompts.checkins_send_prompts().prompts == 0
    for hours in (24, 48, 96, 7 * 24 - 1):
        assert run_at(travel, DUE + timedelta(hours=hours)).escalated == 0
    assert not CheckInPrompt.objects.exists()
    assert not MissedCheckIn.objects.exists()
    assert not Notification.objects.exists()

    # Back the week after: prompted for week 8, and only week 8 can be escalated.
    travel.move_to(DUE + timedelta(days=7))
    assert prompts.checkins_send_prompts().prompts == 1
    assert run_at(travel, DUE + timedelta(days=7, hours=24)).escalated == 1
    assert list(MissedCheckIn.objects.values_list("prompt__week", "rung")) == [(8, 1)]


@pytest.mark.django_db
def test_rungs_are_real_hours_after_the_prompt_when_the_clocks_go_back(
    travel: Any, quarter: Any, paris_owner: Any, manager: Any, leader: Any
) -> None:
    """Saturday 24 October 09:00 in Paris is 07:00 UTC; Paris clocks go back an hour early
    on Sunday 25 October, so rung 1 is due at 08:00 Paris time, 07:00 UTC."""
    quarter.checkin_weekday = Quarter.Weekday.SATURDAY
    quarter.save()
    due = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)
    travel.move_to(due)
    assert prompts.checkins_send_prompts().prompts == 1
    prompt = CheckInPrompt.objects.get()
    assert (prompt.week, prompt.due_at) == (4, due)
    assert prompt.next_escalation_at == due + timedelta(hours=24)

    assert run_at(travel, due + timedelta(hours=24) - MINUTE).escalated == 0
    assert run_at(travel, due + timedelta(hours=24)).escalated == 1
    assert run_at(travel, due + timedelta(hours=48) - MINUTE).escalated == 0
    assert run_at(travel, due + timedelta(hours=48)).escalated == 1
    assert missed_notes() == [("olga", "checkin_missed_1"), ("mia", "checkin_missed_2")]


# --- Added by the lead: the ladder stops for closed quarters and absent owners -------------


@pytest.mark.django_db
def test_ladder_stops_when_the_quarter_closes_or_the_owner_goes_away() -> None:
    """Nobody can check in for a closed quarter, and an owner who went out of office after
    the prompt is not chased."""
    from tests.factories import ObjectiveFactory, QuarterFactory

    quarter = QuarterFactory(
        name="Q",
        start=date(2026, 10, 1),
        end=date(2026, 12, 31),
        checkin_weekday=0,
        checkin_hour=9,
    )
    away, closed_out = UserFactory(), UserFactory()
    for user in (away, closed_out):
        KeyResultFactory(objective=ObjectiveFactory(quarter=quarter), owner=user)
    with time_machine.travel("2026-11-16 09:00:00+00:00", tick=False) as traveller:
        prompts.checkins_send_prompts()
        assert CheckInPrompt.objects.count() == 2
        away.profile.out_of_office_until = date(2026, 11, 30)
        away.profile.save()
        traveller.move_to("2026-11-17 09:00:00+00:00")
        missed.checkins_escalate_missed()
        assert CheckInPrompt.objects.get(owner=away).next_escalation_at is None
        assert CheckInPrompt.objects.get(owner=closed_out).escalation_rung == 1
        Quarter.objects.filter(pk=quarter.pk).update(status=Quarter.Status.CLOSED)
        traveller.move_to("2026-11-18 09:00:00+00:00")
        missed.checkins_escalate_missed()
        prompt = CheckInPrompt.objects.get(owner=closed_out)
        assert (prompt.escalation_rung, prompt.next_escalation_at) == (1, None)
