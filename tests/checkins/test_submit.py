"""Rule 6: the weekly check-in asks three questions; one per key result per week; forecast."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from checkins import forecast, services
from checkins.models import CheckIn, CheckInRevision
from okrly.errors import NotAllowed, RuleBroken
from tests.factories import during_week

ANSWERS: dict[str, Any] = {
    "status": "at_risk",
    "confidence": 6,
    "biggest_risk": "The payment provider migration slips",
    "value": "14",
}


@pytest.fixture
def week7() -> Iterator[Any]:
    """Tuesday 17 November 2026 in the 2026 Q4 quarter (starts Thursday 1 October): week 7."""
    with time_machine.travel("2026-11-17 09:30:00+00:00", tick=False) as traveller:
        yield traveller


def submit(owner: Any, key_result: Any, **overrides: Any) -> CheckIn:
    return services.checkin_submit(user=owner, key_result=key_result, **{**ANSWERS, **overrides})


def submit_on_time(owner: Any, key_result: Any, week: int, **overrides: Any) -> CheckIn:
    """A history: ``week``'s check-in submitted during that week."""
    with during_week(key_result.objective.quarter, week):
        return submit(owner, key_result, week=week, **overrides)


pytestmark = pytest.mark.usefixtures("week7")


@pytest.mark.django_db
class TestThreeQuestions:
    def test_a_complete_check_in_is_saved_for_the_owners_current_week(
        self, owner: Any, key_result: Any
    ) -> None:
        check_in = submit(owner, key_result, need="A decision on the pricing page")
        assert (check_in.week, check_in.status, check_in.confidence) == (7, "at_risk", 6)
        assert check_in.biggest_risk == "The payment provider migration slips"
        key_result.refresh_from_db()
        assert key_result.current_value == Decimal(14)

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("status", "fine", "on track, at risk or off track"),
            ("status", "", "on track, at risk or off track"),
            ("confidence", 11, "0 to 10"),
            ("confidence", -1, "0 to 10"),
            ("confidence", "7.5", "0 to 10"),
            ("confidence", "abc", "0 to 10"),
            ("biggest_risk", "", "Name the biggest risk"),
            ("biggest_risk", "   ", "Name the biggest risk"),
            ("value", "12,5x", "must be a number"),
            ("value", "NaN", "must be a number"),
            ("value", None, "must be a number"),
        ],
    )
    def test_each_answer_is_required_and_checked(
        self, owner: Any, key_result: Any, field: str, value: Any, message: str
    ) -> None:
        with pytest.raises(RuleBroken) as excinfo:
            submit(owner, key_result, **{field: value})
        assert excinfo.value.field == field
        assert message in excinfo.value.message
        assert not CheckIn.objects.exists()

    def test_the_database_refuses_an_empty_risk_and_confidence_out_of_range(
        self, owner: Any, key_result: Any
    ) -> None:
        row = {
            "key_result": key_result,
            "week": 7,
            "author": owner,
            "status": "on_track",
            "value": 1,
            "submitted_at": "2026-11-17T09:30:00Z",
        }
        with pytest.raises(IntegrityError), transaction.atomic():
            CheckIn.objects.create(**row, confidence=5, biggest_risk="")
        with pytest.raises(IntegrityError), transaction.atomic():
            CheckIn.objects.create(**row, confidence=11, biggest_risk="x")

    def test_a_need_naming_a_person_must_say_what(
        self, owner: Any, key_result: Any, provider: Any
    ) -> None:
        with pytest.raises(RuleBroken, match="Say what you need from Pia Provider"):
            submit(owner, key_result, need="", need_person=provider)


@pytest.mark.django_db
class TestWho:
    def test_only_the_owner_checks_in(
        self, owner: Any, lead: Any, teammate: Any, admin_user: Any, key_result: Any
    ) -> None:
        for refused in (lead, teammate, admin_user):
            with pytest.raises(NotAllowed, match="Only Olga Owner"):
                submit(refused, key_result)
        assert not CheckIn.objects.exists()
        assert submit(owner, key_result).author == owner


