"""A key result a trade-off dropped (rule 8) asks for no check-in: no prompt, no rung of the
missed-check-in ladder, no form in My week, and the service refuses one. Its history stays.

Olga (Growth, Paris) owns “Raise trial conversion”; Lena, the Growth lead, drops it through
objectives.tradeoffs (tests/displacing.py). Her week 7 prompt is due on Monday 16 November
2026 at 09:00 Paris time, 08:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from checkins import missed, prompts, services
from checkins.models import CheckIn, CheckInPrompt, MissedCheckIn
from okrly.errors import RuleBroken
from okrly.models import Notification, Profile
from tests.displacing import drop
from tests.factories import KeyResultFactory

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-15 12:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def paris_owner(owner: Any, key_result: Any) -> Any:
    Profile.objects.filter(user=owner).update(timezone="Europe/Paris")
    owner.refresh_from_db()
    return owner


def check_in(user: Any, key_result: Any, week: int = 7) -> CheckIn:
    return services.checkin_submit(
        user=user,
        key_result=key_result,
        status="at_risk",
        confidence=5,
        biggest_risk="The pricing page rewrite slips",
        value="18",
        week=week,
    )


def test_an_owner_whose_only_key_result_was_displaced_is_not_prompted(
    travel: Any, paris_owner: Any, key_result: Any, lead: Any
) -> None:
    drop(lead, key_result)
    travel.move_to(DUE)
    assert prompts.checkins_send_prompts().prompts == 0
    assert not CheckInPrompt.objects.exists()
    assert not Notification.objects.filter(kind="checkin_prompt").exists()


def test_an_owner_with_a_key_result_still_in_play_is_prompted(
    travel: Any, paris_owner: Any, key_result: Any, lead: Any
) -> None:
    KeyResultFactory(objective=key_result.objective, owner=paris_owner, title="Cut churn")
    drop(lead, key_result)
    travel.move_to(DUE)
    assert prompts.checkins_send_prompts().prompts == 1


def test_the_ladder_climbs_no_rung_for_a_displaced_key_result(
    travel: Any, paris_owner: Any, key_result: Any, lead: Any, manager: Any, leader: Any
) -> None:
    """Prompted on Monday, dropped two hours later, before the first rung (24 h): the ladder
    finds nothing owed and ends, with no MissedCheckIn row and nobody told."""
    travel.move_to(DUE)
    assert prompts.checkins_send_prompts().prompts == 1
    travel.move_to(DUE + timedelta(hours=2))
    drop(lead, key_result)
    for hours in (24, 48, 96):
        travel.move_to(DUE + timedelta(hours=hours))
        assert missed.checkins_escalate_missed().escalated == 0
    assert not MissedCheckIn.objects.exists()
    assert not Notification.objects.filter(kind__startswith="checkin_missed").exists()
    prompt = CheckInPrompt.objects.get()
    assert prompt.next_escalation_at is None
    assert prompt.completed_at is not None


def test_a_rung_names_only_the_key_results_in_play(
    travel: Any, paris_owner: Any, key_result: Any, lead: Any, manager: Any
) -> None:
    second = KeyResultFactory(objective=key_result.objective, owner=paris_owner, title="Cut churn")
    travel.move_to(DUE)
    prompts.checkins_send_prompts()
    drop(lead, key_result)
    travel.move_to(DUE + timedelta(hours=24))
    assert missed.checkins_escalate_missed().escalated == 1
    reminder = Notification.objects.get(kind="checkin_missed_1")
    assert reminder.body == f"No check-in yet for “{second.title}”. Rung 1 of 3."


def test_checking_in_what_is_still_in_play_stops_the_ladder(
    travel: Any, paris_owner: Any, key_result: Any, lead: Any
) -> None:
    second = KeyResultFactory(objective=key_result.objective, owner=paris_owner, title="Cut churn")
    travel.move_to(DUE)
    prompts.checkins_send_prompts()
    drop(lead, key_result)
    travel.move_to(DUE + timedelta(hours=2))
    check_in(paris_owner, second)  # the displaced one has no week 7 check-in, and needs none
    prompt = CheckInPrompt.objects.get()
    assert (prompt.completed_at, prompt.next_escalation_at) == (DUE + timedelta(hours=2), None)


def test_the_service_refuses_a_check_in_for_a_displaced_key_result(
    frozen_now: Any, owner: Any, key_result: Any, lead: Any
) -> None:
    earlier = check_in(owner, key_result)
    trade_off = drop(lead, key_result)
    with pytest.raises(RuleBroken, match=f"displaced by trade-off #{trade_off.pk}"):
        check_in(owner, key_result)
    # Its history is kept: the earlier check-in is untouched and its page still reads.
    assert list(CheckIn.objects.values_list("pk", "status")) == [(earlier.pk, "at_risk")]


def test_my_week_shows_a_displaced_key_result_without_a_form(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, lead: Any
) -> None:
    second = KeyResultFactory(objective=key_result.objective, owner=owner, title="Cut churn")
    trade_off = drop(lead, key_result)

    html = client_for(owner).get(reverse("home")).content.decode()

    assert f'id="checkin-{key_result.pk}"' in html  # still shown, with why
    assert f"Displaced by trade-off #{trade_off.pk}" in html
    assert f'name="kr{key_result.pk}-biggest_risk"' not in html
    assert reverse("checkins:submit", args=[key_result.pk]) not in html
    assert f'name="kr{second.pk}-biggest_risk"' in html  # the one in play keeps its form
    assert "<strong>0 of 1</strong> check-ins done" in html  # the displaced one is not owed


def test_a_stale_form_for_a_displaced_key_result_is_not_saved(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, lead: Any
) -> None:
    trade_off = drop(lead, key_result)
    client = client_for(owner)
    url = reverse("checkins:submit", args=[key_result.pk])
    data = {
        f"kr{key_result.pk}-{name}": value
        for name, value in {
            "status": "on_track",
            "confidence": "7",
            "biggest_risk": "Nothing new",
            "value": "20",
        }.items()
    }

    plain = client.post(url, data)
    assert plain.status_code == 400
    assert f"Displaced by trade-off #{trade_off.pk}" in plain.content.decode()

    swapped = client.post(url, data, **HTMX)  # htmx swaps the card: no form any more
    assert swapped.status_code == 200
    assert "no check-in is asked for it" in swapped.content.decode()
    assert "<form" not in swapped.content.decode()
    assert not CheckIn.objects.exists()

    page = client.get(key_result.get_absolute_url())  # its page keeps working
    assert page.status_code == 200
    assert f"displaced by trade-off #{trade_off.pk}" in page.content.decode()
