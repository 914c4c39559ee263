"""A lead records a trade-off that drops a key result; its owner sees it in their inbox and
on the key result's page ("Displaced by trade-off #N")."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from objectives.models import TradeOff, TradeOffCategory
from tests.factories import PASSWORD, ObjectiveFactory

pytestmark = [pytest.mark.e2e]


def sign_in_as(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My week")).to_be_visible()


def test_a_lead_drops_a_key_result_and_its_owner_is_told(
    transactional_db: None,
    page: Page,
    traffic: Any,
    lead: Any,
    owner: Any,
    growth: Any,
    quarter: Any,
    key_result: Any,
) -> None:
    # A transactional test's flush empties the migration's categories: make sure of one.
    TradeOffCategory.objects.get_or_create(name="Client escalation")
    for rank in (2, 3):  # Growth at its limit of 3
        ObjectiveFactory(quarter=quarter, team=growth, rank=rank)

    sign_in_as(page, "lena")
    page.get_by_role("link", name="Objectives", exact=True).click()
    page.wait_for_load_state()  # htmx starts on load
    page.get_by_role("button", name="Trade-offs").click()
    expect(page.get_by_role("heading", name="Trade-off ledger")).to_be_visible()
    page.get_by_role("button", name="Record a trade-off").click()
    expect(page.get_by_role("heading", name="Record a trade-off for Growth")).to_be_visible()
    page.get_by_label("Title").fill("Keep Acme from churning")
    page.get_by_label("Category").select_option(label="Client escalation")
    page.get_by_label("Why it cannot wait for next quarter").fill("Acme leaves without SSO.")
    page.locator(f"#id_kr-{key_result.pk}").select_option("dropped")
    page.get_by_role("button", name="Record the trade-off").click()

    trade_off = TradeOff.objects.get()
    entry = page.locator(f"#trade-off-{trade_off.pk}")
    expect(entry).to_contain_text("Client escalation")
    expect(entry).to_contain_text("Dropped")
    expect(entry).to_contain_text("Raise trial conversion")
    page.screenshot(path="/tmp/okrly-trade-off-ledger.png", full_page=True)

    sign_in_as(page, "olga")
    page.get_by_role("link", name="Inbox").click()
    told = page.get_by_role(
        "link", name=f"“Raise trial conversion” dropped by trade-off #{trade_off.pk}"
    )
    expect(told).to_be_visible()
    told.click()
    expect(page.locator(f"#trade-off-{trade_off.pk}")).to_contain_text("Keep Acme from churning")

    page.goto(key_result.get_absolute_url())
    expect(page.locator(".displaced-mark")).to_contain_text(
        f"Displaced by trade-off #{trade_off.pk}"
    )
    assert not traffic.failures
    assert not traffic.external()