@pytest.mark.django_db
class TestWeeks:
    def test_a_future_week_is_refused(self, owner: Any, key_result: Any) -> None:
        with pytest.raises(RuleBroken, match="Week 8 has not started yet"):
            submit(owner, key_result, week=8)

    @pytest.mark.parametrize("week", [0, 15, 40])
    def test_a_week_outside_the_quarter_is_refused(
        self, owner: Any, key_result: Any, week: int
    ) -> None:
        with pytest.raises(RuleBroken, match="outside 2026 Q4"):
            submit(owner, key_result, week=week)

    def test_a_missed_week_is_checked_in_late_until_its_window_closes(
        self, owner: Any, key_result: Any, week7: Any, settings: Any
    ) -> None:
        """Week 6 (from Thursday 5 November) is prompted on Monday 9 November at 09:00 (the
        quarter's check-in moment, in the owner's zone, UTC here). With CHECKIN_LATE_DAYS 6
        it can be checked in until Sunday 15 November 09:00: marked late."""
        assert settings.CHECKIN_LATE_DAYS == 6
        week7.move_to("2026-11-15 08:59:00+00:00")  # Sunday of week 7
        late = submit(owner, key_result, week=6)
        assert (late.week, late.late) == (6, True)
        assert submit(owner, key_result).late is False  # week 7 itself is on time
        week7.move_to("2026-11-15 09:01:00+00:00")
        with pytest.raises(RuleBroken, match="Week 6 closed for check-ins on Sun 15 Nov, 09:00"):
            submit(owner, key_result, week=6, value="15")  # an edit too, once closed
        with pytest.raises(RuleBroken, match="Week 5 closed"):
            submit(owner, key_result, week=5)
        settings.CHECKIN_LATE_DAYS = 8  # the window is the setting's
        assert submit(owner, key_result, week=6, value="15").value == 15

    def test_the_late_window_is_in_the_owners_zone(
        self, owner: Any, key_result: Any, week7: Any
    ) -> None:
        """Week 6's moment in Los Angeles is Monday 9 November 09:00 PST (17:00 UTC): its
        window closes Sunday 15 November 17:00 UTC, eight hours after London's."""
        owner.profile.timezone = "America/Los_Angeles"
        owner.profile.save()
        week7.move_to("2026-11-15 16:59:00+00:00")
        assert submit(owner, key_result, week=6).late is True
        week7.move_to("2026-11-15 17:01:00+00:00")
        with pytest.raises(RuleBroken, match="Sun 15 Nov, 09:00 PST"):
            submit(owner, key_result, week=6)

    def test_the_week_is_the_owners_local_week(
        self, owner: Any, key_result: Any, week7: Any
    ) -> None:
        """Week 2 starts Thursday 8 October. At 20:00 UTC on Wednesday 7 October it is
        already Thursday 10:00 in Kiritimati (UTC+14) but still Wednesday in Pago Pago (UTC-11)."""
        owner.profile.timezone = "Pacific/Kiritimati"
        owner.profile.save()
        week7.move_to("2026-10-07 20:00:00+00:00")
        assert submit(owner, key_result).week == 2
        owner.profile.timezone = "Pacific/Pago_Pago"  # UTC-11: still Wednesday, week 1
        owner.profile.save()
        assert submit(owner, key_result).week == 1

    def test_outside_any_running_quarter_the_week_must_be_given(
        self, owner: Any, key_result: Any, week7: Any
    ) -> None:
        # Week 13 was prompted on Monday 28 December: late until Sunday 3 January.
        week7.move_to("2027-01-02 12:00:00+00:00")
        with pytest.raises(RuleBroken, match="Today is outside 2026 Q4"):
            submit(owner, key_result)
        assert submit(owner, key_result, week=13).late is True


