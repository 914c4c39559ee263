"""The priority limit (rule 8) on every path: the service, the HTML forms and the admin;
who overrides it; and two leads adding the fourth objective at the same moment."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from objectives import limits, services, tradeoffs
from objectives.models import Displacement, KeyResult, Objective, TradeOffCategory
from okrly.errors import RuleBroken
from okrly.models import Quarter
from tests.factories import KeyResultFactory, ObjectiveFactory, TeamFactory

pytestmark = pytest.mark.django_db


def fill(quarter: Any, team: Any, count: int = 3) -> list[Objective]:
    return [ObjectiveFactory(quarter=quarter, team=team, rank=n + 1) for n in range(count)]


@pytest.fixture
def planning(quarter: Any) -> Any:
    quarter.status = Quarter.Status.PLANNING
    quarter.save()
    return quarter


def add(user: Any, quarter: Any, team: Any, title: str = "One too many") -> Objective:
    return services.objective_create(user=user, quarter=quarter, team=team, title=title)


# --- the service ---------------------------------------------------------------------------


def test_over_the_limit_in_planning_names_the_limit_and_the_team(
    lead: Any, planning: Any, growth: Any
) -> None:
    fill(planning, growth)
    with pytest.raises(RuleBroken) as refused:
        add(lead, planning, growth)
    error = refused.value
    assert error.code == "limit_reached"
    assert "3 objectives, the limit for Growth in 2026 Q4" in error.message
    assert error.data == {"limit": 3, "team": growth.pk, "team_name": "Growth"}
    assert Objective.objects.filter(team=growth).count() == 3


def test_mid_quarter_the_fourth_objective_needs_a_trade_off(
    lead: Any, quarter: Any, growth: Any, key_result: Any
) -> None:
    assert quarter.status == Quarter.Status.ACTIVE
    fill(quarter, growth, 2)  # with key_result's objective: 3
    with pytest.raises(RuleBroken) as refused:
        add(lead, quarter, growth)
    assert refused.value.code == "trade_off_required"
    assert "is a trade-off decision that says what it displaces" in refused.value.message
    assert refused.value.data["limit"] == 3

    trade_off = tradeoffs.trade_off_decide(
        user=lead,
        team=growth,
        quarter=quarter,
        category=TradeOffCategory.objects.get_or_create(name="Incident")[0],
        reason="The outage needs a quarter's attention.",
        displaced=[tradeoffs.Displace(key_result, Displacement.Action.DEFERRED)],
        addition={"kind": "objective", "title": "One too many"},
    )
    assert trade_off.added_objective is not None
    assert Objective.objects.filter(team=growth, quarter=quarter).count() == 4


def test_a_decided_trade_off_adds_only_its_own_addition_once(
    lead: Any, quarter: Any, growth: Any, key_result: Any
) -> None:
    fill(quarter, growth, 2)
    trade_off = tradeoffs.trade_off_decide(
        user=lead,
        team=growth,
        quarter=quarter,
        category=TradeOffCategory.objects.get_or_create(name="Incident")[0],
        reason="The outage.",
        displaced=[tradeoffs.Displace(key_result, Displacement.Action.DROPPED)],
        addition={"kind": "objective", "title": "Stabilise"},
    )
    # It has added what it adds: passing it again lets nothing else past the limit.
    with pytest.raises(RuleBroken):
        services.objective_create(
            user=lead, quarter=quarter, team=growth, title="Sneak", trade_off=trade_off
        )


def test_the_team_limit_and_the_quarter_override(
    lead: Any, planning: Any, growth: Any, platform: Any
) -> None:
    growth.objective_limit = 1
    growth.save()
    add(lead, planning, growth, "First")
    with pytest.raises(RuleBroken, match="1 objective, the limit for Growth"):
        add(lead, planning, growth, "Second")
    assert limits.objective_limit(platform, planning) == 3  # the default for the others

    # The quarter's limit overrides every team's, up or down.
    planning.objective_limit = 2
    planning.save()
    add(lead, planning, growth, "Second")
    assert limits.objective_limit(platform, planning) == 2
    with pytest.raises(RuleBroken, match="2 objectives, the limit for Growth"):
        add(lead, planning, growth, "Third")


def test_the_default_limit_is_a_setting(
    settings: Any, lead: Any, planning: Any, growth: Any
) -> None:
    settings.OBJECTIVE_LIMIT_DEFAULT = 1
    add(lead, planning, growth, "First")
    with pytest.raises(RuleBroken, match="1 objective,"):
        add(lead, planning, growth)


def test_key_results_per_objective_are_limited_too(
    settings: Any, lead: Any, owner: Any, objective: Any, planning: Any
) -> None:
    assert settings.KEY_RESULT_LIMIT_DEFAULT == 5
    settings.KEY_RESULT_LIMIT_DEFAULT = 2
    KeyResultFactory.create_batch(2, objective=objective)
    with pytest.raises(RuleBroken) as refused:
        services.key_result_create(
            user=lead, objective=objective, title="Third", owner=owner, target_value=Decimal(9)
        )
    assert refused.value.code == "limit_reached"
    assert "“Grow self-serve revenue” already has 2 key results" in refused.value.message
    objective.quarter.status = Quarter.Status.ACTIVE
    objective.quarter.save()
    with pytest.raises(RuleBroken) as refused:
        services.key_result_create(
            user=lead, objective=objective, title="Third", owner=owner, target_value=Decimal(9)
        )
    assert refused.value.code == "trade_off_required"


# --- the HTML forms ------------------------------------------------------------------------


def objective_post(quarter: Any, team: Any, title: str = "One too many") -> dict[str, Any]:
    return {"quarter": quarter.pk, "team": team.pk, "title": title, "rank": ""}


def test_the_objective_form_in_planning_shows_the_limit_and_keeps_the_input(
    client_for: Any, lead: Any, planning: Any, growth: Any
) -> None:
    fill(planning, growth)
    response = client_for(lead).post(
        reverse("objectives:create"), objective_post(planning, growth, "Keep my title")
    )
    html = response.content.decode()
    assert "3 objectives, the limit for Growth in 2026 Q4" in html
    assert 'value="Keep my title"' in html
    assert "Record a trade-off" not in html
    assert Objective.objects.filter(team=growth).count() == 3


def test_the_objective_form_mid_quarter_links_to_record_a_trade_off(
    client_for: Any, lead: Any, quarter: Any, growth: Any
) -> None:
    fill(quarter, growth)
    response = client_for(lead).post(
        reverse("objectives:create"), objective_post(quarter, growth, "Acme")
    )
    html = response.content.decode()
    assert "is a trade-off decision that says what it displaces" in html
    link = reverse("objectives:trade_off_create") + f"?team={growth.pk}&amp;title=Acme"
    assert f'<a href="{link}">Record a trade-off</a>' in html
    assert not Objective.objects.filter(title="Acme").exists()


def test_staff_are_refused_mid_quarter_without_a_link_they_could_not_use(
    client_for: Any, admin_user: Any, quarter: Any, growth: Any
) -> None:
    fill(quarter, growth)
    response = client_for(admin_user).post(
        reverse("objectives:create"), objective_post(quarter, growth)
    )
    html = response.content.decode()
    assert "is a trade-off decision" in html
    assert "Record a trade-off" not in html


def test_the_key_result_form_mid_quarter_links_to_record_a_trade_off(
    client_for: Any, lead: Any, owner: Any, objective: Any
) -> None:
    KeyResultFactory.create_batch(5, objective=objective)
    response = client_for(lead).post(
        reverse("objectives:key_result_create", args=[objective.pk]),
        {
            "title": "Sixth",
            "owner": owner.pk,
            "direction": "increase",
            "start_value": "0",
            "target_value": "10",
            "unit": "",
        },
    )
    html = response.content.decode()
    assert "already has 5 key results" in html
    assert "kind=key_result" in html
    assert f"objective={objective.pk}" in html
    assert ">Record a trade-off</a>" in html
    assert objective.key_results.count() == 5


# --- the admin -----------------------------------------------------------------------------


def admin_objective_post(quarter: Any, team: Any, key_results: list[dict[str, Any]]) -> dict:
    data: dict[str, Any] = {
        "quarter": quarter.pk,
        "team": team.pk,
        "title": "Added by the admin",
        "means": "",
        "does_not_mean": "",
        "tradeoff_rule": "",
        "rank": 1,
        "key_results-TOTAL_FORMS": len(key_results),
        "key_results-INITIAL_FORMS": 0,
        "key_results-MIN_NUM_FORMS": 0,
        "key_results-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for n, kr in enumerate(key_results):
        for name, value in kr.items():
            data[f"key_results-{n}-{name}"] = value
    return data


def kr_row(owner: Any, n: int) -> dict[str, Any]:
    return {
        "title": f"KR {n}",
        "owner": owner.pk,
        "direction": "increase",
        "start_value": "0",
        "target_value": "10",
        "current_value": "0",
        "unit": "",
    }


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Quarter.Status.PLANNING, "the limit for Growth in 2026 Q4"),
        (Quarter.Status.ACTIVE, "is a trade-off decision that says what it displaces"),
    ],
)
def test_the_admin_refuses_an_objective_over_the_limit(
    client_for: Any, admin_user: Any, quarter: Any, growth: Any, status: str, words: str
) -> None:
    quarter.status = status
    quarter.save()
    fill(quarter, growth)
    response = client_for(admin_user).post(
        reverse("admin:objectives_objective_add"), admin_objective_post(quarter, growth, [])
    )
    assert response.status_code == 200  # the form again, with the error
    assert words in response.content.decode()
    assert not Objective.objects.filter(title="Added by the admin").exists()


def test_the_admin_adds_under_the_limit_and_refuses_moving_into_a_full_team(
    client_for: Any, admin_user: Any, owner: Any, planning: Any, growth: Any
) -> None:
    client = client_for(admin_user)
    other = TeamFactory(name="Sales", slug="sales")
    fill(planning, growth, 2)
    response = client.post(
        reverse("admin:objectives_objective_add"),
        admin_objective_post(planning, growth, [kr_row(owner, 1)]),
    )
    assert response.status_code == 302
    added = Objective.objects.get(title="Added by the admin")
    assert added.key_results.count() == 1

    moving = ObjectiveFactory(quarter=planning, team=other, title="Moving")
    data = admin_objective_post(planning, growth, [])
    data["title"] = "Moving"
    response = client.post(reverse("admin:objectives_objective_change", args=[moving.pk]), data)
    assert response.status_code == 200
    assert "the limit for Growth" in response.content.decode()
    moving.refresh_from_db()
    assert moving.team == other


def test_the_admin_inline_refuses_more_key_results_than_the_limit(
    client_for: Any, admin_user: Any, owner: Any, planning: Any, growth: Any
) -> None:
    response = client_for(admin_user).post(
        reverse("admin:objectives_objective_add"),
        admin_objective_post(planning, growth, [kr_row(owner, n) for n in range(6)]),
    )
    assert response.status_code == 200
    assert "already has 5 key results" in response.content.decode()
    assert not Objective.objects.filter(title="Added by the admin").exists()
    assert not KeyResult.objects.exists()


def test_the_key_result_admin_refuses_a_key_result_over_the_limit(
    client_for: Any, admin_user: Any, owner: Any, objective: Any
) -> None:
    KeyResultFactory.create_batch(5, objective=objective)
    data = {**kr_row(owner, 6), "objective": objective.pk, "_save": "Save"}
    response = client_for(admin_user).post(reverse("admin:objectives_keyresult_add"), data)
    assert response.status_code == 200
    assert "is a trade-off decision" in response.content.decode()
    assert objective.key_results.count() == 5


# --- two leads at once ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_leads_adding_the_fourth_objective_at_once_only_one_succeeds(
    lead: Any, planning: Any, growth: Any
) -> None:
    """Two threads with their own connections, released together: the team's row lock makes
    the second wait for the first and then count its objective (PostgreSQL in CI)."""
    fill(planning, growth)
    planning.objective_limit = 4
    planning.save()
    barrier = threading.Barrier(2)
    added: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def worker(title: str) -> None:
        try:
            barrier.wait()
            add(lead, planning, growth, title)
            added.append(title)
        except RuleBroken as error:
            refused.append(error.code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"Fourth {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(added) == 1
    assert refused == ["limit_reached"]
    assert Objective.objects.filter(team=growth, quarter=planning).count() == 4
