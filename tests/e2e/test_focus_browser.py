"""Issue 15: after every htmx swap, focus lands in the updated region (its first invalid
field, its confirmation, or its heading) and a short message is read out by the page's live
region: one mechanism (static/js/okrly.js) for every partial. Driven with the keyboard."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from checkins.models import CheckIn
from checkins.services import checkin_submit
from objectives.models import KeyResult
from okrly.models import Quarter
from tests.e2e.journeys import sign_in
from tests.factories import KeyResultFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

ACTIVATION = "Raise activation within 7 days"


def announced(page: Page) -> Any:
    return expect(page.locator("#announcer"))


def press_on(page: Page, locator: Any) -> None:
    """Reach a control and press it from the keyboard."""
    locator.focus()
    page.keyboard.press("Enter")


def test_the_check_in_card_puts_focus_on_the_first_error_then_on_saved(page: Page) -> None:
    kr = KeyResult.objects.get(title=ACTIVATION)
    CheckIn.objects.filter(key_result=kr).exclude(week__lt=_week(kr)).delete()
    sign_in(page, "ana")
    page.wait_for_load_state()  # htmx starts on load
    card = page.locator(f"#checkin-{kr.pk}")
    card.get_by_label("Confidence (0–10)").fill("")
    card.get_by_label("What is the biggest risk?").fill("")
    press_on(page, card.get_by_role("button", name=re.compile(r"^Submit week \d+ check-in")))
    # The first question unanswered: focus on its first choice, the problems read out.
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    expect(focused).to_have_attribute("name", f"kr{kr.pk}-status")
    announced(page).to_contain_text("problems to fix")

    page.keyboard.press("ArrowDown")  # a radio group: arrows choose
    card.get_by_label("Confidence (0–10)").fill("6")
    card.get_by_label("What is the biggest risk?").fill("Spam filters")
    press_on(page, card.get_by_role("button", name=re.compile(r"^Submit week \d+ check-in")))
    expect(page.locator(":focus")).to_contain_text("Saved.")
    announced(page).to_contain_text("Saved.")


def test_a_missed_week_opens_with_focus_on_its_card_heading(
    page: Page, settings: Any, request: pytest.FixtureRequest
) -> None:
    settings.CHECKIN_LATE_DAYS = 13  # whatever the pinned day, last week is still open
    kr = KeyResult.objects.get(title=ACTIVATION)
    if _week(kr) < 2:
        # The quarter's first day (one of CI's pinned days): a week later, week 1 is behind.
        request.getfixturevalue("_pinned_clock").shift(timedelta(days=7))
    week = _week(kr)
    CheckIn.objects.filter(key_result=kr, week=week - 1).delete()
    # The demo creates its key results today; this one has been owed since the quarter began.
    quarter = kr.objective.quarter
    KeyResult.objects.filter(pk=kr.pk).update(created_at=quarter.checkin_moment(1, "UTC"))
    sign_in(page, "ana")
    page.wait_for_load_state()
    card = page.locator(f"#checkin-{kr.pk}")
    press_on(page, card.get_by_role("link", name=f"Check in week {week - 1} late"))
    expect(
        card.get_by_role("button", name=f"Submit week {week - 1} check-in (late)")
    ).to_be_visible()
    expect(page.locator(":focus")).to_have_text(ACTIVATION)
    announced(page).to_contain_text("updated")


def test_accepting_on_my_week_puts_focus_on_the_answer(page: Page) -> None:
    ana = get_user_model().objects.get(username="ana")
    objective = KeyResult.objects.get(title=ACTIVATION).objective
    kr = KeyResultFactory(objective=objective, owner=ana, title="Cut time to first value")
    sign_in(page, "ana")
    page.wait_for_load_state()
    panel = page.locator(f"#accept-{kr.pk}")
    press_on(page, panel.get_by_role("button", name="Accept ownership"))
    expect(page.locator(":focus")).to_contain_text("Accepted: you are the owner.")
    announced(page).to_contain_text("Accepted: you are the owner.")


def test_a_reply_in_a_thread_keeps_focus_in_the_thread(page: Page) -> None:
    kr = KeyResult.objects.get(title=ACTIVATION)
    check_in = CheckIn.objects.filter(key_result=kr).order_by("-week").first()
    if check_in is None:  # the quarter's first day: nothing checked in yet
        check_in = checkin_submit(
            user=kr.owner, key_result=kr, status="at_risk", confidence=5, biggest_risk="X", value=40
        )
    sign_in(page, "maya")
    page.goto(kr.get_absolute_url())
    page.wait_for_load_state()
    thread = page.locator(f"#thread-{check_in.pk}")
    thread.get_by_label(f"Reply on week {check_in.week}").fill("Let's look at it on Thursday")
    page.keyboard.press("Enter")  # submits its form
    expect(thread.locator(".thread-entry")).to_contain_text(["Let's look at it on Thursday"])
    expect(page.locator(":focus")).to_have_attribute("id", f"thread-{check_in.pk}")
    announced(page).to_have_text("Thread updated.")


def test_a_nudge_puts_focus_on_what_was_sent(page: Page) -> None:
    sign_in(page, "maya")
    page.goto("/dashboard/people/")
    page.wait_for_load_state()
    button = page.get_by_role("button", name=re.compile(r"^Nudge ")).first
    nudge_id = button.get_attribute("id")
    press_on(page, button)
    expect(page.locator(":focus")).to_have_attribute("id", nudge_id or "")
    expect(page.locator(":focus")).to_contain_text("Nudged today by you")
    announced(page).to_contain_text("Nudged today by you")


def _week(kr: KeyResult) -> int:
    quarter: Quarter = kr.objective.quarter
    week = quarter.current_week(kr.owner)
    assert week is not None
    return week
