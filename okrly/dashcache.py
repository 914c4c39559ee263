"""A version number for everything the dashboard aggregates, and a cache keyed by it.

Every write that can change a dashboard figure bumps the version (model signals connected by
the reviews app, plus the few bulk writes that bypass signals, which call ``bump()``
themselves). Cached figures are keyed by the version and today's date, so a change or a new
day makes them unreachable at once; the timeout only bounds memory. Tests in
tests/reviews/test_cache.py check that each kind of change shows on the next read.

The cache is never in a write's path: the bump runs once the write has committed (a reader
between the bump and the commit would otherwise cache old figures under the new version),
and a cache that fails is logged and skipped, by writes and reads alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)
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
    """Invalidate every cached figure once the current transaction commits (usable as a
    signal receiver; outside a transaction, at once)."""
    transaction.on_commit(_bump_now)


def _bump_now() -> None:
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # not set yet (or evicted): any new value invalidates
            cache.set(VERSION_KEY, version() + 1, timeout=None)
    except Exception:  # any cache failure: the write is done and must stay a success
        log.warning("Dashboard cache not invalidated: the cache failed.", exc_info=True)


def cached(parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``'s value, from the cache when it holds it; without a cache, computed."""
    try:
        key = "okrly:dashboard:" + ":".join(str(p) for p in (version(), *parts))
        value = cache.get(key)
    except Exception:
        log.warning("Dashboard cache unreadable: computing without it.", exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout=TIMEOUT)
        except Exception:
            log.warning("Dashboard cache not written: the cache failed.", exc_info=True)
    return value
