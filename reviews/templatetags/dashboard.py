from __future__ import annotations

from datetime import date
from functools import lru_cache
from html import escape
from typing import Any

from django import template
from django.template.defaultfilters import pluralize
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString, mark_safe

from checkins.models import CheckIn
from checkins.threads import thread_html
from dependencies.templatetags.dependency_tags import dependency_status
from objectives.models import expected_percent, pace_gap
from okrly.html import html, html_join
from okrly.links import link
from okrly.templatetags.okrly_tags import (
    person_chip,
    person_name,
    progress_cell,
    quarter_switch,
)
from reviews.selectors import PACE_MARGIN

register = template.Library()


# heat, completion_heat and trade_off_warning serve ``heat_row`` below (the heatmap's rows
# are built in Python); no template uses them any more, so they are not registered.


def heat(value: int, total: int) -> str:
    """Colour class for a bad-signal count relative to the team's key results."""
    if not value:
        return "heat-0"
    share = value / total if total else 1
    return "heat-1" if share < 0.1 else ("heat-2" if share < 0.25 else "heat-3")


def completion_heat(percent: int) -> str:
    return (
        "heat-0"
        if percent >= 80
        else ("heat-1" if percent >= 60 else ("heat-2" if percent >= 30 else "heat-3"))
    )


@register.simple_tag(takes_context=True)
def sort_link(context: Any, column: str) -> str:
    """The same page sorted by this column (descending first, then ascending)."""
    current = context.get("sort", "")
    target = f"-{column}" if current == column else column
    query = context["request"].GET.copy()
    query["sort"] = target
    return "?" + query.urlencode()


@register.filter
def checkin_label(status: str | None) -> str:
    """A stored check-in status as people read it ("off_track" → "Off track"): the team
    view's rows carry the annotated value, not a model instance with its display method."""
    return _CHECKIN_LABELS.get(status or "", "")


# Read once: a table asks for a label per row (each an enum lookup and a lazy translation).
_CHECKIN_LABELS = {value: str(label) for value, label in CheckIn.Status.choices}


def trade_off_warning(row: Any, warn: int) -> str:
    """Why a heatmap row's trade-offs are highlighted, in words ("" when they are not): a
    team over TRADE_OFF_WARN decided this quarter, or, for a department, how many of its
    teams are (its sum alone may be high while none of them is over)."""
    over = row.signals.trade_off_warned
    if not over:
        return ""
    if row.depth == 0 and row.children:
        teams = f"{over} team{'' if over == 1 else 's'}"
        return f"{teams} with more than {warn}: constant re-prioritisation"
    return f"more than {warn} this quarter: constant re-prioritisation"


@register.simple_tag
def team_rows(table: Any, week: int = 0, weeks: int = 0) -> str:
    """The team view's table body: every row in one call (a template loop's own cost per row
    was more than a third of the row's). ``week`` of ``weeks``: the quarter's week now (each
    row's pace and whether its latest check-in is this week's)."""
    if not table:
        return mark_safe('<tr><td colspan="8" class="muted">No key results this quarter.</td></tr>')
    return mark_safe("".join(team_row(kr, badge, week, weeks) for kr, _, badge in table))


def pace_note(progress: int, week: int, weeks: int) -> str:
    """Progress against a linear pace by this week: "▲ 6 pts ahead", "▼ 14 pts behind",
    or "on pace" within 5 points (markup; numbers and fixed words only)."""
    if not week or not weeks:
        return ""
    gap = pace_gap(progress, week, weeks)
    expected = expected_percent(week, weeks)
    if abs(gap) <= PACE_MARGIN:
        return (
            f'<small class="pace pace-on" title="Expected by week {week}: {expected}%">'
            "on pace</small>"
        )
    word, arrow, cls = ("ahead", "▲", "pace-ahead") if gap > 0 else ("behind", "▼", "pace-behind")
    return (
        f'<small class="pace {cls}" title="Expected by week {week}: {expected}%">'
        f"{arrow} {abs(gap)} pts {word}</small>"
    )


