"""Carry-over's pages: the key result page's panel (where it was carried from or into, and
"Carry over" for a lead of its team when it can be carried) and the form choosing the quarter
and objective it goes into.

The panel costs at most four queries whatever the key result: its carried links, the lead
check, its eligibility and the next quarter (the last two only for a lead).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from objectives.models import KeyResult, Objective
from okrly.access import can_manage_objectives
from okrly.errors import NotAllowed, RuleBroken
from okrly.forms import SingleValuedFields, add_service_error
from okrly.models import Quarter
from okrly.types import AuthedRequest
from reviews import carryover


class CarryOverForm(SingleValuedFields, forms.Form):
    """The quarter (only the next one is offered: carrying goes one quarter on) and the
    objective: one of the team's in that quarter, or empty for a copy of the old one."""

    into = forms.TypedChoiceField(label="Into quarter", coerce=int, choices=())
    objective = forms.TypedChoiceField(
        label="Under objective", coerce=int, choices=(), required=False, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        quarter: Quarter | None,
        objectives: list[Objective],
        copy_title: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        into_field: Any = self.fields["into"]
        into_field.choices = [(quarter.pk, quarter.name)] if quarter else []
        objective_field: Any = self.fields["objective"]
        objective_field.choices = [
            ("", f"A copy of “{copy_title}”"),
            *((o.pk, o.title) for o in objectives),
        ]


def _key_result(pk: int) -> KeyResult:
    kr = (
        KeyResult.objects.select_related("objective__team", "objective__quarter", "owner")
        .filter(pk=pk)
        .first()
    )
    if kr is None:
        raise Http404("No such key result.")
    return kr


def render_key_result_panel(request: HttpRequest, key_result: KeyResult) -> str:
    """Where the key result was carried from and into; "Carry over" where it may be."""
    user: Any = request.user
    source, carried_into = carryover.carried_links(key_result)
    following = None
    can_carry = False
    if can_manage_objectives(user, key_result.objective.team):
        reason = carryover.carry_reason(key_result)
        if reason:
            following = carryover.next_quarter(key_result.objective.quarter)
            can_carry = following is not None and all(
                kr.objective.quarter_id != following.pk for kr in carried_into
            )
    if source is None and not carried_into and not can_carry:
        return ""
    return render_to_string(
        "reviews/carryover_parts.html#kr-panel",
        {
            "kr": key_result,
            "source": source,
            "carried_into": carried_into,
            "can_carry": can_carry,
            "following": following,
        },
        request=request,
    )


@login_required
@require_http_methods(["GET", "POST"])
def carry_over(request: AuthedRequest, key_result_pk: int) -> HttpResponse:
    """The "Carry over" form; a refusal comes back beside its field with what was chosen."""
    key_result = _key_result(key_result_pk)
    team = key_result.objective.team
    if not can_manage_objectives(request.user, team):
        raise NotAllowed(f"Only a lead of {team.name} carries its key results over.")
    following = carryover.next_quarter(key_result.objective.quarter)
    objectives = (
        list(
            Objective.objects.filter(
                team=team, quarter=following, displaced_by__isnull=True
            ).order_by("rank", "pk")
        )
        if following is not None
        else []
    )
    form = CarryOverForm(
        request.POST if request.method == "POST" else None,
        quarter=following,
        objectives=objectives,
        copy_title=key_result.objective.title,
    )
    if request.method == "POST" and form.is_valid():
        by_pk = {o.pk: o for o in objectives}
        try:
            if following is None:
                raise RuleBroken("There is no next quarter to carry into yet.", field="into")
            new = carryover.key_result_carry_over(
                user=request.user,
                key_result=key_result,
                into=following,
                objective=by_pk.get(form.cleaned_data.get("objective") or 0),
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            requests = new.dependencies.count()
            messages.success(
                request,
                f"Carried into {following.name}. {new.owner.get_full_name() or new.owner} is "
                f"asked to accept it again; {requests} dependenc"
                f"{'y was' if requests == 1 else 'ies were'} asked again as requests.",
            )
            return redirect(new.get_absolute_url())
    return render(
        request,
        "reviews/carryover.html",
        {
            "kr": key_result,
            "form": form,
            "following": following,
            "reason": carryover.carry_reason(key_result),
        },
        status=400 if request.method == "POST" else 200,
    )
