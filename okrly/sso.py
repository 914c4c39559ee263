"""Sign-in through an OpenID Connect provider: mozilla-django-oidc with OKRly's rules on top.

- A person is the OKRly account whose e-mail address is the provider's *verified* ``email``
  claim, compared without case. An unverified address, one that several accounts share, and
  an inactive account are refused.
- An address no account uses is refused, or, with ``OIDC_UNKNOWN_USERS=create``, becomes a
  new account, a member of the team ``OIDC_NEW_USER_TEAM``.
- Every refusal is the sign-in page with its reason and a 4xx status (a provider that fails:
  502), never the library's bare redirect, Django's 400 page or a 500.
- A session signed in this way goes back through the provider once its ID token is
  ``OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS`` old: silently while the provider's own session
  lasts, else the person is signed out and told why.

The settings are read in ``okrly/ssoconfig.py``; this module is on only when they turn it on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.middleware import SessionRefresh
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from okrly.backends import ProfileBackend
from okrly.models import Membership, Profile, Team
from okrly.views import sign_in_page

if TYPE_CHECKING:
    from okrly.types import User

logger = logging.getLogger(__name__)

# How far the provider's clock may run ahead of (or behind) this server's when an ID token's
# times are checked. PyJWT allows none unless told, and the library tells it nothing: a token
# issued a fraction of a second "in the future" by a provider whose clock is a little ahead
# was refused.
CLOCK_SKEW_SECONDS = 120


class SignInRefused(Exception):
    """A sign-in that must not happen, with the sentence the person reads and its status."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def email_is_verified(claims: Mapping[str, Any]) -> bool:
    # Some providers send the claim as the string "true" rather than a JSON boolean.
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def same_subject(id_token: Mapping[str, Any], userinfo: Mapping[str, Any]) -> bool:
    """OpenID Connect Core 5.3.2: the userinfo answer's ``sub`` must be the ID token's (the
    library reads the e-mail address from the former without checking)."""
    return bool(id_token.get("sub")) and userinfo.get("sub") == id_token.get("sub")


def user_for_claims(claims: Mapping[str, Any]) -> User:
    """The OKRly account the provider's claims stand for, or ``SignInRefused``.

    1. The ``email`` claim must be present and ``email_verified`` true: an address the
       provider never checked could be anyone's.
    2. The accounts with that address, without case: two is ambiguous, so refused.
    3. One: refused if inactive, else it is the person.
    4. None: refused, unless ``OIDC_UNKNOWN_USERS`` is ``create``.
    """
    email = str(claims.get("email") or "").strip()
    if not email or len(email) > 254:
        raise SignInRefused(
            "The sign-in provider did not share a usable e-mail address, so OKRly can't tell "
            "who you are. Ask an administrator to check the provider's settings."
        )
    if not email_is_verified(claims):
        raise SignInRefused(
            f"The sign-in provider has not verified the e-mail address {email}, so OKRly "
            "can't tell whose account it is. Verify the address with the provider, then try "
            "again."
        )
    accounts = list(get_user_model()._default_manager.filter(email__iexact=email)[:2])
    if len(accounts) > 1:
        raise SignInRefused(
            f"Several OKRly accounts use the e-mail address {email}. An administrator must give "
            "each its own address before you can sign in with single sign-on."
        )
    if accounts:
        if not accounts[0].is_active:
            raise SignInRefused(
                f"The OKRly account for {email} is switched off. Ask an administrator."
            )
        return accounts[0]
    if settings.OIDC_UNKNOWN_USERS != "create":
        raise SignInRefused(
            f"No OKRly account uses the e-mail address {email}. Ask an administrator to add "
            "you with this address, then sign in again."
        )
    return sso_person_create(email=email, claims=claims)


@transaction.atomic
def sso_person_create(*, email: str, claims: Mapping[str, Any]) -> User:
    """A new account for someone the provider vouches for: a member of ``OIDC_NEW_USER_TEAM``,
    named from the claims, with no password (they sign in through the provider only)."""
    slug = settings.OIDC_NEW_USER_TEAM
    # The team's row lock makes two first sign-ins of one person (two tabs) take turns: the
    # second then finds the account the first made instead of making another.
    team = Team.objects.select_for_update().filter(slug=slug).first()
    if team is None:
        logger.error("OIDC_NEW_USER_TEAM names the team %r, which does not exist.", slug)
        raise SignInRefused(
            f"OKRly is set to add new people to the team “{slug}”, which does not exist. Ask an "
            "administrator to fix OIDC_NEW_USER_TEAM."
        )
    model = get_user_model()
    existing = model._default_manager.filter(email__iexact=email).first()
    if existing is not None:
        return existing
    full_name = _claim(claims, "name", 120)
    first, _, last = full_name.partition(" ")
    user = model._default_manager.create_user(
        username=_free_username(email),
        email=email,
        password=None,  # unusable: the provider is how this person signs in
        first_name=_claim(claims, "given_name", 150) or first[:150],
        last_name=_claim(claims, "family_name", 150) or last[:150],
    )
    Profile.objects.filter(user=user).update(display_name=full_name)
    Membership.objects.create(user=user, team=team, role=Membership.Role.MEMBER)
    logger.info("Single sign-on created the account %s in the team %s.", user.username, slug)
    return user


