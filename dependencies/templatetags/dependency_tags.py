"""The dependency status pill, shared by every page that lists dependencies."""

from __future__ import annotations

from typing import Any

from django import template

from dependencies.models import Dependency
from okrly.html import html

register = template.Library()

# Read once: a list asks for a label per row (each an enum lookup and a lazy translation).
_LABELS = {value: str(label) for value, label in Dependency.Status.choices}


@register.filter
def dependency_status(dep: Any) -> str:
    """The status as a pill; a delivery the requester has not confirmed yet says so. Built in
    Python: lists show one per row, and an include per row cost more than the row."""
    if dep.status == Dependency.Status.DELIVERED and not dep.confirmed_at:
        label = "Delivered · to confirm"
    else:
        # From the status itself: rows read as SQL (the team view's) have no display method.
        label = _LABELS[dep.status]
    return html('<span class="pill pill-{}">{}</span>', dep.status, label)
