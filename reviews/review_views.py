"""The quarterly review's page (rule 11): the quarter's evidence, computed; last quarter's
decisions with their follow-up; contributing factors and structural decisions with their
forms; closing; and the review's exports (PDF, Markdown). Writing goes through
reviews.review_services, with its rights and rules; the page offers a form only where
okrly.access.can_run_review says yes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from okrly.access import can_run_review, can_start_review
from okrly.errors import NotAllowed, RuleBroken
from okrly.forms import add_service_error, person_label, picker_people
from okrly.models import Quarter, Team
from okrly.types import AuthedRequest
from reviews import review_export, review_selectors, review_services
from reviews.charts import quarters_svg
from reviews.models import Review, StructuralDecision
from reviews.review_forms import DecisionForm, FactorForm, FollowUpForm
from reviews.views import _quarter, no_quarter_page


def _load(pk: int) -> Review:
    return get_object_or_404(Review.objects.select_related("quarter", "team", "closed_by"), pk=pk)


def _people() -> dict[int, tuple[Any, str]]:
    """The owner picker, "Name (Team)" as every picker names people: one query."""
    return {person.pk: (person, person_label(person)) for person in picker_people()}


def _later_quarters(quarter: Quarter) -> dict[int, tuple[Any, str]]:
    later = Quarter.objects.filter(start__gt=quarter.end).order_by("start")[:4]
    return {
        q.pk: (q, f"{q.name} ({'next quarter' if i == 1 else f'{i} quarters after this one'})")
        for i, q in enumerate(later, start=1)
    }


class Page:
    """Everything the page's forms choose from, loaded once (a fixed number of queries)."""

    def __init__(self, review: Review, trade_offs: list[Any] | None = None) -> None:
        self.evidence = review_selectors.evidence_choices(review.quarter, trade_offs)
        self.people = _people()
        self.quarters = _later_quarters(review.quarter)
        self.teams = {t.pk: t for t in Team.objects.only("pk", "name").order_by("name")}

    def factor_form(self, data: Any = None) -> FactorForm:
        return FactorForm(data, evidence=self.evidence, prefix="factor")

    def decision_form(self, data: Any = None) -> DecisionForm:
        initial = {}
        if self.quarters:
            # Takes effect next quarter, followed up six weeks into it (both can be changed).
            first = next(iter(self.quarters.values()))[0]
            initial = {
                "takes_effect": first.pk,
                "follow_up_on": min(first.start + timedelta(weeks=6), first.end),
            }
        return DecisionForm(
            data,
            initial=initial,
            evidence=self.evidence,
            people=self.people,
            quarters=self.quarters,
            teams=self.teams,
            prefix="decision",
        )


def _follow_up_form(decision: Any, data: Any = None) -> FollowUpForm:
    done = getattr(decision, "follow_up", None)
    initial = {"verdict": done.verdict, "note": done.note} if done is not None else None
    return FollowUpForm(data, initial=initial, prefix=f"follow{decision.pk}")


