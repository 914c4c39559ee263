from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from objectives import challenges, selectors, services, tradeoff_views
from objectives.definitions import DefinitionStatus, definition_status, definition_statuses
from objectives.forms import (
    KeyResultEditForm,
    KeyResultForm,
    ObjectiveEditForm,
    ObjectiveForm,
    ReadingForm,
)
from objectives.models import DefinitionAcknowledgement, DefinitionChallenge, KeyResult, Objective
from objectives.selectors import TeamObjectives
from okrly.access import (
    can_acknowledge_definition,
    can_challenge_reading,
    can_manage_objectives,
    can_reply_to_challenge,
    teams_led_by,
)
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter, Team, ancestry
from okrly.params import id_param
from okrly.registry import key_result_badges, key_result_panels
from okrly.types import AuthedRequest

if TYPE_CHECKING:
    from okrly.types import User


@login_required
@require_http_methods(["GET"])
def objective_list(request: HttpRequest) -> HttpResponse:
    quarter = selectors.quarter_for_request(request.GET.get("quarter"), timezone.localdate())
    if quarter is None and request.GET.get("quarter"):
        raise Http404("No such quarter.")
    groups = selectors.objectives_grouped_by_team(quarter) if quarter else []
    groups, narrowed = _narrowed(request, groups)
    key_results = [kr for g in groups for o in g.objectives for kr in o.key_results.all()]
    # Badges (the Accountability Test) come from a higher app, for all rows at once.
    badges = key_result_badges(request, key_results)
    for kr in key_results:
        kr.badge = badges.get(kr.pk, "")  # type: ignore[attr-defined]
    # Rule 9: "Definition not shared" until the whole group acknowledged (fixed queries).
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
            # Rule 8: a quarter being planned is offered what last quarter's trade-offs
            # deferred into it (two more queries, only then).
            "deferred": tradeoff_views.deferred_offers(quarter, groups) if quarter else [],
            "narrowed": narrowed,
        },
    )


def _narrowed(request: HttpRequest, groups: list[Any]) -> tuple[list[Any], str]:
    """The list behind the dashboard's "definitions not shared" counts: ``definition=
    not_shared`` keeps the objectives whose definition is not shared (the column the counts
    read), ``team=<id>`` the team's groups and its sub-teams' (one query for the tree).
    Returns the groups left and what they are, in words ("" when nothing is filtered)."""
    said = []
    if request.GET.get("definition") == "not_shared":
        groups = [
            TeamObjectives(g.team, [o for o in g.objectives if not o.definition_shared])
            for g in groups
        ]
        groups = [g for g in groups if g.objectives]
        said.append("definitions not shared")
    team_id = id_param(request.GET, "team", label="team", not_found=True)
    if team_id is not None:
        parent = dict(Team.objects.values_list("pk", "parent_id"))
        if team_id not in parent:
            raise Http404("No such team.")
        groups = [g for g in groups if team_id in ancestry(parent, g.team.pk)]
        said.append(f"{Team.objects.get(pk=team_id).name} and its sub-teams")
    return groups, " · ".join(said)


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
    threads = _reading_threads(request.user, objective, definition)
    current = {ack.pk for ack in definition.acknowledgements}
    return render(
        request,
        "objectives/objective_detail.html",
        {
            "objective": objective,
            "definition": definition,
            "readings": [
                (ack, definition.role_of(ack.person_id), threads.get(ack.pk))
                for ack in definition.acknowledgements
            ],
            # Challenges to readings of earlier versions, still open to replies.
            "earlier_threads": [t for pk, t in threads.items() if pk not in current],
            "missing": [(p, definition.role_of(p.pk)) for p in definition.missing],
            "form": form if may_acknowledge else None,
            "can_edit": can_manage_objectives(request.user, objective.team),
        },
        status=status,
    )


@dataclass(frozen=True)
class ReadingThreads:
    """A reading's challenges, each with whether the viewer may reply, and whether the viewer
    may challenge it (the same predicates the services enforce)."""

    ack: DefinitionAcknowledgement
    threads: list[tuple[DefinitionChallenge, bool]]
    may_challenge: bool


def _reading_threads(
    user: User, objective: Objective, definition: DefinitionStatus
) -> dict[int, ReadingThreads]:
    """The threads under each reading of the current version, and under every older reading
    that was challenged, by acknowledgement id (two queries: challenges and comments)."""
    group_ids = {person.pk for person in definition.group}
    found = challenges.challenges_by_reading(objective)
    acks = {ack.pk: ack for ack in definition.acknowledgements}
    for rows in found.values():
        acks.setdefault(rows[0].acknowledgement_id, rows[0].acknowledgement)
    result = {}
    for pk, ack in acks.items():
        rows = found.get(pk, [])
        result[pk] = ReadingThreads(
            ack=ack,
            threads=[
                (
                    c,
                    can_reply_to_challenge(
                        user,
                        group_ids=group_ids,
                        reader_id=ack.person_id,
                        challenger_id=c.author_id,
                    ),
                )
                for c in rows
            ],
            may_challenge=can_challenge_reading(user, group_ids=group_ids, reader_id=ack.person_id)
            and all(c.author_id != user.pk for c in rows),
        )
    return result


