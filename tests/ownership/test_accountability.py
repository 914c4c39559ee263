"""Rule 5, the Accountability Test: every combination of its three checks."""

from __future__ import annotations

import html
import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkins import services as checkin_services
from dependencies import services as dep_services
from objectives.models import KeyResult
from okrly import registry
from okrly.models import Quarter
from ownership import services
from ownership.accountability import accountability, accountability_for
from tests.factories import (
    KeyResultFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]  # 17 Nov 2026
DUE = date(2026, 12, 1)


def accept(kr: Any) -> None:
    services.ownership_accept(key_result=kr, user=kr.owner)


def grant(kr: Any, by: Any) -> None:
    services.authority_grant(
        key_result=kr,
        user=by,
        rights=services.decision_rights_ensure_defaults()[:1],
        scope="Backlog",
    )


def committed_dependency(kr: Any, platform: Any, provider: Any, **kwargs: Any) -> Any:
    dep = dep_services.dependency_request(
        user=kr.owner,
        key_result=kr,
        provider_team=platform,
        responsible=provider,
        deliverable=kwargs.pop("deliverable", "Billing API"),
        due_date=kwargs.pop("due", DUE),
    )
    return dep_services.dependency_commit(dependency=dep, user=provider)


# (accepted, authority, dependencies) -> the dependencies check is set up as:
#   "committed": top dependency committed and on time; "none": declared none needed;
#   "missing": nothing named, nothing declared.
COMBINATIONS = list(
    itertools.product([True, False], [True, False], ["committed", "none", "missing"])
)


@pytest.mark.parametrize(("accepted", "authority", "deps"), COMBINATIONS)
def test_every_combination_of_the_three_checks(
    accepted: bool,
    authority: bool,
    deps: str,
    key_result: Any,
    lead: Any,
    platform: Any,
    provider: Any,
) -> None:
    if accepted:
        accept(key_result)
    if authority:
        grant(key_result, lead)
    if deps == "committed":
        committed_dependency(key_result, platform, provider)
    elif deps == "none":
        services.dependencies_declare_none(key_result=key_result, user=key_result.owner)

    result = accountability(key_result)

    expected_failing = [
        name
        for name, ok in (
            ("owner", accepted),
            ("authority", authority),
            ("dependencies", deps != "missing"),
        )
        if not ok
    ]
    assert result.failing == expected_failing
    assert result.at_risk is bool(expected_failing)
    assert len(result.reasons) == len(expected_failing)
    assert result.as_dict()["checks"]["owner"]["passed"] is accepted


def test_progress_at_95_percent_without_authority_is_at_risk(
    key_result: Any, platform: Any, provider: Any
) -> None:
    KeyResult.objects.filter(pk=key_result.pk).update(current_value=Decimal(29))  # 95%
    key_result.refresh_from_db()
    assert key_result.progress == 95
    accept(key_result)
    committed_dependency(key_result, platform, provider)
    result = accountability(key_result)
    assert (result.at_risk, result.failing) == (True, ["authority"])
    assert result.reasons == ["No documented decision authority for the owner."]


def test_no_dependencies_named_fails_until_the_owner_declares_none_are_needed(
    key_result: Any, lead: Any
) -> None:
    accept(key_result)
    grant(key_result, lead)
    before = accountability(key_result)
    assert before.failing == ["dependencies"]
    assert "name the top two, or declare that none are needed" in before.reasons[0]
    services.dependencies_declare_none(key_result=key_result, user=key_result.owner)
    assert accountability(key_result).passed


def test_a_committed_dependency_that_becomes_overdue_flips_the_result(
    key_result: Any, lead: Any, platform: Any, provider: Any, frozen_now: Any
) -> None:
    accept(key_result)
    grant(key_result, lead)
    committed_dependency(key_result, platform, provider)
    assert accountability(key_result).passed
    frozen_now.move_to("2026-12-02 09:00:00+00:00")
    result = accountability(key_result)
    assert result.failing == ["dependencies"]
    assert "“Billing API” is overdue (due 01 Dec)" in result.reasons[0]


