from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from objectives import selectors, services
from objectives.definitions import definition_status, definition_statuses
from objectives.forms import (
    KeyResultEditForm,
    KeyResultForm,
    ObjectiveEditForm,
    ObjectiveForm,
    ReadingForm,
)
from objectives.models import KeyResult, Objective
from okrly.access import can_acknowledge_definition, can_manage_objectives, teams_led_by
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter
from okrly.registry import key_result_badges, key_result_panels
from okrly.types import AuthedRequest


@login_required
@require_http_methods(["GET"])
def objective_list(request: HttpRequest) -> HttpResponse:
    quarter = selectors.quarter_for_request(request.GET.get("quarter"), timezone.localdate())
    if quarter is None and request.GET.get("quarter"):
        raise Http404("No such quarter.")
    groups = selectors.objectives_grouped_by_team(quarter) if quarter else []
    key_results = [kr for g in groups for o in g.objectives for kr in o.key_results.all()]
    # Badges (the Accountability Test) come from a higher app, for all rows at once.
    badges = key_result_badges(request, key_results)
    for kr in key_results:
        kr.badge = badges.get(kr.pk, "")  # type: ignore[attr-defined]
    # Rule 8: "Definition not shared" until the whole group acknowledged (fixed queries).
    objectives = [o for g in groups for o in g.objectives]
    statuses = definition_statuses(objectives)
    for objective in objectives:
        objective.definition = statuses[objective.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "objectives/objective_list.html",
        {
            "quarter": quarter,
            "quarters": Quarter.objects.all(),
            "groups": groups,
            "can_create": teams_led_by(request.user).exists(),
        },
    )


@login_required
@require_http_methods(["GET"])
def alignment(request: HttpRequest) -> HttpResponse:
    """The quarter's objectives as a tree (company → department → team), each with its key
    results' progress and Accountability badges; a fixed number of queries."""
    quarter = selectors.quarter_for_request(request.GET.get("quarter"), timezone.localdate())
    if quarter is None and request.GET.get("quarter"):
        raise Http404("No such quarter.")
    tree = selectors.alignment_tree(quarter) if quarter else []
    key_results: list[KeyResult] = []
    pending = list(tree)
    while pending:
        node = pending.pop()
        key_results.extend(node.objective.key_results.all())
        pending.extend(node.children)
    # The same badges as the objectives list, from the app that owns the verdict.
    badges = key_result_badges(request, key_results)
    for kr in key_results:
        kr.badge = badges.get(kr.pk, "")  # type: ignore[attr-defined]
    return render(
        request,
        "objectives/alignment.html",
        {"quarter": quarter, "quarters": Quarter.objects.all(), "tree": tree},
    )


