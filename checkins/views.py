from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from checkins import selectors, services
from checkins.cards import card_html
from checkins.charts import ChartPoint, progress_svg
from checkins.forms import CheckInForm, person_choices
from checkins.models import CheckIn
from objectives.models import KeyResult
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter, request_quarter
from okrly.numbers import plain_number
from okrly.registry import my_week_card_actions
from okrly.types import AuthedRequest

if TYPE_CHECKING:
    from okrly.types import User


def _form(
    card: selectors.WeekCard,
    week: int,
    people: list[tuple[Any, str]],
    data: Any = None,
) -> CheckInForm:
    check_in = card.check_in
    initial: dict[str, Any] = {"value": plain_number(card.key_result.current_value)}
    if check_in is not None:
        initial = {
            "status": check_in.status,
            "confidence": check_in.confidence,
            "biggest_risk": check_in.biggest_risk,
            "need": check_in.need,
            "need_person": check_in.need_person_id,
            "need_dependency": check_in.need_dependency_id,
            "value": plain_number(check_in.value),
        }
        # Weeks 1-2: an edit starts from the answers given, not from "still on track".
        for review in check_in.reviews:
            initial[f"dep_{review.dependency_id}"] = "yes" if review.on_track else "no"
            initial[f"dep_{review.dependency_id}_note"] = review.note
    return CheckInForm(
        data,
        initial=initial,
        key_result=card.key_result,
        dependencies=card.dependencies,
        review=week <= services.REVIEW_WEEKS,
        people=people,
    )


def _card_html(
    request: HttpRequest,
    card: selectors.WeekCard,
    quarter: Quarter,
    week: int,
    form: CheckInForm | None,
    saved: bool = False,
    actions: str | None = None,
) -> str:
    if actions is None:
        # One card alone (after a submit): its actions from the registry (reviews'
        # "Escalate"), which My week asks for all its cards at once.
        actions = my_week_card_actions(request, [card.key_result]).get(card.key_result.pk, "")
    return card_html(request, card, form, week, actions, saved)


def render_my_week(request: AuthedRequest) -> str:
    """The check-in section of My week, registered with okrly's registry."""
    quarter = request_quarter(request)
    # A reviewing quarter is graded, not checked in (reviews' grading panel on My week).
    if quarter is not None and quarter.status != Quarter.Status.ACTIVE:
        quarter = None
    week = quarter.current_week(request.user) if quarter else None
    cards = selectors.my_week(request.user, quarter, week) if quarter and week else []
    due = selectors.still_due(cards)
    people = person_choices(due) if due else []
    # Higher apps' actions on each card (reviews: "Escalate"), for all the cards at once.
    actions = my_week_card_actions(request, [c.key_result for c in cards])
    token = get_token(request)
    # No request for the section itself: its cards carry the CSRF token, and nothing else in
    # it needs the context processors (the page around it runs them).
    return render_to_string(
        "checkins/my_week.html",
        {
            "quarter": quarter,
            "week": week,
            # A displaced key result's card says why and offers no form (rule 8).
            "cards": [
                card_html(
                    request,
                    c,
                    None if c.displaced else _form(c, week, people),
                    week,
                    actions.get(c.key_result.pk, ""),
                    token=token,
                )
                for c in cards
            ]
            if quarter and week
            else [],
            "done": sum(1 for c in due if c.check_in),
            "total": len(due),
        },
    )


def _card_for(
    user: User, quarter: Quarter, week: int, key_result: KeyResult
) -> tuple[selectors.WeekCard | None, list[selectors.WeekCard]]:
    """The user's My-week card for this key result (None if it is not theirs), and all of
    their cards (for the "N of M done" summary)."""
    cards = selectors.my_week(user, quarter, week)
    return next((c for c in cards if c.key_result.pk == key_result.pk), None), cards


