"""Issue 15's journeys, each at 1280 px and on a 390 px phone, in the demo organisation:
a member checks in late for last week with the keyboard; a leader filters the risk feed to
what no leader has answered, answers one with Seen and sees the count drop; a nudge's link
lands on the check-in card it is about."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from checkins.models import CheckIn
from objectives.models import KeyResult
from okrly.models import Notification
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
ACTIVATION = "Raise activation within 7 days"


def sized(page: Page, width: str) -> None:
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})


def this_week(kr: KeyResult) -> int:
    week = kr.objective.quarter.current_week(kr.owner)
    assert week is not None
    return week


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_member_checks_in_late_for_last_week_with_the_keyboard(
    page: Page, width: str, settings: Any, request: pytest.FixtureRequest
) -> None:
    settings.CHECKIN_LATE_DAYS = 13  # whatever the pinned day, last week is still open
    kr = KeyResult.objects.get(title=ACTIVATION)
    if this_week(kr) < 2:  # the quarter's first day: a week on, week 1 is behind
        request.getfixturevalue("_pinned_clock").shift(timedelta(days=7))
    week = this_week(kr)
    CheckIn.objects.filter(key_result=kr, week=week - 1).delete()
    # Owed since the quarter began (the demo creates its key results on seed day).
    KeyResult.objects.filter(pk=kr.pk).update(
        created_at=kr.objective.quarter.checkin_moment(1, "UTC")
    )
    sized(page, width)
    sign_in(page, "ana")
    page.wait_for_load_state()
    card = page.locator(f"#checkin-{kr.pk}")
    late = card.get_by_role("link", name=f"Check in week {week - 1} late")
    late.focus()
    page.keyboard.press("Enter")
    expect(
        card.get_by_role("button", name=f"Submit week {week - 1} check-in (late)")
    ).to_be_visible()
    # The shared focus mechanism moves focus to the card's heading once the swap settles;
    # wait for it, or it lands after the radio below is focused and takes the arrow key
    # (seen in CI: "Answer 'Are you on track?'" because the arrow went to the heading).
    expect(card.get_by_role("heading", name=kr.title)).to_be_focused()
    # From there the keyboard only: arrows to choose, Tab on through the questions.
    card.get_by_label("On track", exact=True).focus()
    page.keyboard.press("ArrowRight")  # "At risk"
    page.keyboard.press("Tab")
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    page.keyboard.type("The Outlook spam filter")
    card.get_by_role("button", name=f"Submit week {week - 1} check-in (late)").focus()
    page.keyboard.press("Enter")
    saved = card.get_by_role("status")
    expect(saved).to_contain_text(f"Week {week - 1} saved, marked late.")
    expect(saved).to_be_in_viewport()
    expect(card.locator(".checkin-state")).to_contain_text(f"Week {week} to do")
    check_in = CheckIn.objects.get(key_result=kr, week=week - 1)
    assert (check_in.late, check_in.status, check_in.confidence) == (True, "at_risk", 5)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_leader_answers_the_unanswered_with_seen_and_the_count_drops(
    page: Page, width: str
) -> None:
    sized(page, width)
    sign_in(page, "maya")
    page.goto("/dashboard/risks/")
    page.wait_for_load_state()
    page.get_by_label("Not yet answered by a leader").check()
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"unanswered=1"))
    badge = page.locator("nav.tabs .badge")
    before = int(badge.inner_text())
    # The same count beside Dashboard in the navigation (behind Menu on a phone).
    nav_count = page.locator("#nav-count-reviews-dashboard .badge")
    expect(nav_count).to_have_text(str(before))
    items = page.locator(".feed-item")
    expect(items.first).to_be_visible()
    offered = items.filter(has=page.get_by_role("button", name="Seen")).first
    # Pinned by its thread: once answered, Seen goes and "offered" would move on.
    thread = offered.locator(".thread").get_attribute("id")
    first = page.locator(f".feed-item:has(#{thread})")
    title = first.locator(".feed-head a").first.inner_text()
    first.get_by_role("button", name="Seen").click()
    expect(first.locator(".thread-seen")).to_contain_text("Seen by Maya")
    # The tab's count reloads itself once the thread has changed, without a page load; the
    # announcement stays the thread's, and focus stays in the thread.
    expect(badge).to_have_text(str(before - 1))
    expect(nav_count).to_have_text(str(before - 1))
    expect(page.locator("#announcer")).to_have_text("Thread updated.")
    assert page.evaluate("document.activeElement.closest('#risk-badge') === null")
    assert page.evaluate("document.activeElement.closest('header') === null")
    page.reload()
    expect(badge).to_have_text(str(before - 1))
    expect(page.locator(".feed-item .feed-head a", has_text=title)).to_have_count(0)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_nudges_link_lands_on_the_check_in_card(page: Page, width: str) -> None:
    kr = KeyResult.objects.get(title=ACTIVATION)
    CheckIn.objects.filter(key_result=kr, week=this_week(kr)).delete()
    sized(page, width)
    sign_in(page, "maya")
    page.goto("/dashboard/people/?team_name=Product")
    page.wait_for_load_state()
    page.get_by_label("Message with a nudge (optional)").fill("Before Thursday's review, please")
    page.get_by_role("button", name="Nudge Ana Silva").click()
    expect(page.locator(".nudged", has_text="Nudged today by you")).to_be_visible()
    note = Notification.objects.get(recipient__username="ana", kind="nudge")
    assert note.subject == "Maya Okafor nudges you: Before Thursday's review, please"
    sign_in(page, "ana")
    page.goto("/inbox/")
    page.get_by_role("link", name=note.subject).click()
    expect(page).to_have_url(re.compile(rf"/#checkin-{kr.pk}$"))
    expect(page.locator(f"#checkin-{kr.pk}")).to_be_in_viewport()