def _refused(
    request: AuthedRequest, error: RuleBroken, *, objective: Objective, action: str, text: str
) -> HttpResponse:
    """A refused challenge or reply (400). htmx: the reason as plain text, which the global
    handler shows while the form keeps what was typed; without JavaScript, the form alone on
    a page with the reason and what was typed."""
    if request.htmx:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    return render(
        request,
        "objectives/thread_refused.html",
        {
            "objective": objective,
            "action": action,
            "field": error.field or "message",
            "text": text,
            "error": error.message,
        },
        status=400,
    )


@login_required
@require_http_methods(["POST"])
def reading_challenge(request: AuthedRequest, pk: int) -> HttpResponse:
    """ "This is not what we meant" on a reading: opens a thread under it (NotAllowed: 403)."""
    ack = get_object_or_404(
        DefinitionAcknowledgement.objects.select_related("person", "version__objective__team"),
        pk=pk,
    )
    objective = ack.version.objective
    message = request.POST.get("message", "")
    try:
        challenge = challenges.definition_challenge(
            user=request.user, acknowledgement=ack, message=message
        )
    except RuleBroken as error:
        return _refused(
            request,
            error,
            objective=objective,
            action=reverse("objectives:challenge", args=[ack.pk]),
            text=message,
        )
    if request.htmx:
        definition = definition_status(objective)
        threads = _reading_threads(request.user, objective, definition)
        return render(request, "objectives/_reading_threads.html", {"rt": threads[ack.pk]})
    messages.success(request, "Your challenge is posted under the reading.")
    return redirect(challenges.challenge_link(challenge, objective))


@login_required
@require_http_methods(["POST"])
def challenge_reply(request: AuthedRequest, pk: int) -> HttpResponse:
    """A reply in a challenge's thread (NotAllowed: 403)."""
    challenge = get_object_or_404(
        DefinitionChallenge.objects.select_related(
            "author", "acknowledgement__person", "acknowledgement__version__objective__team"
        ),
        pk=pk,
    )
    objective = challenge.acknowledgement.version.objective
    body = request.POST.get("body", "")
    try:
        challenges.challenge_reply(user=request.user, challenge=challenge, body=body)
    except RuleBroken as error:
        return _refused(
            request,
            error,
            objective=objective,
            action=reverse("objectives:challenge_reply", args=[challenge.pk]),
            text=body,
        )
    if request.htmx:
        thread = challenges.challenges_by_reading(objective)[challenge.acknowledgement_id]
        fresh = next(c for c in thread if c.pk == challenge.pk)
        # The reply was accepted, so the same predicate says yes again.
        return render(
            request, "objectives/_challenge.html", {"challenge": fresh, "may_reply": True}
        )
    messages.success(request, "Your reply is posted.")
    return redirect(challenges.challenge_link(challenge, objective))


@login_required
@require_http_methods(["GET", "POST"])
def objective_create(request: AuthedRequest) -> HttpResponse:
    teams = teams_led_by(request.user)
    if not teams.exists():
        raise PermissionDenied("Only team leads (and administrators) create objectives.")
    form = ObjectiveForm(request.POST or None, teams=teams)
    trade_off_url = ""
    if request.method == "GET":
        quarter = Quarter.objects.current(timezone.localdate())
        initial = {"quarter": quarter, "team": teams.first()}
        initial.update(tradeoff_views.deferred_objective_initial(request))
        form = ObjectiveForm(initial=initial, teams=teams)
    elif form.is_valid():
        try:
            objective = services.objective_create(user=request.user, **form.cleaned_data)
        except RuleBroken as error:
            trade_off_url = tradeoff_views.trade_off_needed(
                error, form.cleaned_data["team"], request.user, title=form.cleaned_data["title"]
            )
            add_service_error(form, error)
        else:
            messages.success(request, f"Objective “{objective.title}” created.")
            return redirect(objective.get_absolute_url())
    return render(
        request,
        "objectives/objective_form.html",
        {"form": form, "objective": None, "trade_off_url": trade_off_url},
    )


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
    form = KeyResultForm(
        request.POST or None, initial=tradeoff_views.deferred_key_result_initial(request)
    )
    trade_off_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            key_result = services.key_result_create(
                user=request.user, objective=objective, **form.cleaned_data
            )
        except RuleBroken as error:
            trade_off_url = tradeoff_views.trade_off_needed(
                error,
                objective.team,
                request.user,
                kind="key_result",
                objective=objective.pk,
                title=form.cleaned_data["title"],
            )
            add_service_error(form, error)
        else:
            messages.success(request, f"Key result “{key_result.title}” added.")
            return redirect(key_result.get_absolute_url())
    return render(
        request,
        "objectives/key_result_form.html",
        {"form": form, "objective": objective, "kr": None, "trade_off_url": trade_off_url},
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
