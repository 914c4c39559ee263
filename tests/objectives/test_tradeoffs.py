"""Trade-off decisions (rule 8): each rule of objectives.tradeoffs is a test here.

Growth (led by Lena) is at its limit of 3 objectives in the active 2026 Q4; Olga owns "Raise
trial conversion" (10 → 30) under "Grow self-serve revenue".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from dependencies import services as dependencies
from objectives import limits, services, tradeoffs
from objectives.models import Displacement, KeyResult, Objective, TradeOff, TradeOffCategory
from objectives.tradeoffs import Displace
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Quarter
from tests.conftest import TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory

pytestmark = pytest.mark.django_db

NEW_OBJECTIVE = {"kind": "objective", "title": "Keep Acme from churning", "means": "Fix SSO."}


@pytest.fixture
def category() -> TradeOffCategory:
    return TradeOffCategory.objects.get_or_create(name="Client escalation")[0]


@pytest.fixture
def full(quarter: Any, growth: Any, objective: Any, key_result: Any) -> list[Objective]:
    """Growth at its limit (3 objectives) in the active quarter."""
    return [objective] + [
        ObjectiveFactory(quarter=quarter, team=growth, title=f"Other {n}", rank=n + 2)
        for n in range(2)
    ]


def decide(user: Any, w: Any, displaced: list[Displace], **overrides: Any) -> TradeOff:
    args: dict[str, Any] = {
        "user": user,
        "team": w["team"],
        "quarter": w["quarter"],
        "category": w["category"],
        "reason": "Acme threatens to leave over SSO.",
        "displaced": displaced,
        "addition": NEW_OBJECTIVE,
    }
    args.update(overrides)
    return tradeoffs.trade_off_decide(**args)


@pytest.fixture
def w(full: list[Objective], quarter: Any, growth: Any, category: Any) -> dict[str, Any]:
    return {"team": growth, "quarter": quarter, "category": category, "objectives": full}


@pytest.fixture
def requested(key_result: Any, owner: Any, platform: Any, provider: Any) -> Any:
    """Olga asked Platform (Pia) for the billing API: another team's open commitment."""
    return dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=TEST_TODAY,  # the quarter's last day at the latest, on any pinned day
    )


# --- who decides, and what a decision needs ------------------------------------------------


def test_a_trade_off_that_displaces_nothing_is_refused(lead: Any, w: Any) -> None:
    with pytest.raises(RuleBroken, match="says what it displaces") as refused:
        decide(lead, w, [])
    assert refused.value.field == "displaced"
    assert not TradeOff.objects.exists()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("lead", True),
        ("leader", True),
        ("owner", False),
        ("teammate", False),
        ("platform_lead", False),
        ("manager", False),
        ("outsider", False),
    ],
)
def test_only_a_lead_of_the_team_or_leadership_decides(
    request: pytest.FixtureRequest, w: Any, key_result: Any, role: str, allowed: bool
) -> None:
    user = request.getfixturevalue(role)
    displaced = [Displace(key_result, Displacement.Action.DROPPED)]
    if allowed:
        assert decide(user, w, displaced).status == TradeOff.Status.DECIDED
        return
    with pytest.raises(NotAllowed, match="Only a lead of Growth or the leadership group"):
        decide(user, w, displaced)
    assert not TradeOff.objects.exists()


def test_staff_alone_may_not_decide_a_trade_off(admin_user: Any, w: Any, key_result: Any) -> None:
    # An administrator configures the organisation; its priorities are the leads'.
    with pytest.raises(NotAllowed):
        decide(admin_user, w, [Displace(key_result, Displacement.Action.DROPPED)])
    key_result.refresh_from_db()
    assert key_result.displaced_by is None


def test_a_planning_quarter_takes_no_trade_off(lead: Any, w: Any, key_result: Any) -> None:
    w["quarter"].status = Quarter.Status.PLANNING
    w["quarter"].save()
    with pytest.raises(RuleBroken, match="not under way") as refused:
        decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    assert refused.value.field == "quarter"


def test_a_category_no_longer_offered_and_an_empty_reason_are_refused(
    lead: Any, w: Any, key_result: Any, category: Any
) -> None:
    displaced = [Displace(key_result, Displacement.Action.DROPPED)]
    with pytest.raises(RuleBroken, match="Say why") as refused:
        decide(lead, w, displaced, reason="   ")
    assert refused.value.field == "reason"
    category.active = False
    category.save()
    with pytest.raises(RuleBroken, match="no longer a trade-off category"):
        decide(lead, w, displaced)


