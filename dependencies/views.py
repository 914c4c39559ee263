from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from dependencies import selectors, services
from dependencies.forms import CounterForm, DependencyRequestForm, ReasonForm, ReassignForm
from dependencies.models import Dependency
from dependencies.templatetags.dependency_tags import dependency_status
from objectives.models import KeyResult
from objectives.selectors import key_result_detail
from okrly import access, registry
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.types import AuthedRequest

if TYPE_CHECKING:
    from okrly.types import User


def allowed_actions(dep: Dependency, user: User) -> set[str]:
    """Which answers to offer this user: the state allows the action and ``okrly.access``
    gives this user the right, asked with the same predicates the services enforce."""
    owner_id = dep.key_result.owner_id
    is_owner = access.is_owner(user, owner_id=owner_id)
    is_responsible = access.is_responsible(user, responsible_id=dep.responsible_id)
    actions: set[str] = set()
    waiting = dep.status in (Dependency.Status.REQUESTED, Dependency.Status.COUNTERED)
    if waiting and access.can_answer_dependency(user, awaiting_id=dep.awaiting_id):
        actions.add("counter")
        if is_responsible:
            actions |= {"commit", "decline"}
        elif dep.status == Dependency.Status.COUNTERED and access.can_accept_counter(
            user, owner_id=owner_id, awaiting_id=dep.awaiting_id
        ):
            actions.add("accept")
    if dep.status in Dependency.PROMISED_STATUSES:
        if is_responsible:
            actions.add("deliver")
        if is_owner:
            actions.add("break")
    if dep.status == Dependency.Status.COMMITTED and access.can_flag_dependency_risk(
        user, owner_id=owner_id, responsible_id=dep.responsible_id
    ):
        actions.add("risk")
    if dep.status == Dependency.Status.DELIVERED and dep.confirmed_at is None and is_owner:
        actions |= {"confirm", "reopen"}
    if dep.is_open and access.can_reassign_dependency(user, dep.provider_team):
        actions.add("reassign")
    return actions


def render_key_result_panel(
    request: HttpRequest, key_result: KeyResult, form: DependencyRequestForm | None = None
) -> str:
    is_owner = access.is_owner(request.user, owner_id=key_result.owner_id)
    if is_owner and form is None:
        form = DependencyRequestForm(key_result=key_result)
    return render_to_string(
        "dependencies/panel.html#dependencies-panel",
        {
            "kr": key_result,
            "dependencies": selectors.for_key_result(key_result),
            "form": form if is_owner else None,
            "today": timezone.localdate(),
        },
        request=request,
    )


def render_team_panel(request: HttpRequest, team: Any) -> str:
    return render_to_string(
        "dependencies/team_panel.html",
        {"team": team, "promised": selectors.promised_by_team(team)},
        request=request,
    )


@login_required
@require_http_methods(["POST"])
def request_dependency(request: AuthedRequest, key_result_pk: int) -> HttpResponse:
    try:
        key_result = key_result_detail(key_result_pk)
    except KeyResult.DoesNotExist as exc:
        raise Http404("No such key result.") from exc
    form = DependencyRequestForm(request.POST, key_result=key_result)
    created = None
    if form.is_valid():
        try:
            created = services.dependency_request(
                user=request.user, key_result=key_result, **form.cleaned_data
            )
        except RuleBroken as error:
            add_service_error(form, error)
    if request.htmx:
        # The panel re-renders in place: the list with the new row and an empty form, or the
        # same form with the typed values and the message that says what to change.
        # 200 either way: htmx only swaps successful responses.
        return HttpResponse(render_key_result_panel(request, key_result, None if created else form))
    if created:
        messages.success(request, f"Requested “{created.deliverable}” from {created.responsible}.")
        return redirect(key_result.get_absolute_url())
    return render(
        request,
        "dependencies/request_page.html",
        {"kr": key_result, "form": form},
        status=400,
    )


