"""Under the Content-Security-Policy the browser refuses nothing the app needs: the behaviours
that were inline handlers (a department's toggle, the reply in a check-in's thread,
pick a quarter or a team) work from static/js/okrly.js, and the API docs and admin render."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from okrly.management.commands.seed_demo import DEMO_PASSWORD
from okrly.models import Team
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def refused(page: Page) -> list[str]:
    """What the browser reports refusing under the policy (Chromium says so in the console)."""
    messages: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            messages.append(message.text)

    page.on("console", record)
    return messages


def test_the_leaders_pages_work_under_the_policy(
    page: Page, traffic: Any, refused: list[str]
) -> None:
    sign_in(page, "maya")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Accountability dashboard")).to_be_visible()
    page.wait_for_load_state()  # htmx starts on load; the expand button needs it

    # A department's toggle shows its teams (loaded once), says so, keeps focus, and hides
    # them again.
    engineering = page.locator(
        "tbody", has=page.get_by_role("link", name="Engineering", exact=True)
    )
    expand = engineering.get_by_role("button", name="Teams of Engineering")
    expect(expand).to_have_attribute("aria-expanded", "false")
    expand.click()
    platform_row = engineering.locator("tr.depth-1", has_text="Platform")
    expect(platform_row).to_be_visible()
    expect(expand).to_have_attribute("aria-expanded", "true")
    expect(expand).to_be_focused()
    expect(page.locator("#announcer")).to_have_text("Teams shown.")
    expand.click()
    expect(platform_row).to_be_hidden()
    expect(expand).to_have_attribute("aria-expanded", "false")
    expand.click()
    expect(platform_row).to_be_visible()
    expect(engineering.locator("tr.depth-1", has_text="Platform")).to_have_count(1)

    # Choosing a quarter loads it: no button to press.
    picker = page.get_by_label("Quarter")
    current = picker.input_value()
    chosen = picker.locator("option").last.get_attribute("value")
    picker.select_option(chosen)
    expect(page).to_have_url(re.compile(rf"\?quarter={chosen}$"))
    # The URL changes before the new page's script has bound the picker: wait for the page to
    # load, or the next choice changes the select and submits nothing.
    page.wait_for_load_state("load")
    # Back to the current quarter (the demo's last option is its closed previous quarter).
    page.get_by_label("Quarter").select_option(current)
    expect(page).to_have_url(re.compile(rf"\?quarter={current}$"))
    page.wait_for_load_state("load")

    # A team's name filters "Who owes what" (typed: a list of every team would grow with
    # the organisation).
    page.get_by_role("link", name="Who owes what").click()
    page.wait_for_load_state("load")
    platform = Team.objects.get(name="Platform")
    page.get_by_label("Team").fill(platform.name)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"team_name=Platform"))
    expect(page.get_by_label("Team")).to_have_value(platform.name)

    # A reply is listed in the thread, and its field is emptied for the next one.
    page.get_by_role("link", name="Risk feed").click()
    page.wait_for_load_state()  # htmx starts on load; the reply needs it
    offered = page.locator(".feed-checkin", has=page.get_by_role("button", name="Seen")).first
    # Pinned by its thread: a leader's reply answers it, and Seen (what found it) goes.
    first = page.locator(f".feed-checkin:has(#{offered.locator('.thread').get_attribute('id')})")
    first.get_by_label("Reply on week").fill("Seen; let's talk on Thursday")
    first.get_by_role("button", name="Reply", exact=True).click()
    expect(first.locator(".thread-entry").last).to_contain_text("Seen; let's talk on Thursday")
    expect(first.get_by_label("Reply on week")).to_have_value("")

    assert not refused
    assert not traffic.external()

    # The API docs render their own title from the schema. Redoc's "powered by" logo is the
    # one thing refused there: it comes from Redocly's CDN, and the app loads nothing from one.
    page.goto("/api/docs/")
    # Redoc parses the whole schema in the browser first: seconds on a busy machine.
    expect(page.get_by_role("heading", name=re.compile("OKRly API"))).to_be_visible(timeout=30_000)
    assert all(REDOC_LOGO in text for text in refused)
    # Chromium may report the refused request as attempted; it never reaches the network.
    assert set(traffic.external()) <= {REDOC_LOGO}
    assert not traffic.failures


def test_the_admin_works_under_the_policy(page: Page, traffic: Any, refused: list[str]) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/okrly/team/add/")
    expect(page.get_by_role("heading", name="Add team")).to_be_visible()
    assert not [text for text in refused if "script-src" in text]
    assert not traffic.failures
