"""The responses pages (rule 10): the quarter's list with its filters and CSV, one response in
its four parts with the record form, and the panels on the key-result and dependency pages.

Olga (``owner``) misses; Lena (``lead``, Growth's lead) holds the conversation.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dependencies import services as dependency_services
from reviews import responses
from reviews.models import MissResponse, ResponseCause
from reviews.response_views import CSV_HEADER
from tests.conftest import TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory

pytestmark = pytest.mark.django_db

# Dates relative to the pinned day (CI runs from the quarter's first day to its last): the
# conversation is neither in the future nor before the quarter (QuarterFactory's) started, the
# next step is not due in the past.
QUARTER_START = date(2026, 10, 1)
TALKED_ON = max(TEST_TODAY - timedelta(days=3), QUARTER_START)
STEP_DUE = TEST_TODAY + timedelta(days=11)
# A dependency's due date must fall inside the quarter (QuarterFactory's ends 31 December).
PROMISED_BY = min(TEST_TODAY + timedelta(days=10), date(2026, 12, 31))

LIST = reverse("reviews:responses")
KR_MISSED = MissResponse.Kind.KEY_RESULT_MISSED


def open_response(kr: Any, quarter: Any, minutes_ago: int = 0, **kwargs: Any) -> MissResponse:
    response = responses.response_open(
        kind=kwargs.pop("kind", KR_MISSED),
        key_result=kr,
        quarter=quarter,
        # Minutes, not days: on the quarter's first day a response opened days ago would be
        # older than its quarter.
        now=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )
    assert response is not None
    return response


def many(objective: Any, owner: Any, quarter: Any, count: int) -> list[MissResponse]:
    return [
        open_response(
            KeyResultFactory(objective=objective, owner=owner, title=f"KR {n}"), quarter, n
        )
        for n in range(count)
    ]


def cause() -> ResponseCause:
    return ResponseCause.objects.get_or_create(name="Capacity", defaults={"position": 1})[0]


def record(response: MissResponse, by: Any, owner: Any, lead: Any) -> MissResponse:
    return responses.response_record(
        user=by,
        response=response,
        conversation_on=TALKED_ON,
        participants=[owner, lead],
        cause=cause(),
        gap="Two engineers moved to the outage.",
        next_step_what="Re-plan the funnel work",
        next_step_owner=owner,
        next_step_due=STEP_DUE,
    )


def count_queries(client: Any, url: str, params: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get(url, params or {})
    assert answer.status_code == 200
    return len(ctx.captured_queries)


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_each_response_with_its_parts_newest_first(
    client_for: Any, lead: Any, owner: Any, key_result: Any, quarter: Any
) -> None:
    older = open_response(key_result, quarter, minutes_ago=90)
    second = KeyResultFactory(objective=key_result.objective, owner=owner, title="Cut churn")
    newer = record(open_response(second, quarter, minutes_ago=20), lead, owner, lead)

    html = client_for(lead).get(LIST, {"quarter": quarter.pk}).content.decode()

    assert html.index(f'id="response-{newer.pk}"') < html.index(f'id="response-{older.pk}"')
    assert "Cut churn" in html
    assert "Raise trial conversion" in html
    assert key_result.get_absolute_url() in html
    assert "Capacity" in html
    assert "Re-plan the funnel work" in html
    assert "In progress" in html
    assert "Awaiting the conversation" in html
    assert "Lena Lead" in html
    assert "Olga Owner" in html


def test_the_list_filters_by_team_state_and_person(
    client_for: Any,
    lead: Any,
    owner: Any,
    teammate: Any,
    platform_lead: Any,
    key_result: Any,
    quarter: Any,
) -> None:
    mine = open_response(key_result, quarter)
    recorded = record(
        open_response(
            KeyResultFactory(objective=key_result.objective, owner=owner, title="Recorded one"),
            quarter,
        ),
        lead,
        owner,
        lead,
    )
    platform_objective = ObjectiveFactory(quarter=quarter, team=platform_lead.led_teams.get())
    theirs = open_response(
        KeyResultFactory(objective=platform_objective, owner=platform_lead, title="Uptime"),
        quarter,
    )
    client = client_for(lead)

    def shown(**params: Any) -> set[int]:
        answer = client.get(LIST, {"quarter": quarter.pk, **params})
        assert answer.status_code == 200
        return {r.pk for r in answer.context["rows"]}

    growth = key_result.objective.team
    assert shown() == {mine.pk, recorded.pk, theirs.pk}
    assert shown(team=growth.pk) == {mine.pk, recorded.pk}
    assert shown(state="in_progress") == {recorded.pk}
    assert shown(state="awaiting") == {mine.pk, theirs.pk}
    assert shown(state="done") == set()
    assert shown(person=owner.pk) == {mine.pk, recorded.pk}  # accountable
    assert shown(person=lead.pk) == {mine.pk, recorded.pk}  # holds the conversation
    assert shown(person=teammate.pk) == set()


def test_past_its_deadline_an_unrecorded_response_is_overdue(
    client_for: Any, lead: Any, key_result: Any, quarter: Any
) -> None:
    late = open_response(key_result, quarter)
    # Its deadline passed an hour ago (moved directly: opening it days ago would put it before
    # its quarter on the quarter's first day).
    MissResponse.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    late.refresh_from_db()
    rows = client_for(lead).get(LIST, {"state": "overdue"}).context["rows"]
    assert [r.pk for r in rows] == [late.pk]
    assert responses.response_state(late) == "overdue"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"state": "lost"}, 400),
        ({"team": "99999999999999999999"}, 404),
        ({"team": "abc"}, 404),
        ({"person": "²"}, 404),
        ({"person": "999999"}, 404),
        ({"quarter": "1e9"}, 404),
        ({"page": "99999999999999999999"}, 200),
    ],
)
def test_bad_filters_are_refused_not_failed(
    client_for: Any, lead: Any, key_result: Any, quarter: Any, params: dict[str, str], status: int
) -> None:
    open_response(key_result, quarter)
    assert client_for(lead).get(LIST, params).status_code == status


def test_the_list_costs_the_same_queries_for_5_and_50_responses(
    client_for: Any, lead: Any, owner: Any, objective: Any, quarter: Any
) -> None:
    client = client_for(lead)
    created = many(objective, owner, quarter, 5)
    for r in created[:3]:
        record(r, lead, owner, lead)
    few = count_queries(client, LIST, {"quarter": quarter.pk})
    for r in many(ObjectiveFactory(quarter=quarter, team=objective.team), owner, quarter, 45):
        if r.pk % 2:
            record(r, lead, owner, lead)
    assert count_queries(client, LIST, {"quarter": quarter.pk}) == few
    # A filtered page and a later page cost the same too.
    assert count_queries(client, LIST, {"quarter": quarter.pk, "page": 2}) == few
    assert count_queries(client, LIST, {"quarter": quarter.pk, "state": "awaiting"}) == few


def test_the_csv_has_the_filtered_rows_and_no_formula_runs(
    client_for: Any, lead: Any, owner: Any, key_result: Any, quarter: Any
) -> None:
    formula = '=HYPERLINK("https://x.example")'
    evil = KeyResultFactory(objective=key_result.objective, owner=owner, title=formula)
    record(open_response(evil, quarter), lead, owner, lead)
    open_response(key_result, quarter)

    answer = client_for(lead).get(
        LIST, {"quarter": quarter.pk, "state": "in_progress", "format": "csv"}
    )

    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(answer.content.decode())))
    assert lines[0] == CSV_HEADER
    rows = [dict(zip(CSV_HEADER, line, strict=True)) for line in lines[1:]]
    assert len(rows) == 1
    assert rows[0]["key result"] == "'" + formula
    assert rows[0]["state"] == "In progress"
    assert rows[0]["cause"] == "Capacity"
    assert rows[0]["next step owner"] == "Olga Owner"
    assert rows[0]["next step due"] == STEP_DUE.isoformat()


def test_the_dashboard_tabs_link_to_the_responses(client_for: Any, lead: Any, quarter: Any) -> None:
    html = client_for(lead).get(reverse("reviews:people")).content.decode()
    assert f'href="{LIST}?quarter={quarter.pk}"' in html


# --- one response --------------------------------------------------------------------------------


def test_the_page_shows_the_four_parts_and_the_form_to_those_who_may_record(
    client_for: Any, lead: Any, owner: Any, outsider: Any, key_result: Any, quarter: Any
) -> None:
    response = open_response(key_result, quarter)
    url = response.get_absolute_url()
    assert url == f"/reviews/responses/{response.pk}/"

    for person in (owner, lead):
        answer = client_for(person).get(url)
        html = answer.content.decode()
        assert answer.context["form"] is not None
        for part in ("1. Committed", "2. The conversation", "3. The gap", "4. The next step"):
            assert part in html
        assert response.committed in html
        assert response.delivered in html
        # The pickers name each person's team.
        assert "Lena Lead (Growth)" in html
    answer = client_for(outsider).get(url)
    assert answer.status_code == 200
    assert answer.context["form"] is None
    assert "Record</button>" not in answer.content.decode()


def test_recording_through_the_form(
    client_for: Any, lead: Any, owner: Any, key_result: Any, quarter: Any
) -> None:
    response = open_response(key_result, quarter)
    answer = client_for(lead).post(
        response.get_absolute_url(),
        {
            "conversation_on": TALKED_ON.isoformat(),
            "participants": [owner.pk, lead.pk],
            "cause": cause().pk,
            "gap": "We said yes to the outage work and not to this.",
            "next_step_what": "Re-plan with Platform",
            "next_step_owner": owner.pk,
            "next_step_due": STEP_DUE.isoformat(),
        },
    )
    assert answer.status_code == 302
    response.refresh_from_db()
    assert response.recorded_at is not None
    assert response.next_step.what == "Re-plan with Platform"
    html = client_for(lead).get(response.get_absolute_url()).content.decode()
    assert "Re-plan with Platform" in html
    assert f"{TALKED_ON:%A} {TALKED_ON.day} {TALKED_ON:%B %Y}" in html


def test_a_refusal_is_shown_on_its_field_with_the_input_kept(
    client_for: Any, lead: Any, owner: Any, teammate: Any, key_result: Any, quarter: Any
) -> None:
    response = open_response(key_result, quarter)
    answer = client_for(owner).post(
        response.get_absolute_url(),
        {
            "conversation_on": TALKED_ON.isoformat(),
            "participants": [owner.pk, teammate.pk],  # no lead, no manager
            "cause": cause().pk,
            "gap": "Typed with care",
            "next_step_what": "Something concrete",
            "next_step_owner": owner.pk,
            "next_step_due": STEP_DUE.isoformat(),
        },
    )
    assert answer.status_code == 400
    form = answer.context["form"]
    assert "participants" in form.errors
    html = answer.content.decode()
    assert "Typed with care" in html
    assert "Something concrete" in html
    response.refresh_from_db()
    assert response.recorded_at is None


def test_a_malformed_form_is_a_400(
    client_for: Any, lead: Any, key_result: Any, quarter: Any
) -> None:
    response = open_response(key_result, quarter)
    answer = client_for(lead).post(
        response.get_absolute_url(),
        {"conversation_on": "yesterday", "participants": ["x"], "next_step_due": "9" * 30},
    )
    assert answer.status_code == 400
    assert {"conversation_on", "participants", "cause", "next_step_due"} <= set(
        answer.context["form"].errors
    )


def test_someone_without_the_right_cannot_record(
    client_for: Any, lead: Any, owner: Any, outsider: Any, key_result: Any, quarter: Any
) -> None:
    response = open_response(key_result, quarter)
    answer = client_for(outsider).post(
        response.get_absolute_url(),
        {
            "conversation_on": TALKED_ON.isoformat(),
            "participants": [owner.pk, lead.pk],
            "cause": cause().pk,
            "gap": "x",
            "next_step_what": "y",
            "next_step_owner": owner.pk,
            "next_step_due": STEP_DUE.isoformat(),
        },
    )
    assert answer.status_code == 403


def test_the_next_step_is_marked_done_where_allowed(
    client_for: Any, lead: Any, owner: Any, teammate: Any, key_result: Any, quarter: Any
) -> None:
    response = record(open_response(key_result, quarter), lead, owner, lead)
    url = response.get_absolute_url()
    done_url = reverse("reviews:response_step_done", args=[response.pk])
    assert "Mark next step done" not in client_for(teammate).get(url).content.decode()
    assert client_for(teammate).post(done_url).status_code == 403

    assert "Mark next step done" in client_for(owner).get(url).content.decode()
    assert client_for(owner).post(done_url).status_code == 302
    response.refresh_from_db()
    assert response.next_step.done_at is not None
    answer = client_for(owner).get(url)
    html = answer.content.decode()
    assert "Mark next step done" not in html
    assert answer.context["form"] is None
    assert "Done" in html


def test_an_unknown_response_is_a_404(client_for: Any, lead: Any) -> None:
    assert client_for(lead).get("/reviews/responses/99999999999999999999/").status_code == 404
    assert client_for(lead).get("/reviews/responses/424242/").status_code == 404


def test_the_detail_page_costs_the_same_queries_with_more_participants(
    client_for: Any, lead: Any, owner: Any, manager: Any, key_result: Any, quarter: Any
) -> None:
    first = open_response(key_result, quarter)
    assert first.holder == manager
    responses.response_record(
        user=manager,
        response=first,
        conversation_on=TALKED_ON,
        participants=[owner, manager],
        cause=cause(),
        gap="x",
        next_step_what="y",
        next_step_owner=owner,
        next_step_due=STEP_DUE,
    )
    second = open_response(
        KeyResultFactory(objective=key_result.objective, owner=owner, title="Other"), quarter
    )
    responses.response_record(
        user=manager,
        response=second,
        conversation_on=TALKED_ON,
        participants=[owner, manager, lead],
        cause=cause(),
        gap="x",
        next_step_what="y",
        next_step_owner=owner,
        next_step_due=STEP_DUE,
    )
    client = client_for(owner)
    assert count_queries(client, first.get_absolute_url()) == count_queries(
        client, second.get_absolute_url()
    )


# --- panels on the key-result and dependency pages -----------------------------------------------


def test_the_key_result_page_shows_its_responses_in_fixed_queries(
    client_for: Any, lead: Any, owner: Any, key_result: Any, quarter: Any
) -> None:
    client = client_for(lead)
    url = key_result.get_absolute_url()
    assert 'id="responses"' not in client.get(url).content.decode()
    response = record(open_response(key_result, quarter), lead, owner, lead)
    one = count_queries(client, url)
    html = client.get(url).content.decode()
    assert 'id="responses"' in html
    assert response.get_absolute_url() in html
    assert "Re-plan the funnel work" in html
    open_response(key_result, quarter, kind=MissResponse.Kind.CHECKINS_MISSED)
    assert count_queries(client, url) == one


def test_the_dependency_page_shows_its_response(
    client_for: Any,
    lead: Any,
    owner: Any,
    provider: Any,
    platform: Any,
    key_result: Any,
    quarter: Any,
) -> None:
    dep = dependency_services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing export API",
        due_date=PROMISED_BY,
    )
    client = client_for(owner)
    assert 'id="responses"' not in client.get(dep.get_absolute_url()).content.decode()
    response = open_response(
        key_result, quarter, kind=MissResponse.Kind.DEPENDENCY_BROKEN, dependency=dep
    )
    html = client.get(dep.get_absolute_url()).content.decode()
    assert 'id="responses"' in html
    assert response.get_absolute_url() in html
    assert "Billing export API" in response.committed
    assert response.accountable == provider


def test_a_key_result_page_with_no_progress_data_still_renders(
    client_for: Any, lead: Any, owner: Any, objective: Any, quarter: Any
) -> None:
    kr = KeyResultFactory(
        objective=objective,
        owner=owner,
        start_value=Decimal(0),
        target_value=Decimal(100),
        current_value=Decimal(0),
    )
    open_response(kr, quarter)
    assert client_for(lead).get(kr.get_absolute_url()).status_code == 200


def test_the_listed_state_is_the_services_state_in_every_state(
    client_for: Any, lead: Any, owner: Any, objective: Any, quarter: Any
) -> None:
    """The list filters by a state computed in SQL; it names each response as
    reviews.responses.response_state does: awaiting, overdue, in progress, done, and a next
    step past its due date makes a recorded response overdue again."""
    awaiting, late, going, finished, slipped = many(objective, owner, quarter, 5)
    for r in (going, finished, slipped):
        record(r, lead, owner, lead)
    responses.next_step_done(user=owner, response=finished)
    MissResponse.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    # A next step that was due yesterday (written directly: the service refuses a past date).
    slipped.next_step.due = TEST_TODAY - timedelta(days=1)
    slipped.next_step.save()

    rows = client_for(lead).get(LIST, {"quarter": quarter.pk}).context["rows"]
    listed = {r.pk: r.state for r in rows}
    expected = {
        awaiting.pk: "awaiting",
        late.pk: "overdue",
        going.pk: "in_progress",
        finished.pk: "done",
        slipped.pk: "overdue",
    }
    assert listed == expected
    for response in MissResponse.objects.filter(pk__in=expected).select_related(
        "next_step__owner__profile"
    ):
        assert responses.response_state(response) == expected[response.pk]


def test_the_dependency_page_costs_the_same_queries_with_more_responses(
    client_for: Any, owner: Any, provider: Any, platform: Any, key_result: Any, quarter: Any
) -> None:
    dep = dependency_services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing export API",
        due_date=PROMISED_BY,
    )
    client = client_for(owner)
    open_response(key_result, quarter, kind=MissResponse.Kind.DEPENDENCY_BROKEN, dependency=dep)
    one = count_queries(client, dep.get_absolute_url())
    open_response(
        key_result, quarter, kind=MissResponse.Kind.DEPENDENCY_UNDELIVERED, dependency=dep
    )
    assert count_queries(client, dep.get_absolute_url()) == one
