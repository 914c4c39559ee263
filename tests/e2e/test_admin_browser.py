"""An administrator configures a quarter in the admin; overlapping dates are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from okrly.management.commands.seed_demo import DEMO_PASSWORD
from okrly.models import Quarter

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_admin_adds_the_next_quarter(page: Page, traffic: Any) -> None:
    current = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/okrly/quarter/add/")

    page.get_by_label("Name").fill("Overlapping")
    page.get_by_label("Start").fill(current.end.isoformat())
    page.get_by_label("End").fill((current.end + timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text(f"These dates overlap {current.name}")

    next_start = current.end + timedelta(days=1)
    page.get_by_label("Name").fill("Next quarter")
    page.get_by_label("Start").fill(next_start.isoformat())
    page.get_by_label("Check-in weekday").select_option(label="Tuesday")
    page.get_by_label("Check-in hour").fill("10")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    quarter = Quarter.objects.get(name="Next quarter")
    assert (quarter.start, quarter.checkin_weekday, quarter.checkin_hour) == (next_start, 1, 10)
    assert not traffic.external()
