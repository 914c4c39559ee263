"""The Accountability Test's badge: three dots (owner accepted, authority, dependencies) and
"at risk" when any fails.

Not in views.py: other apps show the badge too (the objectives list through the registry's
``register_key_result_badges``, the dashboard's table by importing ``badge_html``), and no app
imports another app's views (the import contracts in pyproject.toml).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.safestring import mark_safe

from okrly.html import html, html_join
from ownership.accountability import AccountabilityResult, accountability_for


def badge_html(result: AccountabilityResult, *, compact: bool = True) -> str:
    """The three-check badge. Built in Python, not a template: lists show one per row."""
    dots = html_join(
        "",
        '<span class="acct-dot {}" aria-label="{}: {}">{}{}</span>',
        (
            (
                "ok" if c.passed else "no",
                c.label,
                "yes" if c.passed else "no",
                "✓" if c.passed else "✗",
                "" if compact else f" {c.label}",
            )
            for c in result.checks
        ),
    )
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
