"""Template helpers shared by every page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import template

from okrly.html import html
from okrly.models import display_name
from okrly.numbers import plain_number

if TYPE_CHECKING:
    from okrly.types import User

register = template.Library()


@register.filter
def person_chip(user: User | None) -> str:
    """The avatar-and-name chip of includes/person.html, built in Python for long tables
    (an include per row costs more than the rest of the row)."""
    if user is None:
        return "—"
    initials = ((user.first_name[:1] or user.get_username()[:1]) + user.last_name[:1]).upper()
    return html(
        '<span class="person"><span class="avatar" aria-hidden="true">{}</span>{}</span>',
        initials,
        person_name(user),
    )


@register.filter
def person_name(user: User | None, missing: str = "—") -> str:
    """A person's full name, else their username; ``missing`` when there is nobody.

    Safer than ``user.get_full_name|default:user.username``: a filter *argument* that
    fails to resolve (``user`` is None) raises instead of rendering empty.
    """
    if user is None:
        return missing
    return display_name(user)


@register.filter
def plain(value: Any) -> str:
    """A metric's value as a plain decimal: ``{{ kr.current_value|plain }}`` (40, 1850, 12.5)."""
    return plain_number(value)


@register.simple_tag(takes_context=True)
def page_link(context: Any, number: int) -> str:
    """This page's query with another page number: every filter in the address (quarter,
    team, sort, picked key results) stays, so page 2 is page 2 of the same list."""
    query = context["request"].GET.copy()
    query["page"] = str(number)
    return "?" + query.urlencode()


@register.filter
def progress_cell(kr: Any) -> str:
    """A key result's progress bar with its figures in the tooltip, built in Python: tables
    show one per row, and an include per row cost more than the rest of the row."""
    progress = kr.progress
    return html(
        '<div class="progress-cell" title="{} of {} {} (from {})">'
        '<progress value="{}" max="100"></progress>'
        '<span class="progress-label">{}%</span></div>',
        plain_number(kr.current_value),
        plain_number(kr.target_value),
        kr.unit,
        plain_number(kr.start_value),
        progress,
        progress,
    )
