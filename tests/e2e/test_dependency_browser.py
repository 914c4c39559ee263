"""An owner requests a dependency; the provider commits from "Asked of me"; the owner sees it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from objectives.models import KeyResult
from okrly.models import Quarter
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_request_commit_and_see_it_committed(
    page: Page, browser: Browser, base_url: str, traffic: Any
) -> None:
    kr = KeyResult.objects.get(title="Raise activation within 7 days")  # owned by Ana, Product
    due = timezone.localdate() + timedelta(days=7)
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)

    sign_in(page, "ana")
    page.goto(kr.get_absolute_url())
    page.evaluate("window.__marker = 1")
    page.get_by_text("Request a dependency").click()
    panel = page.locator("#dependencies-panel")
    panel.get_by_label("What").fill("Activation events in the data warehouse")
    panel.get_by_label("From team").select_option(label="Platform")
    panel.get_by_label("Who").select_option(label="Olivia Brown (Platform)")
    panel.get_by_label("By when").fill(due.isoformat())
    if due > quarter.end:
        panel.get_by_label("Yes, this date is outside the quarter").check()
    panel.get_by_role("button", name="Send request").click()
    row = page.locator("#dependencies-panel tr", has_text="Activation events in the data warehouse")
    expect(row).to_contain_text("Requested")
    expect(row).to_contain_text("Olivia Brown")
    assert page.evaluate("window.__marker") == 1  # htmx swapped the panel; no reload

    provider_context = browser.new_context(base_url=base_url)
    provider = provider_context.new_page()
    sign_in(provider, "olivia")
    provider.get_by_role("link", name="Asked of me").click()
    # htmx starts on the page's load: a click before that is a plain form post (it once was).
    provider.wait_for_load_state()
    item = provider.locator(".asked-item", has_text="Activation events in the data warehouse")
    expect(item).to_contain_text("Ana Silva (Product) needs it by")
    item.get_by_role("button", name="Commit").click()
    expect(provider.locator(".asked-item.answered")).to_contain_text("You committed")
    provider.screenshot(path="/tmp/okrly-asked.png", full_page=True)
    provider_context.close()

    page.reload()
    row = page.locator("#dependencies-panel tr", has_text="Activation events in the data warehouse")
    expect(row.locator(".pill")).to_have_text(re.compile(r"^Committed$"))
    page.screenshot(path="/tmp/okrly-kr-dependencies.png", full_page=True)
    assert not traffic.failures
    assert not traffic.external()
