"""A nominated owner accepts; a lead grants authority; the badge turns from failing to passing."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from objectives.models import KeyResult
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_accept_grant_and_the_badge_passes(
    page: Page, browser: Browser, base_url: str, traffic: Any
) -> None:
    kr = KeyResult.objects.get(title="Raise activation within 7 days")  # Ana's, Product
    badge = page.locator("#ownership-panel .acct-badge")

    sign_in(page, "ana")
    page.goto(kr.get_absolute_url())
    expect(badge).to_have_attribute("data-accountability", "fail")
    expect(page.locator("#ownership-panel")).to_contain_text("has not accepted ownership yet")
    page.get_by_role("button", name="Accept ownership").click()
    expect(page.locator("#ownership-panel")).to_contain_text("Ana Silva accepted ownership.")
    page.get_by_role("button", name="This key result needs no other team").click()
    expect(page.locator("#ownership-panel")).to_contain_text("no other team is needed")
    expect(badge).to_have_attribute("data-accountability", "fail")  # authority still missing

    lead_context = browser.new_context(base_url=base_url)
    lead = lead_context.new_page()
    sign_in(lead, "tom")  # Product's lead
    lead.goto(kr.get_absolute_url())
    lead.get_by_role("link", name="Grant authority").first.click()
    lead.get_by_label("Reprioritise the team's backlog").check()
    lead.get_by_label("Scope").fill("Onboarding squad backlog; experiments up to €5k")
    lead.get_by_role("button", name="Grant").click()
    expect(lead.locator("#ownership-panel .acct-badge")).to_have_attribute(
        "data-accountability", "pass"
    )
    lead_context.close()

    page.reload()
    expect(badge).to_have_attribute("data-accountability", "pass")
    expect(page.locator("#ownership-panel")).to_contain_text("Onboarding squad backlog")
    page.screenshot(path="/tmp/okrly-kr-accountability.png", full_page=True)
    page.goto(f"/ownership/test/?quarter={kr.objective.quarter_id}")
    expect(page.locator("tr", has_text="Raise activation within 7 days")).to_have_class("pass")
    page.screenshot(path="/tmp/okrly-accountability-test.png", full_page=True)
    assert not traffic.failures
    assert not traffic.external()
