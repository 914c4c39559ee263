"""Production: everything from the environment, nothing defaulted that could be wrong.

A missing or malformed value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os

import environ
from django.core.exceptions import ImproperlyConfigured

from okrly.envcheck import bool_value, env_value
from okrly.settings.base import *  # noqa: F403
from okrly.settings.base import (
    CELERY_BROKER_URL,
    DATABASES,
    SECRET_KEY,
    env,
    fail_soft_cache,
)
from okrly.ssoconfig import ENDPOINTS

_REQUIRED = {
    "SECRET_KEY": (
        "a long random string (python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    ),
    "DATABASE_URL": "e.g. postgres://okrly:secret@db:5432/okrly",
    "ALLOWED_HOSTS": "comma-separated host names the site answers to, e.g. okr.example.com",
}
for _name, _hint in _REQUIRED.items():
    if not os.environ.get(_name, "").strip():
        raise ImproperlyConfigured(f"{_name} must be set in production: {_hint}.")
if not (os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")):
    raise ImproperlyConfigured(
        "REDIS_URL (or CELERY_BROKER_URL) must be set in production, e.g. redis://redis:6379/0."
    )
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY is too short or too simple: use 50+ random characters.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise ImproperlyConfigured(
        "DATABASE_URL points at SQLite; production needs PostgreSQL (postgres://...)."
    )
if CELERY_BROKER_URL.startswith(("okrlyfs://", "memory://")):
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL uses an embedded broker; production needs Redis (redis://...)."
    )
for _name in ENDPOINTS:
    # The token request carries the client secret, and the keys decide who signs in.
    if os.environ.get("OIDC_RP_CLIENT_ID") and not vars()[_name].startswith("https://"):
        raise ImproperlyConfigured(f"{_name} must be an https:// address in production.")
if bool_value("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be false in production.")
DEBUG = False
if bool_value("WEBHOOK_ALLOW_HTTP", default=False):
    raise ImproperlyConfigured(
        "WEBHOOK_ALLOW_HTTP must be false in production: it lets a Slack or Teams webhook "
        "point at any host, internal ones included, over plain http."
    )

if not os.environ.get("CACHE_URL"):
    # The broker's Redis serves as the cache too (Django prefixes its keys; no clash).
    CACHES = {"default": fail_soft_cache(environ.Env.cache_url_config(CELERY_BROKER_URL))}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = bool_value("SECURE_SSL_REDIRECT", default=True)
if not SECURE_SSL_REDIRECT:
    # Switched off on purpose (docker-compose on plain-HTTP localhost, or a proxy that does
    # the redirect itself): the variable is the acknowledgement, so check --deploy stays quiet.
    SILENCED_SYSTEM_CHECKS = ["security.W008"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_value(env.int, "SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
