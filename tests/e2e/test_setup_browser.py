"""Issue 16: an administrator sets up teams on /setup/ (a lead picked by typing part of a
name), the next quarter waits for the current one's review, and a person's time zone is
suggested from the browser's."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from okrly.models import Membership, Quarter, Team
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_an_admin_builds_a_team_under_a_department_and_names_its_lead(
    page: Page, traffic: Any
) -> None:
    sign_in(page, "admin")
    page.get_by_role("link", name="Set-up").click()
    page.get_by_role("navigation", name="Set-up steps").get_by_role(
        "link", name="Teams", exact=True
    ).click()
    page.get_by_label("Name").fill("Partnerships")
    page.get_by_label("Part of").select_option(label="Product")
    page.get_by_role("button", name="Add team").click()
    expect(page.get_by_role("status").first).to_contain_text("Partnerships is added.")
    page.locator(".team-tree").get_by_role("link", name="Partnerships").click()
    expect(page.get_by_role("heading", name="Partnerships", level=1)).to_be_visible()

    # The picker's options say "Name (Team)"; typing the e-mail's start is enough to pick.
    priya = User.objects.get(username="priya")
    teams = ", ".join(
        Membership.objects.filter(user=priya)
        .order_by("team__name")
        .values_list("team__name", flat=True)
    )
    option = page.locator(f'#people-options option[value="{priya.email}"]')
    expect(option).to_have_text(f"{priya.get_full_name()} ({teams})")
    page.get_by_label("Person").fill(priya.email)
    page.get_by_label("Role").select_option("lead")
    page.get_by_role("button", name="Add to Partnerships").click()
    expect(page.get_by_role("status").first).to_contain_text("is in.")
    team = Team.objects.get(name="Partnerships")
    assert team.lead == priya
    assert team.parent is not None
    assert team.parent.name == "Product"

    page.get_by_role("main").get_by_role("link", name="Teams", exact=True).click()
    tree = page.locator(".team-tree")
    expect(tree.locator("li.depth-1", has_text="Partnerships")).to_contain_text("led by")
    assert not traffic.external()


def test_the_next_quarter_waits_for_the_current_ones_review(page: Page) -> None:
    current = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    sign_in(page, "admin")
    page.goto("/setup/")
    page.get_by_role("button", name="Create quarter").click()  # prefilled: the next one
    upcoming = Quarter.objects.get(status=Quarter.Status.PLANNING)
    page.get_by_role("button", name=f"Activate {upcoming.name}").click()
    expect(page.get_by_role("heading", name=f"{current.name} is still active")).to_be_visible()
    page.get_by_role(
        "button", name=f"Start {current.name}'s review and activate {upcoming.name}"
    ).click()
    expect(page.get_by_role("status").first).to_contain_text(f"{upcoming.name} is the active")
    current.refresh_from_db()
    assert current.status == Quarter.Status.REVIEWING


def test_the_browsers_zone_is_suggested(browser: Browser, live_server: Any) -> None:
    context = browser.new_context(base_url=live_server.url, timezone_id="Asia/Kathmandu")
    page = context.new_page()
    try:
        sign_in(page, "ana")
        page.goto("/profile/")
        suggest = page.get_by_role("button", name="Use Asia/Kathmandu (this browser's zone)")
        suggest.click()
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Kathmandu")
        expect(page.get_by_label("Time zone")).to_be_focused()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status").first).to_contain_text("Your profile is saved.")
        # Now the browser's zone is the saved one: nothing left to suggest.
        expect(
            page.get_by_role("button", name="Use Asia/Kathmandu (this browser's zone)")
        ).to_have_count(0)
    finally:
        context.close()
