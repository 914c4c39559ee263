"""Settings for the test suite. DATABASE_URL and REDIS_URL come from the environment (CI
points them at the real PostgreSQL and Redis); the default is a SQLite file."""

from __future__ import annotations

import socket

import environ

from okrly.envcheck import env_value
from okrly.settings.base import *  # noqa: F403
from okrly.settings.base import (
    AUTHENTICATION_BACKENDS,
    DATABASES,
    INSTALLED_APPS,
    MIDDLEWARE,
    VAR_DIR,
    env,
)
from okrly.ssoconfig import sso_settings

SECRET_KEY = "test-secret-key-not-for-production-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Plain storage and no STATIC_ROOT: the manifest storage needs collectstatic, which tests
# don't run; WhiteNoise serves from the app folders instead.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Unit tests call tasks directly; anything queued goes nowhere. Integration tests start a
# real worker and point it (and their own producer) at Redis or the embedded broker: they
# tell the worker which one through these variables, which nothing else sets.
CELERY_BROKER_URL = env_value(env.str, "OKRLY_TEST_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = env_value(
    env.json, "OKRLY_TEST_BROKER_TRANSPORT_OPTIONS", default={}
)
# The worker of an integration test is another process, so its mail cannot reach the
# in-memory outbox: it writes files the test reads instead.
if _email_file_path := env_value(env.str, "OKRLY_TEST_EMAIL_FILE_PATH", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = _email_file_path

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the in-memory default, so that a worker subprocess sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-okrly.sqlite3")}

# Tests run on a pinned day (tests/conftest.py), but the browser in the e2e tests keeps the
# real calendar: a cookie that expires two weeks after the pinned day would already be expired
# for it. Browser-session cookies carry no date; the server still expires sessions by its clock.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_AGE = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Single sign-on is on in the suite, as a deployment with it would be, against the real
# OpenID Connect provider of tests/oidc_provider/ on a port picked now: the SSO tests start it
# there (tests/oidc.py). Only those tests talk to it; the rest never reach it.
OIDC_TEST_PORT = _free_port()
_sso_env = environ.Env()
_sso_env.ENVIRON = {
    "OIDC_RP_CLIENT_ID": "okrly-test",
    "OIDC_RP_CLIENT_SECRET": "okrly-test-secret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": f"http://127.0.0.1:{OIDC_TEST_PORT}/auth",
    "OIDC_OP_TOKEN_ENDPOINT": f"http://127.0.0.1:{OIDC_TEST_PORT}/token",
    "OIDC_OP_USER_ENDPOINT": f"http://127.0.0.1:{OIDC_TEST_PORT}/me",
    "OIDC_OP_JWKS_ENDPOINT": f"http://127.0.0.1:{OIDC_TEST_PORT}/jwks",
    "OIDC_PROVIDER_NAME": "Example Corp",
}
vars().update(
    sso_settings(
        _sso_env,
        installed_apps=INSTALLED_APPS,
        middleware=MIDDLEWARE,
        backends=AUTHENTICATION_BACKENDS,
    )
)
