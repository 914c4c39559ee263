from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from checkins import links, selectors, services, threads
from checkins.cards import card_html
from checkins.charts import ChartPoint, progress_svg
from checkins.forms import CheckInForm, person_choices
from checkins.models import CheckIn
from objectives.models import KeyResult
from okrly import access
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter, display_name, local_today, request_quarter, user_timezone
from okrly.numbers import plain_number
from okrly.params import BadParameter, id_param, int_param
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
    saved: bool | str = False,
    actions: str | None = None,
) -> str:
    if actions is None:
        # One card alone (after a submit): its actions from the registry (reviews'
        # "Escalate"), which My week asks for all its cards at once.
        actions = my_week_card_actions(request, [card.key_result]).get(card.key_result.pk, "")
    return card_html(request, card, form, week, actions, saved)


def _with_late(user: User, quarter: Quarter, cards: list[selectors.WeekCard]) -> None:
    """Mark on each card the missed earlier weeks that can still be checked in late: open
    by the service's own test (``late_refusal``), and owed (the key result existed at the
    week's check-in moment)."""
    zone = user_timezone(user)
    now = timezone.now()
    for card in cards:
        if card.displaced:
            continue
        first = quarter.first_owed_week(card.key_result.created_at, zone)
        for week in range(card.current_week - 1, first - 1, -1):
            if services.late_refusal(quarter, week, owner=user, now=now) is not None:
                break
            if week not in card.by_week:
                card.late[week] = quarter.late_until(week, zone)


def render_my_week(request: AuthedRequest) -> str:
    """The check-in section of My week, registered with okrly's registry."""
    quarter = request_quarter(request)
    # A reviewing quarter is graded, not checked in (reviews' grading panel on My week).
    if quarter is not None and quarter.status != Quarter.Status.ACTIVE:
        quarter = None
    week = quarter.current_week(request.user) if quarter else None
    cards = selectors.my_week(request.user, quarter, week) if quarter and week else []
    if quarter:
        _with_late(request.user, quarter, cards)
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
    _with_late(user, quarter, cards)
    return next((c for c in cards if c.key_result.pk == key_result.pk), None), cards


def _running(request: AuthedRequest, key_result_pk: int) -> tuple[KeyResult, Quarter, int]:
    key_result = get_object_or_404(
        KeyResult.objects.select_related("objective__quarter", "owner"), pk=key_result_pk
    )
    quarter = key_result.objective.quarter
    week = quarter.current_week(request.user)
    if week is None or quarter.status != Quarter.Status.ACTIVE:
        raise Http404("This key result's quarter is not running.")
    return key_result, quarter, week


def _not_owner(key_result: KeyResult) -> PermissionDenied:
    return PermissionDenied(
        f"Only {display_name(key_result.owner)}, the owner, checks in for this key result."
    )


@login_required
@require_http_methods(["GET"])
def week_card(request: AuthedRequest, key_result_pk: int, week: int) -> HttpResponse:
    """The owner's card with its form for ``week``: this week's, or a missed earlier week
    still open for a late check-in (the card's "Check in week N late" link)."""
    key_result, quarter, current = _running(request, key_result_pk)
    card, _ = _card_for(request.user, quarter, current, key_result)
    if card is None:
        raise _not_owner(key_result)
    if week != current and week not in card.late:
        raise Http404(f"Week {week} is not open for a check-in.")
    card = card.for_week(week)
    html = _card_html(
        request,
        card,
        quarter,
        week,
        None if card.displaced else _form(card, week, person_choices([card])),
    )
    if request.htmx:
        return HttpResponse(html)
    return render(
        request,
        "checkins/submit_page.html",
        {"kr": key_result, "week": week, "card_html": html, "late": card.is_late},
    )


@login_required
@require_http_methods(["GET"])
def open_link(request: AuthedRequest, token: str) -> HttpResponse:
    """The prompt e-mail's link: the card of its key result and week (this week's on My
    week, a missed week's own card while it is open late). Signed out, login_required sends
    the person to sign in and back here, and from here to the card."""
    try:
        target = links.read(token)
    except links.LinkRefused as refused:
        return render(request, "checkins/link_refused.html", {"message": str(refused)}, status=400)
    key_result = (
        KeyResult.objects.select_related("objective__quarter", "owner")
        .filter(pk=target.key_result_id)
        .first()
    )
    if key_result is None:
        raise Http404("This key result no longer exists.")
    quarter = key_result.objective.quarter
    current = (
        quarter.current_week(request.user) if quarter.status == Quarter.Status.ACTIVE else None
    )
    if key_result.owner_id != request.user.pk:
        # Forwarded, or the key result changed hands since the e-mail: the page, not a form.
        messages.info(
            request,
            f"This check-in link is for {display_name(key_result.owner)}, the owner of "
            f"“{key_result.title}”; here is the key result.",
        )
        return redirect(key_result.get_absolute_url())
    if current is not None and target.week == current:
        return redirect(links.card_path(key_result.pk))
    card = None
    if current is not None and target.week < current:
        card, _ = _card_for(request.user, quarter, current, key_result)
    if card is not None and target.week in card.late:
        return redirect("checkins:week_card", key_result_pk=key_result.pk, week=target.week)
    messages.info(
        request,
        f"Week {target.week}'s check-in for “{key_result.title}” is closed (a missed week "
        f"stays open {settings.CHECKIN_LATE_DAYS} days after its prompt); here is the key result.",
    )
    return redirect(key_result.get_absolute_url())


