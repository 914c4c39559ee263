"""Template helpers shared by every page."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from okrly.context_processors import NavCounts
from okrly.html import csrf_input, html, html_join
from okrly.links import link
from okrly.models import display_name
from okrly.numbers import plain_number
from okrly.registry import nav_counts

if TYPE_CHECKING:
    from okrly.types import User

register = template.Library()


@register.filter
def person_chip(user: User | None) -> str:
    """The avatar-and-name chip of includes/person.html, built in Python for long tables
    (an include per row costs more than the rest of the row). Written as one f-string with
    each text escaped: a table prints one a row, and ``html()``'s general escaping of every
    argument was most of its cost."""
    if user is None:
        return "—"
    initials = ((user.first_name[:1] or user.get_username()[:1]) + user.last_name[:1]).upper()
    return SafeString(
        f'<span class="person"><span class="avatar" aria-hidden="true">{escape(initials)}'
        f"</span>{escape(display_name(user))}</span>"
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
    show one per row, and an include per row cost more than the rest of the row. The unit is
    the only text (the rest are numbers), escaped here."""
    progress = int(kr.progress)
    return SafeString(
        f'<div class="progress-cell" title="{plain_number(kr.current_value)} of '
        f"{plain_number(kr.target_value)} {escape(kr.unit)} (from "
        f'{plain_number(kr.start_value)})"><progress value="{progress}" max="100"></progress>'
        f'<span class="progress-label">{progress}%</span></div>'
    )


# The navigation's links: (view, label, whether a path is that page).
_NAV: tuple[tuple[str, str, Any], ...] = (
    ("home", "My week", lambda path: path == "/"),
    ("asked_of_me", "Asked of me", lambda path: "/asked/" in path),
    ("objectives:list", "Objectives", lambda path: "/objectives/" in path),
    ("team_list", "Teams", lambda path: path[:7] == "/teams/"),
    ("reviews:dashboard", "Dashboard", lambda path: "/dashboard/" in path),
)


def nav_badge(count: int, words: str) -> str:
    """A count beside a navigation link, read out with what it counts (none for zero)."""
    if not count:
        return ""
    shown = "99+" if count > 99 else str(count)
    # The figure is shown, the words read: "Asked of me, 3 waiting on you".
    return html(
        ' <span class="badge" aria-hidden="true">{}</span>'
        '<span class="visually-hidden">, {} {}</span>',
        shown,
        shown,
        words,
    )


def nav_count_spans(counts: NavCounts, *, oob: bool = False) -> dict[str, str]:
    """Each counted link's badge in a span of its own id (there at zero too, empty), by
    view name: the navigation prints them, and ``okrly.views.nav_counts`` sends them again
    out of band when an htmx write may have changed them. Quiet: a count that refreshes
    itself moves no focus and says nothing (static/js/okrly.js)."""
    beside = {"asked_of_me": (counts.asked, "waiting on you")}
    words = {view: said for view, (_, said) in nav_counts().items()}
    beside.update({view: (n, words[view]) for view, n in counts.links.items()})
    return {
        view: html(
            '<span id="nav-count-{}"{} data-quiet>{}</span>',
            view.replace(":", "-"),
            mark_safe(' hx-swap-oob="true"') if oob else "",
            nav_badge(*beside[view]) if view in beside else "",
        )
        for view in ["asked_of_me", *words]
    }


@register.simple_tag(takes_context=True)
def site_nav(context: Any) -> str:
    """The signed-in navigation of base.html, built in Python: every page prints it, and
    its ten links and conditions cost more in the template engine than the rest of the
    layout. The unread badge is ``includes/unread_badge.html``'s markup (the inbox's htmx
    answer renders that template)."""
    request, user = context["request"], context["user"]
    path = request.path
    counts = context.get("nav_counts")
    counts = counts() if callable(counts) else counts or NavCounts()
    count = counts.unread
    # "Asked of me" counts what waits on the viewer; other links, what their apps count
    # (Dashboard: the unanswered risks, for leaders). A zero prints nothing.
    spans = nav_count_spans(counts)
    links = [
        html(
            '<li><a href="{}" {}>{}{}</a></li>',
            link(view),
            mark_safe('aria-current="page"') if is_here(path) else "",
            label,
            spans.get(view, ""),
        )
        for view, label, is_here in _NAV
    ]
    badge = html(
        '<span id="unread-badge" class="badge{}"  aria-label="{} unread">{}</span>',
        "" if count else " badge-empty",
        count,
        count if count else "",
    )
    links.append(
        html(
            '<li><a href="{}" {}>Inbox {}</a></li>',
            link("inbox"),
            mark_safe('aria-current="page"') if "/inbox/" in path else "",
            badge,
        )
    )
    if user.is_staff:
        links.append(
            html(
                '<li><a href="{}" {}>Set-up</a></li>',
                link("setup"),
                mark_safe('aria-current="page"') if path.startswith("/setup/") else "",
            )
        )
        links.append(html('<li><a href="{}">Admin</a></li>', link("admin:index")))
    menu = html(
        '<li><details class="dropdown user-menu"><summary>{}</summary><ul dir="rtl">'
        '<li><a href="{}">Your profile</a></li>'
        '<li><a href="{}">Change password</a></li><li><a href="{}">API</a></li>'
        '<li><form method="post" action="{}" class="inline-form">{}'
        '<button type="submit" class="link-button">Sign out</button></form></li>'
        "</ul></details></li>",
        person_name(user),
        link("profile"),
        link("password_change"),
        link("api_docs"),
        link("logout"),
        csrf_input(context.get("csrf_token", "")),
    )
    # On a phone the links fold behind one "Menu" button (static/js/okrly.js, data-nav-toggle);
    # without JavaScript, or wider, they are simply shown.
    return html(
        '<header class="topbar"><nav class="container" aria-label="Main"><ul><li><a href="{}" '
        'class="brand"><span class="brand-mark">◎</span> OKRly</a></li></ul>'
        '<button type="button" class="nav-toggle secondary outline" aria-expanded="false" '
        'aria-controls="nav-links" data-nav-toggle>Menu</button>'
        '<ul class="nav-links" id="nav-links">{}{}</ul>'
        # After an htmx write (okrly.js fires okrly-counts-stale) the counts come again, out
        # of band (okrly.views.nav_counts): answering from a page lowers them in place.
        '<span hidden hx-get="{}" hx-trigger="okrly-counts-stale from:body" hx-swap="none" '
        "data-quiet></span></nav></header>",
        link("home"),
        mark_safe("".join(links)),
        menu,
        link("nav_counts"),
    )


@register.simple_tag
def quarter_switch(quarters: Any, quarter: Any) -> str:
    """The quarter picker of every page that shows one quarter: a GET form that submits on
    change, with a button without JavaScript. Built in Python: the dashboard's pages print
    it on every request. (No quarter shown: none selected.)"""
    shown = getattr(quarter, "pk", None)
    return html(
        '<form method="get" class="quarter-switch"><select name="quarter" aria-label="Quarter" '
        'data-autosubmit>{}</select><noscript><button type="submit">Show</button></noscript>'
        "</form>",
        html_join(
            "",
            '<option value="{}" {}>{} ({})</option>',
            (
                (
                    q.pk,
                    mark_safe("selected") if q.pk == shown else "",
                    q.name,
                    q.get_status_display(),
                )
                for q in quarters
            ),
        ),
    )
