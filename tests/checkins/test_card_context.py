"""Issue 15: the check-in card gives its writer context (start → target, the pace expected
by this week, last week's answers, the confidence trend, a live forecast), offers a missed
week late, shows the Accept/Decline panel first, and the timeline shows missed weeks."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from checkins import services
from checkins.models import CheckIn
from objectives.models import expected_percent, expected_value, pace_gap
from ownership import services as ownership_services
from tests.factories import KeyResultFactory, during_week

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
# Saturday 14 November 2026, week 7 of 2026 Q4 (weeks start on Thursdays from 1 October).
# Week 6 was prompted on Monday 9 November 09:00 UTC: late until Sunday 15 November 09:00.
SATURDAY_WEEK_7 = "2026-11-14 10:00:00+00:00"


def answers(key_result: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": "at_risk",
        "confidence": "6",
        "biggest_risk": "Pricing page redesign slips",
        "need": "",
        "need_person": "",
        "need_dependency": "",
        "value": "18",
    }
    data.update(overrides)
    return {f"kr{key_result.pk}-{name}": value for name, value in data.items()}


def submit(owner: Any, key_result: Any, week: int, **overrides: Any) -> CheckIn:
    """``week``'s check-in, submitted during that week."""
    kwargs: dict[str, Any] = {
        "status": "on_track",
        "confidence": 7,
        "biggest_risk": f"Risk said in week {week}",
        "value": str(10 + week),
    }
    kwargs.update(overrides)
    with during_week(key_result.objective.quarter, week):
        return services.checkin_submit(user=owner, key_result=key_result, week=week, **kwargs)


@pytest.fixture
def early_kr(objective: Any, owner: Any) -> Any:
    """Raise trial conversion from 10 % to 30 %, created in week 1 (owed every week since),
    its ownership accepted."""
    with during_week(objective.quarter, 1):
        kr = KeyResultFactory(
            objective=objective,
            owner=owner,
            title="Raise trial conversion",
            start_value=Decimal(10),
            target_value=Decimal(30),
            current_value=Decimal(10),
        )
        ownership_services.ownership_accept(key_result=kr, user=owner)
    return kr


def card_of(html: str, kr: Any) -> str:
    start = html.index(f'id="checkin-{kr.pk}"')
    return html[start : html.index("</article>", start)]


# --- pace --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target", "week", "expected"),
    [
        ("10", "30", 7, "20.77"),  # increasing: 7/13 of the way up
        ("8", "4", 7, "5.85"),  # decreasing: 7/13 of the way down
        ("10", "30", 0, "10.00"),
        ("10", "30", 13, "30.00"),
        ("10", "30", 20, "30.00"),  # past the quarter: the target, no further
    ],
)
def test_linear_pace_expects_the_same_share_of_the_way_either_direction(
    start: str, target: str, week: int, expected: str
) -> None:
    assert expected_value(Decimal(start), Decimal(target), week, 13) == Decimal(expected)


def test_pace_gap_is_progress_against_the_share_of_the_quarter_gone() -> None:
    assert expected_percent(7, 13) == 54
    assert pace_gap(40, 7, 13) == -14  # behind
    assert pace_gap(60, 7, 13) == 6  # ahead


# --- the card's context ------------------------------------------------------------------------


def test_the_card_shows_start_target_unit_and_the_value_expected_this_week(
    frozen_now: Any, client_for: Any, owner: Any, early_kr: Any
) -> None:
    early_kr.unit = "%"
    early_kr.save()
    card = card_of(client_for(owner).get("/").content.decode(), early_kr)
    # Week 7 of 14 (2026 Q4 runs 1 October to 31 December): half of 10 → 30.
    assert "From <strong>10 %</strong> to <strong>30 %</strong> by week 14" in card
    assert "expected by week 7: <strong>20 %</strong>" in card