@pytest.mark.django_db
class TestOnePerWeek:
    def test_a_second_submission_edits_the_first_and_keeps_it_in_history(
        self, owner: Any, key_result: Any, week7: Any
    ) -> None:
        first = submit(owner, key_result)
        week7.shift(3600)
        second = submit(owner, key_result, status="off_track", confidence=2, value="12")
        assert second.pk == first.pk
        assert CheckIn.objects.count() == 1
        assert (second.status, second.confidence, second.edited_at is not None) == (
            "off_track",
            2,
            True,
        )
        revision = CheckInRevision.objects.get(check_in=first)
        assert (revision.status, revision.confidence, revision.value) == ("at_risk", 6, 14)
        assert revision.biggest_risk == "The payment provider migration slips"

    def test_the_database_refuses_a_second_row_for_a_week(
        self, owner: Any, key_result: Any
    ) -> None:
        first = submit(owner, key_result)
        with pytest.raises(IntegrityError), transaction.atomic():
            CheckIn.objects.create(
                key_result=key_result,
                week=first.week,
                author=owner,
                status="on_track",
                confidence=5,
                biggest_risk="x",
                value=1,
                submitted_at=first.submitted_at,
            )

    def test_an_older_week_does_not_overwrite_the_current_value(
        self, owner: Any, key_result: Any
    ) -> None:
        submit(owner, key_result, value="20")
        submit_on_time(owner, key_result, 3, value="12")
        key_result.refresh_from_db()
        assert key_result.current_value == Decimal(20)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_give_one_row_and_keep_both_versions(
    owner: Any, key_result: Any
) -> None:
    """Two browser tabs at once (threads with their own connections): one row for the week,
    the other answer kept as a revision, none lost."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tab(confidence: int) -> None:
        try:
            barrier.wait()
            submit(owner, key_result, confidence=confidence)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tab, args=(c,)) for c in (3, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check_in = CheckIn.objects.get()
    versions = {check_in.confidence, *CheckInRevision.objects.values_list("confidence", flat=True)}
    assert versions == {3, 8}


@pytest.mark.django_db
def test_a_submit_locks_the_check_ins_row_alone(key_result: Any) -> None:
    """The row a submit locks (FOR UPDATE) is read from the check-in table alone: no join to
    the key result, objective, team or quarter (the model's default ordering joined them all,
    and FOR UPDATE locked every joined row, the quarter's included)."""
    locked = services.week_locked(key_result, 7)
    statement = str(locked.query)
    assert " JOIN " not in statement
    assert locked.query.select_for_update
    assert locked.query.select_for_update_of == ("self",)


@pytest.mark.django_db(transaction=True)
def test_owners_checking_in_at_once_across_teams_all_succeed(quarter: Any) -> None:
    """Eight owners in two teams, each key result asking the other team for something, check
    in at the same moment, twice (threads with their own connections): every answer is
    saved, none refused. A check-in locks its own row and then the teams whose figures it
    rewrites (ownership.figures); on PostgreSQL it once also locked its key result's quarter
    and team rows, through the joins of the model's default ordering, and the two orders
    deadlocked (the bench's mixed load refused most check-ins)."""
    from dependencies import services as deps
    from tests.factories import (
        KeyResultFactory,
        MembershipFactory,
        ObjectiveFactory,
        TeamFactory,
        UserFactory,
    )

    teams = [TeamFactory(), TeamFactory()]
    providers = [UserFactory(), UserFactory()]
    for team, provider in zip(teams, providers, strict=True):
        MembershipFactory(user=provider, team=team)
    work = []
    for i in range(8):
        mine, theirs = i % 2, 1 - i % 2
        owner = UserFactory()
        MembershipFactory(user=owner, team=teams[mine])
        kr = KeyResultFactory(
            objective=ObjectiveFactory(quarter=quarter, team=teams[mine]), owner=owner
        )
        deps.dependency_request(
            user=owner,
            key_result=kr,
            provider_team=teams[theirs],
            responsible=providers[theirs],
            deliverable="An API",
            due_date=quarter.end,
            confirm_outside_quarter=True,
        )
        work.append((owner, kr))
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def owner_checks_in(owner: Any, kr: Any) -> None:
        try:
            for confidence in (4, 7):
                barrier.wait()
                submit(owner, kr, confidence=confidence)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=owner_checks_in, args=pair) for pair in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(CheckIn.objects.values_list("confidence", flat=True)) == [7] * len(work)


