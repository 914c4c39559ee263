"""The outage test's gunicorn: the production settings, on the test's database and Redis.

Everything production checks is still checked, and its cache, sessions and broker are the
test's own Redis (REDIS_URL, no CACHE_URL), as in a deployment. What differs is only what a
test on localhost needs: plain HTTP, static files from the app folders (no collectstatic),
the test's password hasher, and, when the suite runs on SQLite, the SQLite test database.
Production refuses SQLite at start-up, so its check sees a placeholder URL and the test's
database is set afterwards.
"""

from __future__ import annotations

import os

from okrly.envcheck import db_url_value

_DATABASE_URL = os.environ["OKRLY_OUTAGE_DATABASE_URL"]
_ON_SQLITE = _DATABASE_URL.startswith("sqlite:")
os.environ["DATABASE_URL"] = (
    "postgres://placeholder@127.0.0.1:1/placeholder" if _ON_SQLITE else _DATABASE_URL
)
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ.pop("CACHE_URL", None)

from django.conf import global_settings  # noqa: E402

from okrly.settings.production import *  # noqa: E402, F403
from okrly.settings.production import env  # noqa: E402

if _ON_SQLITE:
    DATABASES = {"default": db_url_value(env, "OKRLY_OUTAGE_DATABASE_URL", default="")}
    # As base.py sets them for SQLite: the test process and gunicorn share the file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
# The test's users get their passwords from the test settings' fast hasher.
PASSWORD_HASHERS = [
    *global_settings.PASSWORD_HASHERS,
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
