"""A leader acknowledges an objective's definition with the keyboard only (issue 11): Mateo,
Mobile's lead and the last of "Make releases boring"'s definition group who has not read it,
reaches the reading field with Tab, is told why a bare "OK" is refused (described by the
field, with focus back on it), then writes a real reading; it joins the divergence view and the
"Definition not shared" flag goes."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from objectives.demo import NOT_SHARED
from objectives.models import Objective
from objectives.services import READING_TOO_SHORT
from tests.e2e.journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

FIELD = "What I will do differently because of this"
READING = "I'll move the mobile release train onto the shared pipeline by week 12."


def tab_to(page: Page, is_there: str, *, presses: int = 80) -> None:
    """Press Tab until the focused element matches the JavaScript test ``is_there`` (an
    expression over ``el``, the active element); fail if it never does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => Boolean({is_there}))(document.activeElement)"):
            return
    pytest.fail(f"Tab never reached an element where {is_there}")


def test_a_leader_acknowledges_a_definition_with_the_keyboard_only(
    page: Page, traffic: Any
) -> None:
    objective = Objective.objects.get(team__slug=NOT_SHARED[0], title=NOT_SHARED[1])
    sign_in(page, "mateo")
    page.goto(f"/objectives/{objective.pk}/")
    expect(page.get_by_role("heading", name=objective.title)).to_be_visible()
    expect(page.get_by_text("Definition not shared", exact=True)).to_be_visible()
    not_yet = page.get_by_text("Not yet acknowledged by:")
    expect(not_yet.locator("xpath=..")).to_contain_text("Mateo García")

    field = page.get_by_label(FIELD)
    tab_to(page, "el.tagName === 'TEXTAREA'")
    expect(field).to_be_focused()
    page.keyboard.type("OK")
    tab_to(page, "el.tagName === 'BUTTON' && el.type === 'submit'", presses=3)
    expect(page.locator(":focus")).to_have_text("Acknowledge version 1")
    page.keyboard.press("Enter")

    # The service's reason, tied to the field (aria-describedby, aria-invalid) and read out
    # as focus lands back on it; the field still holds what was typed.
    expect(field).to_be_focused()
    expect(field).to_have_value("OK")
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = f"{field.get_attribute('id')}_error"
    assert error_id in (field.get_attribute("aria-describedby") or "").split()
    expect(page.locator(f"#{error_id}")).to_have_text(READING_TOO_SHORT)
    expect(page.get_by_text("Definition not shared", exact=True)).to_be_visible()

    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(READING)
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Acknowledge version 1")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text("Your reading is recorded.")
    row = page.locator(".divergence tbody tr", has_text="Mateo García")
    expect(row).to_contain_text(READING)
    expect(row).to_contain_text("Lead, Mobile (aligned below)")
    # He was the last member of the group: the flag goes, and the form with it.
    expect(page.get_by_text("Definition shared", exact=True)).to_be_visible()
    expect(page.get_by_text("Definition not shared", exact=True)).to_have_count(0)
    expect(page.get_by_text("Not yet acknowledged by:")).to_have_count(0)
    expect(page.get_by_label(FIELD)).to_have_count(0)
    page.goto("/objectives/")
    flag = page.locator(f"#objective-{objective.pk} .definition-state")
    expect(flag).to_contain_text("Definition shared")
    expect(flag).not_to_contain_text("not shared")
    page.screenshot(path="/tmp/okrly-definition-acknowledged.png", full_page=True)
    # The refused "OK" was the only failure (a 400 with the form), and nothing left the host.
    assert [f.split(" ")[0] for f in traffic.failures] == ["400"]
    assert not traffic.external()