class TestForecast:
    def test_a_straight_line_is_projected_to_the_last_week(self) -> None:
        points = [(1, Decimal(12)), (2, Decimal(14)), (3, Decimal(16))]
        assert forecast.forecast_value(
            start_value=Decimal(10), points=points, last_week=13
        ) == Decimal(36)

    def test_least_squares_through_noisy_points(self) -> None:
        points = [(1, Decimal(2)), (2, Decimal(1)), (3, Decimal(4))]
        # x: 0..3, y: 0,2,1,4 -> slope 1.1, intercept 0.1 -> week 10: 11.1
        assert forecast.forecast_value(
            start_value=Decimal(0), points=points, last_week=10
        ) == Decimal("11.10")

    def test_no_trend_without_a_check_in(self) -> None:
        assert forecast.forecast_value(start_value=Decimal(1), points=[], last_week=13) is None

    @pytest.mark.django_db
    def test_on_track_with_a_trend_that_misses_is_flagged(
        self, owner: Any, key_result: Any, week7: Any
    ) -> None:
        """Start 10, target 30 at week 14. Values 10.5, 11, 11.5 ... by week 7 project ~17:
        far below 30 - 10% of 20. Saying "on track" is contradicted by the numbers."""
        for week in range(1, 8):
            check_in = submit_on_time(
                owner,
                key_result,
                week,
                status="on_track",
                confidence=8,
                value=str(10 + week * Decimal("0.5")),
            )
        assert check_in.forecast_flag is True
        assert check_in.forecast_value == Decimal("17.00")

    @pytest.mark.django_db
    def test_on_track_with_a_trend_that_hits_is_not_flagged(
        self, owner: Any, key_result: Any
    ) -> None:
        for week in range(1, 8):
            check_in = submit_on_time(
                owner,
                key_result,
                week,
                status="on_track",
                confidence=8,
                value=str(10 + week * Decimal("1.5")),
            )
        assert check_in.forecast_flag is False

    @pytest.mark.django_db
    def test_at_risk_is_not_flagged_the_owner_already_said_so(
        self, owner: Any, key_result: Any
    ) -> None:
        for week in range(1, 8):
            check_in = submit_on_time(
                owner, key_result, week, value=str(10 + week * Decimal("0.5"))
            )
        assert (check_in.status, check_in.forecast_flag) == ("at_risk", False)

    @pytest.mark.django_db
    def test_the_margin_is_configurable(self, owner: Any, key_result: Any, settings: Any) -> None:
        settings.CHECKIN_FORECAST_MARGIN = 0.7  # tolerate missing by 70% of the way
        for week in range(1, 8):
            check_in = submit_on_time(
                owner,
                key_result,
                week,
                status="on_track",
                value=str(10 + week * Decimal("0.5")),
            )
        assert check_in.forecast_flag is False

    @pytest.mark.django_db
    def test_decreasing_key_results_forecast_the_other_way(
        self, owner: Any, objective: Any
    ) -> None:
        from tests.factories import KeyResultFactory

        churn = KeyResultFactory(
            objective=objective,
            owner=owner,
            direction="decrease",
            start_value=Decimal(8),
            target_value=Decimal(4),
            current_value=Decimal(8),
        )
        for week in range(1, 8):
            check_in = submit_on_time(
                owner, churn, week, status="on_track", value=str(8 - week * Decimal("0.1"))
            )
        assert check_in.forecast_flag is True