def test_only_the_teams_own_undisplaced_work_is_displaced(
    lead: Any, w: Any, key_result: Any, platform: Any, quarter: Any
) -> None:
    theirs = KeyResultFactory(objective=ObjectiveFactory(quarter=quarter, team=platform))
    with pytest.raises(RuleBroken, match="is not Growth's"):
        decide(lead, w, [Displace(theirs, Displacement.Action.DROPPED)])
    with pytest.raises(RuleBroken, match="listed twice"):
        decide(
            lead,
            w,
            [
                Displace(key_result, Displacement.Action.DROPPED),
                Displace(key_result, Displacement.Action.DEFERRED),
            ],
        )
    with pytest.raises(RuleBroken, match="goes with its objective"):
        decide(
            lead,
            w,
            [
                Displace(key_result.objective, Displacement.Action.DROPPED),
                Displace(key_result, Displacement.Action.DROPPED),
            ],
        )
    decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    key_result.refresh_from_db()
    with pytest.raises(RuleBroken, match="already displaced"):
        decide(lead, w, [Displace(key_result, Displacement.Action.DEFERRED)])


# --- carrying it out -----------------------------------------------------------------------


def test_dropping_a_key_result_adds_the_objective_past_the_limit(
    lead: Any, w: Any, key_result: Any, growth: Any, quarter: Any
) -> None:
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])

    assert trade_off.status == TradeOff.Status.DECIDED
    assert trade_off.decided_by == lead
    added = trade_off.added_objective
    assert added is not None
    assert added.title == "Keep Acme from churning"
    assert added.team == growth
    assert added.means == "Fix SSO."
    key_result.refresh_from_db()
    assert key_result.displaced_by == trade_off
    row = trade_off.displaced.get()
    assert (row.key_result, row.action, row.previous_target) == (
        key_result,
        "dropped",
        Decimal("30.00"),
    )
    assert Objective.objects.filter(team=growth, quarter=quarter).count() == 4


def test_deferring_a_key_result_marks_it_and_offers_it_next_quarter(
    lead: Any, w: Any, key_result: Any
) -> None:
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DEFERRED)])
    key_result.refresh_from_db()
    assert key_result.displaced_by == trade_off
    following = QuarterFactory(
        name="2027 Q1",
        start=date(2027, 1, 1),
        end=date(2027, 3, 31),
        status=Quarter.Status.PLANNING,
    )
    offered = tradeoffs.deferred_into(following)
    assert [(d.key_result, d.action) for d in offered] == [(key_result, "deferred")]
    # A refused or awaiting decision defers nothing, and the quarter after next sees nothing.
    later = QuarterFactory(name="2027 Q2", start=date(2027, 4, 1), end=date(2027, 6, 30))
    assert tradeoffs.deferred_into(later) == []


def test_descoping_a_key_result_moves_its_target_and_keeps_it_counted(
    lead: Any, w: Any, key_result: Any
) -> None:
    trade_off = decide(
        lead,
        w,
        [Displace(key_result, Displacement.Action.DESCOPED, Decimal("20"))],
        addition={
            "kind": "key_result",
            "objective": key_result.objective_id,
            "title": "SSO for Acme",
            "owner": key_result.owner_id,
            "start_value": "0",
            "target_value": "1",
        },
    )
    key_result.refresh_from_db()
    assert key_result.target_value == Decimal("20.00")
    assert key_result.displaced_by is None
    row = trade_off.displaced.get()
    assert (row.previous_target, row.new_target) == (Decimal("30.00"), Decimal("20.00"))
    assert trade_off.added_key_result is not None
    assert trade_off.added_key_result.title == "SSO for Acme"


@pytest.mark.parametrize("new_target", ["30", "45", "10", "5", "abc"])
def test_a_descoped_target_lies_between_the_start_and_the_current_target(
    lead: Any, w: Any, key_result: Any, new_target: str
) -> None:
    with pytest.raises(RuleBroken):
        decide(lead, w, [Displace(key_result, Displacement.Action.DESCOPED, new_target)])
    key_result.refresh_from_db()
    assert key_result.target_value == Decimal("30.00")
    assert not TradeOff.objects.exists()


