"""A leader reads the dashboard: headline figures, a department expanded in place, a team,
who owes what with a nudge, and the risk feed with a reply."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from okrly.models import Membership, Notification, Profile
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_leader_reads_the_dashboard_and_acts(page: Page, traffic: Any) -> None:
    sign_in(page, "maya")  # CEO, leadership group
    page.get_by_role("link", name="Dashboard").click()

    expect(page.get_by_role("heading", name="Accountability dashboard")).to_be_visible()
    page.wait_for_load_state()  # htmx starts on load; the expand button needs it
    # With "definitions not shared", misses with a response on time and the surprise rate.
    expect(page.locator(".headline .stat")).to_have_count(9)
    page.evaluate("window.__marker = 1")
    engineering = page.locator(
        "tbody", has=page.get_by_role("link", name="Engineering", exact=True)
    )
    engineering.get_by_role("button", name="Teams of Engineering").click()
    expect(engineering.locator("tr.depth-1", has_text="Platform")).to_be_visible()
    assert page.evaluate("window.__marker") == 1  # expanded in place, no reload
    page.screenshot(path="/tmp/okrly-dashboard.png", full_page=True)

    engineering.locator("tr.depth-1").get_by_role("link", name="Platform").click()
    expect(page.get_by_role("heading", name="Platform")).to_be_visible()
    expect(page.locator(".team-table tbody tr")).to_have_count(2)
    expect(page.locator(".trend-chart")).to_be_visible()
    page.screenshot(path="/tmp/okrly-dashboard-team.png", full_page=True)

    page.get_by_role("link", name="Who owes what").click()
    page.wait_for_load_state()  # htmx starts on load; the nudge needs it
    row = page.locator("tr", has_text="Chloe Dubois")
    row.get_by_role("button", name="Nudge").click()
    expect(row).to_contain_text("Nudged")
    assert Notification.objects.filter(recipient__username="chloe", kind="nudge").count() == 1
    page.screenshot(path="/tmp/okrly-dashboard-people.png", full_page=True)

    page.get_by_role("link", name="Risk feed").click()
    page.wait_for_load_state()  # htmx starts on load; the reply needs it
    # Maya's own check-ins are in the feed too, but nobody marks their own seen.
    own = page.locator(".feed-checkin", has_text="— Maya Okafor,")
    expect(own.get_by_role("button", name="Seen")).to_have_count(0)
    offered = page.locator(".feed-checkin", has=page.get_by_role("button", name="Seen")).first
    # Pinned by its thread: once a leader answers, Seen goes and "offered" moves on.
    thread = offered.locator(".thread").get_attribute("id")
    first = page.locator(f".feed-checkin:has(#{thread})")
    first.get_by_label("Reply on week").fill("Let's cut scope on Thursday")
    first.get_by_role("button", name="Reply", exact=True).click()
    expect(first.locator(".thread-entry").last).to_contain_text(
        re.compile("Maya Okafor.*Let's cut scope on Thursday")
    )
    page.screenshot(path="/tmp/okrly-dashboard-risks.png", full_page=True)
    assert not traffic.failures
    assert not traffic.external()


def test_a_refused_htmx_action_is_announced_not_silent(page: Page, traffic: Any) -> None:
    """The page offered Seen while Maya could use it; she leaves the leadership group in
    another tab, then presses it: the 403 and its reason are shown and announced."""
    sign_in(page, "maya")
    page.goto("/dashboard/risks/")
    item = page.locator(".feed-checkin", has=page.get_by_role("button", name="Seen")).first
    owner = item.locator(".feed-head small").inner_text().split(",")[0].lstrip("— ")
    maya = get_user_model().objects.get(username="maya")
    maya.groups.clear()  # no longer leadership
    Membership.objects.filter(user=maya).delete()  # nor a lead of any team
    Profile.objects.filter(manager=maya).update(manager=None)  # nor anyone's manager

    item.get_by_role("button", name="Seen").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(f"Only {owner}'s manager, a lead of their team")
    expect(item.locator(".thread-seen")).to_have_count(0)
    assert any(f.startswith("403 ") for f in traffic.failures)
    # The next action clears the message: it always belongs to the last request.
    page.goto("/dashboard/risks/")
    expect(page.get_by_role("alert")).to_be_hidden()
