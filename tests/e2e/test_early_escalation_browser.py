"""Early escalation in the browser (issue 12): Ana sees trouble ahead on "Raise activation
within 7 days" and escalates it from My week with the keyboard only — Tab to the card's
Escalate link, Enter, say what she needs, choose Kenji by typing his name, Enter. Kenji signs
in and answers it from "Asked of me"; the escalation's page shows his answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from objectives.models import KeyResult
from reviews.models import EarlyEscalation
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

NEED = "Decide whether Mobile ships the new onboarding screens this quarter"
ANSWER = "Yes: the screens ship in the 3.4 release, week 11."


def tab_to(page: Page, is_there: str, *, presses: int = 150) -> None:
    """Press Tab until the focused element matches the JavaScript test ``is_there`` (an
    expression over ``el``, the active element); fail if it never does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => Boolean({is_there}))(document.activeElement)"):
            return
    pytest.fail(f"Tab never reached an element where {is_there}")


def test_owner_escalates_from_my_week_with_the_keyboard_and_the_named_person_answers(
    page: Page, traffic: Any
) -> None:
    kr = KeyResult.objects.get(title="Raise activation within 7 days")
    sign_in(page, "ana")

    # Click 1: the card's Escalate link, reached and followed with the keyboard.
    tab_to(page, f"el.id === 'escalate-{kr.pk}'")
    expect(page.locator(":focus")).to_have_text("Escalate")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Escalate early")).to_be_visible()
    expect(page.get_by_role("heading", name="The escalation norm")).to_be_visible()

    tab_to(page, "el.id === 'id_need'")
    page.keyboard.type(NEED)
    page.keyboard.press("Tab")
    expect(page.get_by_label("From whom")).to_be_focused()
    page.keyboard.type("Kenji")  # a closed select jumps to the option typed
    kenji = get_user_model().objects.get(username="kenji")
    expect(page.get_by_label("From whom")).to_have_value(str(kenji.pk))
    # The date an answer is needed by defaults to a week from today (Tab walks through its
    # month, day and year); click 2: Escalate.
    tab_to(page, "el.tagName === 'BUTTON' && el.type === 'submit'", presses=8)
    expect(page.locator(":focus")).to_have_text("Escalate")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Early escalation")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Escalated to Kenji Watanabe")
    escalation = EarlyEscalation.objects.get(key_result=kr)
    assert (escalation.need, escalation.asked_of.username) == (NEED, "kenji")

    # Kenji signs in and answers from "Asked of me".
    page.context.clear_cookies()
    sign_in(page, "kenji")
    page.goto("/asked/")
    item = page.locator(".asked-item", has_text=NEED)
    expect(item).to_contain_text("Early escalation")
    item.locator("summary", has_text="Answer").click()
    item.get_by_label("Decided").check()
    item.get_by_label("The decision, or how you are helping").fill(ANSWER)
    item.get_by_role("button", name="Send answer").click()

    expect(page).to_have_url(re.compile(r"/asked/$"))
    expect(page.get_by_role("status")).to_contain_text("Answered; Ana Silva is told.")
    expect(page.locator(".asked-item", has_text=NEED)).to_have_count(0)
    page.goto(escalation.get_absolute_url())
    expect(page.locator("#escalation-status")).to_have_text("Decided")
    expect(page.locator("#escalation-answer")).to_contain_text(ANSWER)
    page.screenshot(path="/tmp/okrly-early-escalation.png", full_page=True)
    assert traffic.failures == []
    assert not traffic.external()