def test_an_objective_cannot_be_descoped(lead: Any, w: Any, objective: Any) -> None:
    with pytest.raises(RuleBroken, match="Descoping means a smaller target"):
        decide(lead, w, [Displace(objective, Displacement.Action.DESCOPED, Decimal(1))])


def test_displaced_items_no_longer_count_against_the_limit(
    lead: Any, w: Any, objective: Any, key_result: Any, growth: Any, quarter: Any
) -> None:
    other = w["objectives"][1]
    KeyResultFactory.create_batch(5, objective=other)
    with pytest.raises(RuleBroken) as refused:
        services.key_result_create(
            user=lead, objective=other, title="Sixth", owner=lead, target_value=Decimal(5)
        )
    assert refused.value.code == "trade_off_required"
    # Dropping the objective (and so its key result) frees a place for an objective, and
    # deferring one of the other's key results frees a place for a key result.
    decide(
        lead,
        w,
        [
            Displace(objective, Displacement.Action.DROPPED),
            Displace(other.key_results.first(), Displacement.Action.DEFERRED),
        ],
        addition={
            "kind": "key_result",
            "objective": other.pk,
            "title": "Win back Acme",
            "owner": lead.pk,
            "target_value": "1",
        },
    )
    key_result.refresh_from_db()
    assert key_result.displaced_by is not None  # it went with its objective
    assert limits.objectives_counted(growth, quarter) == 2
    assert limits.key_results_counted(other) == 5
    services.objective_create(user=lead, quarter=quarter, team=growth, title="Now there is room")
    with pytest.raises(RuleBroken):
        services.objective_create(user=lead, quarter=quarter, team=growth, title="Not this one")


def test_owners_of_displaced_key_results_are_told_and_the_decider_is_not(
    lead: Any, owner: Any, teammate: Any, w: Any, key_result: Any, objective: Any
) -> None:
    second = KeyResultFactory(objective=objective, owner=teammate, title="Cut churn")
    mine = KeyResultFactory(objective=objective, owner=lead, title="Lena's own")
    trade_off = decide(
        lead,
        w,
        [
            Displace(key_result, Displacement.Action.DROPPED),
            Displace(second, Displacement.Action.DESCOPED, Decimal(50)),
            Displace(mine, Displacement.Action.DEFERRED),
        ],
    )
    told = Notification.objects.filter(kind="trade_off_displaced")
    assert sorted(told.values_list("recipient__username", "subject")) == [
        ("olga", f"“Raise trial conversion” dropped by trade-off #{trade_off.pk}"),
        ("tim", f"“Cut churn” descoped to 50.00 by trade-off #{trade_off.pk}"),
    ]
    note = told.get(recipient=owner)
    assert "Keep Acme from churning" in note.body
    assert "Acme threatens" in note.body
    assert note.link == trade_off.get_absolute_url()


# --- leadership's approval -----------------------------------------------------------------


def test_displacing_work_another_team_committed_to_waits_for_leadership(
    lead: Any, leader: Any, w: Any, key_result: Any, requested: Any
) -> None:
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])

    assert trade_off.status == TradeOff.Status.AWAITING_APPROVAL
    assert trade_off.added_objective is None
    key_result.refresh_from_db()
    assert key_result.displaced_by is None
    assert not Objective.objects.filter(title="Keep Acme from churning").exists()
    asked = Notification.objects.get(kind="trade_off_approval")
    assert asked.recipient == leader
    assert not Notification.objects.filter(kind="trade_off_displaced").exists()


def test_approval_carries_the_decision_out_and_tells_everyone_affected(
    lead: Any, leader: Any, owner: Any, platform_lead: Any, w: Any, key_result: Any, requested: Any
) -> None:
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    approved = tradeoffs.trade_off_approve(user=leader, trade_off=trade_off)

    assert approved.status == TradeOff.Status.DECIDED
    assert approved.approved_by == leader
    assert approved.approved_at is not None
    assert approved.added_objective is not None
    assert approved.added_objective.title == "Keep Acme from churning"
    key_result.refresh_from_db()
    assert key_result.displaced_by == approved
    kinds = set(Notification.objects.values_list("recipient__username", "kind"))
    assert {
        ("olga", "trade_off_displaced"),
        ("paul", "trade_off_dependency"),
        ("lena", "trade_off_approved"),
    } <= kinds
    with pytest.raises(RuleBroken, match="not awaiting approval"):
        tradeoffs.trade_off_approve(user=leader, trade_off=approved)


