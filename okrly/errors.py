"""Project errors. Services raise these with a message a person can read; views show it
next to the form, the API returns it with status 400 (or 403 for ``NotAllowed``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied


class OKRlyError(Exception):
    """A rule was broken; ``message`` says what to change. ``field`` names the form field."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "",
        data: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # A machine-readable reason and its facts, for API clients that act on it (e.g.
        # {"code": "trade_off_required", "limit": 3, "team": ...}); pages show the message.
        self.code = code
        self.data = data or {}


class RuleBroken(OKRlyError):
    """The input breaks a rule of the product."""


class NotAllowed(OKRlyError, DjangoPermissionDenied):
    """The signed-in user may not do this; the message says who may.

    Also Django's PermissionDenied, so a view lets it through and Django answers 403 with
    the message on the 403 page; the API's exception handler answers 403 with it too.
    """