@login_required
@require_http_methods(["POST"])
def submit(request: AuthedRequest, key_result_pk: int) -> HttpResponse:
    key_result, quarter, week = _running(request, key_result_pk)
    card, cards = _card_for(request.user, quarter, week, key_result)
    if card is None:
        raise _not_owner(key_result)
    # A late check-in names its missed week (the card's hidden field); the service decides
    # whether it is still open.
    form_week = int_param(request.POST, "week", min_value=1, max_value=quarter.weeks) or week
    card = card.for_week(form_week)
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
    # A posted person is shown back among the choices; one that is no id is the form's to
    # refuse, beside its field.
    try:
        chosen = id_param(request.POST, f"kr{key_result.pk}-need_person")
    except BadParameter:
        chosen = None
    people = person_choices([card], also=[chosen] if chosen else [])
    form = _form(card, form_week, people, request.POST)
    saved: bool | str = False
    if form.is_valid():
        try:
            card.check_in = services.checkin_submit(
                user=request.user,
                key_result=key_result,
                week=form_week,
                **form.service_kwargs(),
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            saved = f"Week {form_week} saved, marked late." if card.check_in.late else True
            # Back to this week's form (after a late one, the missed week is now filled).
            fresh, cards = _card_for(request.user, quarter, week, key_result)
            card = fresh or card.for_week(week)
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
        messages.success(request, f"Week {form_week} check-in saved for “{key_result.title}”.")
        return redirect(reverse("home") + f"#checkin-{key_result.pk}")
    # Without JavaScript: the card alone on a page, each message beside its field and what
    # was typed kept (a redirect to My week would lose both).
    return render(
        request,
        "checkins/submit_page.html",
        {
            "kr": key_result,
            "week": form_week,
            "card_html": _card_html(request, card, quarter, form_week, form),
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


def _timeline_weeks(key_result: KeyResult, check_ins: list[CheckIn]) -> list[tuple[int, Any]]:
    """The timeline, newest first: each week the key result was owed a check-in, with it, or
    None where it was missed. Owed: from the week it was created (the next one if it came
    after that week's check-in moment) to last week, in the owner's zone; this week shows
    once checked in. A displaced key result owes nothing more: only its check-ins show."""
    by_week = {c.week: c for c in check_ins}
    quarter = key_result.objective.quarter
    if key_result.displaced_by_id is not None or quarter.status == Quarter.Status.PLANNING:
        return sorted(by_week.items(), reverse=True)
    owner = key_result.owner
    zone = user_timezone(owner)
    now_week = quarter.current_week(owner)
    last = (now_week - 1) if now_week is not None else quarter.weeks
    if now_week is None and local_today(owner) < quarter.start:
        last = 0
    first = quarter.first_owed_week(key_result.created_at, zone)
    weeks = set(by_week) | set(range(first, last + 1))
    return [(w, by_week.get(w)) for w in sorted(weeks, reverse=True)]


def _thread(request: HttpRequest, check_in: CheckIn, may_mark_seen: bool) -> str:
    return threads.thread_html(
        check_in.pk,
        check_in.week,
        [threads.entry_of(c) for c in check_in.comments.all()],
        token=get_token(request),
        may_mark_seen=may_mark_seen,
    )


@login_required
@require_http_methods(["POST"])
def comment(request: AuthedRequest, pk: int) -> HttpResponse:
    """Add to a check-in's thread: a reply, a comment, or a leader's "Seen" (``seen=1``)."""
    check_in = get_object_or_404(
        CheckIn.objects.select_related("key_result__owner", "key_result__objective"), pk=pk
    )
    try:
        threads.checkin_comment(
            user=request.user,
            check_in=check_in,
            body=request.POST.get("body", ""),
            seen=request.POST.get("seen") == "1",
        )
    except RuleBroken as error:
        if request.htmx:
            # Nothing swapped: what was typed stays, and the page announces why.
            return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, error.message)
        return redirect(threads.thread_link(check_in))
    if request.htmx:
        fresh = selectors.with_thread(CheckIn.objects.filter(pk=pk)).get()
        response = HttpResponse(
            _thread(request, fresh, access.can_lead(request.user, check_in.key_result.owner))
        )
        # Counts of unanswered threads elsewhere on the page (the dashboard's Risk feed tab)
        # reload themselves on this event, after the thread's own swap has settled.
        response["HX-Trigger-After-Settle"] = "okrly-thread-changed"
        return response
    messages.success(request, "Added to the thread.")
    return redirect(threads.thread_link(check_in))


def render_key_result_panel(request: HttpRequest, key_result: KeyResult) -> str:
    check_ins = selectors.timeline(key_result)
    may_mark_seen = access.can_lead(request.user, key_result.owner)
    for check_in in check_ins:
        check_in.thread = _thread(request, check_in, may_mark_seen)  # type: ignore[attr-defined]
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
            "weeks": _timeline_weeks(key_result, check_ins),
            "chart": chart,
            "latest": check_ins[0] if check_ins else None,
        },
        request=request,
    )
