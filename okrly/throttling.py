"""Limits on how often one client may ask: the API's throttles and password-reset e-mails.

Both use DRF's throttles, which count in the default cache. A limit is a guard, not part of
what a request does: when the cache fails (Redis down), a throttle lets the request through
and logs the error, so an outage never turns API calls or a password reset into a 500.
The limits resume when the cache is back. The sign-in lockout is django-axes' and counts in
the database (settings ``AXES_*``).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)


class FailOpenThrottle(throttling.SimpleRateThrottle):
    """A rate throttle that allows the request when its cache cannot be read or written."""

    def get_rate(self) -> str | None:
        # Read per request, not once at import like DRF's class attribute, so that a changed
        # setting (a test's override_settings) takes effect.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No DEFAULT_THROTTLE_RATES entry for {self.scope!r}.")
        return rates[self.scope]

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        # Each cache backend raises its own errors (redis-py's, pymemcache's), with no common
        # base in Django: any failure of the count must not fail the request.
        except Exception:
            logger.warning("Throttle %s skipped: the cache failed", self.scope, exc_info=True)
            return True


class UserRateThrottle(FailOpenThrottle, throttling.UserRateThrottle):
    """API calls per signed-in user (``API_THROTTLE_USER``)."""


class AnonRateThrottle(FailOpenThrottle, throttling.AnonRateThrottle):
    """API calls per address from callers not signed in (``API_THROTTLE_ANON``)."""


def client_address(request: HttpRequest) -> str:
    """The client's address as every limit sees it: REMOTE_ADDR, or the address the
    ``TRUSTED_PROXY_COUNT`` proxies put in X-Forwarded-For (DRF's rule, shared with axes)."""
    # get_ident reads only META and headers, which a Django request has like DRF's.
    return str(throttling.BaseThrottle().get_ident(cast(Any, request)) or "")


class _PasswordResetThrottle(FailOpenThrottle):
    """``PASSWORD_RESET_LIMIT`` reset e-mails an hour for one key (an address or a client)."""

    scope = "password_reset"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__()

    def get_rate(self) -> str:
        return f"{settings.PASSWORD_RESET_LIMIT}/hour"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.key}


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Count one reset e-mail for the address typed and for the client; False once either has
    had ``PASSWORD_RESET_LIMIT`` this hour.

    The address counts whether or not an account uses it, so the limit tells nothing about
    accounts. It is kept as a hash: the cache holds no one's e-mail address.
    """
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    throttles = [
        _PasswordResetThrottle(f"email:{digest}"),
        _PasswordResetThrottle(f"client:{client_address(request)}"),
    ]
    # Both are asked (no short-circuit): a client that hammers one address is counted too.
    allowed = [throttle.allow_request(request, None) for throttle in throttles]
    return all(allowed)


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: a page that says for how long (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
