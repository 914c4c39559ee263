"""Sign-in required everywhere, except where a view opts out or authenticates itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponseBase


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's middleware, minus DRF views.

    API clients sign in with a token, which DRF reads inside the view; at middleware time
    such a request still looks anonymous and would be redirected to the login page. DRF's
    ``IsAuthenticated`` default permission refuses anonymous API calls with 401/403 instead.
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if getattr(view_func, "cls", None) is not None:  # set by DRF's as_view()
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