def _claim(claims: Mapping[str, Any], name: str, limit: int) -> str:
    return " ".join(str(claims.get(name) or "").split())[:limit]


_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")


def _free_username(email: str) -> str:
    """The address's local part as Django allows it in a user name, with -2, -3… when taken."""
    base = _NOT_IN_USERNAME.sub("", email.rpartition("@")[0])[:140] or "user"
    taken = set(
        get_user_model()
        ._default_manager.filter(username__istartswith=base)
        .values_list("username", flat=True)
    )
    taken = {name.lower() for name in taken}
    candidate, n = base, 2
    while candidate.lower() in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


class SSOBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, matching people by ``user_for_claims``.

    Its failures become ``SignInRefused``, which ``SSOCallbackView`` shows: the library lets an
    expired or not-yet-valid token (PyJWT's errors), a bad nonce and an unreachable provider
    escape as exceptions, which Django would answer with a 400 or 500 page.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        # Only the callback's call, which passes the nonce: a password sign-in posted to an
        # address that happens to carry ?code=&state= must not start a token exchange.
        if request is None or "nonce" not in credentials:
            return None
        try:
            return super().authenticate(request, **credentials)
        except requests.RequestException as exc:
            logger.warning("Single sign-on: the provider failed: %s", exc)
            raise SignInRefused(
                "The sign-in provider did not answer as expected, so you are not signed in. "
                "Try again in a minute.",
                status=502,
            ) from exc

    def _verify_jws(self, payload: str, key: Any) -> Any:
        """The library's check (the algorithm must be the one configured, the signature the
        provider's), with ``CLOCK_SKEW_SECONDS`` of leeway and the audience checked: a
        token the provider issued to another of its clients is no sign-in here."""
        algorithm = jwt.get_unverified_header(payload).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"The provider signed with {algorithm!r}, not OIDC_RP_SIGN_ALGO."
            )
        return jwt.decode(
            payload,
            key,
            algorithms=[algorithm],
            audience=self.OIDC_RP_CLIENT_ID,
            leeway=CLOCK_SKEW_SECONDS,
        )

    def verify_token(self, token: str, **kwargs: Any) -> Any:
        try:
            return super().verify_token(token, **kwargs)
        except (jwt.InvalidTokenError, SuspiciousOperation) as exc:
            logger.warning("Single sign-on: the provider's ID token was refused: %s", exc)
            raise SignInRefused(
                "The sign-in provider's answer could not be verified (its signature, its "
                "one-time value or its validity period), so you are not signed in. Start "
                "again; if it keeps happening, check the server's clock and the provider's "
                "settings.",
                status=400,
            ) from exc

    def get_or_create_user(self, access_token: str, id_token: str, payload: Any) -> User:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not same_subject(payload, userinfo):
            raise SignInRefused(
                "The sign-in provider described someone other than the person it signed in, "
                "so you are not signed in. Start again.",
                status=400,
            )
        return user_for_claims(userinfo)

    def get_user(self, user_id: Any) -> Any:
        # The same read as a password session's: the profile with the user, inactive refused.
        return ProfileBackend().get_user(user_id)


@method_decorator(login_not_required, name="dispatch")
class SSOStartView(OIDCAuthenticationRequestView):
    """The sign-in page's "Sign in with …" link: off to the provider, open to signed-out
    visitors (they are the ones who need it)."""


@method_decorator(login_not_required, name="dispatch")
class SSOCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back (``/oidc/callback/``)."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        state = request.GET.get("state")
        if "code" in request.GET and state not in request.session.get("oidc_states", {}):
            # The library raises SuspiciousOperation here (Django's bare 400 page).
            return sign_in_page(
                request,
                error=(
                    "This sign-in answer does not belong to a sign-in started in this browser: "
                    "it is stale, was used already, or was altered. Start again."
                ),
                status=400,
            )
        try:
            return super().get(request)
        except SignInRefused as refusal:
            return sign_in_page(request, error=refusal.message, status=refusal.status)

    def login_failure(self) -> HttpResponse:
        error = self.request.GET.get("error", "")
        if error in ("login_required", "interaction_required", "consent_required"):
            # A silent renewal (SSORenewal) found the provider's own session over.
            message = "Your single sign-on session has ended. Sign in again."
            status = 403
        elif error == "access_denied":
            message = "Sign-in was cancelled at the sign-in provider."
            status = 403
        elif error:
            message = f"The sign-in provider refused the sign-in ({error[:80]})."
            status = 403
        else:
            message = "Sign-in did not complete. Start again."
            status = 400
        return sign_in_page(self.request, error=message, status=status)


class SSORenewal(SessionRefresh):
    """mozilla-django-oidc's ``SessionRefresh`` (sessions signed in with a password are left
    alone), plus htmx: a fragment request would follow the redirect to the provider inside
    an XHR, which the browser blocks (another origin); the whole page reloads instead, and its
    own request goes through the provider."""

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        response: HttpResponseBase | None = super().process_request(request)
        if response is not None and request.headers.get("HX-Request") == "true":
            return HttpResponse(headers={"HX-Refresh": "true"})
        return response
