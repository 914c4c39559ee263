"""Steps the browser journeys share."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from okrly.management.commands.seed_demo import DEMO_PASSWORD


def sign_in(page: Page, username: str) -> None:
    """Sign in through the login form as a demo user; lands on My week."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
