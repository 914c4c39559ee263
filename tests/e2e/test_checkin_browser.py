"""Ana gets her weekly check-in prompt by e-mail, follows its link while signed out, signs
in, answers the three questions on My week and sees the check-in on the key result's
timeline."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from checkins import prompts
from checkins.models import CheckIn, CheckInPrompt
from objectives.models import KeyResult
from okrly.management.commands.seed_demo import DEMO_PASSWORD
from okrly.models import Notification, Quarter
from okrly.outbox import notifications_send_email

if TYPE_CHECKING:
    from tests.e2e.conftest import Traffic

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_org")]

RISK = "Onboarding e-mails land in spam for Outlook users"
NEED = "A deliverability review from Platform"


def this_weeks_checkin_moment(quarter: Quarter, zone: str) -> datetime:
    """The quarter's check-in moment (weekday and hour, local time) of the current week in
    ``zone``: the moment the prompt job sends the prompts of that zone."""
    local_now = timezone.now().astimezone(ZoneInfo(zone))
    day = local_now.date() - timedelta(days=(local_now.weekday() - quarter.checkin_weekday) % 7)
    moment = datetime.combine(day, time(quarter.checkin_hour), tzinfo=local_now.tzinfo)
    if moment > local_now:
        moment -= timedelta(days=7)
    if moment.date() < quarter.start:  # the quarter began after this week's moment
        moment += timedelta(days=7)
    return moment


def prompt_email_link(live_server_url: str) -> str:
    """Run the prompt job at Ana's check-in hour, send her prompt's e-mail and return the
    link it carries, pointed at the live server."""
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    # The demo marks this week's prompts as already sent; this test sends Ana's for real.
    CheckInPrompt.objects.filter(owner__username="ana", quarter=quarter).delete()
    run = prompts.checkins_send_prompts(
        now=this_weeks_checkin_moment(quarter, "America/Sao_Paulo") + timedelta(minutes=1)
    )
    assert "America/Sao_Paulo" in run.zones_due
    prompt = Notification.objects.get(recipient__username="ana", kind="checkin_prompt")
    mail.outbox.clear()
    assert notifications_send_email(notification_ids=[prompt.pk]).sent == [prompt.pk]
    (message,) = mail.outbox
    assert message.to == ["ana@demo.okrly.test"]
    assert "check-in" in message.subject
    found = re.search(r"Open it in OKRly: (\S+)", str(message.body))
    assert found is not None
    link = found.group(1)
    assert link == f"{settings.SITE_URL}/"
    return live_server_url + link.removeprefix(settings.SITE_URL)


def test_ana_follows_the_prompt_checks_in_and_sees_her_timeline(
    page: Page, live_server: Any, traffic: Traffic
) -> None:
    kr = KeyResult.objects.get(title="Raise activation within 7 days")
    link = prompt_email_link(str(live_server.url))

    page.goto(link)  # signed out: the login page, which sends her back to the link
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    summary = page.locator("#checkin-summary")
    # The demo has Ana's other key result checked in already this week.
    expect(summary).to_contain_text("1 of 2 check-ins done")
    page.evaluate("window.__marker = 1")
    card = page.locator(f"#checkin-{kr.pk}")
    expect(card.get_by_role("link", name="Raise activation within 7 days")).to_be_visible()
    card.get_by_label("At risk", exact=True).check()
    card.get_by_label("Confidence (0–10)").fill("6")
    card.get_by_label("What is the biggest risk?").fill(RISK)
    card.get_by_label("What do you need from someone else").fill(NEED)
    card.get_by_label("Current value (%)").fill("49.5")
    card.get_by_role("button", name=re.compile(r"^Submit week \d+ check-in$")).click()

    expect(card.get_by_role("status")).to_contain_text("Saved.")
    expect(card).to_have_class(re.compile(r"\bis-done\b"))
    expect(card.locator(".checkin-state .pill-at_risk")).to_have_text("At risk · 6/10")
    expect(card.get_by_label("What is the biggest risk?")).to_have_value(RISK)
    expect(
        card.get_by_role("button", name=re.compile(r"^Update week \d+ check-in$"))
    ).to_be_visible()
    expect(summary).to_contain_text("2 of 2 check-ins done")
    assert page.evaluate("window.__marker") == 1  # htmx swapped the card; no reload
    check_in = CheckIn.objects.get(key_result=kr, edited_at__isnull=True, biggest_risk=RISK)
    assert (check_in.status, check_in.confidence, check_in.need) == ("at_risk", 6, NEED)
    # From the top: scrolled, the sticky header would be pictured mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path="/tmp/okrly-myweek.png", full_page=True)

    card.get_by_role("link", name="Raise activation within 7 days").click()

    expect(page.get_by_role("heading", name="Raise activation within 7 days")).to_be_visible()
    latest = page.locator("#checkin-timeline .timeline-entry").first
    expect(latest).to_contain_text(f"Week {check_in.week}")
    expect(latest).to_contain_text("At risk")
    expect(latest).to_contain_text("6/10")
    expect(latest).to_contain_text(RISK)
    expect(latest).to_contain_text(NEED)
    expect(page.locator("#checkin-timeline svg.progress-chart")).to_be_visible()
    page.screenshot(path="/tmp/okrly-kr-timeline.png", full_page=True)
    assert not traffic.failures
    assert not traffic.external()