def test_leadership_deciding_it_themselves_needs_no_approval(
    leader: Any, platform_lead: Any, w: Any, key_result: Any, requested: Any
) -> None:
    trade_off = decide(leader, w, [Displace(key_result, Displacement.Action.DROPPED)])
    assert trade_off.status == TradeOff.Status.DECIDED
    told = Notification.objects.get(kind="trade_off_dependency")
    assert told.recipient == platform_lead


def test_a_declined_request_asks_nothing_of_the_other_team_any_more(
    lead: Any, provider: Any, w: Any, key_result: Any, requested: Any
) -> None:
    dependencies.dependency_decline(dependency=requested, user=provider, reason="No room.")
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    assert trade_off.status == TradeOff.Status.DECIDED


def test_refusal_adds_nothing_and_displaces_nothing(
    lead: Any, leader: Any, w: Any, key_result: Any, requested: Any, growth: Any, quarter: Any
) -> None:
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    refused = tradeoffs.trade_off_refuse(user=leader, trade_off=trade_off)

    assert refused.status == TradeOff.Status.REFUSED
    assert refused.approved_by == leader
    assert refused.added_objective is None
    key_result.refresh_from_db()
    assert key_result.displaced_by is None
    assert limits.objectives_counted(growth, quarter) == 3
    told = Notification.objects.get(kind="trade_off_refused")
    assert told.recipient == lead
    with pytest.raises(RuleBroken, match="not awaiting approval"):
        tradeoffs.trade_off_approve(user=leader, trade_off=refused)


@pytest.mark.parametrize("role", ["lead", "admin_user", "platform_lead", "owner"])
def test_only_leadership_approves_or_refuses(
    request: pytest.FixtureRequest, lead: Any, w: Any, key_result: Any, requested: Any, role: str
) -> None:
    trade_off = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    user = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        tradeoffs.trade_off_approve(user=user, trade_off=trade_off)
    with pytest.raises(NotAllowed):
        tradeoffs.trade_off_refuse(user=user, trade_off=trade_off)
    trade_off.refresh_from_db()
    assert trade_off.status == TradeOff.Status.AWAITING_APPROVAL


def test_approval_is_refused_when_an_item_was_displaced_meanwhile(
    lead: Any, leader: Any, w: Any, key_result: Any, requested: Any, objective: Any
) -> None:
    waiting = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    decide(leader, w, [Displace(objective, Displacement.Action.DEFERRED)])
    with pytest.raises(RuleBroken, match="displaced by another trade-off meanwhile"):
        tradeoffs.trade_off_approve(user=leader, trade_off=waiting)


# --- the addition ----------------------------------------------------------------------------


def test_a_key_result_addition_is_checked_when_decided(lead: Any, w: Any, key_result: Any) -> None:
    displaced = [Displace(key_result, Displacement.Action.DROPPED)]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"kind": "task", "title": "x"}, "kind"),
        ({"kind": "objective", "title": " "}, "title"),
        ({"kind": "key_result", "title": "x", "objective": 0, "owner": lead.pk}, "objective"),
        (
            {"kind": "key_result", "title": "x", "objective": key_result.objective_id, "owner": 0},
            "owner",
        ),
        (
            {
                "kind": "key_result",
                "title": "x",
                "objective": key_result.objective_id,
                "owner": lead.pk,
                "start_value": "5",
                "target_value": "1",
            },
            "target_value",
        ),
    ]
    for addition, field in bad:
        with pytest.raises(RuleBroken) as refused:
            decide(lead, w, displaced, addition=addition)
        assert refused.value.field == field, addition
    assert not TradeOff.objects.exists()
    assert KeyResult.objects.filter(displaced_by__isnull=False).count() == 0


# --- the ledger ----------------------------------------------------------------------------


def test_the_ledger_lists_the_quarters_decisions_newest_first_per_team(
    lead: Any, leader: Any, w: Any, key_result: Any, objective: Any, platform: Any, quarter: Any
) -> None:
    first = decide(lead, w, [Displace(key_result, Displacement.Action.DROPPED)])
    second = decide(leader, w, [Displace(w["objectives"][1], Displacement.Action.DEFERRED)])
    assert list(tradeoffs.ledger(quarter)) == [second, first]
    assert list(tradeoffs.ledger(quarter, team=platform)) == []
    other = QuarterFactory(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    assert list(tradeoffs.ledger(other)) == []
