"""Carry-over (issue 13, section 1): a missed or deferred key result is carried into the next
quarter; the owner accepts it again and its open dependencies become new requests.

Olga's "Raise trial conversion" (Growth, 2026 Q4: 10 → 30, at 15) is carried into 2027 Q1
(planning) by Lena, Growth's lead. Dates are built from the quarters, never from today, so the
tests hold on the quarter's first day, in its middle and on its last day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from objectives.models import Displacement, KeyResult, Objective, TradeOff, TradeOffCategory
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Quarter
from ownership import services as ownership
from ownership.asked import asked_of
from reviews import carryover
from reviews.carryover import key_result_carry_over, moved_due_date
from reviews.carryover_views import render_key_result_panel
from reviews.models import Grade
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory

pytestmark = pytest.mark.django_db

S = Dependency.Status


@pytest.fixture
def next_quarter(quarter: Quarter) -> Any:
    start = quarter.end + timedelta(days=1)
    return QuarterFactory(
        name="2027 Q1",
        start=start,
        end=date(start.year, 3, 31),
        status=Quarter.Status.PLANNING,
    )


def _grade(kr: KeyResult, outcome: str, final: str = "18") -> Grade:
    return Grade.objects.create(
        key_result=kr,
        quarter=kr.objective.quarter,
        outcome=outcome,
        final_value=Decimal(final),
        graded_at=timezone.now(),
    )


def _dependency(kr: KeyResult, provider: Any, status: str, due: date, what: str) -> Dependency:
    """A dependency in a given state, written directly: the states' own services are tested
    in the dependencies app, and a due date early in the quarter would be refused as past."""
    return Dependency.objects.create(
        key_result=kr,
        requesting_team=kr.objective.team,
        provider_team=provider.memberships.get().team,
        responsible=provider,
        requested_by=kr.owner,
        deliverable=what,
        due_date=due,
        rank=Dependency.objects.filter(key_result=kr).count() + 1,
        status=status,
        requested_at=datetime.combine(kr.objective.quarter.start, datetime.min.time(), UTC),
    )


def _defer(kr: KeyResult, lead: Any, *, objective: Objective | None = None) -> TradeOff:
    category, _ = TradeOffCategory.objects.get_or_create(name="Customer escalation")
    trade_off = TradeOff.objects.create(
        quarter=kr.objective.quarter,
        team=kr.objective.team,
        category=category,
        reason="A key customer needs SSO now.",
        decided_by=lead,
    )
    Displacement.objects.create(
        trade_off=trade_off,
        key_result=None if objective else kr,
        objective=objective,
        action=Displacement.Action.DEFERRED,
    )
    KeyResult.objects.filter(pk=kr.pk).update(displaced_by=trade_off)
    return trade_off


# --- the service ------------------------------------------------------------------------------


def test_a_missed_key_result_is_carried_owner_nominated_again_dependencies_as_requests(
    key_result: KeyResult, lead: Any, owner: Any, provider: Any, next_quarter: Quarter
) -> None:
    _grade(key_result, Grade.Outcome.MISSED, final="18")
    q4 = key_result.objective.quarter
    committed = _dependency(key_result, provider, S.COMMITTED, q4.start + timedelta(days=19), "API")
    _dependency(key_result, provider, S.AT_RISK, q4.end, "Billing export")
    _dependency(key_result, provider, S.DELIVERED, q4.start, "Sandbox")
    _dependency(key_result, provider, S.DECLINED, q4.start, "SSO")
    _dependency(key_result, provider, S.BROKEN, q4.start, "Webhooks")

    new = key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)

    new.refresh_from_db()
    assert new.carried_from_id == key_result.pk
    assert new.objective.quarter_id == next_quarter.pk
    assert new.objective.team_id == key_result.objective.team_id
    assert new.objective.title == key_result.objective.title
    assert (new.title, new.owner_id) == (key_result.title, owner.pk)
    # It starts where the old one ended (its graded final value), with the same target.
    assert (new.start_value, new.current_value, new.target_value) == (18, 18, 30)
    assert (new.unit, new.direction) == (key_result.unit, key_result.direction)
    # The owner must accept it again: not accepted, and asked to on "Asked of me".
    assert not ownership.has_accepted(new)
    asked = [i for i in asked_of(owner) if i.link == new.get_absolute_url()]
    assert [i.kind for i in asked] == ["Ownership to accept"]
    assert Notification.objects.filter(recipient=owner, kind="kr_carried", link=asked[0].link)
    ownership.ownership_accept(key_result=new, user=owner)
    assert ownership.has_accepted(new)
    # Only the open dependencies are asked again, and only as requests awaiting Pia.
    copied = list(new.dependencies.order_by("pk"))
    assert [d.deliverable for d in copied] == ["API", "Billing export"]
    assert {d.status for d in copied} == {S.REQUESTED}
    assert {d.awaiting_id for d in copied} == {provider.pk}
    assert {d.committed_at for d in copied} == {None}
    assert {d.requested_by_id for d in copied} == {owner.pk}
    # Same offset from the quarter's start; past the new quarter's end: its last day.
    assert copied[0].due_date == next_quarter.start + (committed.due_date - q4.start)
    assert copied[1].due_date == next_quarter.end
    assert Notification.objects.filter(recipient=provider, kind="dependency").count() == 2
    # The old key result and its dependencies are history, untouched.
    assert key_result.dependencies.filter(status=S.COMMITTED).count() == 1


def test_the_due_date_moves_by_the_same_offset_never_past_the_end_nor_before_today() -> None:
    old = Quarter(start=date(2026, 10, 1), end=date(2026, 12, 31))
    into = Quarter(start=date(2027, 1, 1), end=date(2027, 3, 31))
    today = date(2026, 12, 31)
    assert moved_due_date(date(2026, 10, 20), old=old, into=into, today=today) == date(2027, 1, 20)
    assert moved_due_date(date(2026, 12, 31), old=old, into=into, today=today) == date(2027, 3, 31)
    # Carried into a quarter already under way: not before today.
    assert moved_due_date(date(2026, 10, 2), old=old, into=into, today=date(2027, 2, 1)) == date(
        2027, 2, 1
    )


def test_an_ungraded_key_result_below_the_threshold_of_an_ended_quarter_is_carried(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    Quarter.objects.filter(pk=key_result.objective.quarter_id).update(status="reviewing")
    key_result.refresh_from_db()
    assert carryover.carry_reason(key_result) == "missed"
    new = key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    # Not graded: it starts from its current value.
    assert new.start_value == key_result.current_value


def test_a_key_result_on_track_in_an_active_quarter_is_not_a_candidate(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    assert carryover.carry_reason(key_result) == ""
    with pytest.raises(RuleBroken, match="neither graded missed nor deferred"):
        key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)


@pytest.mark.parametrize("outcome", [Grade.Outcome.ACHIEVED, Grade.Outcome.PARTLY])
def test_an_achieved_or_partly_achieved_key_result_is_refused(
    key_result: KeyResult, lead: Any, next_quarter: Quarter, outcome: str
) -> None:
    _grade(key_result, outcome, final="29")
    Quarter.objects.filter(pk=key_result.objective.quarter_id).update(status="reviewing")
    with pytest.raises(RuleBroken, match="graded") as refused:
        key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    assert refused.value.field == "key_result"
    assert not KeyResult.objects.filter(carried_from=key_result).exists()


def test_carrying_twice_into_the_same_quarter_is_refused(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    with pytest.raises(RuleBroken, match="already carried into 2027 Q1"):
        key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    assert KeyResult.objects.filter(carried_from=key_result).count() == 1


def test_only_the_next_open_quarter_is_accepted(
    key_result: KeyResult, lead: Any, next_quarter: Quarter, quarter: Quarter
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    later = QuarterFactory(
        name="2027 Q2",
        start=next_quarter.end + timedelta(days=1),
        end=next_quarter.end + timedelta(days=91),
        status=Quarter.Status.PLANNING,
    )
    for wrong in (quarter, later):
        with pytest.raises(RuleBroken) as refused:
            key_result_carry_over(user=lead, key_result=key_result, into=wrong)
        assert refused.value.field == "into"
    Quarter.objects.filter(pk=next_quarter.pk).update(status=Quarter.Status.CLOSED)
    next_quarter.refresh_from_db()
    with pytest.raises(RuleBroken, match="closed"):
        key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    assert not KeyResult.objects.filter(carried_from=key_result).exists()


@pytest.mark.parametrize("who", ["owner", "teammate", "provider", "platform_lead", "outsider"])
def test_only_a_lead_of_the_team_carries_over(
    request: pytest.FixtureRequest, key_result: KeyResult, next_quarter: Quarter, who: str
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    with pytest.raises(NotAllowed):
        key_result_carry_over(
            user=request.getfixturevalue(who), key_result=key_result, into=next_quarter
        )
    assert not KeyResult.objects.filter(carried_from=key_result).exists()


def test_a_deferred_key_result_is_carried(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    _defer(key_result, lead)
    key_result.refresh_from_db()
    assert carryover.carry_reason(key_result) == "deferred"
    new = key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    assert new.carried_from_id == key_result.pk
    assert new.displaced_by_id is None


def test_a_key_result_of_a_deferred_objective_is_carried(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    _defer(key_result, lead, objective=key_result.objective)
    assert carryover.carry_reason(key_result) == "deferred"
    assert key_result_carry_over(user=lead, key_result=key_result, into=next_quarter).pk


def test_a_refused_trade_off_defers_nothing(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    trade_off = _defer(key_result, lead)
    TradeOff.objects.filter(pk=trade_off.pk).update(status=TradeOff.Status.REFUSED)
    assert carryover.carry_reason(key_result) == ""


def test_the_target_objective_is_the_teams_own_in_the_new_quarter(
    key_result: KeyResult, lead: Any, next_quarter: Quarter, platform: Any
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    growth = key_result.objective.team
    elsewhere = ObjectiveFactory(quarter=next_quarter, team=platform, title="Platform's")
    same_quarter = ObjectiveFactory(quarter=key_result.objective.quarter, team=growth, rank=2)
    for wrong in (elsewhere, same_quarter):
        with pytest.raises(RuleBroken) as refused:
            key_result_carry_over(
                user=lead, key_result=key_result, into=next_quarter, objective=wrong
            )
        assert refused.value.field == "objective"
    chosen = ObjectiveFactory(quarter=next_quarter, team=growth, title="Self-serve in 2027")
    new = key_result_carry_over(
        user=lead, key_result=key_result, into=next_quarter, objective=chosen
    )
    assert new.objective_id == chosen.pk


def test_siblings_share_one_copy_of_their_objective(
    key_result: KeyResult, lead: Any, owner: Any, next_quarter: Quarter
) -> None:
    sibling = KeyResultFactory(objective=key_result.objective, owner=owner)
    _grade(key_result, Grade.Outcome.MISSED)
    _grade(sibling, Grade.Outcome.MISSED, final="20")
    first = key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    second = key_result_carry_over(user=lead, key_result=sibling, into=next_quarter)
    assert first.objective_id == second.objective_id
    assert Objective.objects.filter(quarter=next_quarter).count() == 1


def test_the_objective_limit_refusal_reaches_the_lead(
    key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    growth = key_result.objective.team
    growth.objective_limit = 1
    growth.save()
    ObjectiveFactory(quarter=next_quarter, team=growth, title="Something else")
    _grade(key_result, Grade.Outcome.MISSED)
    with pytest.raises(RuleBroken) as refused:
        key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    assert refused.value.code == "limit_reached"
    assert not KeyResult.objects.filter(carried_from=key_result).exists()


def test_candidates_are_the_missed_and_deferred_not_yet_carried(
    key_result: KeyResult, lead: Any, owner: Any, next_quarter: Quarter
) -> None:
    growth, q4 = key_result.objective.team, key_result.objective.quarter
    achieved = KeyResultFactory(objective=key_result.objective, owner=owner)
    deferred = KeyResultFactory(objective=key_result.objective, owner=owner)
    _grade(key_result, Grade.Outcome.MISSED)
    _grade(achieved, Grade.Outcome.ACHIEVED, final="90")
    _defer(deferred, lead)
    with CaptureQueriesContext(connection) as ctx:
        found = carryover.carry_over_candidates(growth, q4)
    assert len(ctx.captured_queries) == 2
    assert {(kr.pk, kr.carry_reason) for kr in found} == {
        (key_result.pk, "missed"),
        (deferred.pk, "deferred"),
    }
    key_result_carry_over(user=lead, key_result=key_result, into=next_quarter)
    assert [kr.pk for kr in carryover.carry_over_candidates(growth, q4)] == [deferred.pk]


# --- the pages --------------------------------------------------------------------------------


def _page(client: Any, kr: KeyResult) -> str:
    response = client.get(kr.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_the_key_result_page_offers_carry_over_to_a_lead_only_when_eligible(
    client_for: Any, key_result: KeyResult, lead: Any, owner: Any, next_quarter: Quarter
) -> None:
    button = f'id="carry-over-{key_result.pk}"'
    assert button not in _page(client_for(lead), key_result)  # on track: nothing to carry
    grade = _grade(key_result, Grade.Outcome.MISSED)
    assert button in _page(client_for(lead), key_result)
    assert button not in _page(client_for(owner), key_result)
    grade.outcome = Grade.Outcome.ACHIEVED
    grade.save()
    assert button not in _page(client_for(lead), key_result)


def test_carrying_from_the_page_links_both_key_results(
    client_for: Any, key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    client = client_for(lead)
    url = reverse("reviews:carry_over", args=[key_result.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"into": next_quarter.pk, "objective": ""})
    new = KeyResult.objects.get(carried_from=key_result)
    assert response.status_code == 302
    assert response["Location"] == new.get_absolute_url()
    html = _page(client, new)
    assert "Carried over from" in html
    assert key_result.get_absolute_url() in html
    assert "2026 Q4" in html
    old_html = _page(client, key_result)
    assert "Carried into" in old_html
    assert new.get_absolute_url() in old_html
    # Carried once: the button is gone and a second POST is refused beside the quarter.
    assert f'id="carry-over-{key_result.pk}"' not in old_html
    again = client.post(url, {"into": next_quarter.pk, "objective": ""})
    assert again.status_code == 400
    assert "already carried into 2027 Q1" in again.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"into": "0", "objective": ""},
        {"into": "abc", "objective": ""},
        {"into": "NEXT", "objective": "999999"},
        {"into": "NEXT", "objective": "x"},
        {},
    ],
)
def test_bad_input_is_a_400_with_the_input_kept(
    client_for: Any,
    key_result: KeyResult,
    lead: Any,
    next_quarter: Quarter,
    data: dict[str, str],
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    data = {k: str(next_quarter.pk) if v == "NEXT" else v for k, v in data.items()}
    response = client_for(lead).post(reverse("reviews:carry_over", args=[key_result.pk]), data)
    assert response.status_code == 400
    assert 'id="carry-over-form"' in response.content.decode()
    assert not KeyResult.objects.filter(carried_from=key_result).exists()


def test_a_service_refusal_on_the_page_is_a_400_with_its_message(
    client_for: Any, key_result: KeyResult, lead: Any, next_quarter: Quarter
) -> None:
    growth = key_result.objective.team
    growth.objective_limit = 1
    growth.save()
    ObjectiveFactory(quarter=next_quarter, team=growth, title="Something else")
    _grade(key_result, Grade.Outcome.MISSED)
    response = client_for(lead).post(
        reverse("reviews:carry_over", args=[key_result.pk]), {"into": next_quarter.pk}
    )
    assert response.status_code == 400
    assert "the limit for Growth in 2027 Q1" in response.content.decode()


def test_the_form_is_refused_to_others_and_unknown_key_results_are_404(
    client_for: Any, key_result: KeyResult, owner: Any, lead: Any, next_quarter: Quarter
) -> None:
    url = reverse("reviews:carry_over", args=[key_result.pk])
    assert client_for(owner).get(url).status_code == 403
    assert client_for(owner).post(url, {"into": next_quarter.pk}).status_code == 403
    missing = reverse("reviews:carry_over", args=[999999])
    assert client_for(lead).get(missing).status_code == 404


def test_the_panel_costs_a_fixed_number_of_queries(
    rf: Any, key_result: KeyResult, lead: Any, owner: Any, next_quarter: Quarter, provider: Any
) -> None:
    """Three queries for Growth's named lead (links, eligibility, next quarter; naming the
    lead is on the team row the page loaded), however many key results it was carried into
    and however many dependencies it has."""
    from objectives.selectors import key_result_detail

    def measure(kr: KeyResult) -> tuple[int, str]:
        request = rf.get("/")
        request.user = lead
        loaded = key_result_detail(kr.pk)
        with CaptureQueriesContext(connection) as ctx:
            html = render_key_result_panel(request, loaded)
        return len(ctx.captured_queries), html

    _grade(key_result, Grade.Outcome.MISSED)
    few, html = measure(key_result)
    assert f'id="carry-over-{key_result.pk}"' in html
    for n in range(5):
        _dependency(key_result, provider, S.COMMITTED, next_quarter.start, f"Thing {n}")
        later = QuarterFactory(
            name=f"Later {n}",
            start=date(2030 + n, 1, 1),
            end=date(2030 + n, 3, 31),
            status=Quarter.Status.CLOSED,
        )
        KeyResultFactory(
            objective=ObjectiveFactory(quarter=later, team=key_result.objective.team),
            owner=owner,
            carried_from=key_result,
        )
    many, html = measure(key_result)
    assert html.count("Later ") == 5
    assert few == many == 3


def test_a_team_without_a_next_quarter_offers_nothing(
    client_for: Any, key_result: KeyResult, lead: Any
) -> None:
    _grade(key_result, Grade.Outcome.MISSED)
    assert 'id="carry-over-' not in _page(client_for(lead), key_result)
