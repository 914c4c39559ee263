"""Issue 16's "done means": an administrator brings twenty people in from a CSV (one row fixed
after the dry run) and invites them; one signs in through the company's OpenID Connect
provider (a real one on a local port) and checks in. And the effort of setting up a new
organisation of 5 teams and 20 people through /setup/, counted in page loads and submits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Page, expect

from checkins.models import CheckIn
from objectives.models import KeyResult
from okrly.access import leads_team
from okrly.invitations import Invitation
from okrly.models import Membership, Quarter, Team
from tests.conftest import TEST_NOW
from tests.e2e.journeys import sign_in
from tests.factories import PASSWORD, KeyResultFactory, ObjectiveFactory, UserFactory

pytestmark = pytest.mark.e2e

SSO_LINK = "Sign in with Example Corp"
HEADER = "name,e-mail,team,role,manager's e-mail,time zone"


def people_csv(teams: list[str], *, first: tuple[str, str], bad_zone_row: int) -> str:
    """Twenty people over ``teams``, the first of each team its lead and everyone else's
    manager; ``first`` is the first person's (name, e-mail); one row has a zone that is not
    IANA, to be fixed after the dry run."""
    rows = []
    for n in range(20):
        team = teams[n % len(teams)]
        lead = n < len(teams)
        name, email = (
            first if n == 0 else (f"Person {n:02d} Example", f"person{n:02d}@corp.example")
        )
        manager = (
            ""
            if lead
            else (f"person{n % len(teams):02d}@corp.example" if n % len(teams) else first[1])
        )
        zone = (
            "Mars/Olympus"
            if n == bad_zone_row
            else ["Europe/Paris", "Asia/Kathmandu", "America/Los_Angeles"][n % 3]
        )
        rows.append(f"{name},{email},{team},{'lead' if lead else 'member'},{manager},{zone}")
    return HEADER + "\n" + "\n".join(rows) + "\n"


def import_people(page: Page, text: str) -> None:
    """From the people list: paste, check, fix the one bad zone in place, check, import."""
    page.get_by_role("button", name="Import from CSV").click()
    page.get_by_label("CSV", exact=True).fill(text)
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".dry-run-counts")).to_contain_text("1 with error")
    expect(page.locator(".dry-run-table")).to_contain_text("Mars/Olympus")
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    box = page.get_by_label("CSV", exact=True)
    box.fill(box.input_value().replace("Mars/Olympus", "Europe/Lisbon"))
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".dry-run-counts")).to_contain_text("20 to create")
    expect(page.locator(".dry-run-counts")).to_contain_text("0 with errors")
    page.get_by_role("button", name="Import 20 rows").click()
    expect(page.get_by_role("status").first).to_contain_text("20 created")


@pytest.mark.usefixtures("demo_org")
def test_twenty_people_imported_invited_and_one_signs_in_with_sso_and_checks_in(
    page: Page, oidc_provider: str, live_server: Any, settings: Any, traffic: Any, request: Any
) -> None:
    settings.SITE_URL = str(live_server.url)
    # The sign-in happens on the provider's real clock and the check-in on the quarter's pinned
    # day, which may lie weeks ahead: neither the session nor the sign-in runs out in between.
    settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = 366 * 24 * 3600
    settings.SESSION_COOKIE_AGE = 366 * 24 * 3600
    teams = list(Team.objects.order_by("name").values_list("name", flat=True)[:4])
    # The first person is the provider's account "olga" (a verified olga@example.com).
    text = people_csv(teams, first=("Olga Owner", "olga@example.com"), bad_zone_row=7)

    sign_in(page, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Set-up").click()
    page.get_by_role("navigation", name="Set-up steps").get_by_role("link", name="People").click()
    import_people(page, text)
    olga = Membership.objects.select_related("user", "team").get(user__email="olga@example.com")
    assert (olga.team.name, olga.role) == (teams[0], "lead")
    assert leads_team(olga.user, olga.team)  # a lead member of the demo team (one of two)

    page.get_by_role("button", name="Invite everyone not yet invited").click()
    expect(page.get_by_role("status").first).to_contain_text("nvit")
    imported = Invitation.objects.filter(user__email__endswith="corp.example").count()
    assert imported == 19
    assert Invitation.objects.filter(user__email="olga@example.com").exists()

    # A lead gives Olga a key result this quarter; she has not accepted it yet.
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    kr = KeyResultFactory(
        objective=ObjectiveFactory(quarter=quarter, team=olga.team, title="Partners onboarded"),
        owner=olga.user,
        title="Sign 12 partners",
        unit="partners",
        start_value=0,
        target_value=12,
        current_value=3,
    )

    # Olga signs in with her company account: the provider is another process on the real
    # clock, so OKRly's clock agrees with it for the sign-in (tests/e2e/test_sso_browser.py).
    page.context.clear_cookies()
    clock = request.getfixturevalue("_pinned_clock")
    clock.move_to(datetime.fromtimestamp(time_machine.escape_hatch.time.time(), UTC))
    page.goto("/accounts/login/")
    page.get_by_role("link", name=SSO_LINK).click()
    page.locator("input[name=login]").fill("olga")
    page.locator("input[name=password]").fill("any password the provider accepts")
    page.get_by_role("button", name="Sign-in").click()
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    # Back on the quarter's day for the check-in (the session's renewal time lies ahead).
    clock.move_to(TEST_NOW)
    page.reload()

    card = page.locator(f"#checkin-{kr.pk}")
    card.get_by_role("button", name="Accept ownership").click()
    card = page.locator(f"#checkin-{kr.pk}")
    card.get_by_label("At risk", exact=True).check()
    card.get_by_label("Confidence (0–10)").fill("5")
    card.get_by_label("What is the biggest risk?").fill("Legal review of the partner contract")
    card.get_by_label(re.compile(r"^Current value")).fill("4")
    card.get_by_role("button", name=re.compile(r"^Submit week \d+ check-in$")).click()
    expect(card.get_by_role("status")).to_contain_text("Saved.")
    check_in = CheckIn.objects.get(key_result=kr)
    assert (check_in.author_id, check_in.status) == (olga.user_id, "at_risk")
    assert KeyResult.objects.get(pk=kr.pk).current_value == 4
    assert not traffic.external()


def test_a_new_organisation_of_5_teams_and_20_people_takes_at_most_40_loads_and_submits(
    page: Page, transactional_db: None, capsys: Any
) -> None:
    UserFactory(
        username="root", first_name="Rae", last_name="Root", is_staff=True, is_superuser=True
    )
    loads: list[str] = []
    submits: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: loads.append(frame.url) if frame == page.main_frame else None,
    )
    page.on(
        "request",
        lambda req: submits.append(req.url) if req.headers.get("hx-request") else None,
    )

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Set-up").click()
    # The first quarter, prefilled (today's calendar quarter), then activated.
    page.get_by_role("button", name="Create quarter").click()
    quarter = Quarter.objects.get()
    page.get_by_role("button", name=f"Activate {quarter.name}").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{quarter.name} is the active")

    page.get_by_role("navigation", name="Set-up steps").get_by_role(
        "link", name="Teams", exact=True
    ).click()
    for name, parent in [
        ("Company", None),
        ("Product", "Company"),
        ("Engineering", "Company"),
        ("Sales", "Company"),
        ("Support", "Sales"),
    ]:
        page.get_by_label("Name").fill(name)
        if parent:
            page.get_by_label("Part of").select_option(label=parent)
        page.get_by_role("button", name="Add team").click()
        expect(page.get_by_role("status").first).to_contain_text(f"{name} is added.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Set-up").click()
    page.get_by_role("navigation", name="Set-up steps").get_by_role("link", name="People").click()
    import_people(
        page,
        people_csv(
            ["Company", "Product", "Engineering", "Sales", "Support"],
            first=("Cleo Chief", "cleo@corp.example"),
            bad_zone_row=11,
        ),
    )
    page.get_by_role("button", name="Invite everyone not yet invited").click()
    expect(page.locator("tr", has_text="cleo@corp.example")).to_contain_text("Invited")

    assert Team.objects.count() == 5
    assert Membership.objects.count() == 20
    assert sorted(Team.objects.values_list("lead__email", flat=True)) == sorted(
        ["cleo@corp.example"] + [f"person{n:02d}@corp.example" for n in range(1, 5)]
    )
    assert Invitation.objects.count() == 20
    effort = len(loads) + len(submits)
    with capsys.disabled():
        print(f"\nset-up effort: {len(loads)} page loads + {len(submits)} htmx submits = {effort}")
    assert effort <= 40
