"""Early escalations over the API: who sees which, raising, answering and redirecting through
the same services and rights, bad input answered 4xx, and the list's fixed query count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from reviews import early_escalations as svc
from reviews.models import EarlyEscalation
from tests.conftest import TEST_NOW, TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/early-escalations/"


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


SATURDAY = 5
# Always a valid date: today is never in the past.
TODAY = TEST_TODAY.isoformat()


def needed_by(kr: Any) -> date:
    """Eleven days on, kept inside the key result's quarter (on its last day: that day)."""
    return min(TEST_TODAY + timedelta(days=11), kr.objective.quarter.end)


def expected_due(needed: date) -> str:
    """The earlier of 48 working hours after the pinned moment (everyone here is in UTC, and
    the pinned day is a weekday: two working days on, same hour) and the end of ``needed``."""
    day = TEST_TODAY
    for _ in range(2):
        day += timedelta(days=1)
        while day.weekday() >= SATURDAY:
            day += timedelta(days=1)
    by_norm = datetime.combine(day, TEST_NOW.timetz())
    end_of_needed = datetime.combine(needed + timedelta(days=1), time.min, tzinfo=UTC)
    return f"{min(by_norm, end_of_needed):%Y-%m-%dT%H:%M:%S}"


@pytest.fixture
def still() -> Any:
    """The clock held at the pinned moment (it ticks otherwise, and a slow setup moved the
    deadline past 10:00:00)."""
    with time_machine.travel(TEST_NOW, tick=False) as traveller:
        yield traveller


def raise_(owner: Any, kr: Any, to: Any) -> EarlyEscalation:
    return svc.escalation_raise(
        user=owner, key_result=kr, need="Decide on SSO", asked_of=to, needed_by=needed_by(kr)
    )


def test_raise_answer_and_read_back(still: Any, owner: Any, key_result: Any, provider: Any) -> None:
    response = api(owner).post(
        URL,
        {
            "key_result": key_result.pk,
            "need": "Decide on SSO",
            "asked_of": provider.pk,
            "needed_by": needed_by(key_result).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["asked_of"]["username"] == "pia"
    assert body["status"] == "open"
    # 10:00 plus 48 working hours, or the end of the date asked for if that comes first (on
    # the quarter's last day, a Thursday, it does).
    assert body["answer_due_at"].startswith(expected_due(needed_by(key_result)))
    pk = body["id"]
    answered = api(provider).post(
        f"{URL}{pk}/answer/", {"status": "helping", "answer": "Pairing"}, format="json"
    )
    assert answered.status_code == 200
    assert answered.json()["answered_by"]["username"] == "pia"


def test_redirect_over_the_api_keeps_the_deadline(
    still: Any, owner: Any, key_result: Any, provider: Any, platform_lead: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    response = api(provider).post(
        f"{URL}{esc.pk}/redirect/", {"to": platform_lead.pk, "note": "Paul"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["asked_of"]["username"] == "paul"
    assert body["answer_due_at"].startswith(expected_due(needed_by(key_result)))
    assert [h["to_person"]["username"] for h in body["hops"]] == ["paul"]
    # Pia redirected it: she still sees it; she can no longer answer it.
    assert [e["id"] for e in api(provider).get(URL).json()["results"]] == [esc.pk]
    refused = api(provider).post(
        f"{URL}{esc.pk}/answer/", {"status": "decided", "answer": "x"}, format="json"
    )
    assert refused.status_code == 403


def test_who_sees_which(
    owner: Any, key_result: Any, provider: Any, outsider: Any, leader: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    for user, seen in ((owner, [esc.pk]), (provider, [esc.pk]), (outsider, []), (leader, [esc.pk])):
        assert [e["id"] for e in api(user).get(URL).json()["results"]] == seen
    assert api(outsider).get(f"{URL}{esc.pk}/").status_code == 404
    assert api(owner).get(URL, {"status": "decided"}).json()["results"] == []
    assert api(owner).get(URL, {"status": "nonsense"}).status_code == 400
    assert api(owner).get(URL, {"key_result": "1e400"}).status_code in (400, 404)


def test_rules_and_rights_answer_4xx(
    owner: Any, key_result: Any, provider: Any, outsider: Any
) -> None:
    provider.profile.out_of_office_until = TEST_TODAY + timedelta(days=20)
    provider.profile.save()
    body = {
        "key_result": key_result.pk,
        "need": "x",
        "asked_of": provider.pk,
        "needed_by": TODAY,
    }
    refused = api(owner).post(URL, body, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "out_of_office"
    assert api(outsider).post(URL, {**body, "asked_of": owner.pk}, format="json").status_code == 403
    yesterday = (TEST_TODAY - timedelta(days=1)).isoformat()
    past = api(owner).post(
        URL, {**body, "asked_of": outsider.pk, "needed_by": yesterday}, format="json"
    )
    assert past.status_code == 400
    assert "needed_by" in past.json()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"key_result": "1e400", "need": "x", "asked_of": 1, "needed_by": TODAY},
        {"key_result": -1, "need": "x", "asked_of": 1, "needed_by": TODAY},
        {"key_result": 1, "need": ["x"], "asked_of": 1, "needed_by": TODAY},
        {"key_result": 1, "need": "x", "asked_of": 99999999999999999999, "needed_by": "x"},
        {"key_result": 1, "need": "x" * 5000, "asked_of": 1, "needed_by": TODAY},
        {"key_result": 1, "need": "x", "asked_of": 1, "needed_by": TODAY, "dependency": "a"},
    ],
)
def test_bad_raise_bodies_are_400(owner: Any, key_result: Any, body: dict[str, Any]) -> None:
    assert api(owner).post(URL, body, format="json").status_code == 400


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("answer", {}),
        ("answer", {"status": "open", "answer": "x"}),
        ("answer", {"status": "decided", "answer": ""}),
        ("answer", {"status": "decided", "answer": "x" * 5000}),
        ("redirect", {}),
        ("redirect", {"to": "1e400"}),
        ("redirect", {"to": None}),
    ],
)
def test_bad_answer_and_redirect_bodies_are_400(
    owner: Any, key_result: Any, provider: Any, path: str, body: dict[str, Any]
) -> None:
    esc = raise_(owner, key_result, provider)
    assert api(provider).post(f"{URL}{esc.pk}/{path}/", body, format="json").status_code == 400


def count(user: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api(user).get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_is_the_same_for_5_and_50(
    owner: Any,
    key_result: Any,
    provider: Any,
    platform_lead: Any,
    quarter: Any,
    growth: Any,
    leader: Any,
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            kr = KeyResultFactory(
                objective=ObjectiveFactory(quarter=quarter, team=growth), owner=owner
            )
            esc = raise_(owner, kr, provider)
            svc.escalation_redirect(user=provider, escalation=esc, to=platform_lead, note="")
            UserFactory()

    add(5)
    small, small_lead = count(owner), count(leader)
    add(45)
    assert EarlyEscalation.objects.count() == 50
    assert count(owner) == small
    assert count(leader) == small_lead