def team_row(kr: Any, badge: str, week: int = 0, weeks: int = 0) -> str:
    """One row of the team view's table. Built in Python, not the template: a team shows 50
    rows, and their nine cells rendered by the template engine were most of the page's time
    (the figures come annotated on ``kr`` by ``reviews.selectors.team_key_results``). One
    f-string, the title its only text (escaped here; the status is one of the code's own
    words, the rest are numbers and markup already safe): ``html()``'s escaping of each of a
    dozen arguments was half the row's cost."""
    status = kr.acct_checkin_status
    if status:
        latest = int(kr.latest_week or 0)
        # Not this week's (the owner has not checked in yet this week): said, beside its week.
        missed = (
            ' <span class="pill pill-off_track">missed</span>' if week and latest < week else ""
        )
        checkin = (
            f'<span class="pill pill-{escape(status)}">{checkin_label(status)}</span> '
            f'{escape(str(kr.latest_confidence))}/10 <small class="muted">week {latest}</small>'
            f"{missed}"
        )
    else:
        checkin = '<span class="muted">none yet</span>' + (
            ' <span class="pill pill-off_track">missed</span>' if week and week > 1 else ""
        )
    return (
        f'<tr><td><a href="{kr.get_absolute_url()}">{escape(kr.title)}</a></td>'
        f"<td>{person_chip(kr.owner)}</td><td>{progress_cell(kr)}"
        f"{pace_note(kr.progress, week, weeks)}</td><td>{checkin}</td>"
        f'<td>{badge}</td><td class="num">{int(kr.deps_committed)}/{int(kr.deps_open)}</td>'
        f'<td class="num">{int(kr.open_needs)}</td><td class="num">{int(kr.deps_escalated)}</td>'
        "</tr>"
    )


# The people view's counted columns: (attribute, heat class when it is not zero).
_PEOPLE_COLUMNS = (
    ("owes_dependencies", "heat-1"),
    ("owes_needs", "heat-1"),
    ("owes_nominations", "heat-2"),
    ("missing_checkins", "heat-2"),
    ("missing_acceptances", "heat-2"),
    ("owed_dependencies", ""),
    ("owed_needs", ""),
)


@register.simple_tag
def people_row(person: Any, nudge_url: str, led: Any) -> str:
    """One row of "Who owes what". Built in Python, not the template, for the reason
    ``team_row`` is: a page of 50 rows of eleven cells was most of the page's time."""
    cells = html_join(
        "",
        '<td class="num{}">{}</td>',
        (
            (f" {heat}" if heat and getattr(person, name) else "", getattr(person, name))
            for name, heat in _PEOPLE_COLUMNS
        ),
    )
    nudged_by = getattr(person, "nudged_by", None)
    if nudged_by:
        # Once a day per person: the day's nudge is said, not offered again.
        nudge = html(
            '<span class="nudged" id="nudge-{}">✓ Nudged today by {}</span>', person.pk, nudged_by
        )
    elif person.pk in led:
        # Offered only for the people this reader may nudge (``led``: the view asks the
        # nudge service's own predicate).
        nudge = html(
            '<button type="submit" name="person" value="{0}" id="nudge-{0}" class="secondary '
            'outline small" hx-post="{1}" hx-target="this" hx-swap="outerHTML" '
            'aria-label="Nudge {2}">Nudge</button>',
            person.pk,
            nudge_url,
            person_name(person),
        )
    else:
        nudge = SafeString("")
    return html(
        '<tr id="person-{}"><td>{}</td>{}<td class="num escalations">{}</td>'
        '<td class="num escalations">{}</td><td>{}</td></tr>',
        person.pk,
        person_chip(person),
        cells,
        person.raised_escalations,
        person.answered_escalations_on_time,
        nudge,
    )