@login_required
@require_http_methods(["GET"])
def key_result_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        key_result = selectors.key_result_detail(pk)
    except KeyResult.DoesNotExist as exc:
        raise Http404("No such key result.") from exc
    return render(
        request,
        "objectives/key_result_detail.html",
        {
            "kr": key_result,
            "objective": key_result.objective,
            "definition": definition_status(key_result.objective),
            "can_edit": can_manage_objectives(request.user, key_result.objective.team),
            # Sections from higher apps (dependencies, check-ins, ownership), which this app
            # must not import: each registered its own renderer.
            "panels": key_result_panels(request, key_result),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def objective_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The objective's definition and the divergence view: every leader's reading side by
    side with their name, role and team, and the form for a member who has not yet
    acknowledged the current version (a POST acknowledges)."""
    objective = get_object_or_404(Objective.objects.select_related("team", "quarter"), pk=pk)
    definition = definition_status(objective)
    group_ids = {person.pk for person in definition.group}
    acknowledged = {ack.person_id for ack in definition.acknowledgements}
    may_acknowledge = (
        can_acknowledge_definition(request.user, group_ids=group_ids)
        and request.user.pk not in acknowledged
    )
    form = ReadingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not may_acknowledge:
            raise PermissionDenied(
                "You are not in this objective's definition group, or have already "
                "acknowledged its current version."
            )
        if form.is_valid():
            try:
                services.definition_acknowledge(
                    user=request.user, objective=objective, reading=form.cleaned_data["reading"]
                )
            except RuleBroken as error:
                add_service_error(form, error)
                status = 400
            else:
                messages.success(request, "Your reading is recorded.")
                return redirect("objectives:detail", pk=objective.pk)
    return render(
        request,
        "objectives/objective_detail.html",
        {
            "objective": objective,
            "definition": definition,
            "readings": [
                (ack, definition.role_of(ack.person_id)) for ack in definition.acknowledgements
            ],
            "missing": [(p, definition.role_of(p.pk)) for p in definition.missing],
            "form": form if may_acknowledge else None,
            "can_edit": can_manage_objectives(request.user, objective.team),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def objective_create(request: AuthedRequest) -> HttpResponse:
    teams = teams_led_by(request.user)
    if not teams.exists():
        raise PermissionDenied("Only team leads (and administrators) create objectives.")
    form = ObjectiveForm(request.POST or None, teams=teams)
    if request.method == "GET":
        quarter = Quarter.objects.current(timezone.localdate())
        form = ObjectiveForm(initial={"quarter": quarter, "team": teams.first()}, teams=teams)
    elif form.is_valid():
        try:
            objective = services.objective_create(user=request.user, **form.cleaned_data)
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Objective “{objective.title}” created.")
            return redirect(objective.get_absolute_url())
    return render(request, "objectives/objective_form.html", {"form": form, "objective": None})


@login_required
@require_http_methods(["GET", "POST"])
def objective_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    objective = get_object_or_404(Objective.objects.select_related("team", "quarter"), pk=pk)
    if not can_manage_objectives(request.user, objective.team):
        raise PermissionDenied(f"Only a lead of {objective.team.name} can edit its objectives.")
    form = ObjectiveEditForm(request.POST or None, instance=objective)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.Meta.fields}
        # The ModelForm already copied the values onto the instance; reload so the service
        # sees the stored row and applies the changes itself.
        objective.refresh_from_db()
        try:
            services.objective_update(user=request.user, objective=objective, **changes)
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Objective saved.")
            return redirect(objective.get_absolute_url())
    return render(request, "objectives/objective_form.html", {"form": form, "objective": objective})


@login_required
@require_http_methods(["GET", "POST"])
def key_result_create(request: AuthedRequest, objective_pk: int) -> HttpResponse:
    objective = get_object_or_404(
        Objective.objects.select_related("team", "quarter"), pk=objective_pk
    )
    if not can_manage_objectives(request.user, objective.team):
        raise PermissionDenied(f"Only a lead of {objective.team.name} can add key results.")
    form = KeyResultForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key_result = services.key_result_create(
                user=request.user, objective=objective, **form.cleaned_data
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Key result “{key_result.title}” added.")
            return redirect(key_result.get_absolute_url())
    return render(
        request,
        "objectives/key_result_form.html",
        {"form": form, "objective": objective, "kr": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def key_result_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        key_result = selectors.key_result_detail(pk)
    except KeyResult.DoesNotExist as exc:
        raise Http404("No such key result.") from exc
    objective = key_result.objective
    if not can_manage_objectives(request.user, objective.team):
        raise PermissionDenied(f"Only a lead of {objective.team.name} can edit its key results.")
    form = KeyResultEditForm(request.POST or None, instance=key_result)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        if changes.get("current_value") is None:
            changes.pop("current_value", None)
        key_result.refresh_from_db()
        try:
            services.key_result_update(user=request.user, key_result=key_result, **changes)
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Key result saved.")
            return redirect(key_result.get_absolute_url())
    return render(
        request,
        "objectives/key_result_form.html",
        {"form": form, "objective": objective, "kr": key_result},
    )
