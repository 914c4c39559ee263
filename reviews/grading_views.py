"""Grading on My week (issue 13): while a quarter is reviewing, one form per key result its
owner holds — the final value and the two answers — posted with htmx (a plain form without
JavaScript), through reviews.lifecycle.key_result_grade. Registered as a My-week panel before
the check-in forms (which a reviewing quarter no longer shows)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from objectives.models import KeyResult
from okrly import access
from okrly.errors import NotAllowed, RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter, request_quarters
from okrly.types import AuthedRequest
from reviews.lifecycle import TEXT_LIMIT, key_result_grade, quarter_start_reviewing
from reviews.models import Grade


class GradeForm(forms.Form):
    final_value = forms.CharField(
        label="Final value",
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    what_happened = forms.CharField(
        label="What happened?",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    change_how_we_work = forms.CharField(
        label="What would you change about how we work?",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _form(grade: Grade, data: Any = None) -> GradeForm:
    initial = {
        "final_value": grade.final_value
        if grade.final_value is not None
        else grade.key_result.current_value,
        "what_happened": grade.what_happened,
        "change_how_we_work": grade.change_how_we_work,
    }
    return GradeForm(data, initial=initial, prefix=f"grade-{grade.key_result_id}")


def _card_html(
    request: AuthedRequest, grade: Grade, form: GradeForm | None = None, saved: bool = False
) -> str:
    displaced = grade.outcome == Grade.Outcome.DISPLACED
    return render_to_string(
        "reviews/grading.html#grade-card",
        {
            "grade": grade,
            "kr": grade.key_result,
            "displaced": displaced,
            "form": None if displaced else (form or _form(grade)),
            "saved": saved,
        },
        request=request,
    )


def render_my_week(request: AuthedRequest) -> str:
    """The grading section of My week: nothing unless the user owns key results of a quarter
    that is reviewing. One query, and none when no quarter is reviewing (the request's
    quarters say so: ``okrly.models.request_quarters``)."""
    if not any(q.status == Quarter.Status.REVIEWING for q in request_quarters(request)):
        return ""
    grades = list(
        Grade.objects.filter(
            key_result__owner=request.user, quarter__status=Quarter.Status.REVIEWING
        )
        .select_related("key_result__objective__team", "quarter")
        .order_by("quarter__start", "key_result__objective_id", "key_result_id")
    )
    if not grades:
        return ""
    owed = [g for g in grades if g.outcome != Grade.Outcome.DISPLACED]
    return render_to_string(
        "reviews/grading.html",
        {
            "quarter": grades[0].quarter,
            "cards_html": [_card_html(request, g) for g in grades],
            "done": sum(1 for g in owed if g.graded_at is not None),
            "total": len(owed),
        },
        request=request,
    )


@login_required
@require_http_methods(["POST"])
def grade(request: AuthedRequest, key_result_pk: int) -> HttpResponse:
    key_result = get_object_or_404(KeyResult.objects.select_related("owner"), pk=key_result_pk)
    if not access.is_owner(request.user, owner_id=key_result.owner_id):
        raise PermissionDenied(f"Only {key_result.owner}, the key result's owner, grades it.")
    row = (
        Grade.objects.filter(key_result=key_result, quarter__status=Quarter.Status.REVIEWING)
        .select_related("key_result__objective__team", "quarter")
        .first()
    )
    if row is None:
        raise Http404("This key result's quarter is not reviewing.")
    form = _form(row, request.POST)
    saved = False
    if form.is_valid():
        try:
            row = key_result_grade(user=request.user, key_result=key_result, **form.cleaned_data)
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            saved = True
            row = Grade.objects.select_related("key_result__objective__team", "quarter").get(
                pk=row.pk
            )
            form = _form(row)
    html = _card_html(request, row, form, saved)
    if request.htmx:
        # 200 either way so that htmx swaps the card: graded, or the form with its messages
        # beside their fields and what was typed kept (as the check-in cards do).
        return HttpResponse(html)
    if saved:
        messages.success(request, f"Graded “{key_result.title}”.")
        return redirect(reverse("home") + f"#grade-{key_result.pk}")
    # Without JavaScript: the card alone on a page, messages on their fields, input kept.
    return render(
        request, "reviews/grading_page.html", {"kr": key_result, "card_html": html}, status=400
    )


@login_required
@require_http_methods(["GET", "POST"])
def start_review(request: AuthedRequest, pk: int) -> HttpResponse:
    """Leadership starts a quarter's review before its last day (a confirmation page)."""
    quarter = get_object_or_404(Quarter, pk=pk)
    if not access.can_start_review(request.user):
        raise PermissionDenied("Only leadership starts a quarter's review early.")
    error = ""
    if request.method == "POST":
        try:
            quarter_start_reviewing(user=request.user, quarter=quarter)
        except (RuleBroken, NotAllowed) as refused:
            error = refused.message
        else:
            messages.success(request, f"{quarter.name} is in review; its owners grade it now.")
            return redirect("home")
    return render(
        request,
        "reviews/start_review.html",
        {"quarter": quarter, "error": error, "can_start": quarter.status == "active"},
        status=400 if error else 200,
    )
