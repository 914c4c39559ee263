"""Issue 15: the main pages pass axe-core's checks with no violation at the serious or
critical level, in the demo organisation, as a member and as a leader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from objectives.models import KeyResult
from okrly.models import Team
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
SERIOUS = {"serious", "critical"}


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # axe is injected into the page as a script of the test's own; the app's
    # Content-Security-Policy (scripts from its origin only) would refuse it.
    return {**browser_context_args, "bypass_csp": True}


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    # Every finding of the page, by impact, for the record (pytest -s prints it).
    print(
        f"axe {page.url}: "
        + (", ".join(f"{v['id']} ({v['impact']})" for v in found) or "no violation")
    )
    return [v for v in found if v["impact"] in SERIOUS]


def member_pages() -> list[str]:
    kr = KeyResult.objects.filter(owner__username="ana").order_by("pk").first()
    assert kr is not None
    return ["/", "/objectives/", kr.get_absolute_url(), "/asked/"]


def leader_pages() -> list[str]:
    team = Team.objects.filter(name="Platform").get()
    return [
        "/dashboard/",
        f"/dashboard/teams/{team.pk}/",
        "/dashboard/people/",
        "/dashboard/risks/",
    ]


def test_eight_main_pages_have_no_serious_or_critical_violation(page: Page) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    sign_in(page, "ana")
    for url in member_pages():
        page.goto(url)
        found[url] = serious_violations(page)
    sign_in(page, "maya")
    for url in leader_pages():
        page.goto(url)
        found[url] = serious_violations(page)
    assert len(found) == 8
    assert {url: v for url, v in found.items() if v} == {}


def test_set_up_pages_have_no_serious_or_critical_violation(page: Page) -> None:
    """Issue 16's pages: the set-up steps an administrator works through, and a profile."""
    team = Team.objects.filter(name="Platform").get()
    found: dict[str, list[dict[str, Any]]] = {}
    sign_in(page, "admin")
    for url in ["/setup/", "/setup/teams/", f"/setup/teams/{team.pk}/", "/profile/"]:
        page.goto(url)
        found[url] = serious_violations(page)
    assert len(found) == 4
    assert {url: v for url, v in found.items() if v} == {}
