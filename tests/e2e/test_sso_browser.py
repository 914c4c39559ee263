"""Single sign-on in a real browser, through a real OpenID Connect provider (tests/oidc.py):
the authorisation-code flow end to end, nothing mocked between OKRly and the provider."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from okrly.models import Membership
from tests.factories import MembershipFactory, TeamFactory, UserFactory

if TYPE_CHECKING:
    from tests.e2e.conftest import Traffic

pytestmark = pytest.mark.e2e

SSO_LINK = "Sign in with Example Corp"


@pytest.fixture(autouse=True)
def _provider_clock(_pinned_clock: Any) -> None:
    """The provider is another process on the real clock, which no test can move: this test's
    clock agrees with it (as an integration test's does with its worker), so that the ID
    token's issue and expiry times are read as written. A test moves on from there."""
    _pinned_clock.move_to(datetime.fromtimestamp(time_machine.escape_hatch.time.time(), UTC))


@pytest.fixture
def olga(transactional_db: None) -> Any:
    """Olga, a Growth member whose address the provider's account ``olga`` verifies."""
    user = UserFactory(username="olga", first_name="Olga", last_name="Owner")
    MembershipFactory(user=user, team=TeamFactory(name="Growth", slug="growth"))
    return user


def expire_id_token(request: pytest.FixtureRequest) -> None:
    """Time passes on OKRly's side past the ID token's renewal age (the provider's own
    session, on its real clock, still lasts)."""
    seconds = settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS + 60
    request.getfixturevalue("_pinned_clock").shift(timedelta(seconds=seconds))


def sign_in_at_provider(page: Page, provider: str, login: str) -> None:
    """From the sign-in page: the SSO link, then the provider's own sign-in form."""
    page.get_by_role("link", name=SSO_LINK).click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(provider)}/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password the provider accepts")
    page.get_by_role("button", name="Sign-in").click()


def test_olga_signs_in_through_the_provider_and_lands_on_my_week(
    page: Page, oidc_provider: str, olga: Any, live_server: Any, traffic: Traffic
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    sign_in_at_provider(page, oidc_provider, "olga")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    expect(page.locator(".user-menu summary")).to_have_text("Olga Owner")
    assert any(url.startswith(f"{live_server.url}/oidc/callback/?") for url in traffic.urls)
    assert not traffic.failures
    assert not traffic.external()


def test_unknown_email_is_refused_and_no_account_is_made(
    page: Page, oidc_provider: str, olga: Any
) -> None:
    page.goto("/accounts/login/")
    with page.expect_response(re.compile(r"/oidc/callback/\?")) as callback:
        sign_in_at_provider(page, oidc_provider, "nina")

    assert callback.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text(
        "No OKRly account uses the e-mail address Nina.New@example.com"
    )
    assert not get_user_model().objects.filter(email__iexact="nina.new@example.com").exists()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_an_address_the_provider_has_not_verified_is_refused(
    page: Page, oidc_provider: str, olga: Any
) -> None:
    page.goto("/accounts/login/")
    with page.expect_response(re.compile(r"/oidc/callback/\?")) as callback:
        sign_in_at_provider(page, oidc_provider, "uma")  # olga's address, unverified

    assert callback.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text(
        "has not verified the e-mail address olga@example.com"
    )
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_unknown_email_becomes_a_member_of_the_chosen_team_when_set_to_create(
    page: Page, oidc_provider: str, olga: Any, settings: Any
) -> None:
    settings.OIDC_UNKNOWN_USERS = "create"
    settings.OIDC_NEW_USER_TEAM = "growth"
    page.goto("/accounts/login/")

    sign_in_at_provider(page, oidc_provider, "nina")

    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    expect(page.locator(".user-menu summary")).to_have_text("Nina Newcomer")
    nina = get_user_model().objects.get(email="Nina.New@example.com")
    assert nina.username == "Nina.New"
    assert not nina.has_usable_password()
    assert nina.profile.display_name == "Nina Newcomer"
    assert list(Membership.objects.filter(user=nina).values_list("team__slug", "role")) == [
        ("growth", "member")
    ]


def test_a_callback_whose_state_was_tampered_with_is_refused(
    page: Page, oidc_provider: str, olga: Any, live_server: Any
) -> None:
    # The browser's own sign-in (its request shares the browser's cookies, so OKRly keeps the
    # state in this browser's session), sent to the provider with the state altered; the
    # provider hands the altered state back to the callback.
    start = page.request.get("/oidc/authenticate/", max_redirects=0)
    to_provider = urlsplit(start.headers["location"])
    query = dict(parse_qsl(to_provider.query))
    state = query["state"]
    query["state"] = state[:-1] + ("A" if state[-1] != "A" else "B")
    page.goto(to_provider._replace(query=urlencode(query)).geturl())
    page.locator("input[name=login]").fill("olga")
    page.locator("input[name=password]").fill("any password the provider accepts")
    with page.expect_response(re.compile(r"/oidc/callback/\?")) as callback:
        page.get_by_role("button", name="Sign-in").click()

    assert dict(parse_qsl(urlsplit(callback.value.url).query))["state"] == query["state"]
    assert callback.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text(
        "does not belong to a sign-in started in this browser"
    )
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_an_expired_sso_session_is_renewed_through_the_provider(
    page: Page,
    oidc_provider: str,
    olga: Any,
    live_server: Any,
    traffic: Traffic,
    request: pytest.FixtureRequest,
) -> None:
    page.goto("/accounts/login/")
    sign_in_at_provider(page, oidc_provider, "olga")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    page.goto("/inbox/")
    renewals = [url for url in traffic.urls if "prompt=none" in url]
    assert renewals == []

    expire_id_token(request)
    page.goto("/teams/")

    # Silently through the provider (its own session still lasts) and back to the page asked.
    expect(page).to_have_url(f"{live_server.url}/teams/")
    expect(page.locator(".user-menu summary")).to_have_text("Olga Owner")
    renewals = [url for url in traffic.urls if "prompt=none" in url]
    assert len(renewals) == 1
    assert renewals[0].startswith(f"{oidc_provider}/auth?")
    # Renewed for another period: the next page goes nowhere near the provider.
    page.goto("/inbox/")
    expect(page).to_have_url(f"{live_server.url}/inbox/")
    assert len([url for url in traffic.urls if "prompt=none" in url]) == 1
    assert not traffic.failures


def test_an_expired_sso_session_signs_out_once_the_provider_session_is_over(
    page: Page, oidc_provider: str, olga: Any, request: pytest.FixtureRequest
) -> None:
    page.goto("/accounts/login/")
    sign_in_at_provider(page, oidc_provider, "olga")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    # The provider forgets this browser (as when its own session ends).
    page.context.clear_cookies(domain="127.0.0.1")

    expire_id_token(request)
    with page.expect_response(re.compile(r"/oidc/callback/\?")) as callback:
        page.goto("/teams/")

    assert callback.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("Your single sign-on session has ended")
    page.goto("/teams/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/teams/$"))
