"""Responses to missed commitments (reviews.responses): opening, prefill, who is told, the
deadline in working days, the record's rules, the next step and the state.

Olga (Growth) owns “Raise trial conversion” (10 → 30, now 15). Mia is her manager, Lena leads
Growth, Lea is in the leadership group. The clock is conftest's: Monday 30 November 2026,
10:00 UTC, in 2026 Q4 (1 October to 31 December).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Profile
from reviews import responses
from reviews.models import MissResponse, NextStep, ResponseCause
from tests.factories import KeyResultFactory, UserFactory

KR_MISSED = MissResponse.Kind.KEY_RESULT_MISSED
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _still_clock() -> Any:
    """The clock stands still at NOW, so that deadlines are exact."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cause(db: Any) -> ResponseCause:
    # Seeded by a migration, but a transactional test's flush removes the seeded rows.
    return ResponseCause.objects.get_or_create(name="Capacity")[0]


def open_miss(key_result: Any, quarter: Any, **kwargs: Any) -> MissResponse:
    response = responses.response_open(
        kind=KR_MISSED, key_result=key_result, quarter=quarter, **kwargs
    )
    assert response is not None
    return response


def record(response: MissResponse, user: Any, participants: list[Any], **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "user": user,
        "response": response,
        "conversation_on": date(2026, 11, 27),
        "participants": participants,
        "cause": ResponseCause.objects.get_or_create(name="Capacity")[0],
        "gap": "Two of the three engineers moved to the SSO fix for Acme.",
        "next_step_what": "Ship the pricing page test with one engineer by mid-December.",
        "next_step_owner": response.accountable,
        "next_step_due": date(2026, 12, 11),
    }
    kwargs.update(overrides)
    return responses.response_record(**kwargs)


def opened_notes() -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(kind="response_opened")
        .order_by("recipient__username")
        .values_list("recipient__username", "subject")
    )


# --- opening --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_open_prefills_the_key_results_values_and_tells_olga_and_her_manager(
    key_result: Any, quarter: Any, manager: Any, lead: Any
) -> None:
    response = open_miss(key_result, quarter)

    assert response.subject_key == f"key_result:{key_result.pk}"
    assert response.committed == ("Raise trial conversion: from 10 to 30% (increase to target).")
    assert response.delivered == "15%: 25% of the way to target."
    assert (response.accountable, response.holder) == (key_result.owner, manager)
    assert response.opened_at == NOW
    assert opened_notes() == [
        ("mia", "Hold the conversation with Olga Owner: Key result missed at the quarter's "
         "close, “Raise trial conversion”"),
        ("olga", "A missed commitment needs a response: Key result missed at the quarter's "
         "close, “Raise trial conversion”"),
    ]  # fmt: skip
    body = Notification.objects.get(recipient=manager).body
    assert "Committed: Raise trial conversion: from 10 to 30%" in body
    assert "by Mon 07 Dec 10:00" in body


@pytest.mark.django_db
def test_without_a_manager_a_lead_of_the_team_holds_it(
    key_result: Any, quarter: Any, lead: Any
) -> None:
    assert open_miss(key_result, quarter).holder == lead


@pytest.mark.django_db
def test_with_neither_nobody_holds_it_and_only_olga_is_told(key_result: Any, quarter: Any) -> None:
    response = open_miss(key_result, quarter)
    assert response.holder is None
    assert [name for name, _ in opened_notes()] == ["olga"]


@pytest.mark.django_db
def test_a_decreasing_key_results_prefill(objective: Any, owner: Any, quarter: Any) -> None:
    kr = KeyResultFactory(
        objective=objective,
        owner=owner,
        title="Cut churn",
        start_value=Decimal(8),
        target_value=Decimal(4),
        current_value=Decimal(7),
        unit="points",
        direction="decrease",
    )
    response = open_miss(kr, quarter)
    assert response.committed == "Cut churn: from 8 to 4 points (decrease to target)."
    assert response.delivered == "7 points: 25% of the way to target."


