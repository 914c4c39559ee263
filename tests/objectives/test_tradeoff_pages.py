"""The trade-off pages: the ledger (and its CSV), recording a decision, leadership's approval,
and displaced or deferred work where people see their objectives and key results."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dependencies import services as dependencies
from objectives import tradeoffs
from objectives.models import Displacement, Objective, TradeOff, TradeOffCategory
from objectives.tradeoffs import Displace
from okrly.models import Quarter
from tests.conftest import TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, TeamFactory

pytestmark = pytest.mark.django_db

LEDGER = reverse("objectives:trade_offs")
RECORD = reverse("objectives:trade_off_create")


def decide(user: Any, kr: Any, action: str = "dropped", **kwargs: Any) -> TradeOff:
    objective = kr.objective
    return tradeoffs.trade_off_decide(
        user=user,
        team=objective.team,
        quarter=objective.quarter,
        category=TradeOffCategory.objects.get_or_create(
            name=kwargs.pop("category", "Client escalation")
        )[0],
        reason=kwargs.pop("reason", "Acme threatens to leave over SSO."),
        displaced=[Displace(kr, action, kwargs.pop("new_target", None))],
        addition=kwargs.pop("addition", {"kind": "objective", "title": "Keep Acme"}),
    )


def many(leader: Any, quarter: Any, count: int) -> None:
    """``count`` decisions, five per team, each dropping one key result."""
    for n in range(count):
        if n % 5 == 0:
            team = TeamFactory()
        kr = KeyResultFactory(objective=ObjectiveFactory(quarter=quarter, team=team))
        decide(leader, kr)


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- the ledger ----------------------------------------------------------------------------


def test_the_ledger_shows_each_decision_with_what_it_displaced(
    client_for: Any, lead: Any, teammate: Any, outsider: Any, key_result: Any, quarter: Any
) -> None:
    second = KeyResultFactory(objective=key_result.objective, owner=teammate, title="Cut churn")
    dropped = decide(lead, key_result)
    descoped = decide(
        lead,
        second,
        "descoped",
        new_target=Decimal("50"),
        category="Incident",
        reason="The outage.",
        addition={"kind": "objective", "title": "Stabilise"},
    )
    html = client_for(outsider).get(LEDGER + f"?quarter={quarter.pk}").content.decode()

    assert html.index(f'id="trade-off-{descoped.pk}"') < html.index(f'id="trade-off-{dropped.pk}"')
    assert f"Trade-off #{dropped.pk} · Client escalation" in html
    assert "Acme threatens to leave over SSO." in html
    assert f"Decided by Lena Lead on {TEST_TODAY:%-d %b %Y}" in html
    assert f'<a href="{reverse("objectives:detail", args=[dropped.added_objective_id])}">' in html
    assert "Dropped</span>:" in html
    assert f'<a href="{key_result.get_absolute_url()}">Raise trial conversion</a>' in html
    assert "target 100 → 50" in html
    assert "Record a trade-off" not in html  # Otto leads no team
    assert "Approve" not in html


def test_the_ledger_query_count_is_the_same_for_5_and_50_decisions(
    client_for: Any, leader: Any, quarter: Any
) -> None:
    client = client_for(leader)
    many(leader, quarter, 5)
    small = queries(client, LEDGER)
    many(leader, quarter, 45)
    assert TradeOff.objects.count() == 50
    large = queries(client, LEDGER)
    assert large == small, f"{small} queries for 5 decisions, {large} for 50"
    # Session, user, quarter, quarters, decisions (+ team, category, people, additions),
    # displaced items, leadership (approve), leadership (record).
    assert large <= 9


def test_a_team_with_too_many_trade_offs_is_highlighted(
    client_for: Any, leader: Any, outsider: Any, quarter: Any, settings: Any
) -> None:
    assert settings.TRADE_OFF_WARN == 2
    many(leader, quarter, 3)
    team = TradeOff.objects.first().team  # type: ignore[union-attr]
    html = client_for(outsider).get(LEDGER).content.decode()
    assert "trade-off-team trade-off-warn" in html
    assert f"{team.name} made 3 trade-offs this quarter, more than 2" in html
    settings.TRADE_OFF_WARN = 3
    html = client_for(outsider).get(LEDGER).content.decode()
    assert "trade-off-warn" not in html


def test_the_ledger_csv_lists_each_displaced_item_and_neutralises_formulas(
    client_for: Any, lead: Any, outsider: Any, key_result: Any, quarter: Any
) -> None:
    trade_off = decide(lead, key_result, reason='=HYPERLINK("https://evil.example")')
    response = client_for(outsider).get(LEDGER + f"?quarter={quarter.pk}&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="okrly-trade-offs-2026-Q4.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Trade-off", "Quarter", "Team"]
    assert rows[1][0] == str(trade_off.pk)
    assert rows[1][2] == "Growth"
    assert rows[1][6] == '\'=HYPERLINK("https://evil.example")'
    assert rows[1][9:] == ["Keep Acme", "Raise trial conversion", "Dropped", "30", ""]


@pytest.mark.parametrize("value", ["abc", "0", "99999999", "1e3"])
def test_a_bad_quarter_is_a_4xx(client_for: Any, outsider: Any, quarter: Any, value: str) -> None:
    response = client_for(outsider).get(LEDGER + f"?quarter={value}")
    assert 400 <= response.status_code < 500


def test_the_objectives_page_links_the_ledger(
    client_for: Any, outsider: Any, quarter: Any, objective: Any
) -> None:
    html = client_for(outsider).get(reverse("objectives:list")).content.decode()
    assert f'href="{LEDGER}?quarter={quarter.pk}"' in html


# --- recording a decision ------------------------------------------------------------------


def record_post(key_result: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "objective",
        "title": "Keep Acme",
        "means": "SSO by December.",
        "does_not_mean": "",
        "direction": "increase",
        "category": TradeOffCategory.objects.get_or_create(name="Client escalation")[0].pk,
        "reason": "Acme threatens to leave.",
        f"objective-{key_result.objective_id}": "keep",
        f"kr-{key_result.pk}": "dropped",
        f"kr-{key_result.pk}-target": "",
    }
    data.update(overrides)
    return data


def test_a_lead_records_a_trade_off_through_the_form(
    client_for: Any, lead: Any, owner: Any, growth: Any, key_result: Any
) -> None:
    client = client_for(lead)
    page = client.get(RECORD + f"?team={growth.pk}").content.decode()
    assert "Record a trade-off for Growth" in page
    assert "Raise trial conversion" in page
    assert '<option value="descoped">Descope</option>' in page

    response = client.post(RECORD + f"?team={growth.pk}", record_post(key_result))
    trade_off = TradeOff.objects.get()
    assert response.status_code == 302
    assert response["Location"] == trade_off.get_absolute_url()
    assert trade_off.added_objective is not None
    assert trade_off.added_objective.means == "SSO by December."
    key_result.refresh_from_db()
    assert key_result.displaced_by == trade_off


def test_a_refused_trade_off_keeps_what_was_typed(
    client_for: Any, lead: Any, growth: Any, key_result: Any
) -> None:
    client = client_for(lead)
    nothing = record_post(key_result, **{f"kr-{key_result.pk}": "keep"}, title="Keep my title")
    response = client.post(RECORD + f"?team={growth.pk}", nothing)
    html = response.content.decode()
    assert response.status_code == 400
    assert "says what it displaces" in html
    assert 'value="Keep my title"' in html
    assert "Acme threatens to leave." in html

    descoped = record_post(key_result, **{f"kr-{key_result.pk}": "descoped"})
    response = client.post(RECORD + f"?team={growth.pk}", descoped)
    assert response.status_code == 400
    assert "its new, smaller target" in response.content.decode()

    beyond = record_post(
        key_result, **{f"kr-{key_result.pk}": "descoped", f"kr-{key_result.pk}-target": "90"}
    )
    response = client.post(RECORD + f"?team={growth.pk}", beyond)
    assert response.status_code == 400
    assert "between its start (10.00) and its current target (30.00)" in response.content.decode()
    assert not TradeOff.objects.exists()


def test_a_key_result_can_be_the_addition(
    client_for: Any, lead: Any, owner: Any, growth: Any, key_result: Any, objective: Any
) -> None:
    client = client_for(lead)
    response = client.post(
        RECORD + f"?team={growth.pk}",
        record_post(key_result, kind="key_result", title="SSO live"),
    )
    assert response.status_code == 400
    assert "Choose the objective the key result belongs to." in response.content.decode()
    response = client.post(
        RECORD + f"?team={growth.pk}",
        record_post(
            key_result,
            kind="key_result",
            title="SSO live",
            objective=objective.pk,
            owner=owner.pk,
            start_value="0",
            target_value="1",
        ),
    )
    assert response.status_code == 302
    added = TradeOff.objects.get().added_key_result
    assert added is not None
    assert (added.title, added.owner, added.objective) == ("SSO live", owner, objective)


@pytest.mark.parametrize("role", ["teammate", "owner", "admin_user", "outsider"])
def test_only_those_who_may_decide_see_the_form(
    request: pytest.FixtureRequest, client_for: Any, growth: Any, key_result: Any, role: str
) -> None:
    client = client_for(request.getfixturevalue(role))
    assert client.get(RECORD + f"?team={growth.pk}").status_code == 403
    assert client.post(RECORD + f"?team={growth.pk}", record_post(key_result)).status_code == 403
    assert "Record a trade-off" not in client.get(LEDGER).content.decode()


def test_a_lead_of_another_team_cannot_record_for_growth(
    client_for: Any, platform_lead: Any, growth: Any, key_result: Any
) -> None:
    client = client_for(platform_lead)
    assert client.get(RECORD + f"?team={growth.pk}").status_code == 403
    assert client.get(RECORD + "?team=abc").status_code in (400, 404)
    assert client.get(RECORD).status_code == 200  # their own team


def test_no_quarter_under_way_means_no_form(
    client_for: Any, lead: Any, growth: Any, quarter: Any
) -> None:
    quarter.status = Quarter.Status.PLANNING
    quarter.save()
    client = client_for(lead)
    assert client.get(RECORD).status_code == 404
    assert "Record a trade-off" not in client.get(LEDGER).content.decode()


# --- leadership's approval -----------------------------------------------------------------


@pytest.fixture
def awaiting(lead: Any, owner: Any, platform: Any, provider: Any, key_result: Any) -> TradeOff:
    dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=TEST_TODAY,  # the quarter's last day at the latest, on any pinned day
    )
    trade_off = decide(lead, key_result)
    assert trade_off.status == TradeOff.Status.AWAITING_APPROVAL
    return trade_off


def test_leadership_sees_approve_and_refuse_on_awaiting_decisions(
    client_for: Any, leader: Any, lead: Any, awaiting: TradeOff
) -> None:
    approve = reverse("objectives:trade_off_approve", args=[awaiting.pk])
    assert f'action="{approve}"' in client_for(leader).get(LEDGER).content.decode()
    html = client_for(lead).get(LEDGER).content.decode()
    assert "Awaiting leadership approval" in html
    assert f'action="{approve}"' not in html
    assert client_for(lead).post(approve).status_code == 403


def test_leadership_approves_from_the_ledger(
    client_for: Any, leader: Any, awaiting: TradeOff, key_result: Any
) -> None:
    client = client_for(leader)
    response = client.post(reverse("objectives:trade_off_approve", args=[awaiting.pk]))
    assert response.status_code == 302
    awaiting.refresh_from_db()
    assert awaiting.status == TradeOff.Status.DECIDED
    assert "Approved by Lea Leader" in client.get(LEDGER).content.decode()
    again = client.post(reverse("objectives:trade_off_refuse", args=[awaiting.pk]))
    assert again.status_code == 400
    assert "not awaiting approval" in again.content.decode()


def test_leadership_refuses_from_the_ledger(
    client_for: Any, leader: Any, awaiting: TradeOff, key_result: Any
) -> None:
    client = client_for(leader)
    response = client.post(reverse("objectives:trade_off_refuse", args=[awaiting.pk]))
    assert response.status_code == 302
    awaiting.refresh_from_db()
    assert awaiting.status == TradeOff.Status.REFUSED
    key_result.refresh_from_db()
    assert key_result.displaced_by is None
    assert "Refused by Lea Leader" in client.get(LEDGER).content.decode()
    missing = reverse("objectives:trade_off_approve", args=[awaiting.pk + 1000])
    assert client.post(missing).status_code == 404
    assert (
        client.get(reverse("objectives:trade_off_approve", args=[awaiting.pk])).status_code == 405
    )


# --- where people work -----------------------------------------------------------------------


def test_displaced_work_is_marked_on_the_objectives_and_key_result_pages(
    client_for: Any, lead: Any, owner: Any, key_result: Any, quarter: Any
) -> None:
    trade_off = decide(lead, key_result)
    entry = f"{LEDGER}?quarter={quarter.pk}#trade-off-{trade_off.pk}"
    listing = client_for(owner).get(reverse("objectives:list")).content.decode()
    assert '<tr class="displaced">' in listing
    assert f'href="{entry}">Displaced by trade-off #{trade_off.pk}</a>' in listing
    page = client_for(owner).get(key_result.get_absolute_url()).content.decode()
    assert f'<a href="{entry}">Displaced by trade-off #{trade_off.pk}</a>' in page


def test_a_dropped_objective_is_set_apart_on_the_objectives_page(
    client_for: Any, leader: Any, objective: Any, key_result: Any
) -> None:
    trade_off = tradeoffs.trade_off_decide(
        user=leader,
        team=objective.team,
        quarter=objective.quarter,
        category=TradeOffCategory.objects.get_or_create(name="Regulatory")[0],
        reason="The regulator's deadline.",
        displaced=[Displace(objective, Displacement.Action.DROPPED)],
        addition={"kind": "objective", "title": "Comply"},
    )
    html = client_for(leader).get(reverse("objectives:list")).content.decode()
    assert f'class="objective-card displaced" id="objective-{objective.pk}"' in html
    assert f"Displaced by trade-off #{trade_off.pk}" in html


def test_the_next_quarter_being_planned_offers_what_was_deferred(
    client_for: Any, lead: Any, owner: Any, key_result: Any, objective: Any, growth: Any
) -> None:
    deferred_objective = ObjectiveFactory(
        quarter=objective.quarter, team=growth, title="Partner channel", means="Two partners."
    )
    decide(lead, key_result, "deferred")
    decide(lead, KeyResultFactory(objective=deferred_objective), "deferred")  # its KR only
    tradeoffs.trade_off_decide(
        user=lead,
        team=growth,
        quarter=objective.quarter,
        category=TradeOffCategory.objects.get_or_create(name="Incident")[0],
        reason="Outage.",
        displaced=[Displace(deferred_objective, Displacement.Action.DEFERRED)],
        addition={"kind": "objective", "title": "Stabilise"},
    )
    following = QuarterFactory(
        name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31), status="planning"
    )
    client = client_for(lead)
    html = client.get(reverse("objectives:list") + f"?quarter={following.pk}").content.decode()
    assert "Deferred into 2027 Q1" in html
    assert "Deferred from 2026 Q4: key result “Raise trial conversion” (Olga Owner)" in html
    assert "Deferred from 2026 Q4: objective “Partner channel”" in html

    row = Displacement.objects.get(objective=deferred_objective)
    prefill = reverse("objectives:create") + f"?deferred={row.pk}&amp;quarter={following.pk}"
    assert f'<a href="{prefill}">Plan it again</a>' in html
    form = client.get(reverse("objectives:create") + f"?deferred={row.pk}&quarter={following.pk}")
    assert 'value="Partner channel"' in form.content.decode()
    assert "Two partners." in form.content.decode()

    # Once "Grow self-serve revenue" is planned again, the key result is offered under it.
    again = ObjectiveFactory(quarter=following, team=growth, title="Grow self-serve revenue")
    html = client.get(reverse("objectives:list") + f"?quarter={following.pk}").content.decode()
    kr_row = Displacement.objects.get(key_result=key_result)
    add = reverse("objectives:key_result_create", args=[again.pk])
    assert f'<a href="{add}?deferred={kr_row.pk}&amp;quarter={following.pk}">' in html
    kr_form = client.get(f"{add}?deferred={kr_row.pk}").content.decode()
    assert 'value="Raise trial conversion"' in kr_form
    assert 'value="30.00"' in kr_form
    # Planned again under the same title: no longer offered.
    KeyResultFactory(objective=again, title="Raise trial conversion")
    html = client.get(reverse("objectives:list") + f"?quarter={following.pk}").content.decode()
    assert "Raise trial conversion” (Olga Owner)" not in html


def test_an_active_quarter_offers_nothing_deferred(
    client_for: Any, lead: Any, key_result: Any
) -> None:
    decide(lead, key_result, "deferred")
    html = client_for(lead).get(reverse("objectives:list")).content.decode()
    assert "Deferred into" not in html
    assert Objective.objects.filter(title="Keep Acme").exists()


def test_the_record_form_query_count_does_not_grow_with_the_teams_work(
    client_for: Any, lead: Any, growth: Any, quarter: Any
) -> None:
    client = client_for(lead)
    url = RECORD + f"?team={growth.pk}"
    objective = ObjectiveFactory(quarter=quarter, team=growth)
    KeyResultFactory.create_batch(5, objective=objective)
    small = queries(client, url)
    for _ in range(9):
        KeyResultFactory.create_batch(5, objective=ObjectiveFactory(quarter=quarter, team=growth))
    large = queries(client, url)
    assert large == small, f"{small} queries for 5 key results, {large} for 50"
