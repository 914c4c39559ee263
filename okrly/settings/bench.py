"""The benchmark server (``make bench``): the production settings, on this machine.

Everything production checks is still checked; the runner (``tests/bench/run.py``) only
supplies the values a deployment would, pointing at the local PostgreSQL database
``okrly_bench`` and the local Redis. Any of them can be overridden from the environment.
What differs from production is what plain-HTTP localhost needs: no redirect to HTTPS.
"""

from __future__ import annotations

import os

# Defaults for the variables production requires; set before production reads them. The
# secret only signs bench sessions on a throw-away database.
for _name, _value in {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/okrly_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    "SECRET_KEY": "bench-only-4f9c2d7e1a8b6035c9e2f7a1d4b8c6e0f3a5d7b9c1e4f6a8b0d2c4e6",
    "SECURE_SSL_REDIRECT": "false",
    "CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_name, _value)

from okrly.settings.base import VAR_DIR  # noqa: E402
from okrly.settings.production import *  # noqa: E402, F403
from okrly.settings.production import CACHES  # noqa: E402

# Bench keys apart from anything else using the same Redis (the cache is the sessions' store).
CACHES["default"]["KEY_PREFIX"] = "okrly-bench"
# collectstatic writes here, apart from a real deployment's files; WhiteNoise serves them.
STATIC_ROOT = VAR_DIR / "bench" / "staticfiles"