@register.simple_tag(takes_context=True)
def heat_row(context: Any, row: Any) -> str:
    """One department's (or, expanded, one team's) row of the heatmap. Built in Python for
    the reason ``team_row`` is; reads the page's quarter, sort, trade-off ledger address and
    warning threshold from the context."""
    signals, team = row.signals, row.team
    quarter = context["quarter"].pk
    department = row.depth == 0 and row.children
    total = signals.key_results
    # The department's teams: loaded once by htmx, then shown and hidden by the same button
    # (static/js/okrly.js, data-expand), which says which with aria-expanded.
    expand = (
        html(
            '<button type="button" class="expand link-button" hx-get="{}?quarter={}&sort={}" '
            'hx-target="#dept-{}" hx-swap="beforeend" hx-trigger="okrly-load" data-expand '
            'aria-expanded="false" aria-controls="dept-{}" aria-label="Teams of {}">▸</button> ',
            link("reviews:department", team.pk),
            quarter,
            context.get("sort", ""),
            team.pk,
            team.pk,
            team.name,
        )
        if department
        else ""
    )
    children = (
        html(
            ' <small class="muted">{} team{}</small>',
            row.children,
            pluralize(row.children),
        )
        if department
        else ""
    )
    warn = context["trade_off_warn"]
    warning = trade_off_warning(row, warn)
    trade_offs: str = "0"
    if signals.trade_offs:
        anchor = f"#trade-offs-{team.slug}" if row.depth or not row.children else ""
        trade_offs = html(
            '<a href="{}{}">{}</a>', context["trade_offs_url"], anchor, signals.trade_offs
        )
    # Every count links to the list behind it: the team view (its key results and their
    # test, its promises), the risk feed filtered to the team (with its sub-teams), or the
    # people who owe the check-ins.
    team_view = f"{link('reviews:team', team.pk)}?quarter={quarter}"
    risks_of = f"{link('reviews:risks')}?quarter={quarter}&team={team.pk}"
    people_of = f"{link('reviews:people')}?quarter={quarter}&team={team.pk}"
    cells = html_join(
        "",
        '<td class="num {}"><a href="{}">{}{}</a></td>',
        (
            (heat(signals.failing, total), team_view, signals.failing, ""),
            (heat(signals.at_risk, total), f"{risks_of}&checkin=risky", signals.at_risk, ""),
            (heat(signals.overdue, total), f"{team_view}#promises", signals.overdue, ""),
            (
                heat(signals.escalations, total),
                f"{risks_of}&kind=escalation",
                signals.escalations,
                "",
            ),
            (heat(signals.missed, total), people_of, signals.missed, ""),
            (completion_heat(signals.completion), people_of, signals.completion, "%"),
            (
                heat(signals.not_shared, signals.objectives),
                f"{link('objectives:list')}?quarter={quarter}&definition=not_shared&team={team.pk}",
                signals.not_shared,
                "",
            ),
        ),
    )
    return html(
        '<tr class="depth-{}"><td>{}<a href="{}?quarter={}">{}</a>{} '
        '<small class="muted">· {} KR{}</small></td>{}'
        '<td class="num{}"{}>{}{}</td></tr>',
        row.depth,
        expand,
        link("reviews:team", team.pk),
        quarter,
        team.name,
        children,
        total,
        pluralize(total),
        cells,
        " heat-3 trade-off-warn" if warning else "",
        html(' title="{}"', warning) if warning else "",
        trade_offs,
        html(' <small class="warn-text">{}</small>', warning) if warning else "",
    )


@lru_cache(maxsize=512)
def _day_month(day: date) -> str:
    """``{{ day|date:"j M" }}`` for a date (a list shows a handful of distinct ones)."""
    return dateformat.format(day, "j M")


def _day(at: Any) -> str:
    """``{{ at|date:"j M" }}`` in the current time zone, as the template filter gives it."""
    return dateformat.format(timezone.localtime(at), "j M")


def _checkin_item(c: Any) -> str:
    """A check-in signal (``c``: a ``reviews.selectors.FeedCheckIn``): its answers."""
    need = ""
    if c.need:
        source = html(" — from {}", c.need_person) if c.need_person is not None else ""
        need = html('<p><span class="q">Needs:</span> {}{}</p>', c.need, source)
    return html(
        '<div class="feed-head"><span class="pill pill-{}">{} · {}/10</span>{} <a href="{}">{}</a> '
        '<small class="muted">— {}, {}, week {}, {}</small></div>'
        '<p><span class="q">Biggest risk:</span> {}</p>{}',
        c.status,
        checkin_label(c.status),
        c.confidence,
        mark_safe(' <span class="pill pill-bad">stated vs. forecast</span>')
        if c.forecast_flag
        else "",
        link("objectives:key_result", c.key_result_id),
        c.kr_title,
        c.owner,
        c.team,
        c.week,
        _day(c.submitted_at),
        c.biggest_risk,
        need,
    )


def _escalation_item(e: Any) -> str:
    return html(
        '<div class="feed-head"><span class="pill pill-bad">Escalation · rung {}</span> '
        '<a href="{}">{}</a> <small class="muted">— {} ({}), {}, {}</small></div>',
        e.rung,
        e.dependency_url(),
        e.deliverable,
        person_name(e.responsible),
        e.provider_team,
        e.get_trigger_display().lower(),
        _day(e.sent_at),
    )


