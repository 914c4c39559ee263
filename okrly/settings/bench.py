"""The benchmark server (``make bench``): the production settings, on this machine.

Everything production checks is still checked; this overlay only supplies the values a
deployment would, pointing at the local PostgreSQL database ``okrly_bench`` and the local
Redis. What differs from production is what plain-HTTP localhost needs: no redirect to HTTPS.

The database is ``BENCH_DATABASE_URL`` (default below), never an inherited
``DATABASE_URL``: the runner drops and recreates it, so a developer's own database must not
be reachable from here by accident.
"""

from __future__ import annotations

import os

# Set before production reads them. Forced: what makes this the bench (its own database,
# plain HTTP on localhost, the Redis cache for sessions, persistent connections).
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/okrly_bench"
)
os.environ["ALLOWED_HOSTS"] = "localhost,127.0.0.1"
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ["DEBUG"] = "false"
os.environ["CONN_MAX_AGE"] = "60"
os.environ.pop("CACHE_URL", None)  # production then caches in REDIS_URL's Redis
# Defaults: any server of the environment's own will do. The secret only signs bench
# sessions on a throw-away database.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault(
    "SECRET_KEY", "bench-only-4f9c2d7e1a8b6035c9e2f7a1d4b8c6e0f3a5d7b9c1e4f6a8b0d2c4e6"
)
os.environ.setdefault("LOG_LEVEL", "WARNING")

from okrly.settings.base import VAR_DIR
from okrly.settings.production import *  # noqa: F403
from okrly.settings.production import CACHES

# Bench keys apart from anything else using the same Redis (the cache is the sessions' store).
CACHES["default"]["KEY_PREFIX"] = "okrly-bench"
# collectstatic writes here, apart from a real deployment's files; WhiteNoise serves them.
STATIC_ROOT = VAR_DIR / "bench" / "staticfiles"
