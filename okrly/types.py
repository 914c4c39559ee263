"""Types the apps' signatures share: the user model and the request a view receives.

``User`` exists for the type checker only: import it under ``TYPE_CHECKING``. It is the
model ``AUTH_USER_MODEL`` names, Django's ``django.contrib.auth.models.User`` (the settings
keep the default); if that setting ever changes, this alias is the one line to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser as AnonymousUser
    from django.contrib.auth.models import User as User


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (``request.htmx`` is falsy
    unless htmx sent it): django-htmx's recommended annotation for views."""

    htmx: HtmxDetails


class AuthedRequest(HtmxHttpRequest):
    """The request of a ``@login_required`` view: ``request.user`` is a signed-in user, never
    ``AnonymousUser`` (the decorator sent anyone else to the login page)."""

    user: User