def _early_item(e: Any, weeks_early: int) -> str:
    return html(
        '<div class="feed-head"><span class="pill pill-on_track">Raised early: {} week{} before '
        'the end of the quarter</span> <a href="{}">{}</a> <small class="muted">— {} ({}) asked '
        '{}, {} · {}</small></div><p><span class="q">Needs:</span> {}</p>',
        weeks_early,
        pluralize(weeks_early),
        e.key_result_url(),
        e.kr_title,
        person_name(e.raised_by),
        e.team,
        person_name(e.asked_of),
        _day(e.raised_at),
        e.get_status_display(),
        e.need,
    )


def _earlier(item: Any) -> str:
    """The key result's signals before the latest, collapsed (its earlier risky weeks)."""
    if not item.earlier:
        return ""
    weeks = html_join(
        "",
        '<li>Week {}: <span class="pill pill-{}">{} · {}/10</span> {}</li>',
        (
            (c.week, c.status, checkin_label(c.status), c.confidence, c.biggest_risk)
            for c in item.earlier_checkins
        ),
    )
    # The summary counts every earlier signal (escalations too); the list shows the latest
    # risky weeks, so it says where the rest are rather than seeming to have lost them.
    rest = item.earlier - len(item.earlier_checkins)
    more = (
        html(
            '<li><a href="{}#checkin-timeline">{} more on the key result\'s timeline</a></li>',
            link("objectives:key_result", item.key_result_id),
            rest,
        )
        if rest > 0 and item.key_result_id is not None
        else ""
    )
    return html(
        '<details class="feed-earlier"><summary>{} earlier signal{}</summary><ul>{}{}</ul>'
        "</details>",
        item.earlier,
        pluralize(item.earlier),
        weeks,
        more,
    )


@register.simple_tag(takes_context=True)
def feed_item(context: Any, item: Any) -> str:
    """One key result of the risk feed: its latest signal, whether a leader has answered since,
    the thread of its latest risky check-in (Reply for anyone, Seen where this reader may
    give it: the service's rule, ``led``) and its earlier signals collapsed. Built in Python
    for the reason ``team_row`` is: 25 items of a dozen fields each were most of the page's
    time in the template engine."""
    if item.kind == "checkin":
        inner, thread = _checkin_item(item.obj), item.obj
    elif item.kind == "escalation":
        inner, thread = _escalation_item(item.obj), item.thread
    else:
        inner, thread = _early_item(item.obj, item.weeks_early), item.thread
    thread_markup = (
        thread_html(
            thread.pk,
            thread.week,
            thread.thread,
            token=str(context.get("csrf_token", "")),
            may_mark_seen=thread.owner_id in context["led"],
        )
        if thread is not None
        else ""
    )
    return html(
        '<li class="feed-item feed-{}{}">{}{}{}{}</li>',
        item.kind,
        " is-answered" if item.answered else "",
        mark_safe('<span class="pill pill-committed answered-mark">✓ answered</span>')
        if item.answered
        else "",
        inner,
        _earlier(item),
        thread_markup,
    )


@register.simple_tag
def promise_rows(promises: Any) -> str:
    """The team view's "Promised to other teams": each open dependency it owes, in one call
    (``reviews.selectors.TeamPromise``)."""
    if not promises:
        return mark_safe('<p class="muted">Nothing open.</p>')
    return html_join(
        "",
        '<p class="promise"><a href="{}">{}</a> → {} · {}, {} {}{}</p>',
        (
            (
                dep.get_absolute_url(),
                dep.deliverable,
                dep.requesting_team,
                person_name(dep.responsible),
                _day_month(dep.due_date),
                dependency_status(dep),
                html(' <span class="pill pill-bad">rung {}</span>', dep.escalation_rung)
                if dep.escalation_rung
                else "",
            )
            for dep in promises
        ),
    )


def risk_badge(quarter: Any, unanswered: int) -> str:
    """The Risk feed tab's count of unanswered items. It reloads itself (htmx, outerHTML)
    when a thread changes on the page (checkins' comment view triggers
    ``okrly-thread-changed`` after its swap settles), so answering an item with Seen lowers
    it without a reload; quiet (data-quiet): the thread's own confirmation is what is said."""
    count = (
        html(
            '<span class="badge" aria-label="{}{} unanswered">{}{}</span>',
            "more than " if unanswered > 99 else "",
            min(unanswered, 99),
            min(unanswered, 99),
            "+" if unanswered > 99 else "",
        )
        if unanswered
        else ""
    )
    return html(
        ' <span id="risk-badge" hx-get="{}?quarter={}" hx-trigger="okrly-thread-changed from:body" '
        'hx-swap="outerHTML" data-quiet>{}</span>',
        link("reviews:risk_badge"),
        quarter.pk,
        count,
    )


