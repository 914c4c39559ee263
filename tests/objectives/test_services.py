"""Creating and editing objectives and key results: rights, rules, bad input."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from objectives import services
from objectives.models import KeyResult, Objective
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Quarter
from tests.factories import KeyResultFactory

pytestmark = pytest.mark.django_db


def create_objective(user: Any, quarter: Any, team: Any, title: str = "Win the mid-market") -> Any:
    return services.objective_create(user=user, quarter=quarter, team=team, title=title)


class TestRights:
    """For each action: the allowed user succeeds, others are refused, then allowed again."""

    def test_objective_create(
        self, lead: Any, owner: Any, provider: Any, outsider: Any, quarter: Any, growth: Any
    ) -> None:
        for refused in (owner, provider, outsider):
            with pytest.raises(NotAllowed, match="Only a lead of Growth"):
                create_objective(refused, quarter, growth)
        assert not Objective.objects.exists()
        objective = create_objective(lead, quarter, growth)
        assert objective.team == growth
        assert objective.rank == 1

    def test_admin_may_create_for_any_team(
        self, admin_user: Any, quarter: Any, growth: Any
    ) -> None:
        assert create_objective(admin_user, quarter, growth).pk

    def test_membership_lead_role_is_enough(self, owner: Any, quarter: Any, growth: Any) -> None:
        owner.memberships.filter(team=growth).update(role="lead")
        assert create_objective(owner, quarter, growth).pk

    def test_key_result_create(
        self, lead: Any, owner: Any, teammate: Any, provider: Any, objective: Any
    ) -> None:
        kwargs = {
            "objective": objective,
            "title": "NPS",
            "owner": owner,
            "target_value": Decimal(40),
        }
        for refused in (owner, teammate, provider):
            with pytest.raises(NotAllowed):
                services.key_result_create(user=refused, **kwargs)
        assert not KeyResult.objects.exists()
        key_result = services.key_result_create(user=lead, **kwargs)
        assert key_result.owner == owner

    def test_key_result_update(self, lead: Any, owner: Any, provider: Any, key_result: Any) -> None:
        for refused in (owner, provider):
            with pytest.raises(NotAllowed):
                services.key_result_update(user=refused, key_result=key_result, title="Hijacked")
        key_result.refresh_from_db()
        assert key_result.title == "Raise trial conversion"
        services.key_result_update(user=lead, key_result=key_result, title="Raise paid conversion")
        key_result.refresh_from_db()
        assert key_result.title == "Raise paid conversion"

    def test_objective_update(self, lead: Any, owner: Any, objective: Any) -> None:
        with pytest.raises(NotAllowed):
            services.objective_update(user=owner, objective=objective, title="Mine now")
        services.objective_update(user=lead, objective=objective, means="Paying self-serve teams")
        objective.refresh_from_db()
        assert objective.means == "Paying self-serve teams"


def test_new_owner_is_notified(lead: Any, owner: Any, objective: Any) -> None:
    key_result = services.key_result_create(
        user=lead, objective=objective, title="NPS", owner=owner, target_value=Decimal(40)
    )
    note = Notification.objects.get(recipient=owner)
    assert note.kind == "kr_assigned"
    assert note.link == key_result.get_absolute_url()


def test_editing_cannot_change_the_owner_a_handover_must_be_accepted(
    lead: Any, owner: Any, teammate: Any, key_result: Any
) -> None:
    with pytest.raises(RuleBroken) as excinfo:
        services.key_result_update(user=lead, key_result=key_result, owner=teammate)
    assert excinfo.value.field == "owner"
    assert "new owner must accept" in excinfo.value.message
    key_result.refresh_from_db()
    assert key_result.owner == owner


@pytest.mark.parametrize(
    ("direction", "start", "target"),
    [("increase", 10, 10), ("increase", 10, 5), ("decrease", 10, 20)],
)
def test_target_must_lie_in_the_chosen_direction(
    lead: Any, owner: Any, objective: Any, direction: str, start: int, target: int
) -> None:
    with pytest.raises(RuleBroken) as excinfo:
        services.key_result_create(
            user=lead,
            objective=objective,
            title="Odd",
            owner=owner,
            direction=direction,
            start_value=Decimal(start),
            target_value=Decimal(target),
        )
    assert excinfo.value.field == "target_value"


def test_database_refuses_a_target_against_the_direction(objective: Any, owner: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyResultFactory(objective=objective, owner=owner, start_value=5, target_value=1)


def test_closed_quarter_takes_no_new_objectives(lead: Any, quarter: Any, growth: Any) -> None:
    quarter.status = Quarter.Status.CLOSED
    quarter.save()
    with pytest.raises(RuleBroken, match="closed"):
        create_objective(lead, quarter, growth)


def test_blank_titles_are_refused(
    lead: Any, owner: Any, quarter: Any, growth: Any, objective: Any
) -> None:
    with pytest.raises(RuleBroken, match="title"):
        create_objective(lead, quarter, growth, title="   ")
    with pytest.raises(RuleBroken, match="title"):
        services.key_result_create(
            user=lead, objective=objective, title=" ", owner=owner, target_value=Decimal(1)
        )


def test_ranks_follow_on_within_a_team(lead: Any, quarter: Any, growth: Any) -> None:
    first = create_objective(lead, quarter, growth, "One")
    second = create_objective(lead, quarter, growth, "Two")
    assert (first.rank, second.rank) == (1, 2)


@pytest.mark.parametrize(
    ("start", "target", "current", "expected"),
    [(0, 100, 25, 25), (10, 30, 15, 25), (420, 200, 310, 50), (0, 10, 20, 100), (0, 10, -5, 0)],
)
def test_progress_is_the_share_of_the_way_from_start_to_target(
    start: int, target: int, current: int, expected: int
) -> None:
    key_result = KeyResult(
        start_value=Decimal(start), target_value=Decimal(target), current_value=Decimal(current)
    )
    assert key_result.progress == expected
