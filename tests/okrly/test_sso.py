"""Single sign-on's rules (okrly/sso.py): who a provider's claims sign in, what is refused and
how, password sign-in for staff only, and the settings that turn it on.

The browser tests (tests/e2e/test_sso_browser.py) go through the real provider; these call the
matching rules with claims, and the callback with the test client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client

from okrly.models import Membership
from okrly.sso import (
    CLOCK_SKEW_SECONDS,
    SignInRefused,
    SSOBackend,
    same_subject,
    user_for_claims,
)
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def claims(email: str, *, verified: Any = True, name: str = "") -> dict[str, Any]:
    return {"sub": "x", "email": email, "email_verified": verified, "name": name}


# --- who the claims sign in ------------------------------------------------------------------


def test_a_verified_email_signs_in_its_account_whatever_its_case(owner: Any) -> None:
    assert user_for_claims(claims("OLGA@Example.com")) == owner


def test_a_verified_email_sent_as_a_string_counts_as_verified(owner: Any) -> None:
    assert user_for_claims(claims("olga@example.com", verified="true")) == owner


@pytest.mark.parametrize("verified", [False, None, "false", "yes", 1])
def test_an_unverified_email_is_refused(owner: Any, verified: Any) -> None:
    with pytest.raises(SignInRefused, match="has not verified the e-mail address") as refused:
        user_for_claims(claims("olga@example.com", verified=verified))
    assert refused.value.status == 403


@pytest.mark.parametrize("email", ["", "   ", "a" * 250 + "@x.org"])
def test_a_missing_or_overlong_email_is_refused(db: Any, email: str) -> None:
    with pytest.raises(SignInRefused, match="did not share a usable e-mail address"):
        user_for_claims(claims(email))


def test_an_email_two_accounts_share_is_refused(owner: Any) -> None:
    UserFactory(username="olga2", email="Olga@example.com")
    with pytest.raises(SignInRefused, match="Several OKRly accounts use"):
        user_for_claims(claims("olga@example.com"))


def test_an_inactive_account_is_refused(owner: Any) -> None:
    owner.is_active = False
    owner.save()
    with pytest.raises(SignInRefused, match="is switched off"):
        user_for_claims(claims("olga@example.com"))


def test_an_unknown_email_is_refused_by_default_and_no_account_is_made(owner: Any) -> None:
    users = get_user_model().objects.count()
    with pytest.raises(SignInRefused, match="No OKRly account uses the e-mail address"):
        user_for_claims(claims("nina@example.com", name="Nina Newcomer"))
    assert get_user_model().objects.count() == users


def test_an_unknown_email_becomes_a_member_of_the_chosen_team_when_set_to_create(
    settings: Any, growth: Any, owner: Any
) -> None:
    settings.OIDC_UNKNOWN_USERS = "create"
    settings.OIDC_NEW_USER_TEAM = "growth"
    UserFactory(username="nina", email="someone.else@example.com")

    nina = user_for_claims(
        {**claims("nina@example.com", name="Nina  van Newcomer"), "given_name": "Nina"}
    )

    assert nina.username == "nina-2"  # "nina" was taken
    assert nina.email == "nina@example.com"
    assert (nina.first_name, nina.last_name) == ("Nina", "van Newcomer")
    assert not nina.has_usable_password()
    nina.refresh_from_db()
    assert nina.profile.display_name == "Nina van Newcomer"
    assert list(Membership.objects.filter(user=nina).values_list("team__slug", "role")) == [
        ("growth", "member")
    ]
    # Signing in again finds the account, makes no second one.
    assert user_for_claims(claims("NINA@example.com")) == nina


def test_creating_into_a_team_that_does_not_exist_is_refused_and_makes_nothing(
    settings: Any, owner: Any
) -> None:
    settings.OIDC_UNKNOWN_USERS = "create"
    settings.OIDC_NEW_USER_TEAM = "no-such-team"
    with pytest.raises(SignInRefused, match="no-such-team"):
        user_for_claims(claims("nina@example.com"))
    assert not get_user_model().objects.filter(email="nina@example.com").exists()


@pytest.mark.parametrize(
    ("token_sub", "userinfo_sub", "same"),
    [("olga", "olga", True), ("olga", "uma", False), ("olga", None, False), (None, None, False)],
)
def test_userinfo_must_describe_the_subject_of_the_id_token(
    token_sub: Any, userinfo_sub: Any, same: bool
) -> None:
    assert same_subject({"sub": token_sub}, {"sub": userinfo_sub}) is same


def test_the_backend_ignores_a_password_sign_in(owner: Any, rf: Any) -> None:
    request = rf.get("/accounts/login/?code=abc&state=def")
    assert SSOBackend().authenticate(request, username="olga", password="x") is None


# --- the provider's ID token -----------------------------------------------------------------


@pytest.fixture
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def id_token(key: rsa.RSAPrivateKey, *, issued: float, audience: str = "okrly-test") -> str:
    body = {"sub": "olga", "aud": audience, "iat": int(issued), "exp": int(issued) + 3600}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k"})


def test_a_provider_clock_a_little_ahead_is_tolerated(signing_key: Any) -> None:
    token = id_token(signing_key, issued=time.time() + CLOCK_SKEW_SECONDS / 2)
    assert SSOBackend()._verify_jws(token, signing_key.public_key())["sub"] == "olga"


@pytest.mark.parametrize(
    ("issued", "audience"),
    [
        (time.time() + 10 * CLOCK_SKEW_SECONDS, "okrly-test"),  # not valid yet
        (time.time() - 7200, "okrly-test"),  # expired an hour ago
        (time.time(), "another-client"),  # issued to someone else
    ],
)
def test_a_token_outside_its_times_or_for_another_client_is_refused_as_a_400(
    signing_key: Any, settings: Any, issued: float, audience: str
) -> None:
    backend = SSOBackend()
    backend.OIDC_RP_IDP_SIGN_KEY = signing_key.public_key()  # instead of the provider's JWKS
    with pytest.raises(SignInRefused, match="could not be verified") as refused:
        backend.verify_token(id_token(signing_key, issued=issued, audience=audience), nonce=None)
    assert refused.value.status == 400


# --- the callback ----------------------------------------------------------------------------


def test_starting_sign_in_sends_a_signed_out_visitor_to_the_provider(
    client: Client, db: Any
) -> None:
    response = client.get("/oidc/authenticate/?next=/teams/")
    assert response.status_code == 302
    sent = urlsplit(response["Location"])
    query = parse_qs(sent.query)
    assert sent.path == "/auth"
    assert query["client_id"] == ["okrly-test"]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] in client.session["oidc_states"]


def test_a_callback_whose_state_this_browser_never_sent_is_a_400_with_a_reason(
    client: Client, db: Any
) -> None:
    client.get("/oidc/authenticate/")
    response = client.get("/oidc/callback/?code=abc&state=not-the-one-sent")
    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("error=access_denied", 403, "Sign-in was cancelled"),
        ("error=login_required", 403, "Your single sign-on session has ended"),
        ("error=server_error", 403, "refused the sign-in (server_error)"),
        ("", 400, "Sign-in did not complete"),
    ],
)
def test_a_callback_without_a_code_shows_why_on_the_sign_in_page(
    client: Client, db: Any, query: str, status: int, reason: str
) -> None:
    response = client.get(f"/oidc/callback/?{query}")
    assert response.status_code == status
    assert reason in response.text
    assert 'action="/accounts/login/"' in response.text  # the sign-in page, to start again


def test_a_provider_that_does_not_answer_is_a_502_with_a_reason(client: Client, db: Any) -> None:
    # Either nothing listens on the test provider's port (only the browser tests start it),
    # or the provider refuses a code it never issued: the token request fails either way.
    started = client.get("/oidc/authenticate/")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    response = client.get(f"/oidc/callback/?code=abc&state={state}")
    assert response.status_code == 502
    assert "did not answer as expected" in response.text


# --- renewal of an SSO session --------------------------------------------------------------


def sso_session(client: Client, user: Any, *, expires_at: float) -> None:
    client.force_login(user, backend="okrly.sso.SSOBackend")
    session = client.session
    session["oidc_id_token_expiration"] = expires_at
    session.save()


def test_an_expired_sso_session_goes_back_through_the_provider_silently(
    client: Client, owner: Any
) -> None:
    sso_session(client, owner, expires_at=time.time() - 1)
    response = client.get("/teams/")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["prompt"] == ["none"]
    assert client.session["oidc_login_next"] == "/teams/"


def test_an_sso_session_still_fresh_is_left_alone(client: Client, owner: Any) -> None:
    sso_session(client, owner, expires_at=time.time() + 60)
    assert client.get("/teams/").status_code == 200


def test_an_expired_sso_session_reloads_the_page_on_an_htmx_request(
    client: Client, owner: Any
) -> None:
    sso_session(client, owner, expires_at=time.time() - 1)
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"


def test_a_password_session_never_goes_through_the_provider(client: Client, owner: Any) -> None:
    client.force_login(owner, backend="okrly.backends.ProfileBackend")
    assert client.get("/teams/").status_code == 200


def test_an_sso_session_of_a_switched_off_account_is_signed_out(client: Client, owner: Any) -> None:
    sso_session(client, owner, expires_at=time.time() + 60)
    owner.is_active = False
    owner.save()
    response = client.get("/teams/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- password sign-in ------------------------------------------------------------------------


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_password_sign_in_for_staff_only_refuses_others_with_a_reason(
    client: Client, settings: Any, owner: Any, admin_user: Any, password: str
) -> None:
    settings.PASSWORD_SIGN_IN = "staff"

    refused = sign_in(client, "olga", password)
    assert refused.status_code == 200
    assert "Password sign-in is for staff only" in refused.text
    assert "Sign in with Example Corp" in refused.text
    assert "_auth_user_id" not in client.session

    assert sign_in(client, "ada", password).status_code == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    client.logout()
    # Refused for the setting, not the password: with it back at "all", olga signs in.
    settings.PASSWORD_SIGN_IN = "all"
    assert sign_in(client, "olga", password).status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_a_wrong_password_under_staff_only_says_nothing_about_the_setting(
    client: Client, settings: Any, owner: Any
) -> None:
    settings.PASSWORD_SIGN_IN = "staff"
    response = sign_in(client, "olga", "wrong")
    assert "Please enter a correct username and password" in response.text
    assert "staff only" not in response.text


def test_the_sign_in_page_leads_with_sso_when_passwords_are_for_staff(
    client: Client, settings: Any, db: Any
) -> None:
    page = client.get("/accounts/login/").text
    assert page.index('name="password"') < page.index("Sign in with Example Corp")

    settings.PASSWORD_SIGN_IN = "staff"
    page = client.get("/accounts/login/?next=/teams/").text
    assert page.index("Sign in with Example Corp") < page.index('name="password"')
    assert 'href="/oidc/authenticate/?next=/teams/"' in page
    assert "Staff: sign in with a password" in page


# --- settings --------------------------------------------------------------------------------

SHOW_SSO = """
import json
import django
from django.conf import settings
from django.urls import NoReverseMatch, reverse

