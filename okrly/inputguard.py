"""Requests no view can answer, refused at the door with 400 instead of failing with 500.

- A NUL character in the path or the query string: PostgreSQL refuses NUL in any text, so
  ``/api/teams/%00/`` or ``?status=%00`` would reach the database and fail there. Bodies
  are checked field by field (DRF's and Django's CharField refuse NUL already).
- JSON nested deeper than the parser can recurse: ``json.loads`` raises RecursionError,
  which is not a parse error to DRF and answered 500.
- An API address that no URL matches (``/api/dashboard/teams/-1/``): JSON like every other
  API answer, not the HTML page for an unknown address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.defaults import page_not_found
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL_MESSAGE = "The address contains a NUL character (%00), which no page or API accepts."
DEEP_JSON_MESSAGE = "JSON parse error - the body is nested too deeply."


def _has_nul(request: HttpRequest) -> bool:
    # The path arrives decoded; the query string raw, so decode it to see "%00" as NUL.
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or b"\x00" in unquote_to_bytes(query)


class RefuseNulMiddleware:
    """400 for a NUL character in the path or query string (JSON for the API)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the API's JSON 404 under /api/, Django's page (templates/404.html) else."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with too-deep nesting answered as a parse error (400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(DEEP_JSON_MESSAGE) from None
