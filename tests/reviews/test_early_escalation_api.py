"""Early escalations over the API: who sees which, raising, answering and redirecting through
the same services and rights, bad input answered 4xx, and the list's fixed query count."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from reviews import early_escalations as svc
from reviews.models import EarlyEscalation
from tests.factories import KeyResultFactory, ObjectiveFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/early-escalations/"


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def raise_(owner: Any, kr: Any, to: Any) -> EarlyEscalation:
    return svc.escalation_raise(
        user=owner, key_result=kr, need="Decide on SSO", asked_of=to, needed_by=date(2026, 12, 11)
    )


def test_raise_answer_and_read_back(owner: Any, key_result: Any, provider: Any) -> None:
    response = api(owner).post(
        URL,
        {
            "key_result": key_result.pk,
            "need": "Decide on SSO",
            "asked_of": provider.pk,
            "needed_by": "2026-12-11",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["asked_of"]["username"] == "pia"
    assert body["status"] == "open"
    # Monday 10:00 plus 48 working hours.
    assert body["answer_due_at"].startswith("2026-12-02T10:00:00")
    pk = body["id"]
    answered = api(provider).post(
        f"{URL}{pk}/answer/", {"status": "helping", "answer": "Pairing"}, format="json"
    )
    assert answered.status_code == 200
    assert answered.json()["answered_by"]["username"] == "pia"


def test_redirect_over_the_api_keeps_the_deadline(
    owner: Any, key_result: Any, provider: Any, platform_lead: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    response = api(provider).post(
        f"{URL}{esc.pk}/redirect/", {"to": platform_lead.pk, "note": "Paul"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["asked_of"]["username"] == "paul"
    assert body["answer_due_at"].startswith("2026-12-02T10:00:00")
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
    provider.profile.out_of_office_until = date(2026, 12, 20)
    provider.profile.save()
    body = {
        "key_result": key_result.pk,
        "need": "x",
        "asked_of": provider.pk,
        "needed_by": "2026-12-11",
    }
    refused = api(owner).post(URL, body, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "out_of_office"
    assert api(outsider).post(URL, {**body, "asked_of": owner.pk}, format="json").status_code == 403
    past = api(owner).post(
        URL, {**body, "asked_of": outsider.pk, "needed_by": "2026-01-01"}, format="json"
    )
    assert past.status_code == 400
    assert "needed_by" in past.json()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"key_result": "1e400", "need": "x", "asked_of": 1, "needed_by": "2026-12-11"},
        {"key_result": -1, "need": "x", "asked_of": 1, "needed_by": "2026-12-11"},
        {"key_result": 1, "need": ["x"], "asked_of": 1, "needed_by": "2026-12-11"},
        {"key_result": 1, "need": "x", "asked_of": 99999999999999999999, "needed_by": "x"},
        {"key_result": 1, "need": "x" * 5000, "asked_of": 1, "needed_by": "2026-12-11"},
        {"key_result": 1, "need": "x", "asked_of": 1, "needed_by": "2026-12-11", "dependency": "a"},
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