django.setup()
try:
    callback = reverse("oidc_authentication_callback")
except NoReverseMatch:
    callback = None
print(json.dumps({
    "enabled": settings.OIDC_ENABLED,
    "password": settings.PASSWORD_SIGN_IN,
    "backends": settings.AUTHENTICATION_BACKENDS,
    "middleware": settings.MIDDLEWARE,
    "callback": callback,
    "unknown": settings.OIDC_UNKNOWN_USERS,
    "algo": getattr(settings, "OIDC_RP_SIGN_ALGO", None),
}))
"""

SSO_ENV = {
    "OIDC_RP_CLIENT_ID": "okrly",
    "OIDC_RP_CLIENT_SECRET": "s3cret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example.com/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://sso.example.com/token",
    "OIDC_OP_USER_ENDPOINT": "https://sso.example.com/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://sso.example.com/jwks",
}


def start_django(env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    """Django's settings (development's unless ``env`` names others) with only ``env``: a
    clean environment, no .env file."""
    clean = {
        "PATH": "/usr/bin:/bin",
        "OKRLY_VAR_DIR": str(var_dir),
        "OKRLY_DOTENV": "0",
        "DJANGO_SETTINGS_MODULE": "okrly.settings.dev",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", SHOW_SSO],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sso_is_off_without_a_client_id(tmp_path: Path) -> None:
    result = start_django({}, tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.splitlines()[-1])
    assert shown["enabled"] is False
    assert shown["password"] == "all"
    assert "okrly.sso.SSOBackend" not in shown["backends"]
    assert "okrly.sso.SSORenewal" not in shown["middleware"]
    assert shown["callback"] is None


def test_sso_is_on_with_a_client_id_and_its_endpoints(tmp_path: Path) -> None:
    result = start_django({**SSO_ENV, "PASSWORD_SIGN_IN": "Staff"}, tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.splitlines()[-1])
    assert shown["enabled"] is True
    assert shown["password"] == "staff"
    assert shown["backends"][-1] == "okrly.sso.SSOBackend"
    auth = shown["middleware"].index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert shown["middleware"][auth + 1] == "okrly.sso.SSORenewal"
    assert shown["callback"] == "/oidc/callback/"
    assert (shown["unknown"], shown["algo"]) == ("refuse", "RS256")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"OIDC_OP_TOKEN_ENDPOINT": ""}, "OIDC_OP_TOKEN_ENDPOINT must be set"),
        ({"OIDC_OP_JWKS_ENDPOINT": "sso.example.com/jwks"}, "OIDC_OP_JWKS_ENDPOINT is malformed"),
        ({"OIDC_UNKNOWN_USERS": "maybe"}, "OIDC_UNKNOWN_USERS is malformed"),
        ({"OIDC_UNKNOWN_USERS": "create"}, "OIDC_NEW_USER_TEAM must name a team"),
        ({"OIDC_RP_SIGN_ALGO": "none"}, "OIDC_RP_SIGN_ALGO is malformed"),
        ({"PASSWORD_SIGN_IN": "nobody"}, "PASSWORD_SIGN_IN is malformed"),
        ({"OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS": "5"}, "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS"),
    ],
)
def test_a_bad_sso_setting_stops_start_up_naming_it(
    tmp_path: Path, change: dict[str, str], named: str
) -> None:
    result = start_django({**SSO_ENV, **change}, tmp_path)
    assert result.returncode != 0
    assert named in result.stderr


def test_production_refuses_a_provider_endpoint_over_plain_http(tmp_path: Path) -> None:
    production = {
        "DJANGO_SETTINGS_MODULE": "okrly.settings.production",
        "SECRET_KEY": "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789",
        "DATABASE_URL": "postgres://okrly:pw@db.internal:5432/okrly",
        "ALLOWED_HOSTS": "okr.example.com",
        "REDIS_URL": "redis://redis.internal:6379/0",
    }
    assert start_django({**production, **SSO_ENV}, tmp_path).returncode == 0
    plain = {**SSO_ENV, "OIDC_OP_TOKEN_ENDPOINT": "http://sso.example.com/token"}
    result = start_django({**production, **plain}, tmp_path)
    assert result.returncode != 0
    assert "OIDC_OP_TOKEN_ENDPOINT must be an https:// address in production" in result.stderr


def test_password_sign_in_for_staff_only_needs_sso(tmp_path: Path) -> None:
    result = start_django({"PASSWORD_SIGN_IN": "staff"}, tmp_path)
    assert result.returncode != 0
    assert "PASSWORD_SIGN_IN=staff needs single sign-on" in result.stderr