@pytest.mark.parametrize(
    ("state", "passes", "reason"),
    [
        ("requested", False, "is not committed yet"),
        ("countered", False, "is not committed yet"),
        ("at_risk", False, "is at risk"),
        ("broken", False, "is broken"),
        ("delivered", True, ""),
        ("declined", False, "No dependencies named"),  # a declined request no longer counts
    ],
)
def test_each_dependency_state(
    state: str,
    passes: bool,
    reason: str,
    key_result: Any,
    lead: Any,
    platform: Any,
    provider: Any,
    owner: Any,
) -> None:
    accept(key_result)
    grant(key_result, lead)
    dep = dep_services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=DUE,
    )
    if state == "countered":
        dep_services.dependency_counter(
            dependency=dep, user=provider, due_date=DUE + timedelta(days=5)
        )
    elif state == "declined":
        dep_services.dependency_decline(dependency=dep, user=provider, reason="No capacity")
    elif state != "requested":
        dep_services.dependency_commit(dependency=dep, user=provider)
        if state == "at_risk":
            dep_services.dependency_flag_risk(dependency=dep, user=provider, reason="Vendor late")
        elif state == "broken":
            dep_services.dependency_break(dependency=dep, user=owner, reason="Missed")
        elif state == "delivered":
            dep_services.dependency_deliver(dependency=dep, user=provider)
    result = accountability(key_result)
    assert result.passed is passes
    if reason:
        assert reason in result.reasons[0]


def test_only_the_top_two_dependencies_count(
    key_result: Any, lead: Any, platform: Any, provider: Any, owner: Any
) -> None:
    accept(key_result)
    grant(key_result, lead)
    committed_dependency(key_result, platform, provider, deliverable="One")
    committed_dependency(key_result, platform, provider, deliverable="Two")
    dep_services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Third, not yet answered",
        due_date=DUE,
    )
    assert accountability(key_result).passed


def test_authority_granted_to_a_previous_owner_does_not_count(
    key_result: Any, lead: Any, teammate: Any
) -> None:
    accept(key_result)
    grant(key_result, lead)
    services.dependencies_declare_none(key_result=key_result, user=key_result.owner)
    assert accountability(key_result).passed
    services.ownership_handover(
        key_result=key_result, user=lead, new_owner=teammate, reason="Moves teams"
    )
    services.ownership_accept(key_result=key_result, user=teammate)
    key_result.refresh_from_db()
    assert accountability(key_result).failing == ["authority"]


def test_check_in_risk_is_reported_alongside(key_result: Any, owner: Any) -> None:
    checkin_services.checkin_submit(
        user=owner,
        key_result=key_result,
        status="off_track",
        confidence=2,
        biggest_risk="Pricing change",
        value="12",
    )
    assert accountability(key_result).checkin_risk == "Off track"


def test_500_key_results_in_a_fixed_number_of_queries(quarter: Any) -> None:
    def build(n: int) -> list[Any]:
        objective = ObjectiveFactory(quarter=quarter, team=TeamFactory())
        owners = [UserFactory() for _ in range(5)]
        made = KeyResult.objects.bulk_create(
            KeyResult(
                objective=objective,
                owner=owners[i % 5],
                title=f"KR {i}",
                start_value=0,
                target_value=10,
                current_value=i % 10,
            )
            for i in range(n)
        )
        # A bulk insert sends no signal: its writer names the key results, as any must.
        registry.key_results_changed([kr.pk for kr in made])
        return made

    small = build(5)
    with CaptureQueriesContext(connection) as few:
        accountability_for(small)
    large = build(500)
    for kr in large[:50]:  # some with answers, grants and declarations
        services.ownership_accept(key_result=kr, user=kr.owner)
    with CaptureQueriesContext(connection) as many:
        results = accountability_for(large)
    assert len(results) == 500
    assert sum(r.checks[0].passed for r in results.values()) == 50
    assert len(many.captured_queries) == len(few.captured_queries) == 2


def test_the_objectives_page_shows_the_badge(
    client_for: Any, outsider: Any, key_result: Any
) -> None:
    html = client_for(outsider).get("/objectives/").content.decode()
    assert 'data-accountability="fail"' in html
    assert "at risk" in html


