"""Reading environment variables so that a bad value names the variable at start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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
    except Exception as exc:  # noqa: BLE001 - any parse failure is a configuration error
        raise ImproperlyConfigured(
            f"{name} is malformed ({type(exc).__name__}: {exc}); fix the environment variable."
        ) from exc