# The dashboard's tabs: (view, label, the page's ``tab``).
_TABS = (
    ("reviews:dashboard", "Organisation", "org"),
    ("reviews:people", "Who owes what", "people"),
    ("reviews:risks", "Risk feed", "risks"),
    ("reviews:responses", "Responses", "responses"),
    ("reviews:consistency", "Consistency", "consistency"),
    ("ownership:test", "The Accountability Test", None),
    ("reviews:review_of_quarter", "Quarterly review", None),
)


@register.simple_tag(takes_context=True)
def dashboard_tabs(context: Any) -> str:
    """The dashboard pages' head (the quarter, its week, the quarter picker) and tabs. Built
    in Python: every dashboard page prints it."""
    quarter, tab, view = context["quarter"], context.get("tab"), context.get("view")
    # The risk feed's items no leader has answered yet, on its tab (a query, when counted).
    unanswered = context.get("unanswered")
    unanswered = unanswered() if callable(unanswered) else unanswered
    badge = risk_badge(quarter, unanswered or 0)
    tabs = [
        html(
            '<a href="{}?quarter={}" {}>{}{}</a>',
            link(name),
            quarter.pk,
            mark_safe('aria-current="page"') if key is not None and key == tab else "",
            label,
            badge if key == "risks" else "",
        )
        for name, label, key in _TABS
    ]
    if tab == "team":
        tabs.append(html('<a href="#" aria-current="page">{}</a>', context["team"].name))
    return html(
        '<div class="page-head split"><hgroup><h1>Accountability dashboard</h1><p>{}{} — '
        "where execution drifts and who must act.</p></hgroup>{}</div>"
        '<nav class="tabs" aria-label="Dashboard views">{}</nav>',
        quarter.name,
        html(" · week {}", view.week) if view else "",
        quarter_switch(context["quarters"], quarter),
        mark_safe("".join(tabs)),
    )


@register.simple_tag
def trend(changes: dict[str, Any], key: str, percent: bool = False) -> str:
    """A headline figure's change since last week ended: "▲ 3" in the bad colour when a rise
    is bad news, with the words for a screen reader and the earlier value on hover; nothing
    when there is no earlier week to compare with. A percentage changes by points."""
    change = changes.get(key)
    if change is None:
        return ""
    before = f"{change.before}%" if percent else str(change.before)
    step = f"{abs(change.delta)}{' pts' if percent else ''}"
    if change.delta == 0:
        words = f"unchanged since week {change.week}"
        shown, cls = "=", "trend-same"
    else:
        direction = "up" if change.delta > 0 else "down"
        words = f"{direction} {step} since week {change.week} ({before})"
        shown = f"{change.arrow} {step}"
        cls = "trend-good" if change.good else "trend-bad"
    return html(
        '<small class="trend {}" title="Week {}: {}"><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span></small>',
        cls,
        change.week,
        before,
        shown,
        words,
    )


@register.simple_tag
def team_pace(pace: Any) -> str:
    """The team's line of pace: its key results' average progress against what a linear pace
    expects by this week, and how many are behind, on and ahead of it."""
    if pace is None:
        return ""
    if abs(pace.gap) <= PACE_MARGIN:
        verdict, cls = "on pace", "pace-on"
    elif pace.gap > 0:
        verdict, cls = f"▲ {pace.gap} pts ahead", "pace-ahead"
    else:
        verdict, cls = f"▼ {-pace.gap} pts behind", "pace-behind"
    return html(
        '<p class="team-pace"><strong>Pace</strong>: {}% of the way on average, {}% expected '
        'by now (linear) — <span class="{}">{}</span>; {} behind, {} on pace, {} ahead of '
        "{} key result{}.</p>",
        pace.progress,
        pace.expected,
        cls,
        verdict,
        pace.behind,
        pace.on_pace,
        pace.ahead,
        pace.key_results,
        pluralize(pace.key_results),
    )
