"""A My-week check-in card's markup, built in Python (issue 14).

My week prints a card per key result the person owns, each with the three questions' form;
as a template partial the cards were most of the page's time (some 340 variable lookups and
tags a request for five cards). ``card_html`` writes what the partial wrote, through the one
escaping helper (``okrly.html``); the fields themselves are the form's own widgets
(``okrly.formrender``). My week and a submitted card's htmx answer both print it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.forms import BoundField
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.safestring import SafeString

from checkins import forecast
from checkins.models import CheckIn
from checkins.services import value_problem
from objectives.models import expected_value
from okrly.html import csrf_input, escaped, html
from okrly.links import link
from okrly.numbers import plain_number
from okrly.templatetags.okrly_tags import person_name, progress_cell
from okrly.zones import local_time


def _errors(field: BoundField) -> str:
    # The field's messages beside it, announced by the id its input points at.
    if not field.errors:
        return ""
    return html(
        '<small class="field-error" id="{}_error">{}</small>',
        field.auto_id,
        SafeString(" ".join(escaped(e) for e in field.errors)),
    )


def _labelled(field: BoundField, label: Any) -> str:
    return html('<label for="{}">{}</label>', field.id_for_label, label)


def _status_radios(field: BoundField) -> str:
    return "".join(
        html(
            '<label class="status-choice status-{}">{} {}</label>',
            radio.data["value"],
            radio.tag(),
            radio.choice_label,
        )
        for radio in field
    )


def _radios(field: BoundField) -> str:
    return "".join(html("<label>{} {}</label>", radio.tag(), radio.choice_label) for radio in field)


def _state(card: Any, kr: Any, week: int) -> str:
    check_in = card.check_in
    if card.displaced:
        return html(
            '<span class="pill pill-muted">Displaced by trade-off #{}</span>', kr.displaced_by_id
        )
    if check_in:
        state = html(
            '<span class="pill pill-{}">{} · {}/10</span>',
            check_in.status,
            check_in.get_status_display(),
            check_in.confidence,
        )
        if check_in.forecast_flag:
            state += html(
                '<span class="pill pill-bad" title="You said on track, but the trend projects '
                '{} at quarter end">stated vs. forecast</span>',
                plain_number(check_in.forecast_value),
            )
        return state
    if card.is_late:
        return html('<span class="pill pill-at_risk">Week {} missed · late check-in</span>', week)
    return html('<span class="pill pill-requested">Week {} to do</span>', week)


def _number(value: Any, unit: str) -> str:
    return f"{plain_number(value)} {unit}".strip()


def _last_answers(card: Any, week: int) -> str:
    """The latest check-in before ``week``: its three answers, and which weeks since were
    missed."""
    earlier = [w for w in card.by_week if w < week]
    if not earlier:
        return ""
    last_week = max(earlier)
    last = card.by_week[last_week]
    missed = list(range(last_week + 1, week))
    gap = (
        html(
            ' <span class="pill pill-off_track">{} missed</span>',
            ", ".join(f"week {w}" for w in missed),
        )
        if missed
        else ""
    )
    need = (
        html("<li><strong>Need:</strong> {}</li>", last.need)
        if last.need
        else '<li class="muted"><strong>Need:</strong> nothing asked</li>'
    )
    return html(
        '<div class="last-answers"><p><strong>{} (week {}):</strong> '
        '<span class="pill pill-{}">{} · {}/10</span>{}{}</p>'
        "<ul><li><strong>Risk:</strong> {}</li>{}</ul></div>",
        "Last week" if last_week == week - 1 else "Last check-in",
        last_week,
        last.status,
        last.get_status_display(),
        last.confidence,
        SafeString(' <span class="pill pill-muted">late</span>' if last.late else ""),
        SafeString(gap),
        last.biggest_risk,
        SafeString(need),
    )


def _trend(card: Any, week: int) -> str:
    """Confidence over the four weeks before ``week`` ("missed" where there was none)."""
    weeks = list(range(max(1, week - 4), week))
    if not weeks:
        return ""
    items = "".join(
        html("<li>week {}: <strong>{}</strong></li>", w, card.by_week[w].confidence)
        if w in card.by_week
        else html('<li class="missed">week {}: missed</li>', w)
        for w in weeks
    )
    return html(
        '<div class="confidence-trend"><span>Confidence, last {} weeks:</span><ol>{}</ol></div>',
        len(weeks),
        SafeString(items),
    )


def _late_links(card: Any, kr: Any) -> str:
    if card.is_late or not card.late:
        return ""
    return "".join(
        html(
            '<p class="late-offer">Week {0} has no check-in. <a href="{1}" hx-get="{1}" '
            'hx-target="#checkin-{2}" hx-swap="outerHTML">Check in week {0} late</a> '
            '<small class="muted">(open until {3})</small></p>',
            w,
            link("checkins:week_card", kr.pk, w),
            kr.pk,
            local_time(until),
        )
        for w, until in sorted(card.late.items())
    )


def _context(card: Any, kr: Any) -> str:
    """What the owner needs while writing: start → target, where a linear pace expects the
    key result by the form's week, last week's answers and the confidence trend."""
    week = card.week
    expected = expected_value(kr.start_value, kr.target_value, week, card.weeks)
    pace = html(
        '<p class="kr-pace">From <strong>{}</strong> to <strong>{}</strong> by week {} · '
        "expected by week {}: <strong>{}</strong> <small>(linear pace)</small></p>",
        _number(kr.start_value, kr.unit),
        _number(kr.target_value, kr.unit),
        card.weeks,
        week,
        _number(expected, kr.unit),
    )
    return html(
        '<div class="card-context">{}{}{}{}</div>',
        pace,
        SafeString(_last_answers(card, week)),
        SafeString(_trend(card, week)),
        SafeString(_late_links(card, kr)),
    )


def _preview(card: Any, kr: Any, form: Any) -> str:
    """The live forecast: printed for the form's value, recomputed by static/js/okrly.js
    from the data attributes as the value is typed and the status chosen."""
    typed = form["value"].value()
    # Only a value the check-in could store is projected (1e308 would overflow the line).
    value = Decimal(str(typed).strip()) if value_problem(typed) is None else None
    others = {w: c.value for w, c in card.by_week.items() if w != card.week}
    projected, misses = (
        forecast.preview(kr, others, card.week, value, card.weeks)
        if value is not None
        else (None, False)
    )
    text = (
        html(
            "At this pace: <strong>{}</strong> by week {}.", _number(projected, kr.unit), card.weeks
        )
        if projected is not None
        else "No forecast yet: it needs a second week of values."
    )
    on_track = form["status"].value() == CheckIn.Status.ON_TRACK
    return html(
        '<div class="forecast-preview" data-forecast data-start="{}" data-target="{}" '
        'data-direction="{}" data-margin="{}" data-week="{}" data-weeks="{}" data-points="{}" '
        'data-unit="{}"><p class="forecast-line" aria-live="polite">{}</p>'
        '<p class="forecast-warning" aria-live="polite"{}>You say on track, but at this pace the '
        "key result ends short of its target: this answer will be flagged "
        "<strong>stated vs. forecast</strong>.</p></div>",
        kr.start_value,
        kr.target_value,
        kr.direction,
        settings.CHECKIN_FORECAST_MARGIN,
        card.week,
        card.weeks,
        ",".join(f"{w}:{v}" for w, v in sorted(others.items())),
        kr.unit,
        SafeString(text),
        SafeString("" if misses and on_track else " hidden"),
    )


def _form(card: Any, kr: Any, form: Any, week: int, saved: bool | str, token: str) -> str:
    parts: list[str] = []
    flash = ""
    if saved:
        edited = (
            "Your earlier answer is kept in the history."
            if card.check_in and card.check_in.edited_at
            else ""
        )
        said = saved if isinstance(saved, str) else "Saved."
        # Beside the button that saved it (on a phone the top of the card is off screen).
        flash = html('<p class="flash" role="status" data-announce>{} {}</p>', said, edited)
    parts.append(
        html(
            '<form method="post" action="{0}" hx-post="{0}" hx-target="#checkin-{1}" '
            'hx-swap="outerHTML" novalidate class="checkin-form">{2}{3}',
            kr.submit_url,
            kr.pk,
            csrf_input(token),
            SafeString(
                html('<input type="hidden" name="week" value="{}">', week) if card.is_late else ""
            ),
        )
    )
    if errors := form.non_field_errors():
        parts.append(
            html(
                '<div class="form-errors" role="alert">{}</div>',
                SafeString("".join(html("<p>{}</p>", e) for e in errors)),
            )
        )
    status, confidence = form["status"], form["confidence"]
    parts.append(
        html(
            '<fieldset class="q-status"><legend>1. {}</legend>'
            '<div class="status-choices">{}</div>{}{}{}{}</fieldset>',
            status.label,
            SafeString(_status_radios(status)),
            SafeString(_errors(status)),
            SafeString(_labelled(confidence, confidence.label)),
            confidence,
            SafeString(_errors(confidence)),
        )
    )
    for number, name in ((2, "biggest_risk"), (3, "need")):
        field = form[name]
        parts.append(_labelled(field, f"{number}. {field.label}"))
        parts.append(escaped(field))
        parts.append(_errors(field))
    parts.append('<div class="grid need-who">')
    for name in ("need_person", "need_dependency", "value"):
        field = form[name]
        parts.append(
            html(
                "<div>{}{}{}</div>",
                SafeString(_labelled(field, field.label)),
                field,
                SafeString(_errors(field)),
            )
        )
    parts.append("</div>")
    parts.append(_preview(card, kr, form))
    if form.review_fields:
        parts.append(
            html(
                '<fieldset class="dep-review"><legend>Week {}: are this key result\'s '
                "dependencies still on track?</legend>",
                week,
            )
        )
        for dep, choice, note in form.review_fields:
            parts.append(
                html(
                    '<div class="dep-review-row"><span class="dep-name">{} <small class="muted">'
                    "— {}, {}, by {}</small></span>"
                    '<span class="dep-choice" role="radiogroup" aria-label="Is “{}” still on '
                    'track?">{}</span>{}{}{}</div>',
                    dep.deliverable,
                    person_name(dep.responsible),
                    dep.provider_team.name,
                    date_filter(dep.due_date, "j M"),
                    dep.deliverable,
                    SafeString(_radios(choice)),
                    note,
                    SafeString(_errors(choice)),
                    SafeString(_errors(note)),
                )
            )
        parts.append("</fieldset>")
    verb = "Update" if card.check_in else "Submit"
    late = " (late)" if card.is_late and not card.check_in else ""
    parts.append(html('<button type="submit">{} week {} check-in{}</button>', verb, week, late))
    parts.append(flash)
    if card.is_late:
        back = link("checkins:week_card", kr.pk, card.current_week)
        parts.append(
            html(
                ' <a href="{0}" hx-get="{0}" hx-target="#checkin-{1}" hx-swap="outerHTML" '
                'class="secondary">Back to week {2}</a>',
                back,
                kr.pk,
                card.current_week,
            )
        )
    parts.append("</form>")
    return "".join(parts)


def card_html(
    request: HttpRequest,
    card: Any,
    form: Any,
    week: int,
    actions: str = "",
    saved: bool | str = False,
    token: str | None = None,
) -> SafeString:
    """One card: the key result, where it stands this week, the higher apps' ``actions``
    (markup), and the form (``form`` None: a displaced key result's card says why instead).
    ``token``: the request's CSRF token, when a page of cards has read it once (each read
    masks it anew, with 32 random characters)."""
    kr = card.key_result
    week = card.week or week
    head = html(
        '<article class="checkin-card{}" id="checkin-{}"><header class="checkin-head"><div>'
        '<small class="muted">{} · {}</small><h3><a href="{}">{}</a></h3></div>'
        '<div class="checkin-state">{}{}</div></header>',
        " is-done" if card.check_in else "",
        kr.pk,
        kr.objective.team.name,
        kr.objective.title,
        kr.get_absolute_url(),
        kr.title,
        progress_cell(kr),
        SafeString(_state(card, kr, week)),
    )
    body: list[str] = [head]
    if actions:
        body.append(html('<div class="card-actions">{}</div>', SafeString(actions)))
    if card.displaced:
        url = kr.get_absolute_url()
        body.append(
            html(
                '<p class="muted displaced-note">A trade-off dropped or deferred this key '
                'result (<a href="{}?quarter={}#trade-off-{}">trade-off #{}</a>): no check-in '
                "is asked for it any more, and it has left the quarter's counts. Its history "
                'stays on <a href="{}">its page</a>.</p>',
                reverse("objectives:trade_offs"),
                kr.objective.quarter_id,
                kr.displaced_by_id,
                kr.displaced_by_id,
                url,
            )
        )
    elif form is not None:
        body.append(_context(card, kr))
        body.append(_form(card, kr, form, card.week or week, saved, token or get_token(request)))
    body.append("</article>")
    return SafeString("".join(body))
