"""A leader reads the dashboard: headline figures, a department expanded in place, a team,
who owes what with a nudge, and the risk feed with a reply."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from okrly.models import Notification
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_leader_reads_the_dashboard_and_acts(page: Page, traffic: Any) -> None:
    sign_in(page, "maya")  # CEO, leadership group
    page.get_by_role("link", name="Dashboard").click()

    expect(page.get_by_role("heading", name="Accountability dashboard")).to_be_visible()
    expect(page.locator(".headline .stat")).to_have_count(6)
    page.evaluate("window.__marker = 1")
    engineering = page.locator(
        "tbody", has=page.get_by_role("link", name="Engineering", exact=True)
    )
    engineering.get_by_role("button", name="Show the teams of Engineering").click()
    expect(engineering.locator("tr.depth-1", has_text="Platform")).to_be_visible()
    assert page.evaluate("window.__marker") == 1  # expanded in place, no reload
    page.screenshot(path="/tmp/okrly-dashboard.png", full_page=True)

    engineering.locator("tr.depth-1").get_by_role("link", name="Platform").click()
    expect(page.get_by_role("heading", name="Platform")).to_be_visible()
    expect(page.locator(".team-table tbody tr")).to_have_count(2)
    expect(page.locator(".trend-chart")).to_be_visible()
    page.screenshot(path="/tmp/okrly-dashboard-team.png", full_page=True)

    page.get_by_role("link", name="Who owes what").click()
    row = page.locator("tr", has_text="Chloe Dubois")
    row.get_by_role("button", name="Nudge").click()
    expect(row).to_contain_text("Nudged")
    assert Notification.objects.filter(recipient__username="chloe", kind="nudge").count() == 1
    page.screenshot(path="/tmp/okrly-dashboard-people.png", full_page=True)

    page.get_by_role("link", name="Risk feed").click()
    first = page.locator(".feed-checkin").first
    first.get_by_label("Reply").fill("Let's cut scope on Thursday")
    first.get_by_role("button", name="Acknowledge").click()
    expect(first.locator(".ack")).to_have_text(
        re.compile("Maya Okafor: Let's cut scope on Thursday")
    )
    page.screenshot(path="/tmp/okrly-dashboard-risks.png", full_page=True)
    assert not traffic.failures
    assert not traffic.external()