@login_required
@require_http_methods(["GET"])
def detail(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        dep = selectors.detail(pk)
    except Dependency.DoesNotExist as exc:
        raise Http404("No such dependency.") from exc
    return _detail_page(request, dep)


def _detail_page(
    request: AuthedRequest, dep: Dependency, forms: dict[str, Form] | None = None, status: int = 200
) -> HttpResponse:
    forms = forms or {}
    context = {
        "dep": dep,
        "actions": allowed_actions(dep, request.user),
        "events": dep.events.select_related("actor").all(),
        "escalations": dep.escalations.all(),
        "counter_form": forms.get("counter") or CounterForm(),
        "decline_form": forms.get("decline") or ReasonForm(prefix="decline"),
        "risk_form": forms.get("risk") or ReasonForm(prefix="risk"),
        "reopen_form": forms.get("reopen") or ReasonForm(prefix="reopen"),
        "break_form": forms.get("break") or ReasonForm(prefix="break"),
        "reassign_form": forms.get("reassign") or ReassignForm(),
        # Sections from higher apps, which this app must not import (reviews: the response
        # to this dependency's miss).
        "panels": registry.dependency_panels(request, dep),
    }
    return render(request, "dependencies/detail.html", context, status=status)


FormFactory = Callable[[Any], Form] | None
ServiceCall = Callable[[Dependency, Any, dict[str, Any]], Dependency]


def _plain(service: Callable[..., Dependency]) -> tuple[FormFactory, ServiceCall]:
    """An answer that needs nothing but the click."""
    return None, lambda dep, user, data: service(dependency=dep, user=user)


def _with_reason(
    service: Callable[..., Dependency], prefix: str
) -> tuple[FormFactory, ServiceCall]:
    """An answer that needs a reason, typed into its own prefixed form on the detail page."""
    return (
        lambda post: ReasonForm(post, prefix=prefix),
        lambda dep, user, data: service(dependency=dep, user=user, reason=data["reason"]),
    )


def _with_form(
    service: Callable[..., Dependency], form_class: type[Form]
) -> tuple[FormFactory, ServiceCall]:
    return (
        lambda post: form_class(post),
        lambda dep, user, data: service(dependency=dep, user=user, **data),
    )


# action name -> (form factory or None, service call)
ACTIONS: dict[str, tuple[FormFactory, ServiceCall]] = {
    "commit": _plain(services.dependency_commit),
    "accept": _plain(services.dependency_accept_counter),
    "confirm": _plain(services.dependency_confirm),
    "deliver": _plain(services.dependency_deliver),
    "counter": _with_form(services.dependency_counter, CounterForm),
    "reassign": _with_form(services.dependency_reassign, ReassignForm),
    "decline": _with_reason(services.dependency_decline, "decline"),
    "risk": _with_reason(services.dependency_flag_risk, "risk"),
    "reopen": _with_reason(services.dependency_reopen, "reopen"),
    "break": _with_reason(services.dependency_break, "break"),
}

DONE = {
    "commit": "You committed. The owner has been told.",
    "accept": "Accepted: it is now committed.",
    "confirm": "Delivery confirmed.",
    "deliver": "Marked delivered; the owner will confirm.",
    "counter": "Counter-proposal sent.",
    "decline": "Declined; the owner has been told why.",
    "risk": "Flagged at risk.",
    "reopen": "Reopened; back to committed.",
    "break": "Marked broken.",
    "reassign": "Reassigned.",
}


@login_required
@require_http_methods(["POST"])
def act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    dep = get_object_or_404(selectors.with_people(), pk=pk)
    make_form, call = ACTIONS[action]
    form = make_form(request.POST) if make_form else None
    data: dict[str, Any] = {}
    if form is not None:
        if not form.is_valid():
            return _detail_page(request, dep, {action: form}, status=400)
        data = dict(form.cleaned_data)
    try:
        dep = call(dep, request.user, data)
    except RuleBroken as error:
        if form is None:
            messages.error(request, error.message)
            return redirect(dep.get_absolute_url())
        add_service_error(form, error)
        return _detail_page(request, dep, {action: form}, status=400)
    if request.htmx and request.POST.get("from") == "asked":
        # One-click answer from "Asked of me": the row is replaced by a short confirmation.
        return render(
            request,
            "includes/answered.html",
            {
                "message": DONE[action],
                "link": dep.get_absolute_url(),
                "title": dep.deliverable,
                "status": dependency_status(dep),
            },
        )
    messages.success(request, DONE[action])
    return redirect(dep.get_absolute_url())