@login_required
@require_http_methods(["POST"])
def submit(request: AuthedRequest, key_result_pk: int) -> HttpResponse:
    key_result = get_object_or_404(
        KeyResult.objects.select_related("objective__quarter"), pk=key_result_pk
    )
    quarter = key_result.objective.quarter
    week = quarter.current_week(request.user)
    if week is None:
        raise Http404("This key result's quarter is not running.")
    card, cards = _card_for(request.user, quarter, week, key_result)
    if card is None:
        raise PermissionDenied(
            f"Only {key_result.owner.get_full_name() or key_result.owner}, the owner, checks in "
            "for this key result."
        )
    if card.displaced:
        # A page from before the trade-off: its form is stale. The card, re-rendered, says
        # why no check-in is asked for any more (htmx swaps it in; without JavaScript, 400).
        html = _card_html(request, card, quarter, week, None)
        if request.htmx:
            return HttpResponse(html)
        return render(
            request,
            "checkins/submit_page.html",
            {"kr": key_result, "week": week, "card_html": html},
            status=400,
        )
    posted = request.POST.get(f"kr{key_result.pk}-need_person", "")
    # Bounded: a 20-digit value would overflow the query's bigint.
    chosen = [int(posted)] if posted.isdigit() and len(posted) < 19 else []
    people = person_choices([card], also=chosen)
    form = _form(card, week, people, request.POST)
    saved = False
    if form.is_valid():
        try:
            card.check_in = services.checkin_submit(
                user=request.user, key_result=key_result, week=week, **form.service_kwargs()
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            saved = True
            fresh, cards = _card_for(request.user, quarter, week, key_result)
            card = fresh or card
            form = _form(card, week, people)
    if request.htmx:
        # 200 either way so htmx swaps the card: saved, or the form with its messages. The
        # summary above the cards ("N of M done") is swapped out of band.
        summary = render_to_string(
            "checkins/my_week.html#checkin-summary",
            {
                "week": week,
                "quarter": quarter,
                "done": sum(1 for c in selectors.still_due(cards) if c.check_in),
                "total": len(selectors.still_due(cards)),
                "oob": True,
            },
            request=request,
        )
        return HttpResponse(_card_html(request, card, quarter, week, form, saved) + summary)
    if saved:
        messages.success(request, f"Week {week} check-in saved for “{key_result.title}”.")
        return redirect(reverse("home") + f"#checkin-{key_result.pk}")
    # Without JavaScript: the card alone on a page, each message beside its field and what
    # was typed kept (a redirect to My week would lose both).
    return render(
        request,
        "checkins/submit_page.html",
        {
            "kr": key_result,
            "week": week,
            "card_html": _card_html(request, card, quarter, week, form),
        },
        status=400,
    )


@login_required
@require_http_methods(["POST"])
def need_handled(request: AuthedRequest, pk: int) -> HttpResponse:
    check_in = get_object_or_404(CheckIn.objects.select_related("key_result__owner"), pk=pk)
    # Someone else's need: PermissionDenied, which Django answers with a 403.
    services.checkin_need_handle(check_in=check_in, user=request.user)
    if request.htmx:
        return render(
            request,
            "includes/answered.html",
            {"message": "Marked handled; the owner has been told."},
        )
    messages.success(request, "Marked handled; the owner has been told.")
    return redirect("asked_of_me")


def render_key_result_panel(request: HttpRequest, key_result: KeyResult) -> str:
    check_ins = selectors.timeline(key_result)
    quarter = key_result.objective.quarter
    chart = progress_svg(
        start=key_result.start_value,
        target=key_result.target_value,
        weeks=quarter.weeks,
        points=[ChartPoint(c.week, c.value, c.is_risky) for c in reversed(check_ins)],
        forecast=check_ins[0].forecast_value if check_ins else None,
    )
    return render_to_string(
        "checkins/timeline.html",
        {
            "kr": key_result,
            "check_ins": check_ins,
            "chart": chart,
            "latest": check_ins[0] if check_ins else None,
        },
        request=request,
    )
