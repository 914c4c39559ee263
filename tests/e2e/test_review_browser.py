"""A leader runs a whole quarterly review with the keyboard only (issue 13): Lea grades her own
key result on My week, opens the quarter's review, adds a contributing factor linked to that
key result, adds a structural decision (owner chosen by typing her name), and closes the
review, which closes the quarter. Every form is reached with Tab and sent with Enter.

The quarter is the demo quarter that holds TEST_TODAY (tests/conftest.py); it starts
reviewing through the lifecycle service, as leadership would on the start-review page."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from okrly.models import Quarter
from reviews import lifecycle
from reviews.models import ContributingFactor, Grade, Review, StructuralDecision
from tests.factories import PASSWORD, KeyResultFactory, QuarterFactory

pytestmark = [pytest.mark.e2e]

FACTOR = "Platform heard about the work in week 6"
DECISION = "Dependency requests are made in week 0 with a named person"


def tab_to(page: Page, is_there: str, *, presses: int = 200) -> None:
    """Press Tab until the focused element matches ``is_there`` (a JavaScript expression over
    ``el``, the active element); fail if it never does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => Boolean({is_there}))(document.activeElement)"):
            return
    pytest.fail(f"Tab never reached an element where {is_there}")


def button(text: str) -> str:
    return f"el.tagName === 'BUTTON' && el.textContent.trim() === {text!r}"


def test_a_leader_runs_a_whole_review_with_the_keyboard(
    transactional_db: None,
    page: Page,
    traffic: Any,
    leader: Any,
    quarter: Any,
    objective: Any,
) -> None:
    QuarterFactory(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    kr = KeyResultFactory(objective=objective, owner=leader, title="Raise trial conversion")
    lifecycle.quarter_start_reviewing(user=leader, quarter=quarter)
    assert Grade.objects.filter(key_result=kr, graded_at__isnull=True).exists()

    page.goto("/accounts/login/")
    page.get_by_label("Username").focus()
    page.keyboard.type("lea")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()

    # 1. Grade, on My week.
    tab_to(page, f"el.id === 'id_grade-{kr.pk}-final_value'")
    page.keyboard.type("80")
    page.keyboard.press("Tab")
    page.keyboard.type("We shipped the new trial flow late.")
    page.keyboard.press("Tab")
    page.keyboard.type("Ask Platform in week 0.")
    tab_to(page, button("Grade it"), presses=5)
    page.keyboard.press("Enter")
    expect(page.locator(f"#grade-{kr.pk}")).to_contain_text("Graded")
    grade = Grade.objects.get(key_result=kr)
    assert grade.graded_at is not None

    # 2. The review page (typed into the address bar).
    page.goto(f"/reviews/review/?quarter={quarter.pk}")
    expect(page.get_by_role("heading", name="2026 Q4 review: organisation")).to_be_visible()
    review = Review.objects.get(quarter=quarter, team=None)

    # 3. A contributing factor linked to the key result.
    tab_to(page, "el.id === 'id_factor-text'")
    page.keyboard.type(FACTOR)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Evidence: a key result").first).to_be_focused()
    page.keyboard.type("Raise trial")  # a closed select jumps to the option typed
    tab_to(page, button("Add factor"), presses=6)
    page.keyboard.press("Enter")
    expect(page.locator("#factors")).to_contain_text(FACTOR)
    assert ContributingFactor.objects.get(review=review).key_result_id == kr.pk

    # 4. A structural decision; takes effect next quarter, followed up six weeks in (defaults).
    tab_to(page, "el.id === 'id_decision-what_changes'")
    page.keyboard.type(DECISION)
    page.keyboard.press("Tab")
    page.keyboard.type("Three of our dependencies were asked for in week 6.")
    page.keyboard.press("Tab")
    expect(page.locator("#id_decision-key_result")).to_be_focused()
    page.keyboard.type("Raise trial")
    tab_to(page, "el.id === 'id_decision-owner'", presses=5)
    page.keyboard.type("Lea")
    expect(page.locator("#id_decision-owner")).to_have_value(str(leader.pk))
    tab_to(page, "el.id === 'id_decision-success_check'", presses=4)
    page.keyboard.type("No dependency requested after week 2.")
    tab_to(page, button("Add decision"), presses=12)
    page.keyboard.press("Enter")
    expect(page.locator("#decisions")).to_contain_text(DECISION)
    decision = StructuralDecision.objects.get(review=review)
    assert (decision.owner_id, decision.takes_effect.name) == (leader.pk, "2027 Q1")

    # Printed, the page keeps the review and drops navigation and forms (print CSS).
    page.emulate_media(media="print")
    expect(page.locator("#decision-form")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#decisions")).to_contain_text(DECISION)
    page.emulate_media(media="screen")
    expect(page.locator("#decision-form")).to_be_visible()

    # 5. Close the review, and with it the quarter.
    tab_to(page, button("Close the review and the quarter"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Closed", exact=False).first).to_be_visible()
    review.refresh_from_db()
    quarter.refresh_from_db()
    assert review.status == Review.Status.CLOSED
    assert quarter.status == Quarter.Status.CLOSED
    expect(page.locator("#decision-form")).to_have_count(0)
    page.screenshot(path="/tmp/okrly-review.png", full_page=True)
    assert traffic.external() == []
