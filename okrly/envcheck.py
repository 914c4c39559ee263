"""Reading environment variables so that a bad value names the variable at start-up."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


def env_value(reader: Callable[..., T], name: str, **kwargs: Any) -> T:
    """Read ``name`` with a django-environ reader; any failure names the variable.

    django-environ raises ``ImproperlyConfigured`` for a missing value, but a malformed one
    (``DATABASE_URL=nonsense``, ``DEBUG=maybe``) surfaces as a bare ``ValueError`` or
    ``KeyError`` that does not say which variable was wrong.
    """
    try:
        return reader(name, **kwargs)
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc
    except Exception as exc:  # any parse failure is a configuration error
        raise ImproperlyConfigured(
            f"{name} is malformed ({type(exc).__name__}: {exc}); fix the environment variable."
        ) from exc


# Every engine django-environ can map a URL scheme to.
_DATABASE_ENGINES = frozenset(environ.Env.DB_SCHEMES.values())


def db_url_value(env: environ.Env, name: str, *, default: str) -> dict[str, Any]:
    """Read a database URL with ``env.db_url``, refusing what django-environ lets through.

    A URL without ``scheme://`` (``nonsense``, ``postgres//oops``) comes back as ``{}`` and
    an unknown scheme as its own "engine", so the mistake would surface later as a
    ``KeyError: 'ENGINE'`` or a failed import that does not name the variable. The message
    leaves the value out: it may hold a password.
    """
    with warnings.catch_warnings():
        # django-environ warns "Engine not recognized" with the parsed URL, password included.
        warnings.simplefilter("ignore", UserWarning)
        config: dict[str, Any] = env_value(env.db_url, name, default=default)
    if config.get("ENGINE") not in _DATABASE_ENGINES or not config.get("NAME"):
        raise ImproperlyConfigured(
            f"{name} is malformed: expected a URL such as "
            "postgres://user:password@host:5432/name or sqlite:////path/to/file.sqlite3."
        )
    return config


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def bool_value(name: str, *, default: bool) -> bool:
    """Read a yes/no variable strictly: ``env.bool`` reads ``maybe`` or ``ture`` as false."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"{name} is malformed ({raw!r}); use true or false.")
    return raw in _TRUE


_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def rate_value(env: environ.Env, name: str, *, default: str) -> str:
    """Read a rate such as ``600/min`` (DRF's format: calls per s, min, hour or day).

    DRF parses a rate only when the first call is throttled, so a typo would surface as a 500
    on every API call instead of at start-up.
    """
    raw = env_value(env.str, name, default=default).strip()
    if not _RATE.match(raw):
        raise ImproperlyConfigured(
            f"{name} is malformed ({raw!r}); use calls per period, e.g. 600/min or 10000/day."
        )
    return raw
