"""An administrator imports people from a pasted CSV (one bad row, fixed after the dry run),
invites one of them from the people list, and the invitee joins through the e-mailed link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from okrly.invitations import Invitation, invitations_send
from okrly.models import Team
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]


def test_admin_imports_fixes_a_row_invites_and_the_invitee_joins(
    page: Page, traffic: Any, live_server: Any, settings: Any
) -> None:
    settings.SITE_URL = str(live_server.url)
    team, other = Team.objects.order_by("name")[:2]
    rows = [
        f"Rita Rivers,rita@example.com,{team.name},lead,,Europe/Paris",
        f"Sol Stone,sol@example.com,{other.slug},member,rita@example.com,Mars/Base",
        f"Uma Upton,uma@example.com,{team.name},,rita@example.com,",
    ]
    text = "name,e-mail,team,role,manager's e-mail,time zone\n" + "\n".join(rows) + "\n"

    sign_in(page, "admin")
    page.get_by_role("link", name="Set-up").click()
    page.get_by_role("navigation", name="Set-up steps").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    page.get_by_role("button", name="Import from CSV").click()
    page.get_by_label("CSV", exact=True).fill(text)
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".dry-run-counts")).to_contain_text("2 to create")
    expect(page.locator("#line-3")).to_contain_text("“Mars/Base” is not an IANA zone")
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)

    # Fixed in place, in the textarea that kept the CSV.
    textarea = page.get_by_label("CSV", exact=True)
    textarea.fill(textarea.input_value().replace("Mars/Base", "Asia/Tokyo"))
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".dry-run-counts")).to_contain_text("3 to create")
    expect(page.locator(".dry-run-counts")).to_contain_text("0 with errors")
    page.get_by_role("button", name="Import 3 rows").click()

    expect(page.get_by_role("status").first).to_contain_text("Imported: 3 created")
    sol_row = page.locator("tr", has_text="sol@example.com")
    expect(sol_row).to_contain_text("Never signed in")
    expect(sol_row).to_contain_text(other.name)
    sol_row.get_by_role("button", name="Invite").click()  # htmx swaps the row
    expect(sol_row).to_contain_text("Invited")
    expect(sol_row.get_by_role("button", name="Resend")).to_be_visible()

    # The worker's part, run here: the e-mail goes out with its absolute link.
    sent = invitations_send(invitation_ids=Invitation.objects.values_list("pk", flat=True))
    assert len(sent.sent) == 1
    link = re.search(r"https?://\S+/join/\S+/", str(mail.outbox[-1].body))
    assert link is not None
    page.context.clear_cookies()
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Welcome, Sol Stone")).to_be_visible()
    page.locator("#id_new_password1").fill("sol-has-a-long-password")
    page.locator("#id_new_password2").fill("sol-has-a-long-password")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    assert Invitation.objects.get(user__email="sol@example.com").accepted_at is not None
    assert not traffic.external()
    assert not traffic.failures