def test_api_carries_the_accountability(client_for: Any, outsider: Any, key_result: Any) -> None:
    body = client_for(outsider).get(f"/api/key-results/{key_result.pk}/").json()
    assert body["accountability"]["at_risk"] is True
    assert body["accountability"]["checks"]["owner"] == {
        "passed": False,
        "reason": "Olga Owner has not accepted ownership yet.",
    }
    listed = client_for(outsider).get("/api/key-results/").json()["results"][0]
    assert listed["accountability"]["checks"]["authority"]["passed"] is False


def test_the_accountability_test_page(client_for: Any, lead: Any, key_result: Any) -> None:
    client = client_for(lead)
    html = client.get("/ownership/test/").content.decode()
    assert "Raise trial conversion" in html
    assert "Grant authority →" in html
    picked = client.get("/ownership/test/", {"kr": [key_result.pk]}).content.decode()
    assert "1 picked" in picked


def test_the_accountability_tests_next_page_keeps_the_quarter_and_the_picks(
    client_for: Any, lead: Any, growth: Any, key_result: Any
) -> None:
    """Page 2 of last quarter's picked key results is page 2 of the same list: the pagination
    links keep the quarter and the picks (they once dropped both and showed this quarter)."""
    q3 = QuarterFactory(
        name="2026 Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), status=Quarter.Status.CLOSED
    )
    objective = ObjectiveFactory(quarter=q3, team=growth)
    krs = [KeyResultFactory(objective=objective, title=f"Summer {n:02}") for n in range(27)]
    query = {"quarter": q3.pk, "kr": [kr.pk for kr in krs[:26]]}  # Summer 26 is not picked
    client = client_for(lead)

    first = client.get("/ownership/test/", query).content.decode()
    nav = re.search(r'<nav class="pagination".*?</nav>', first, re.DOTALL)
    assert nav is not None
    link = html.unescape(re.findall(r'href="([^"]*)"', nav.group())[-1])
    assert f"quarter={q3.pk}" in link
    assert all(f"kr={kr.pk}" in link for kr in krs[:26])
    assert "page=2" in link

    second = client.get(f"/ownership/test/{link}").content.decode()
    assert "Page 2 of 2" in second
    table = re.search(r'<table class="acct-table">.*?</table>', second, re.DOTALL)
    assert table is not None
    # Summer 24 was on page 1, Summer 26 is not picked, and this quarter's is another list.
    assert re.findall(r"Summer \d\d|Raise trial conversion", table.group()) == ["Summer 25"]


def test_the_team_views_rows_give_the_same_results_with_or_without_a_status_row(
    quarter: Any, owner: Any
) -> None:
    """The team view reads the test's inputs with its rows (``FLAG_SELECT``); a key result
    without a status row yet (a bulk insert that named none) reads its own. Either way the
    results are ``accountability_for``'s."""
    from django.utils import timezone

    from ownership.models import KeyResultStatus
    from reviews import selectors

    team = TeamFactory()
    objective = ObjectiveFactory(quarter=quarter, team=team)
    made = KeyResult.objects.bulk_create(
        KeyResult(objective=objective, owner=owner, title=f"KR {i}", target_value=10)
        for i in range(4)
    )
    registry.key_results_changed([kr.pk for kr in made[:2]])  # two rows; two without
    services.ownership_accept(key_result=made[0], user=owner)
    KeyResultStatus.objects.filter(key_result_id__in=[kr.pk for kr in made[2:]]).delete()
    today = timezone.localdate()
    rows = list(selectors.team_key_results(quarter, team, today))
    assert [row.flags is None for row in rows] == [False, False, True, True]
    mine = selectors.team_accountability(rows, today)
    theirs = accountability_for(made, today=today)
    assert {pk: r.as_dict() for pk, r in mine.items()} == {
        pk: r.as_dict() for pk, r in theirs.items()
    }
    assert mine[made[0].pk].checks[0].passed
    assert not mine[made[1].pk].checks[0].passed
