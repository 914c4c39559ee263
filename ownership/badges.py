"""The Accountability Test's badge: three dots (owner accepted, authority, dependencies) and
"at risk" when any fails.

Not in views.py: other apps show the badge too (the objectives list through the registry's
``register_key_result_badges``, the dashboard's table by importing ``badge_html``), and no app
imports another app's views (the import contracts in pyproject.toml).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import mark_safe

from okrly.html import html
from ownership.accountability import AccountabilityResult, accountability_for


@cache
def _dot(label: str, passed: bool, compact: bool) -> str:
    """One check's dot: a handful of distinct ones (three checks, passed or not), made once
    each, where a list of 50 key results printed 150."""
    return html(
        '<span class="acct-dot {}" aria-label="{}: {}">{}{}</span>',
        "ok" if passed else "no",
        label,
        "yes" if passed else "no",
        "✓" if passed else "✗",
        "" if compact else f" {label}",
    )


def badge_html(result: AccountabilityResult, *, compact: bool = True) -> str:
    """The three-check badge. Built in Python, not a template: lists show one per row."""
    dots = mark_safe("".join(_dot(c.label, c.passed, compact) for c in result.checks))
    if result.displaced:
        # Rule 8: dropped or deferred by a trade-off, it has left the counts: its checks stay
        # readable (dimmed) but it is not "at risk".
        return html(
            '<span class="acct-badge acct-displaced" title="Displaced by trade-off #{}: it '
            'no longer counts in the quarter’s accountability figures" '
            'data-accountability="displaced">{}<span class="acct-word">displaced by '
            "trade-off #{}</span></span>",
            result.displaced_by,
            dots,
            result.displaced_by,
        )
    title = "all three checks pass" if result.passed else " ".join(result.reasons)
    return html(
        '<span class="acct-badge {}{}" title="The Accountability Test: {}" '
        'data-accountability="{}">{}{}</span>',
        "acct-pass" if result.passed else "acct-fail",
        "" if compact else " acct-large",
        title,
        "pass" if result.passed else "fail",
        dots,
        mark_safe('<span class="acct-word">at risk</span>') if not result.passed else "",
    )


def render_badges(request: HttpRequest, key_results: list[Any]) -> dict[int, str]:
    """Badges for many key results at once (the registry's badge provider)."""
    return {pk: badge_html(r) for pk, r in accountability_for(key_results).items()}
