"""A key result a trade-off dropped (rule 8) has left the Accountability Test's counts: the
verdict table of a quarter or of teams leaves it out, the Accountability Test page does not
list it, and where it is still shown by name (its own page, the objectives page, the API) it
is neither at risk nor failing a count, and says which trade-off displaced it.

Olga owns “Raise trial conversion” (nothing accepted, granted or named: it fails all three
checks) and “Cut churn”, which fails the same way; Lena, the Growth lead, drops the first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from objectives.models import KeyResult
from ownership.accountability import accountability, accountability_for
from ownership.asked import asked_of
from ownership.badges import badge_html
from ownership.verdict import VERDICT_COLUMNS, key_result_flags, verdict_sql
from tests.displacing import drop
from tests.factories import KeyResultFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]  # 17 Nov 2026
TODAY = date(2026, 11, 17)


@pytest.fixture
def kept(key_result: Any, owner: Any) -> Any:
    return KeyResultFactory(objective=key_result.objective, owner=owner, title="Cut churn")


def verdict_rows(**scope: Any) -> dict[int, dict[str, Any]]:
    """The verdict table through its documented columns, as the dashboard reads it."""
    verdict = verdict_sql(today=TODAY, **scope)
    with connection.cursor() as cursor:
        cursor.execute(
            verdict.sql + f"SELECT {', '.join(VERDICT_COLUMNS)} FROM {verdict.table}",
            verdict.params,
        )
        rows = [dict(zip(VERDICT_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return {row["key_result_id"]: row for row in rows}


def test_the_verdict_of_a_quarter_or_a_team_leaves_a_displaced_key_result_out(
    quarter: Any, growth: Any, key_result: Any, kept: Any, lead: Any
) -> None:
    assert set(verdict_rows(quarter_id=quarter.pk)) == {key_result.pk, kept.pk}
    trade_off = drop(lead, key_result)
    assert set(verdict_rows(quarter_id=quarter.pk)) == {kept.pk}
    assert set(verdict_rows(team_ids=[growth.pk])) == {kept.pk}
    # Asked for by name, it is there, and says why it counts for nothing.
    named = verdict_rows(key_result_ids=[key_result.pk], include_displaced=True)
    assert named[key_result.pk]["displaced_by"] == trade_off.pk
    assert key_result_flags([key_result.pk, kept.pk], TODAY)[key_result.pk].displaced_by == (
        trade_off.pk
    )
    assert key_result_flags([kept.pk], TODAY)[kept.pk].displaced_by is None
    assert KeyResult.objects.in_play().filter(objective__quarter=quarter).get() == kept


def test_a_displaced_key_result_is_neither_at_risk_nor_counted_as_failing(
    key_result: Any, kept: Any, lead: Any
) -> None:
    before = accountability(key_result)
    assert before.at_risk
    assert not before.passed
    assert 'data-accountability="fail"' in badge_html(before)

    trade_off = drop(lead, key_result)
    results = accountability_for([key_result, kept])
    result = results[key_result.pk]
    assert not result.at_risk
    assert result.displaced_by == trade_off.pk
    assert result.as_dict()["at_risk"] is False
    assert result.as_dict()["displaced_by_trade_off"] == trade_off.pk
    assert result.checkin_risk == ""
    # Its checks stay readable (its history), the badge says why it does not count.
    assert result.failing == ["owner", "authority", "dependencies"]
    badge = badge_html(result)
    assert 'data-accountability="displaced"' in badge
    assert f"displaced by trade-off #{trade_off.pk}" in badge
    assert "at risk" not in badge
    # The other one is untouched.
    assert results[kept.pk].at_risk
    assert results[kept.pk].displaced_by is None


def test_the_accountability_test_page_does_not_list_a_displaced_key_result(
    client_for: Any, leader: Any, quarter: Any, key_result: Any, kept: Any, lead: Any
) -> None:
    drop(lead, key_result)
    response = client_for(leader).get(reverse("ownership:test"), {"quarter": quarter.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cut churn" in html
    assert "Raise trial conversion" not in html
    assert response.context["failing"] == 1
    # Picked by id (an old link), it is simply not among the rows.
    picked = client_for(leader).get(
        reverse("ownership:test"), {"quarter": quarter.pk, "kr": [key_result.pk]}
    )
    assert picked.status_code == 200
    assert picked.context["table"] == []


def test_its_page_and_the_api_still_read_and_say_it_was_displaced(
    client_for: Any, outsider: Any, key_result: Any, kept: Any, lead: Any
) -> None:
    trade_off = drop(lead, key_result)
    page = client_for(outsider).get(key_result.get_absolute_url())
    assert page.status_code == 200
    assert f"displaced by trade-off #{trade_off.pk}" in page.content.decode()
    body = client_for(outsider).get(f"/api/key-results/{key_result.pk}/").json()
    assert body["accountability"]["at_risk"] is False
    assert body["accountability"]["displaced_by_trade_off"] == trade_off.pk


def test_nobody_is_asked_to_accept_a_displaced_key_result(
    owner: Any, key_result: Any, kept: Any, lead: Any
) -> None:
    titles = [item.title for item in asked_of(owner) if item.kind == "Ownership to accept"]
    assert sorted(titles) == ["Cut churn", "Raise trial conversion"]
    drop(lead, key_result)
    titles = [item.title for item in asked_of(owner) if item.kind == "Ownership to accept"]
    assert titles == ["Cut churn"]
