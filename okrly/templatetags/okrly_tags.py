"""Template helpers shared by every page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def person_name(user: Any, missing: str = "—") -> str:
    """A person's full name, else their username; ``missing`` when there is nobody.

    Safer than ``user.get_full_name|default:user.username``: a filter *argument* that
    fails to resolve (``user`` is None) raises instead of rendering empty.
    """
    if user is None:
        return missing
    return str(user.get_full_name() or user.get_username())
