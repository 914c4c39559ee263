"""``link(viewname, *ids)``: ``reverse()`` for the links a list prints once per row.

``reverse()`` walks the URL resolver on every call (about 15 µs here); a 50-row dashboard
table printed 230 links a request, 3.6 ms of a page whose bar is 12 ms. The path of a view
whose arguments are whole numbers is the same text around them every time, so it is
reversed once with marker numbers, split around them, and joined with the real ones after
that. Anything else (a string, a negative number, a view whose converter changes the
number) goes to ``reverse()`` itself, so the result is always what ``reverse()`` gives.

Within a request the script prefix and the URL resolver are read once: each read is a
thread-local lookup (asgiref's ``Local``, a few microseconds), and a table of 50 rows asked
for them twice a link. ``request_started`` marks the request's context and the first link
reads them; ``request_finished`` clears them. Outside a request (a task, a test calling
``link`` directly) they are read on every call, as ``reverse()`` does. Nothing in OKRly
changes the URL configuration during a request (no ``request.urlconf``).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from django.core.signals import request_finished, request_started
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse

# Marker arguments no real path contains: 20 digits, each position its own.
_MARKER = 73_910_562_840_000_000_000


@lru_cache(maxsize=512)
def _split(viewname: str, arity: int, prefix: str, resolver: Any) -> tuple[str, ...] | None:
    markers = [str(_MARKER + i) for i in range(arity)]
    path = reverse(viewname, args=markers, urlconf=resolver.urlconf_name)
    parts: list[str] = []
    rest = path
    for marker in markers:
        before, found, rest = rest.partition(marker)
        if not found or marker in rest:
            return None  # the converter rewrote it, or it appears twice: no shortcut
        parts.append(before)
    parts.append(rest)
    return tuple(parts)


# None: not in a request. _PENDING: in one, not read yet. Else (prefix, resolver).
_PENDING: Any = object()
_request_base: ContextVar[Any] = ContextVar("okrly_link_base", default=None)


def _started(**kwargs: Any) -> None:
    _request_base.set(_PENDING)


def _finished(**kwargs: Any) -> None:
    _request_base.set(None)


request_started.connect(_started, dispatch_uid="okrly_links_started")
request_finished.connect(_finished, dispatch_uid="okrly_links_finished")


def _base() -> tuple[str, Any]:
    base = _request_base.get()
    if base is None or base is _PENDING:
        found = (get_script_prefix(), get_resolver(get_urlconf()))
        if base is _PENDING:
            _request_base.set(found)
        return found
    return base


def link(viewname: str, *ids: int) -> str:
    """The path of ``viewname`` with these whole-number arguments, as ``reverse()`` gives it."""
    if not all(type(i) is int and i >= 0 for i in ids):
        return reverse(viewname, args=ids)
    # The resolver is part of the key: tests that swap ROOT_URLCONF get a new one (Django
    # clears its cache of resolvers when the setting changes), and so a new split.
    parts = _split(viewname, len(ids), *_base())
    if parts is None:
        return reverse(viewname, args=ids)
    out = [parts[0]]
    for value, after in zip(ids, parts[1:], strict=True):
        out.append(str(value))
        out.append(after)
    return "".join(out)
