"""A version number for everything the dashboard aggregates, and a cache keyed by it.

Every write that can change a dashboard figure bumps the version (model signals connected by
the reviews app, plus the few bulk writes that bypass signals, which call ``bump()``
themselves). Cached figures are keyed by the version and today's date, so a change or a new
day makes them unreachable at once; the timeout only bounds memory. Tests in
tests/reviews/test_cache.py check that each kind of change shows on the next read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

T = TypeVar("T")
VERSION_KEY = "okrly:dashboard:version"
TIMEOUT = 300


def version() -> int:
    value = cache.get(VERSION_KEY)
    if value is None:
        # add() is atomic: two processes starting at once agree on the first version.
        cache.add(VERSION_KEY, 1, timeout=None)
        value = cache.get(VERSION_KEY) or 1
    return int(value)


def bump(*_: Any, **__: Any) -> None:
    """Invalidate every cached figure (usable as a signal receiver)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value invalidates
        cache.set(VERSION_KEY, version() + 1, timeout=None)


def cached(parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    key = "okrly:dashboard:" + ":".join(str(p) for p in (version(), *parts))
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=TIMEOUT)
    return value
