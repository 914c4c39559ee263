"""Ana, a key-result owner in Product, uses OKRly in a real browser."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from okrly.management.commands.seed_demo import DEMO_PASSWORD
from okrly.models import Notification

if TYPE_CHECKING:
    from tests.e2e.conftest import Traffic

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

HTMX = "/static/vendor/htmx-2.0.11/htmx.min.js"


def sign_in_as_ana(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".user-menu summary")).to_have_text("Ana Silva")


def assert_assets_loaded_locally(page: Page, traffic: Traffic) -> None:
    assert any(url.endswith(HTMX) for url in traffic.urls)
    assert page.evaluate("typeof window.htmx") == "object"
    assert not traffic.failures
    assert not traffic.external()


def test_ana_signs_in_and_sees_her_key_result_with_its_owner(page: Page, traffic: Traffic) -> None:
    sign_in_as_ana(page)

    page.get_by_role("link", name="Objectives", exact=True).click()

    expect(page).to_have_url(re.compile(r"/objectives/$"))
    row = page.locator("tr", has_text="Raise activation within 7 days")
    expect(row).to_have_count(1)
    expect(row.locator(".person")).to_have_text(re.compile(r"Ana Silva$"))
    page.screenshot(path="/tmp/okrly-objectives.png", full_page=True)
    assert_assets_loaded_locally(page, traffic)


def test_ana_marks_her_welcome_notification_read_without_a_page_reload(
    page: Page, traffic: Traffic
) -> None:
    welcome = Notification.objects.get(recipient__username="ana", kind="welcome")
    sign_in_as_ana(page)
    page.get_by_role("link", name=re.compile(r"^Inbox")).click()
    page.wait_for_load_state()  # htmx starts on load; marking read needs it
    row = page.locator(f"#notification-{welcome.pk}")
    badge = page.locator("#unread-badge")
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    expect(badge).to_have_text("1")
    # Survives only if the page is not reloaded.
    page.evaluate("window.__marker = 1")

    row.get_by_role("button", name="Mark read").click()

    expect(row).to_have_class(re.compile(r"\bis-read\b"))
    expect(row.get_by_text("Read", exact=True)).to_be_visible()
    expect(badge).to_have_text("")
    expect(badge).to_have_attribute("aria-label", "0 unread")
    assert page.evaluate("window.__marker") == 1
    welcome.refresh_from_db()
    assert welcome.read_at is not None
    page.screenshot(path="/tmp/okrly-inbox.png", full_page=True)
    assert_assets_loaded_locally(page, traffic)