@pytest.mark.django_db
def test_opening_twice_opens_one_and_tells_once(
    key_result: Any, quarter: Any, manager: Any
) -> None:
    first = open_miss(key_result, quarter)
    second = open_miss(key_result, quarter)
    assert second.pk == first.pk
    assert MissResponse.objects.count() == 1
    assert len(opened_notes()) == 2
    # Another kind for the same key result is another miss.
    other = responses.response_open(
        kind=MissResponse.Kind.CHECKINS_MISSED, key_result=key_result, quarter=quarter
    )
    assert other is not None
    assert other.pk != first.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("opened", "zone", "due"),
    [
        # Friday morning: five working days is next Friday, not Wednesday.
        pytest.param("2026-11-27 10:00+00:00", "UTC", "2026-12-04 10:00+00:00", id="friday"),
        # Saturday counts from Monday's midnight: due at the end of Friday.
        pytest.param("2026-11-28 15:00+00:00", "UTC", "2026-12-05 00:00+00:00", id="saturday"),
        # Thursday 16:00 in Paris: Thursday 16:00 Paris a week later (15:00 UTC).
        pytest.param(
            "2026-11-26 15:00+00:00", "Europe/Paris", "2026-12-03 15:00+00:00", id="paris"
        ),
    ],
)
def test_the_deadline_counts_working_days_in_the_accountable_persons_zone(
    key_result: Any, quarter: Any, opened: str, zone: str, due: str
) -> None:
    Profile.objects.filter(user=key_result.owner).update(timezone=zone)
    key_result.owner.refresh_from_db()
    with time_machine.travel(opened, tick=False):
        response = open_miss(key_result, quarter)
    assert response.due_at == datetime.fromisoformat(due)
    # Its ladder starts at the deadline (RESPONSE_RUNG_HOURS[0] == 0).
    assert response.next_escalation_at == response.due_at


@pytest.mark.django_db
def test_an_unknown_kind_or_a_dependency_kind_without_one_is_a_programming_error(
    key_result: Any, quarter: Any
) -> None:
    with pytest.raises(ValueError, match="Unknown"):
        responses.response_open(kind="nope", key_result=key_result, quarter=quarter)
    with pytest.raises(ValueError, match="needs its dependency"):
        responses.response_open(
            kind=MissResponse.Kind.DEPENDENCY_BROKEN, key_result=key_result, quarter=quarter
        )


# --- recording ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recording_stops_the_ladder_and_starts_the_next_steps(
    key_result: Any, quarter: Any, manager: Any, cause: ResponseCause
) -> None:
    response = open_miss(key_result, quarter)
    olga = key_result.owner
    assert responses.response_state(response) == responses.AWAITING

    recorded = record(response, olga, [olga, manager])

    assert recorded.recorded_at is not None
    assert recorded.recorded_by == olga
    assert recorded.next_escalation_at is None
    assert set(recorded.participants.all()) == {olga, manager}
    assert (recorded.cause, recorded.conversation_on) == (cause, date(2026, 11, 27))
    step = NextStep.objects.get(response=response)
    assert (step.owner, step.due, step.done_at) == (olga, date(2026, 12, 11), None)
    # The end of its due date in Olga's zone, plus NEXT_STEP_RUNG_HOURS[0] (0).
    assert step.next_escalation_at == datetime(2026, 12, 12, tzinfo=UTC)
    assert responses.response_state(recorded) == responses.IN_PROGRESS
    assert responses.recorded_on_time(recorded)


@pytest.mark.django_db
def test_a_lead_of_the_team_is_enough_in_place_of_the_manager(
    key_result: Any, quarter: Any, manager: Any, lead: Any
) -> None:
    response = open_miss(key_result, quarter)
    record(response, manager, [key_result.owner, lead])
    assert NextStep.objects.filter(response=response).exists()


