"""What the app runs on (database, cache, broker): the health report and outage errors.

A request needs the database; it needs the cache only when sessions can't do without it
(the fail-soft Redis cache of okrly/cache.py falls back to the database); it never needs
the broker (tasks are queued on commit, and the e-mail sweep sends what could not be).
``/healthz/`` answers 503 only when a part the request path needs is down, and names every
part that is down either way. The cache and broker checks are bounded by short timeouts.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import InterfaceError, OperationalError, connection
from kombu.exceptions import OperationalError as BrokerError

from okrly.cache import FailSoftRedisCache

log = logging.getLogger(__name__)

BROKER_TIMEOUT = 2  # seconds
# Caches that never raise: with one of these, sessions survive a cache outage.
FAIL_SOFT_CACHES = (FailSoftRedisCache, LocMemCache, DummyCache)


def outage_of(exc: BaseException | None) -> str | None:
    """The part an exception says is unreachable ("database", "cache", "broker"), or None
    for any other error (a bug, which stays a 500)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return "cache"
    if isinstance(exc, BrokerError):
        return "broker"
    return None


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return type(exc).__name__
    return None


def _cache() -> str | None:
    """A write read back: the fail-soft cache turns errors into misses, so a miss is down."""
    cache = caches["default"]
    key, token = "okrly:healthz", uuid.uuid4().hex
    try:
        cache.set(key, token, timeout=10)
        if cache.get(key) != token:
            return "unreachable"
    except Exception as exc:
        return type(exc).__name__
    return None


def _broker() -> str | None:
    from okrly.celery import app

    try:
        with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT
            )
    except Exception as exc:
        return type(exc).__name__
    return None


def _sessions_need_cache() -> bool:
    engine = settings.SESSION_ENGINE.rsplit(".", 1)[-1]
    if engine not in {"cache", "cached_db"}:
        return False
    fail_soft = isinstance(caches[settings.SESSION_CACHE_ALIAS], FAIL_SOFT_CACHES)
    return engine == "cache" or not fail_soft


def report() -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of ``/healthz/``."""
    errors = {"database": _database(), "cache": _cache(), "broker": _broker()}
    needed = {"database"} | ({"cache"} if _sessions_need_cache() else set())
    down = [name for name, error in errors.items() if error is not None]
    if down:
        log.warning("Health check: %s down (%s).", ", ".join(down), errors)
    body: dict[str, Any] = {
        "status": "unavailable" if needed & set(down) else "degraded" if down else "ok",
        **{
            name: {"ok": error is None, **({"error": error} if error else {})}
            for name, error in errors.items()
        },
        "needed": sorted(needed),
    }
    return (503 if needed & set(down) else 200), body