def test_the_card_shows_last_weeks_three_answers_and_the_confidence_trend(
    frozen_now: Any, client_for: Any, owner: Any, early_kr: Any, provider: Any
) -> None:
    submit(owner, early_kr, 3, confidence=8)
    submit(owner, early_kr, 4, confidence=6)
    # Week 5 missed.
    submit(
        owner,
        early_kr,
        6,
        status="at_risk",
        confidence=4,
        biggest_risk="Checkout vendor slips",
        need="A decision on pricing",
        need_person=provider,
    )
    card = card_of(client_for(owner).get("/").content.decode(), early_kr)
    last = card[card.index('class="last-answers"') :]
    assert "Last week (week 6)" in last
    assert "At risk · 4/10" in last
    assert "Checkout vendor slips" in last
    assert "A decision on pricing" in last
    trend = card[card.index('class="confidence-trend"') :]
    items = re.findall(r"<li[^>]*>(.*?)</li>", trend[: trend.index("</ol>")])
    assert [re.sub("<[^>]+>", "", i) for i in items] == [
        "week 3: 8",
        "week 4: 6",
        "week 5: missed",
        "week 6: 4",
    ]


def test_the_risk_field_is_marked_required_before_any_submit(
    frozen_now: Any, client_for: Any, owner: Any, early_kr: Any
) -> None:
    card = card_of(client_for(owner).get("/").content.decode(), early_kr)
    risk = re.search(r"<textarea[^>]*name=\"kr\d+-biggest_risk\"[^>]*>", card)
    assert risk is not None
    assert "required" in risk.group(0)
    assert 'aria-required="true"' in risk.group(0)
    assert "What is the biggest risk? (required)" in card


def test_the_forecast_preview_agrees_with_the_forecast_the_submit_stores(
    frozen_now: Any, client_for: Any, owner: Any, early_kr: Any
) -> None:
    """The card prints what submitting its value would forecast; submitting it stores the
    same forecast, and "on track" against it shows the warning before any submit."""
    for week, value in ((2, "11"), (4, "12.5"), (6, "13")):
        submit(owner, early_kr, week, value=value)
    client = client_for(owner)
    card = card_of(client.get("/").content.decode(), early_kr)
    preview = re.search(r"At this pace: <strong>([\d.]+) %</strong> by week 14", card)
    assert preview is not None, card
    assert 'data-points="2:11.00,4:12.50,6:13.00"' in card
    response = client.post(
        reverse("checkins:submit", args=[early_kr.pk]),
        answers(early_kr, value="13", status="on_track"),
        **HTMX,
    )
    stored = CheckIn.objects.get(key_result=early_kr, week=7)
    assert stored.forecast_value == Decimal(preview.group(1))
    assert stored.forecast_flag is True  # 10 → 13 in seven weeks ends far short of 30
    edit = response.content.decode()
    warning = re.search(r'<p class="forecast-warning" aria-live="polite"( hidden)?>', edit)
    assert warning is not None
    assert warning.group(1) is None


def test_the_warning_stays_hidden_when_the_owner_already_says_at_risk(
    frozen_now: Any, client_for: Any, owner: Any, early_kr: Any
) -> None:
    submit(owner, early_kr, 2, value="11")
    client = client_for(owner)
    client.post(
        reverse("checkins:submit", args=[early_kr.pk]), answers(early_kr, value="12"), **HTMX
    )
    card = card_of(client.get("/").content.decode(), early_kr)
    assert '<p class="forecast-warning" aria-live="polite" hidden>' in card


# --- late check-ins ----------------------------------------------------------------------------


def test_a_missed_week_is_offered_late_then_saved_marked_late(
    client_for: Any, owner: Any, early_kr: Any
) -> None:
    submit(owner, early_kr, 5)
    client = client_for(owner)
    with time_machine.travel(SATURDAY_WEEK_7, tick=False):
        card = card_of(client.get("/").content.decode(), early_kr)
        late_url = reverse("checkins:week_card", args=[early_kr.pk, 6])
        assert f'href="{late_url}"' in card
        assert "Week 6 has no check-in." in card
        assert "open until Sun 15 Nov, 09:00 UTC" in card
        form = client.get(late_url, **HTMX).content.decode()
        assert '<input type="hidden" name="week" value="6">' in form
        assert "Submit week 6 check-in (late)" in form
        assert "Last week (week 5)" in form  # the context is the late week's
        saved = client.post(
            reverse("checkins:submit", args=[early_kr.pk]),
            {"week": "6", **answers(early_kr)},
            **HTMX,
        ).content.decode()
    assert "Week 6 saved, marked late." in saved
    assert "Week 7 to do" in saved  # back to this week's form
    check_in = CheckIn.objects.get(key_result=early_kr, week=6)
    assert check_in.late is True