@pytest.mark.django_db
def test_a_conversation_without_the_manager_or_a_lead_is_refused_naming_them(
    key_result: Any, quarter: Any, manager: Any, lead: Any, teammate: Any
) -> None:
    response = open_miss(key_result, quarter)
    olga = key_result.owner
    with pytest.raises(RuleBroken) as refused:
        record(response, olga, [olga, teammate])
    assert refused.value.field == "participants"
    assert refused.value.message == (
        "The conversation must include their manager Mia Manager or a lead of Growth (Lena Lead)."
    )
    with pytest.raises(RuleBroken) as refused:
        record(response, manager, [manager])
    assert refused.value.message == (
        "The conversation must include Olga Owner (who answers for the miss)."
    )
    assert not NextStep.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        pytest.param(
            {"conversation_on": date(2026, 12, 1)},
            "conversation_on",
            "The conversation date cannot be in the future.",
            id="future-date",
        ),
        pytest.param(
            {"conversation_on": date(2026, 9, 30)},
            "conversation_on",
            "The conversation cannot be before the quarter started (01 Oct 2026).",
            id="before-the-quarter",
        ),
        pytest.param({"gap": "   "}, "gap", "Say what the gap was and why.", id="empty-gap"),
        pytest.param(
            {"next_step_what": ""}, "next_step_what", "Say what the next step is.", id="no-step"
        ),
        pytest.param(
            {"next_step_due": date(2026, 11, 29)},
            "next_step_due",
            "The next step cannot be due in the past.",
            id="step-due-in-the-past",
        ),
    ],
)
def test_record_rules(
    key_result: Any,
    quarter: Any,
    manager: Any,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = open_miss(key_result, quarter)
    with pytest.raises(RuleBroken) as refused:
        record(response, manager, [key_result.owner, manager], **overrides)
    assert (refused.value.field, refused.value.message) == (field, message)
    response.refresh_from_db()
    assert response.recorded_at is None


@pytest.mark.django_db
def test_an_inactive_cause_or_next_step_owner_is_refused(
    key_result: Any, quarter: Any, manager: Any
) -> None:
    response = open_miss(key_result, quarter)
    retired = ResponseCause.objects.create(name="Retired cause", active=False)
    with pytest.raises(RuleBroken, match="cause from the catalogue"):
        record(response, manager, [key_result.owner, manager], cause=retired)
    gone = UserFactory(username="gone", is_active=False)
    with pytest.raises(RuleBroken, match="active owner"):
        record(response, manager, [key_result.owner, manager], next_step_owner=gone)


@pytest.mark.django_db
def test_only_the_accountable_person_the_holder_or_leadership_record(
    key_result: Any, quarter: Any, manager: Any, teammate: Any, leader: Any
) -> None:
    response = open_miss(key_result, quarter)
    with pytest.raises(NotAllowed):
        record(response, teammate, [key_result.owner, manager])
    record(response, leader, [key_result.owner, manager])


@pytest.mark.django_db
def test_re_recording_updates_in_place_and_keeps_the_first_record_time(
    key_result: Any, quarter: Any, manager: Any, teammate: Any
) -> None:
    response = open_miss(key_result, quarter)
    olga = key_result.owner
    first = record(response, olga, [olga, manager]).recorded_at
    with time_machine.travel("2026-12-02 09:00+00:00", tick=False):
        again = record(
            response,
            manager,
            [olga, manager],
            gap="On reflection: the estimate was wrong too.",
            next_step_owner=teammate,
            next_step_due=date(2026, 12, 18),
        )
    assert (again.recorded_at, again.recorded_by) == (first, manager)
    assert again.gap == "On reflection: the estimate was wrong too."
    step = NextStep.objects.get(response=response)
    assert (step.owner, step.due) == (teammate, date(2026, 12, 18))
    assert NextStep.objects.count() == 1


# --- the next step --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_next_step_is_done_once_and_then_the_response_is_closed(
    key_result: Any, quarter: Any, manager: Any, teammate: Any
) -> None:
    response = open_miss(key_result, quarter)
    olga = key_result.owner
    with pytest.raises(RuleBroken, match="record it first"):
        responses.next_step_done(user=olga, response=response)
    record(response, olga, [olga, manager], next_step_owner=teammate)
    with pytest.raises(NotAllowed):
        responses.next_step_done(user=olga, response=response)  # not hers, not the holder

    step = responses.next_step_done(user=teammate, response=response)

    assert step.done_at is not None
    assert step.next_escalation_at is None
    response.refresh_from_db()
    assert responses.response_state(response) == responses.DONE
    with pytest.raises(RuleBroken, match="already done"):
        responses.next_step_done(user=manager, response=response)
    with pytest.raises(RuleBroken, match="closed"):
        record(response, olga, [olga, manager])


@pytest.mark.django_db
def test_state_is_overdue_past_the_deadline_or_past_the_next_steps_due_date(
    key_result: Any, quarter: Any, manager: Any
) -> None:
    response = open_miss(key_result, quarter)  # due Monday 7 December, 10:00 UTC
    at = datetime(2026, 12, 7, 9, 59, tzinfo=UTC)
    assert responses.response_state(response, at) == responses.AWAITING
    assert responses.response_state(response, at.replace(hour=10)) == responses.OVERDUE

    olga = key_result.owner
    record(response, olga, [olga, manager], next_step_due=date(2026, 12, 11))
    response = MissResponse.objects.select_related("next_step__owner__profile").get()
    end_of_due = datetime(2026, 12, 12, tzinfo=UTC)
    assert responses.response_state(response, end_of_due) == responses.OVERDUE
    assert (
        responses.response_state(response, datetime(2026, 12, 11, 23, 59, tzinfo=UTC))
        == responses.IN_PROGRESS
    )
    assert responses.STATES == ("awaiting", "overdue", "in_progress", "done")