def _render(
    request: AuthedRequest,
    review: Review,
    *,
    factor_form: FactorForm | None = None,
    decision_form: DecisionForm | None = None,
    follow_up: tuple[int, FollowUpForm] | None = None,
    close_error: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    today = timezone.localdate(now)
    found = review_selectors.evidence(review, now=now, today=today)
    may_run = review.status == Review.Status.OPEN and can_run_review(request.user, review.team)
    page = Page(review, found.trade_offs) if may_run else None
    if page is not None:
        factor_form = factor_form or page.factor_form()
        decision_form = decision_form or page.decision_form()
        for decision in found.previous:
            decision.form = (  # type: ignore[attr-defined]
                follow_up[1]
                if follow_up is not None and follow_up[0] == decision.pk
                else _follow_up_form(decision)
            )
    return render(
        request,
        "reviews/review.html",
        {
            "review": review,
            "quarter": review.quarter,
            "ev": found,
            "may_run": may_run,
            "factor_form": factor_form if may_run else None,
            "decision_form": decision_form if may_run else None,
            "close_error": close_error,
            # The early start is leadership's (the same predicate the service asks), and only
            # while the quarter is active; otherwise the beat job starts it on the last day.
            "may_start": review.quarter.status == Quarter.Status.ACTIVE
            and can_start_review(request.user),
            "chart": quarters_svg(review_selectors.comparison(review.quarter, today)),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def review_of_quarter(request: HttpRequest) -> HttpResponse:
    """The organisation's review of a quarter (?quarter=<id>, else the current one)."""
    return redirect(review_services.review_for(_quarter(request)).get_absolute_url())


@login_required
@require_http_methods(["GET"])
def review_page(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render(request, _load(pk))


CLOSED = "This review is closed: nothing more is added to it or marked in it."


def _refuse_unless_running(request: AuthedRequest, review: Review) -> None:
    if not can_run_review(request.user, review.team):
        # The same refusal the services give, before any form is read.
        raise NotAllowed("Only leadership (or the team's leads) run this review.")


@login_required
@require_http_methods(["POST"])
def factor_add(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _load(pk)
    _refuse_unless_running(request, review)
    if review.status == Review.Status.CLOSED:
        return _render(request, review, close_error=CLOSED, status=400)
    page = Page(review)
    form = page.factor_form(request.POST)
    if form.is_valid():
        try:
            review_services.factor_add(
                user=request.user,
                review=review,
                text=form.cleaned_data["text"],
                **form.evidence_kwargs(),
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Contributing factor added.")
            return redirect(review.get_absolute_url() + "#factors")
    return _render(request, review, factor_form=form, status=400)


@login_required
@require_http_methods(["POST"])
def decision_add(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _load(pk)
    _refuse_unless_running(request, review)
    if review.status == Review.Status.CLOSED:
        return _render(request, review, close_error=CLOSED, status=400)
    page = Page(review)
    form = page.decision_form(request.POST)
    if form.is_valid():
        try:
            review_services.decision_add(user=request.user, review=review, **form.service_kwargs())
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Structural decision recorded.")
            return redirect(review.get_absolute_url() + "#decisions")
    return _render(request, review, decision_form=form, status=400)


@login_required
@require_http_methods(["POST"])
def follow_up(request: AuthedRequest, pk: int, decision_pk: int) -> HttpResponse:
    review = _load(pk)
    _refuse_unless_running(request, review)
    if review.status == Review.Status.CLOSED:
        return _render(request, review, close_error=CLOSED, status=400)
    decision = get_object_or_404(StructuralDecision, pk=decision_pk)
    form = _follow_up_form(decision, request.POST)
    if form.is_valid():
        try:
            review_services.follow_up_mark(
                user=request.user,
                review=review,
                decision=decision,
                verdict=form.cleaned_data["verdict"],
                note=form.cleaned_data["note"],
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Follow-up recorded.")
            return redirect(review.get_absolute_url() + "#previous")
    return _render(request, review, follow_up=(decision.pk, form), status=400)


@login_required
@require_http_methods(["POST"])
def close(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _load(pk)
    _refuse_unless_running(request, review)
    if review.status == Review.Status.CLOSED:
        return _render(request, review, close_error=CLOSED, status=400)
    try:
        review_services.review_close(user=request.user, review=review)
    except RuleBroken as error:
        return _render(request, review, close_error=error.message, status=400)
    messages.success(request, "Review closed.")
    return redirect(review.get_absolute_url())


def _export(request: HttpRequest, pk: int) -> tuple[Review, review_selectors.Evidence]:
    review = _load(pk)
    now = timezone.now()
    return review, review_selectors.evidence(review, now=now, today=timezone.localdate(now))


@login_required
@require_http_methods(["GET"])
def export_md(request: HttpRequest, pk: int) -> HttpResponse:
    review, found = _export(request, pk)
    response = HttpResponse(
        review_export.markdown(review, found), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{review_export.filename(review)}.md"'
    return response


@login_required
@require_http_methods(["GET"])
def export_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    review, found = _export(request, pk)
    response = HttpResponse(review_export.pdf(review, found), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{review_export.filename(review)}.pdf"'
    return response
