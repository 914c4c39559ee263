"""The trade-off API (issue 11, part 3): the ledger, recording a decision through
trade_off_decide, leadership's approve/refuse, and the categories a client picks from.

Growth (led by Lena) is at its limit of 3 objectives in the active 2026 Q4; Olga owns "Raise
trial conversion" (10 → 30) under "Grow self-serve revenue".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dependencies import services as dependencies
from objectives import limits
from objectives.models import Displacement, KeyResult, Objective, TradeOff, TradeOffCategory
from okrly.models import Notification, Quarter
from tests.conftest import TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/api/trade-offs/"
REASON = "Acme threatens to leave over SSO."


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


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


def decision(
    quarter: Any, growth: Any, category: Any, displaced: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    return {
        "team": growth.pk,
        "quarter": quarter.pk,
        "category": category.pk,
        "reason": REASON,
        "addition": {"kind": "objective", "title": "Keep Acme from churning", "means": "Fix SSO."},
        "displaced": displaced,
        **fields,
    }


# --- recording a decision ----------------------------------------------------------------------


def test_a_lead_records_a_trade_off_that_drops_a_key_result(
    lead: Any, quarter: Any, growth: Any, category: Any, full: Any, key_result: Any, owner: Any
) -> None:
    body = decision(quarter, growth, category, [{"key_result": key_result.pk, "action": "dropped"}])

    response = api_as(lead).post(URL, body, format="json")

    assert response.status_code == 201, response.content
    made = response.json()
    added = Objective.objects.get(title="Keep Acme from churning")
    assert made["status"] == "decided"
    assert (made["team"], made["team_name"], made["quarter"]) == (growth.pk, "Growth", quarter.pk)
    assert (made["category"], made["category_name"]) == (category.pk, "Client escalation")
    assert made["reason"] == REASON
    assert (made["added_objective"], made["added_key_result"]) == (added.pk, None)
    assert made["decided_by"]["username"] == "lena"
    assert made["approved_by"] is None
    assert made["displaced"] == [
        {
            "kind": "key_result",
            "id": key_result.pk,
            "title": "Raise trial conversion",
            "action": "dropped",
            "previous_target": "30.00",
            "new_target": None,
        }
    ]
    key_result.refresh_from_db()
    assert key_result.displaced_by_id == made["id"]
    assert Notification.objects.filter(recipient=owner, kind="trade_off_displaced").exists()


def test_the_objective_refused_with_trade_off_required_is_added_by_the_trade_off(
    lead: Any, quarter: Any, growth: Any, category: Any, full: list[Objective]
) -> None:
    client = api_as(lead)
    refused = client.post(
        "/api/objectives/",
        {"quarter": quarter.pk, "team": growth.pk, "title": "Keep Acme from churning"},
        format="json",
    )
    assert refused.json()["code"] == "trade_off_required"

    body = decision(quarter, growth, category, [{"objective": full[2].pk, "action": "deferred"}])
    response = client.post(URL, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["displaced"][0]["kind"] == "objective"
    assert response.json()["displaced"][0]["action"] == "deferred"
    assert limits.objectives_counted(growth, quarter) == 3
    assert Objective.objects.filter(title="Keep Acme from churning", team=growth).exists()


def test_a_descoped_key_result_and_a_key_result_addition(
    lead: Any,
    quarter: Any,
    growth: Any,
    category: Any,
    full: list[Objective],
    key_result: Any,
    owner: Any,
) -> None:
    displaced = [{"key_result": key_result.pk, "action": "descoped", "new_target": "20"}]
    addition = {
        "kind": "key_result",
        "objective": full[1].pk,
        "title": "Close the SSO gap for Acme",
        "owner": owner.pk,
        "start_value": "0",
        "target_value": "1",
        "unit": "release",
    }
    body = decision(quarter, growth, category, displaced, addition=addition)

    response = api_as(lead).post(URL, body, format="json")

    assert response.status_code == 201, response.content
    made = response.json()
    added = KeyResult.objects.get(title="Close the SSO gap for Acme")
    assert (made["added_objective"], made["added_key_result"]) == (None, added.pk)
    assert made["displaced"][0]["previous_target"] == "30.00"
    assert made["displaced"][0]["new_target"] == "20.00"
    key_result.refresh_from_db()
    assert key_result.target_value == Decimal(20)


@pytest.mark.parametrize("displaced", [[], None])
def test_a_trade_off_that_displaces_nothing_is_400_saying_why(
    lead: Any, quarter: Any, growth: Any, category: Any, full: Any, displaced: Any
) -> None:
    body = decision(quarter, growth, category, displaced or [])
    if displaced is None:
        del body["displaced"]

    response = api_as(lead).post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "displaced": [
            "A trade-off says what it displaces: choose at least one objective or key result "
            "to drop, defer or descope."
        ]
    }
    assert not TradeOff.objects.exists()


@pytest.mark.parametrize("role", ["teammate", "owner", "platform_lead", "outsider", "admin_user"])
def test_only_a_lead_of_the_team_or_leadership_records_one(
    request: pytest.FixtureRequest,
    lead: Any,
    quarter: Any,
    growth: Any,
    category: Any,
    full: Any,
    key_result: Any,
    role: str,
) -> None:
    body = decision(quarter, growth, category, [{"key_result": key_result.pk, "action": "dropped"}])

    response = api_as(request.getfixturevalue(role)).post(URL, body, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only a lead of Growth or the leadership group decides Growth's trade-offs."
    }
    assert not TradeOff.objects.exists()


def test_leadership_records_one_for_any_team(
    leader: Any, quarter: Any, growth: Any, category: Any, full: Any, key_result: Any
) -> None:
    body = decision(quarter, growth, category, [{"key_result": key_result.pk, "action": "dropped"}])
    response = api_as(leader).post(URL, body, format="json")
    assert (response.status_code, response.json()["decided_by"]["username"]) == (201, "lea")


def test_the_services_rules_answer_400(
    lead: Any, quarter: Any, growth: Any, category: Any, full: Any, key_result: Any
) -> None:
    client = api_as(lead)
    drop = [{"key_result": key_result.pk, "action": "dropped"}]
    category.active = False
    category.save()
    refused = client.post(URL, decision(quarter, growth, category, drop), format="json")
    assert refused.status_code == 400
    assert "no longer a trade-off category" in refused.json()["category"][0]
    category.active = True
    category.save()

    silent = client.post(URL, decision(quarter, growth, category, drop, reason=" "), format="json")
    assert silent.json() == {"reason": ["Say why this cannot wait for next quarter."]}

    elsewhere = ObjectiveFactory(quarter=quarter, team=TeamFactory(name="Sales"))
    foreign = [{"objective": elsewhere.pk, "action": "dropped"}]
    response = client.post(URL, decision(quarter, growth, category, foreign), format="json")
    assert "a trade-off displaces the team's own work" in response.json()["displaced"][0]

    quarter.status = Quarter.Status.PLANNING
    quarter.save()
    planned = client.post(URL, decision(quarter, growth, category, drop), format="json")
    assert planned.status_code == 400
    assert "not under way" in planned.json()["quarter"][0]
    assert not TradeOff.objects.exists()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"team": "growth"}, "team"),
        ({"team": 10**30}, "team"),
        ({"quarter": None}, "quarter"),
        ({"category": 999999}, "category"),
        ({"category": 1.5}, "category"),
        ({"reason": ["x"]}, "reason"),
        ({"addition": "an objective"}, "addition"),
        ({"addition": {"kind": "task", "title": "x"}}, "addition"),
        ({"addition": {"kind": "objective", "title": "x" * 201}}, "addition"),
        ({"addition": {"kind": "objective"}}, "addition"),
        ({"addition": {"kind": "objective", "title": "x", "parent": -3}}, "addition"),
        ({"addition": {"kind": "key_result", "title": "x"}}, "addition"),
        (
            {
                "addition": {
                    "kind": "key_result",
                    "title": "x",
                    "objective": 1,
                    "owner": 1,
                    "target_value": "NaN",
                }
            },
            "addition",
        ),
        ({"addition": {"kind": "key_result", "title": "x", "unit": "u" * 31}}, "addition"),
        ({"displaced": "all of it"}, "displaced"),
        ({"displaced": [{"action": "dropped"}]}, "displaced"),
        ({"displaced": [{"objective": 1, "key_result": 1, "action": "dropped"}]}, "displaced"),
        ({"displaced": [{"objective": 1, "action": "forgotten"}]}, "displaced"),
        (
            {"displaced": [{"key_result": 1, "action": "descoped", "new_target": "1e20"}]},
            "displaced",
        ),
        ({"displaced": [{"key_result": 1, "action": "descoped", "new_target": "x"}]}, "displaced"),
        ({"displaced": [{"objective": 1, "action": "dropped"}] * 51}, "displaced"),
    ],
)
def test_every_field_is_checked_before_the_service(
    lead: Any,
    quarter: Any,
    growth: Any,
    category: Any,
    full: Any,
    key_result: Any,
    change: dict[str, Any],
    where: str,
) -> None:
    body = {**decision(quarter, growth, category, [{"objective": full[2].pk, "action": "dropped"}])}
    body.update(change)

    response = api_as(lead).post(URL, body, format="json")

    assert response.status_code == 400, response.content
    assert where in response.json()
    assert not TradeOff.objects.exists()


# --- approval --------------------------------------------------------------------------------


def awaiting(lead: Any, quarter: Any, growth: Any, category: Any, key_result: Any) -> int:
    body = decision(quarter, growth, category, [{"key_result": key_result.pk, "action": "dropped"}])
    made = api_as(lead).post(URL, body, format="json").json()
    assert made["status"] == "awaiting"
    assert made["added_objective"] is None
    return int(made["id"])


def test_leadership_approves_a_decision_awaiting_it(
    lead: Any,
    leader: Any,
    quarter: Any,
    growth: Any,
    category: Any,
    full: Any,
    key_result: Any,
    requested: Any,
) -> None:
    pk = awaiting(lead, quarter, growth, category, key_result)

    response = api_as(leader).post(f"{URL}{pk}/approve/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "decided"
    assert body["approved_by"]["username"] == "lea"
    assert body["approved_at"] is not None
    assert body["added_objective"] == Objective.objects.get(title="Keep Acme from churning").pk
    again = api_as(leader).post(f"{URL}{pk}/approve/")
    assert again.status_code == 400
    assert again.json() == [f"Trade-off #{pk} is decided, not awaiting approval."]


def test_leadership_refuses_a_decision_awaiting_it(
    lead: Any,
    leader: Any,
    quarter: Any,
    growth: Any,
    category: Any,
    full: Any,
    key_result: Any,
    requested: Any,
) -> None:
    pk = awaiting(lead, quarter, growth, category, key_result)

    response = api_as(leader).post(f"{URL}{pk}/refuse/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["added_objective"]) == ("refused", None)
    key_result.refresh_from_db()
    assert key_result.displaced_by is None


@pytest.mark.parametrize("role", ["lead", "admin_user", "platform_lead", "owner", "outsider"])
@pytest.mark.parametrize("verb", ["approve", "refuse"])
def test_only_leadership_approves_or_refuses(
    request: pytest.FixtureRequest,
    lead: Any,
    quarter: Any,
    growth: Any,
    category: Any,
    full: Any,
    key_result: Any,
    requested: Any,
    role: str,
    verb: str,
) -> None:
    pk = awaiting(lead, quarter, growth, category, key_result)

    response = api_as(request.getfixturevalue(role)).post(f"{URL}{pk}/{verb}/")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the leadership group approves or refuses a trade-off."
    }
    assert TradeOff.objects.get(pk=pk).status == TradeOff.Status.AWAITING_APPROVAL


def test_approving_an_unknown_trade_off_is_404(leader: Any) -> None:
    assert api_as(leader).post(f"{URL}99999/approve/").status_code == 404
    assert api_as(leader).post(f"{URL}{10**30}/refuse/").status_code == 404


# --- the ledger ------------------------------------------------------------------------------


def record(quarter: Any, category: Any, by: Any, *, team: Any = None) -> TradeOff:
    """A decided trade-off as the ledger stores it: an added objective, a dropped key result
    and a deferred objective (rows written directly: the ledger reads, the service is tested
    above)."""
    team = team or TeamFactory()
    kept = ObjectiveFactory(quarter=quarter, team=team)
    dropped = KeyResultFactory(objective=kept, owner=by)
    trade_off = TradeOff.objects.create(
        quarter=quarter,
        team=team,
        category=category,
        reason=REASON,
        decided_by=by,
        approved_by=by,
        addition={"kind": "objective", "title": "Added"},
        added_objective=ObjectiveFactory(quarter=quarter, team=team, title="Added"),
    )
    Displacement.objects.create(
        trade_off=trade_off, key_result=dropped, action="dropped", previous_target=Decimal(100)
    )
    Displacement.objects.create(
        trade_off=trade_off,
        objective=ObjectiveFactory(quarter=quarter, team=team),
        action="deferred",
    )
    return trade_off


def test_the_ledger_lists_decisions_newest_first_with_what_each_displaced(
    outsider: Any, lead: Any, quarter: Any, growth: Any, platform: Any, category: Any
) -> None:
    first = record(quarter, category, lead, team=growth)
    second = record(quarter, category, lead, team=platform)
    later = record(
        QuarterFactory(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31)),
        category,
        lead,
    )
    client = api_as(outsider)  # the ledger is open to everyone signed in, like the page

    rows = client.get(URL, {"quarter": quarter.pk}).json()["results"]

    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert [(d["kind"], d["action"]) for d in rows[1]["displaced"]] == [
        ("key_result", "dropped"),
        ("objective", "deferred"),
    ]
    assert rows[1]["displaced"][0]["previous_target"] == "100.00"
    assert rows[1]["approved_by"]["username"] == "lena"
    assert [
        r["id"]
        for r in client.get(URL, {"quarter": quarter.pk, "team": growth.pk}).json()["results"]
    ] == [first.pk]
    assert [r["id"] for r in client.get(URL).json()["results"]] == [later.pk, second.pk, first.pk]
    assert client.get(f"{URL}{first.pk}/").json()["team_name"] == "Growth"


@pytest.mark.parametrize("params", [{"quarter": "Q4"}, {"team": "²"}, {"quarter": 10**30}])
def test_bad_ledger_filters_are_400(outsider: Any, params: dict[str, Any]) -> None:
    assert api_as(outsider).get(URL, params).status_code == 400


def _queries(client: APIClient, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_ledger_costs_the_same_queries_for_5_and_50_decisions(
    outsider: Any, lead: Any, quarter: Any, category: Any
) -> None:
    client = api_as(outsider)
    for _ in range(5):
        record(quarter, category, lead)
    small = _queries(client, {"quarter": quarter.pk})
    for _ in range(45):
        record(quarter, category, lead)
    assert TradeOff.objects.count() == 50
    large = _queries(client, {"quarter": quarter.pk})
    assert len(client.get(URL, {"quarter": quarter.pk}).json()["results"]) == 50
    assert large == small, f"{small} queries for 5 decisions, {large} for 50"


# --- categories --------------------------------------------------------------------------------


def test_the_categories_offered_are_the_active_ones_in_order(outsider: Any) -> None:
    TradeOffCategory.objects.filter(name="Incident").update(active=False)
    rows = api_as(outsider).get("/api/trade-off-categories/").json()["results"]
    assert [row["name"] for row in rows] == [
        "Client escalation",
        "New opportunity",
        "Regulatory",
        "Leadership request",
    ]
    assert set(rows[0]) == {"id", "name", "position"}


def test_the_schema_documents_the_trade_off_operations(outsider: Any) -> None:
    paths = api_as(outsider).get("/api/schema/", {"format": "json"}).json()["paths"]
    create = paths["/api/trade-offs/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert create["responses"]["201"]["content"]["application/json"]["examples"]
    refused = create["responses"]["400"]["content"]["application/json"]["examples"]
    assert "displaced" in next(iter(refused.values()))["value"]
    for verb in ("approve", "refuse"):
        assert paths[f"/api/trade-offs/{{id}}/{verb}/"]["post"]["responses"]["403"]
    assert "get" in paths["/api/trade-off-categories/"]
