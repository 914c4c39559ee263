"""The pages of the responses to missed commitments (rule 10): the list of a quarter's
responses (and its CSV), one response with its record form, and the panels on the key-result
and dependency pages. Writing goes through reviews.responses, with its rights and rules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from okrly.csvexport import csv_response
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter, Team, display_name
from okrly.params import BadParameter, id_param
from okrly.types import AuthedRequest
from reviews import response_selectors as selectors
from reviews import responses as services
from reviews.models import MissResponse, NextStep
from reviews.response_forms import ResponseRecordForm
from reviews.views import _quarter, no_quarter_page, trade_offs_url

PER_PAGE = 25

# Each state's pill, from the colours the dependency statuses already use.
STATE_PILLS = {
    selectors.AWAITING: "pill-at_risk",
    selectors.OVERDUE: "pill-bad",
    selectors.IN_PROGRESS: "pill-requested",
    selectors.DONE: "pill-committed",
}


def next_step_of(response: MissResponse) -> NextStep | None:
    try:
        return response.next_step
    except NextStep.DoesNotExist:
        return None


def _decorate(response: Any) -> Any:
    """What a template reads from a response row (``state`` is the selector's annotation)."""
    response.state_label = selectors.STATE_LABELS[response.state]
    response.state_pill = STATE_PILLS[response.state]
    response.step = next_step_of(response)
    return response


def _filters(request: HttpRequest) -> tuple[Team | None, str, Any]:
    """The list's filters: an unknown team or person is a 404, an unknown state a 400."""
    team_pk = id_param(request.GET, "team", not_found=True)
    team = get_object_or_404(Team, pk=team_pk) if team_pk is not None else None
    state = request.GET.get("state", "")
    if state and state not in selectors.STATE_LABELS:
        raise BadParameter(
            "state must be one of " + ", ".join(selectors.STATE_LABELS), field="state"
        )
    person_pk = id_param(request.GET, "person", not_found=True)
    person = get_object_or_404(get_user_model(), pk=person_pk) if person_pk is not None else None
    return team, state, person


CSV_HEADER = [
    "kind",
    "key result",
    "team",
    "dependency",
    "accountable",
    "holder",
    "opened",
    "due",
    "state",
    "committed",
    "delivered",
    "conversation on",
    "cause",
    "gap",
    "next step",
    "next step owner",
    "next step due",
    "next step done",
]


def _name(user: Any) -> str:
    return display_name(user) if user is not None else ""


def _csv_row(r: Any) -> list[Any]:
    step = r.step
    return [
        r.get_kind_display(),
        r.key_result.title,
        r.key_result.objective.team.name,
        r.dependency.deliverable if r.dependency is not None else "",
        _name(r.accountable),
        _name(r.holder),
        timezone.localtime(r.opened_at).strftime("%Y-%m-%d %H:%M"),
        timezone.localtime(r.due_at).strftime("%Y-%m-%d %H:%M"),
        r.state_label,
        r.committed,
        r.delivered,
        r.conversation_on.isoformat() if r.conversation_on else "",
        r.cause.name if r.cause is not None else "",
        r.gap,
        step.what if step is not None else "",
        _name(step.owner) if step is not None else "",
        step.due.isoformat() if step is not None else "",
        timezone.localtime(step.done_at).strftime("%Y-%m-%d %H:%M")
        if step is not None and step.done_at is not None
        else "",
    ]


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def response_list(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    team, state, person = _filters(request)
    now = timezone.now()
    queryset = selectors.responses(
        quarter, now=now, today=timezone.localdate(now), team=team, state=state, person=person
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"okrly-responses-{quarter.name}.csv".replace(" ", "-"),
            CSV_HEADER,
            [_csv_row(_decorate(r)) for r in queryset],
        )
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    rows = [_decorate(r) for r in page.object_list]
    return render(
        request,
        "reviews/responses.html",
        {
            "quarter": quarter,
            "quarters": Quarter.objects.all(),
            "tab": "responses",
            "trade_offs_url": trade_offs_url(quarter),
            "rows": rows,
            "page": page,
            "team": team,
            "state": state,
            "person": person,
            "teams": Team.objects.only("pk", "name").order_by("name"),
            "states": selectors.STATES,
            "people": selectors.people_in(quarter),
            "csv_query": _csv_query(request),
        },
    )


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "csv"
    return query.urlencode()


def _load(request: HttpRequest, pk: int) -> Any:
    now = timezone.now()
    try:
        return _decorate(selectors.detail(pk, now=now, today=timezone.localdate(now)))
    except MissResponse.DoesNotExist as exc:
        raise Http404("No such response.") from exc


def _initial(response: MissResponse) -> dict[str, Any]:
    """The form starts from the record so far, or from who must take part."""
    step = next_step_of(response)
    if response.recorded_at is not None:
        return {
            "conversation_on": response.conversation_on,
            "participants": list(response.participants.all()),
            "cause": response.cause_id,
            "gap": response.gap,
            "next_step_what": step.what if step else "",
            "next_step_owner": step.owner_id if step else None,
            "next_step_due": step.due if step else None,
        }
    return {
        "conversation_on": timezone.localdate(),
        "participants": [p for p in (response.accountable_id, response.holder_id) if p],
        "next_step_owner": response.accountable_id,
    }


def _detail_page(
    request: AuthedRequest,
    response: Any,
    form: ResponseRecordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_record = services.may_record(request.user, response)
    if may_record and form is None:
        form = ResponseRecordForm(initial=_initial(response))
    return render(
        request,
        "reviews/response.html",
        {
            "response": response,
            "step": response.step,
            "form": form if may_record else None,
            "may_close": services.may_close_next_step(request.user, response),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def response_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    response = _load(request, pk)
    if request.method == "GET":
        return _detail_page(request, response)
    form = ResponseRecordForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, response, form, status=400)
    data = form.cleaned_data
    try:
        services.response_record(
            user=request.user,
            response=response,
            conversation_on=data["conversation_on"],
            participants=list(data["participants"]),
            cause=data["cause"],
            gap=data["gap"],
            next_step_what=data["next_step_what"],
            next_step_owner=data["next_step_owner"],
            next_step_due=data["next_step_due"],
        )
    except RuleBroken as error:
        add_service_error(form, error)
        return _detail_page(request, response, form, status=400)
    messages.success(request, "Response recorded: the next step is now tracked.")
    return redirect(response.get_absolute_url())


@login_required
@require_http_methods(["POST"])
def response_step_done(request: AuthedRequest, pk: int) -> HttpResponse:
    response = get_object_or_404(MissResponse, pk=pk)
    try:
        services.next_step_done(user=request.user, response=response)
    except RuleBroken as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Next step marked done.")
    return redirect(response.get_absolute_url())


# --- panels on other apps' pages (registered in ReviewsConfig.ready) ----------------------------


def _panel(request: HttpRequest, rows: list[MissResponse], title: str) -> str:
    if not rows:
        return ""
    return render_to_string(
        "reviews/response_panel.html",
        {"responses": [_decorate(r) for r in rows], "title": title},
        request=request,
    )


def render_key_result_responses(request: HttpRequest, key_result: Any) -> str:
    """The responses to this key result's misses (its own and its dependencies'): two queries."""
    now = timezone.now()
    rows = selectors.for_key_result(key_result.pk, now=now, today=timezone.localdate(now))
    return _panel(request, rows, "Responses to missed commitments")


def render_dependency_responses(request: HttpRequest, dependency: Any) -> str:
    """The response to this dependency's miss: two queries."""
    now = timezone.now()
    rows = selectors.for_dependency(dependency.pk, now=now, today=timezone.localdate(now))
    return _panel(request, rows, "Response to this missed commitment")
