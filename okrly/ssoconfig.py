"""Single sign-on's settings, read from the ``OIDC_*`` environment variables.

Settings-safe (imports no model): ``okrly/settings/base.py`` calls :func:`sso_settings` with
the environment, the test settings with the test provider's. Sign-in through OpenID Connect
is on only when ``OIDC_RP_CLIENT_ID`` is set; then every endpoint must be set too, and a
missing or malformed one stops start-up with a sentence naming it.
"""

from __future__ import annotations

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from okrly.envcheck import env_value

# The provider's endpoints, given explicitly (no discovery document is fetched at start-up).
ENDPOINTS = (
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)
UNKNOWN_USERS = ("refuse", "create")
PASSWORD_SIGN_IN = ("all", "staff")
SIGN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


def _choice(env: environ.Env, name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_value(env.str, name, default=default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} is malformed ({value!r}); use {' or '.join(choices)}.")
    return value


def sso_settings(
    env: environ.Env,
    *,
    installed_apps: list[str],
    middleware: list[str],
    backends: list[str],
) -> dict[str, Any]:
    """The settings to add: always OKRly's own (``OIDC_ENABLED``, ``PASSWORD_SIGN_IN``,
    ``OIDC_PROVIDER_NAME``, ``OIDC_UNKNOWN_USERS``, ``OIDC_NEW_USER_TEAM``); with a client id,
    mozilla-django-oidc's settings too and the app, backend and middleware lists extended."""
    password_sign_in = _choice(env, "PASSWORD_SIGN_IN", PASSWORD_SIGN_IN, "all")
    client_id = env_value(env.str, "OIDC_RP_CLIENT_ID", default="").strip()
    if not client_id:
        if password_sign_in != "all":
            raise ImproperlyConfigured(
                "PASSWORD_SIGN_IN=staff needs single sign-on: set OIDC_RP_CLIENT_ID (and the "
                "other OIDC_* variables), or nobody but staff could sign in."
            )
        return {
            "OIDC_ENABLED": False,
            "PASSWORD_SIGN_IN": password_sign_in,
            "OIDC_PROVIDER_NAME": "",
            "OIDC_UNKNOWN_USERS": "refuse",
            "OIDC_NEW_USER_TEAM": "",
        }

    values: dict[str, Any] = {}
    for name in ("OIDC_RP_CLIENT_SECRET", *ENDPOINTS):
        value = env_value(env.str, name, default="").strip()
        if not value:
            raise ImproperlyConfigured(f"{name} must be set when OIDC_RP_CLIENT_ID is set.")
        if name != "OIDC_RP_CLIENT_SECRET" and not value.startswith(("https://", "http://")):
            raise ImproperlyConfigured(
                f"{name} is malformed: expected an address such as https://sso.example.com/...."
            )
        values[name] = value
    unknown_users = _choice(env, "OIDC_UNKNOWN_USERS", UNKNOWN_USERS, "refuse")
    new_user_team = env_value(env.str, "OIDC_NEW_USER_TEAM", default="").strip()
    if unknown_users == "create" and not new_user_team:
        raise ImproperlyConfigured(
            "OIDC_NEW_USER_TEAM must name a team (its slug) when OIDC_UNKNOWN_USERS=create."
        )
    algorithm = env_value(env.str, "OIDC_RP_SIGN_ALGO", default="RS256").strip()
    if algorithm not in SIGN_ALGORITHMS:
        raise ImproperlyConfigured(
            f"OIDC_RP_SIGN_ALGO is malformed ({algorithm!r}); use one of "
            f"{', '.join(SIGN_ALGORITHMS)} (the provider signs with its published keys)."
        )
    renew_seconds = env_value(env.int, "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", default=15 * 60)
    if renew_seconds < 60:
        raise ImproperlyConfigured("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS must be 60 or more.")

    return {
        **values,
        "OIDC_ENABLED": True,
        "PASSWORD_SIGN_IN": password_sign_in,
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_SIGN_ALGO": algorithm,
        "OIDC_RP_SCOPES": "openid email profile",
        # PKCE too: a stolen authorisation code is useless without this session's verifier.
        "OIDC_USE_PKCE": True,
        # A provider that hangs must not hold a sign-in (and a web worker) for ever.
        "OIDC_TIMEOUT": 10,
        "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS": renew_seconds,
        "OIDC_UNKNOWN_USERS": unknown_users,
        "OIDC_NEW_USER_TEAM": new_user_team,
        "OIDC_PROVIDER_NAME": env_value(
            env.str, "OIDC_PROVIDER_NAME", default="your company account"
        ).strip(),
        # OKRly's own views (okrly/sso.py): open to signed-out visitors, and a refusal is the
        # sign-in page with its reason, not the library's bare redirect or a 400/500.
        "OIDC_AUTHENTICATE_CLASS": "okrly.sso.SSOStartView",
        "OIDC_CALLBACK_CLASS": "okrly.sso.SSOCallbackView",
        "INSTALLED_APPS": _with(installed_apps, "mozilla_django_oidc"),
        "AUTHENTICATION_BACKENDS": _with(backends, "okrly.sso.SSOBackend"),
        # Right after the session's user is known: an expired SSO session goes back through
        # the provider before any view runs.
        "MIDDLEWARE": _with(
            middleware,
            "okrly.sso.SSORenewal",
            after="django.contrib.auth.middleware.AuthenticationMiddleware",
        ),
    }


def _with(items: list[str], item: str, *, after: str | None = None) -> list[str]:
    """``items`` with ``item`` (at the end, or after ``after``), once however often called."""
    if item in items:
        return items
    at = items.index(after) + 1 if after else len(items)
    return [*items[:at], item, *items[at:]]
