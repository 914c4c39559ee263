"""A My-week check-in card's markup, built in Python (issue 14).

My week prints a card per key result the person owns, each with the three questions' form;
as a template partial the cards were most of the page's time (some 340 variable lookups and
tags a request for five cards). ``card_html`` writes what the partial wrote, through the one
escaping helper (``okrly.html``); the fields themselves are the form's own widgets
(``okrly.formrender``). My week and a submitted card's htmx answer both print it.
"""

from __future__ import annotations

from typing import Any

from django.forms import BoundField
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.safestring import SafeString

from okrly.html import csrf_input, escaped, html
from okrly.numbers import plain_number
from okrly.templatetags.okrly_tags import person_name, progress_cell


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
    return html('<span class="pill pill-requested">Week {} to do</span>', week)


def _form(card: Any, kr: Any, form: Any, week: int, saved: bool, token: str) -> str:
    parts: list[str] = []
    if saved:
        edited = (
            "Your earlier answer is kept in the history."
            if card.check_in and card.check_in.edited_at
            else ""
        )
        parts.append(html('<p class="flash" role="status">Saved. {}</p>', edited))
    parts.append(
        html(
            '<form method="post" action="{0}" hx-post="{0}" hx-target="#checkin-{1}" '
            'hx-swap="outerHTML" novalidate class="checkin-form">{2}',
            kr.submit_url,
            kr.pk,
            csrf_input(token),
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
    parts.append(html('<button type="submit">{} week {} check-in</button></form>', verb, week))
    return "".join(parts)


def card_html(
    request: HttpRequest,
    card: Any,
    form: Any,
    week: int,
    actions: str = "",
    saved: bool = False,
    token: str | None = None,
) -> SafeString:
    """One card: the key result, where it stands this week, the higher apps' ``actions``
    (markup), and the form (``form`` None: a displaced key result's card says why instead).
    ``token``: the request's CSRF token, when a page of cards has read it once (each read
    masks it anew, with 32 random characters)."""
    kr = card.key_result
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
        body.append(_form(card, kr, form, week, saved, token or get_token(request)))
    body.append("</article>")
    return SafeString("".join(body))
