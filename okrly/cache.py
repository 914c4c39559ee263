"""Django's Redis cache, failing soft: with Redis down, reads miss and writes are skipped.

Nothing in OKRly needs the cache to be right, only fast: sessions are written through to the
database (``cached_db``) and read from it on a miss, and the dashboard computes what it
cannot read. So an unreachable Redis must cost a cache miss, never an error page. After a
failure the cache is left alone for ``RETRY_AFTER`` seconds, so that an outage costs one
timeout (and one logged warning) per process now and then instead of one per call; short
socket timeouts bound the wait when Redis hangs instead of refusing.

Known limit: a key deleted while Redis is unreachable (a session signed out) is still in a
Redis that comes back with its data (persistence on), until the entry expires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_AFTER = 5.0  # seconds without trying Redis after a failure
# Seconds; Redis answers in well under a millisecond on a healthy network.
SOCKET_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}


class FailSoftRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = {**SOCKET_OPTIONS, **params.get("OPTIONS", {})}
        super().__init__(server, {**params, "OPTIONS": options})
        self._down_until = 0.0

    def _soft(self, call: Callable[[], T], default: T) -> T:
        if time.monotonic() < self._down_until:
            return default
        try:
            return call()
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + RETRY_AFTER
            log.warning("Cache unavailable, working without it for %.0f s: %r", RETRY_AFTER, exc)
            return default

    def add(
        self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._soft(partial(super().add, key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._soft(partial(super().get, key, default, version), default)

    def set(
        self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._soft(partial(super().set, key, value, timeout, version), None)

    def touch(self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._soft(partial(super().touch, key, timeout, version), False)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._soft(partial(super().delete, key, version), False)

    def get_many(self, keys: Iterable[Any], version: Any = None) -> dict[Any, Any]:
        return self._soft(partial(super().get_many, keys, version), {})

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._soft(partial(super().has_key, key, version), False)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        value: int | None = self._soft(partial(super().incr, key, delta, version), None)
        if value is None:  # Django's contract for a key the cache doesn't hold
            raise ValueError(f"Key {key!r} not found: the cache is unavailable.")
        return value

    def set_many(
        self, data: dict[Any, Any], timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return self._soft(partial(super().set_many, data, timeout, version), list(data))

    def delete_many(self, keys: Iterable[Any], version: Any = None) -> None:
        self._soft(partial(super().delete_many, keys, version), None)

    def clear(self) -> None:
        self._soft(partial(super().clear), None)
