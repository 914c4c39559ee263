"""The set-up page (/setup/, staff): quarters here; teams, people and channels on pages of
their own linked from it. Django's admin stays for the rare edit; this is the guided way."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from okrly import access, registry
from okrly.errors import OKRlyError
from okrly.forms import add_service_error, person_picker_options
from okrly.models import Membership, Quarter, Team
from okrly.quarters import ActiveElsewhere, QuarterForm, next_quarter_initial, quarter_activate
from okrly.quarters import quarter_create as create
from okrly.team_setup import (
    MemberAddForm,
    MemberRoleForm,
    TeamForm,
    member_remove,
    member_set,
    team_save,
)
from okrly.types import AuthedRequest


def _staff(request: AuthedRequest) -> None:
    if not access.can_set_up(request.user):
        raise PermissionDenied("Only staff set up the organisation.")


def _page(request: AuthedRequest, form: QuarterForm, status: int = 200) -> HttpResponse:
    quarters = list(Quarter.objects.order_by("-start"))
    teams = Team.objects.aggregate(
        teams=Count("pk", distinct=True), members=Count("memberships__user", distinct=True)
    )
    context: dict[str, Any] = {
        "form": form,
        "quarters": quarters,
        "active": next((q for q in quarters if q.status == Quarter.Status.ACTIVE), None),
        "team_count": teams["teams"],
        "people_count": teams["members"],
    }
    return render(request, "okrly/setup.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def setup(request: AuthedRequest) -> HttpResponse:
    _staff(request)
    form = QuarterForm(initial=next_quarter_initial(timezone.localdate()))
    return _page(request, form)


@login_required
@require_http_methods(["POST"])
def quarter_new(request: AuthedRequest) -> HttpResponse:
    _staff(request)
    form = QuarterForm(request.POST)
    if form.is_valid():
        try:
            quarter = create(user=request.user, form=form)
        except OKRlyError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{quarter.name} is planned. Activate it when it starts.")
            return redirect("setup")
    return _page(request, form, status=400)


@login_required
@require_http_methods(["POST"])
def quarter_activate_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _staff(request)
    quarter = get_object_or_404(Quarter, pk=pk)
    review_other = request.POST.get("review_other") == "1"
    try:
        quarter_activate(user=request.user, quarter=quarter, review_other=review_other)
    except ActiveElsewhere as conflict:
        # 409: the state of the organisation, not the input, stops it; the page says what
        # would let it through and offers it when this install can start reviews.
        return render(
            request,
            "okrly/setup_activate_conflict.html",
            {
                "quarter": quarter,
                "other": conflict.other,
                "can_review": registry.can_start_reviews(),
            },
            status=409,
        )
    except OKRlyError as error:
        messages.error(request, error.message)
        return redirect("setup")
    messages.success(request, f"{quarter.name} is the active quarter.")
    return redirect("setup")


# --- teams ---------------------------------------------------------------------------------


def _tree(teams: list[Team]) -> list[tuple[Team, int]]:
    """The teams depth-first under their parents, each with its depth (for indentation)."""
    children: dict[int | None, list[Team]] = {}
    for team in teams:
        children.setdefault(team.parent_id, []).append(team)
    out: list[tuple[Team, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for team in children.get(parent, []):
            out.append((team, depth))
            walk(team.pk, depth + 1)

    walk(None, 0)
    return out


def _teams_page(request: AuthedRequest, form: TeamForm, status: int = 200) -> HttpResponse:
    teams = list(
        Team.objects.select_related("lead__profile")
        .annotate(n_members=Count("memberships"))
        .order_by("name")  # an aggregate drops Meta.ordering
    )
    return render(
        request, "okrly/setup_teams.html", {"tree": _tree(teams), "form": form}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def teams(request: AuthedRequest) -> HttpResponse:
    _staff(request)
    if request.method == "POST":
        form = TeamForm(request.POST)
        if form.is_valid():
            team = team_save(user=request.user, form=form)
            # Back to the tree, ready for the next team: setting up an organisation adds
            # several in a row, and people usually arrive with the import (team and role).
            messages.success(request, f"{team.name} is added. Open it to add its lead and members.")
            return redirect("setup_teams")
        return _teams_page(request, form, status=400)
    return _teams_page(request, TeamForm())


def _team_page(
    request: AuthedRequest,
    team: Team,
    form: TeamForm,
    add_form: MemberAddForm,
    status: int = 200,
) -> HttpResponse:
    members = list(
        team.memberships.select_related("user__profile").order_by(
            "-role", "user__first_name", "user__last_name", "user__username"
        )
    )
    return render(
        request,
        "okrly/setup_team.html",
        {
            "team": team,
            "form": form,
            "add_form": add_form,
            "members": members,
            "roles": Membership.Role.choices,
            "people_options": person_picker_options(),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """One team: its name and place in the tree, its members and their roles (a member with
    the lead role is a lead; the only concept of lead there is)."""
    _staff(request)
    team = get_object_or_404(Team, pk=pk)
    form, add_form = TeamForm(instance=team), MemberAddForm(team=team)
    action = request.POST.get("action", "")
    status = 200
    if request.method == "POST":
        if action == "team":
            form = TeamForm(request.POST, instance=team)
            if form.is_valid():
                team_save(user=request.user, form=form)
                messages.success(request, f"{team.name} is saved.")
                return redirect("setup_team", team.pk)
            status = 400
        elif action == "add":
            add_form = MemberAddForm(request.POST, team=team)
            if add_form.is_valid():
                member = member_set(
                    user=request.user,
                    team=team,
                    person=add_form.cleaned_data["person"],
                    role=add_form.cleaned_data["role"],
                )
                messages.success(request, f"{member.user.get_full_name() or member.user} is in.")
                return redirect("setup_team", team.pk)
            status = 400
        elif action in ("role", "remove"):
            role_form = MemberRoleForm(request.POST, team=team)
            if not role_form.is_valid():
                messages.error(request, " ".join(role_form.errors_text()))
                return redirect("setup_team", team.pk)
            membership = role_form.cleaned_data["membership"]
            if action == "remove":
                member_remove(user=request.user, membership=membership)
                messages.success(request, f"{membership.user} left {team.name}.")
            else:
                member_set(
                    user=request.user,
                    team=team,
                    person=membership.user,
                    role=role_form.cleaned_data["role"],
                )
                messages.success(request, f"{membership.user} is now a {role_form.role_label()}.")
            return redirect("setup_team", team.pk)
        else:
            messages.error(request, "Unknown action: choose one of the page's buttons.")
            return redirect("setup_team", team.pk)
    return _team_page(request, team, form, add_form, status=status)