def test_a_closed_week_is_not_offered_and_cannot_be_opened(
    client_for: Any, owner: Any, early_kr: Any
) -> None:
    client = client_for(owner)
    with time_machine.travel("2026-11-15 09:01:00+00:00", tick=False):
        card = card_of(client.get("/").content.decode(), early_kr)
        assert "Check in week 6 late" not in card
        late_url = reverse("checkins:week_card", args=[early_kr.pk, 6])
        assert client.get(late_url).status_code == 404
        refused = client.post(
            reverse("checkins:submit", args=[early_kr.pk]),
            {"week": "6", **answers(early_kr)},
            **HTMX,
        ).content.decode()
    assert "Week 6 closed for check-ins on Sun 15 Nov, 09:00 UTC" in refused
    assert not CheckIn.objects.filter(key_result=early_kr, week=6).exists()


def test_a_week_before_the_key_result_existed_is_not_offered(
    client_for: Any, owner: Any, objective: Any
) -> None:
    with time_machine.travel("2026-11-12 12:00:00+00:00", tick=False):  # week 7 begins
        kr = KeyResultFactory(objective=objective, owner=owner)
    with time_machine.travel(SATURDAY_WEEK_7, tick=False):
        card = card_of(client_for(owner).get("/").content.decode(), kr)
    assert "has no check-in" not in card
    assert "Check in week 6 late" not in card


def test_a_bad_week_is_refused_with_a_message(
    frozen_now: Any, client_for: Any, owner: Any, early_kr: Any
) -> None:
    response = client_for(owner).post(
        reverse("checkins:submit", args=[early_kr.pk]), {"week": "x7", **answers(early_kr)}
    )
    assert response.status_code == 400
    assert not CheckIn.objects.exists()


def test_the_timeline_shows_missed_weeks_as_gaps(
    frozen_now: Any, client_for: Any, owner: Any, lead: Any, early_kr: Any
) -> None:
    submit(owner, early_kr, 1)
    submit(owner, early_kr, 2)
    submit(owner, early_kr, 5)
    html = client_for(lead).get(early_kr.get_absolute_url()).content.decode()
    gaps = re.findall(r'<li class="timeline-gap" id="checkin-week-(\d+)">', html)
    assert gaps == ["6", "4", "3"]  # newest first; week 7 (this week) is not missed yet
    assert html.count("<strong>missed</strong>") == 3


# --- accept first ------------------------------------------------------------------------------


def test_an_unaccepted_key_result_shows_accept_and_decline_before_its_form(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any
) -> None:
    card = card_of(client_for(owner).get("/").content.decode(), key_result)
    panel = card.index(f'id="accept-{key_result.pk}"')
    assert panel < card.index('class="checkin-form"')
    assert "Will you own this key result?" in card
    assert reverse("ownership:decline", args=[key_result.pk]) in card


def test_accepting_on_my_week_answers_in_place_and_the_panel_goes(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any
) -> None:
    client = client_for(owner)
    answered = client.post(
        reverse("ownership:accept", args=[key_result.pk]), {"from": "myweek"}, **HTMX
    ).content.decode()
    assert f'id="accept-{key_result.pk}"' in answered
    assert "Accepted: you are the owner." in answered
    card = card_of(client.get("/").content.decode(), key_result)
    assert "Will you own this key result?" not in card


def test_declining_on_my_week_needs_a_reason_and_keeps_the_panel(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any
) -> None:
    client = client_for(owner)
    url = reverse("ownership:decline", args=[key_result.pk])
    refused = client.post(url, {"from": "myweek", "decline-reason": " "}, **HTMX)
    assert refused.status_code == 400
    assert "Say why you decline" in refused.content.decode()
    done = client.post(url, {"from": "myweek", "decline-reason": "Not my area"}, **HTMX)
    assert "Declined: your team lead has been asked" in done.content.decode()


def test_an_owner_is_not_asked_to_nudge_themselves(
    frozen_now: Any, client_for: Any, owner: Any, lead: Any, key_result: Any
) -> None:
    own = client_for(owner).get(key_result.get_absolute_url()).content.decode()
    assert "Ask them to accept" not in own
    assert "Accept ownership" in own
    theirs = client_for(lead).get(key_result.get_absolute_url()).content.decode()
    assert "Ask them to accept" in theirs
