"""Project errors. Services raise these with a message a person can read; views show it
next to the form, the API returns it with status 400 (or 403 for ``PermissionDenied``)."""

from __future__ import annotations


class OKRlyError(Exception):
    """A rule was broken; ``message`` says what to change. ``field`` names the form field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(OKRlyError):
    """The input breaks a rule of the product."""


class PermissionDenied(OKRlyError):
    """The signed-in user may not do this; the message says who may."""
