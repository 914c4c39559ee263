"""Early escalation's pages and contributions (rule 7): raise it from My week or the key
result page, answer or redirect it from "Asked of me" or its own page.

Each contribution costs a fixed number of queries: My week's "Escalate" links one (the norm),
the key result panel three, "Asked of me" two.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import access, sql
from okrly.errors import NotAllowed, RuleBroken
from okrly.forms import add_service_error
from okrly.html import html
from okrly.links import link
from okrly.models import display_name, local_today
from okrly.registry import AskedItem
from okrly.types import AuthedRequest
from reviews import early_escalations as services
from reviews.early_escalation_forms import (
    AnswerForm,
    RaiseForm,
    RedirectForm,
    people_choices,
    people_choices_near,
)
from reviews.models import EarlyEscalation

if TYPE_CHECKING:
    from django import forms

    from okrly.types import User


def _person(pk: int | None) -> User | None:
    if pk is None:
        return None
    return get_user_model().objects.select_related("profile").filter(pk=pk).first()


# --- contributions to other pages ----------------------------------------------------------------


def my_week_card_actions(request: HttpRequest, key_results: list[Any]) -> dict[int, str]:
    """ "Escalate" on each of My week's cards (the owner's own key results: always allowed),
    with the norm beside it. One query (the norm), whatever the number of cards."""
    in_play = [kr for kr in key_results if kr.displaced_by_id is None]
    if not in_play:
        return {}
    # The norm's markup is the same on every card: rendered once (its partial), and each
    # card's action built around it (a template render per card cost more than the card's
    # own fields).
    norm = render_to_string(
        "reviews/early_escalation_parts.html#norm", {"norm": services.current_norm()}
    )
    return {
        kr.pk: html(
            '<div class="escalate-action"><a href="{}" role="button" class="secondary small" '
            'data-variant="outline" id="escalate-{}">Escalate</a> <small class="muted">Trouble '
            "ahead? Ask a named person for a decision or help now, while it can still be "
            "fixed.</small> {}</div>",
            link("reviews:early_escalation_new", kr.pk),
            kr.pk,
            mark_safe(norm),
        )
        for kr in in_play
    }


def render_key_result_panel(request: HttpRequest, key_result: KeyResult) -> str:
    """The key result's early escalations, and "Escalate" for its owner and team."""
    user: Any = request.user
    can_raise = key_result.objective.quarter.status != "closed" and access.can_raise_escalation(
        user, owner_id=key_result.owner_id, team=key_result.objective.team
    )
    escalations = list(
        EarlyEscalation.objects.filter(key_result=key_result)
        .select_related("raised_by", "asked_of", "dependency")
        .order_by("-raised_at", "-pk")[:20]
    )
    if not escalations and not can_raise:
        return ""
    return render_to_string(
        "reviews/early_escalation_parts.html#kr-panel",
        {
            "kr": key_result,
            "escalations": escalations,
            "can_raise": can_raise,
            "norm": services.current_norm() if can_raise else "",
        },
        request=request,
    )


def _open_asked() -> str:
    """Open early escalations ``x`` asked of a person: listed and counted alike."""
    return f"{sql.table(EarlyEscalation)} x WHERE x.asked_of_id = %s AND x.status = %s"


def _open_params(user: User) -> list[Any]:
    return [user.pk, EarlyEscalation.Status.OPEN.value]


def asked_count_sql(user: User) -> tuple[str, list[Any]]:
    """``len(asked_of(user))`` as a scalar SQL subquery (the navigation's count)."""
    return f"SELECT COUNT(*) FROM {_open_asked()}", _open_params(user)


def asked_of(user: User) -> list[AskedItem]:
    """Open escalations asked of ``user``, each with its Answer and Redirect forms: one query
    when there are none (most people, most days: their ids as SQL, which costs a tenth of
    the ORM's query), three when there are (the escalations with what their words read, and
    the people for the redirect picker)."""
    open_ids = [row.id for row in sql.rows(f"SELECT x.id FROM {_open_asked()}", _open_params(user))]
    if not open_ids:
        return []
    escalations = list(
        # Still open: answered since the ids were read, it is no longer asked.
        EarlyEscalation.objects.filter(pk__in=open_ids, status=EarlyEscalation.Status.OPEN)
        .select_related("key_result__objective__team", "raised_by", "dependency")
        # Only what the words, the links and the redirect picker read: "Asked of me" runs
        # this on every request, and the ORM's cost grows with the columns it selects.
        .only(
            "need",
            "needed_by",
            "answer_due_at",
            "raised_at",
            "key_result__title",
            "key_result__objective__team__parent_id",
            "key_result__objective__team__lead_id",
            "raised_by__first_name",
            "raised_by__last_name",
            "raised_by__username",
            "dependency__provider_team_id",
        )
        .order_by("raised_at", "pk")
    )
    if not escalations:
        return []
    people = people_choices_near(escalations)
    items = []
    for esc in escalations:
        prefix = f"esc{esc.pk}"
        forms = {
            "esc": esc,
            "answer_form": AnswerForm(prefix=prefix),
            "redirect_form": RedirectForm(prefix=prefix, people=people),
        }
        items.append(
            AskedItem(
                kind="Early escalation",
                title=esc.need,
                detail=(
                    f"{display_name(esc.raised_by)} needs a decision or help on "
                    f"“{esc.key_result.title}” by {esc.needed_by:%d %b}; answer due "
                    f"{esc.answer_due_at:%d %b, %H:%M} UTC."
                ),
                link=esc.get_absolute_url(),
                since=esc.raised_at,
                due=f"{esc.answer_due_at:%d %b %Y}",
                forms_template="reviews/early_escalation_parts.html#asked-forms",
                forms=forms,
            )
        )
    return items


# --- pages ---------------------------------------------------------------------------------------


def _key_result(pk: int) -> KeyResult:
    return get_object_or_404(
        KeyResult.objects.select_related("objective__team", "objective__quarter", "owner"), pk=pk
    )


def _dependencies(key_result: KeyResult) -> list[Dependency]:
    return list(
        Dependency.objects.filter(key_result=key_result)
        .select_related("provider_team")
        .order_by("rank", "pk")
    )


@login_required
@require_http_methods(["GET", "POST"])
def raise_page(request: AuthedRequest, key_result_pk: int) -> HttpResponse:
    """The Escalate form: what is at risk, the decision or help needed, from whom, by when."""
    key_result = _key_result(key_result_pk)
    if not access.can_raise_escalation(
        request.user, owner_id=key_result.owner_id, team=key_result.objective.team
    ):
        raise NotAllowed(
            f"Only the key result's owner or a member of {key_result.objective.team.name} "
            "raises an escalation for it."
        )
    dependencies = _dependencies(key_result)
    people = people_choices()
    form = RaiseForm(
        request.POST if request.method == "POST" else None,
        dependencies=dependencies,
        people=people,
        # A week from today unless the raiser says otherwise: a date to change, not a blank.
        initial={"needed_by": local_today(request.user) + timedelta(days=7)},
    )
    if request.method == "POST" and form.is_valid():
        by_pk = {d.pk: d for d in dependencies}
        asked = _person(form.asked_of_pk())
        try:
            if asked is None:
                raise RuleBroken("Choose the person who can decide or help.", field="asked_of")
            escalation = services.escalation_raise(
                user=request.user,
                key_result=key_result,
                need=form.cleaned_data.get("need") or "",
                asked_of=asked,
                needed_by=form.needed_by_date(),
                dependency=by_pk.get(form.dependency_pk() or 0),
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                f"Escalated to {display_name(asked)}. Raising it early is the right call: "
                "they are asked to answer by "
                f"{escalation.answer_due_at:%a %d %b, %H:%M} UTC.",
            )
            return redirect(escalation.get_absolute_url())
    return render(
        request,
        "reviews/early_escalation_new.html",
        {"kr": key_result, "form": form, "norm": services.current_norm()},
        status=400 if request.method == "POST" else 200,
    )


def _escalation(pk: int) -> EarlyEscalation:
    return get_object_or_404(
        EarlyEscalation.objects.select_related(
            "key_result__objective__team",
            "raised_by",
            "asked_of",
            "answered_by",
            "dependency__provider_team",
        ),
        pk=pk,
    )


def _detail(
    request: AuthedRequest,
    esc: EarlyEscalation,
    *,
    answer_form: forms.Form | None = None,
    redirect_form: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    can_answer = access.can_answer_escalation(
        request.user, asked_of_id=esc.asked_of_id, is_open=esc.status == EarlyEscalation.Status.OPEN
    )
    if can_answer:
        answer_form = answer_form or AnswerForm()
        redirect_form = redirect_form or RedirectForm(people=people_choices())
    return render(
        request,
        "reviews/early_escalation.html",
        {
            "esc": esc,
            "hops": list(esc.hops.select_related("from_person", "to_person")),
            "can_answer": can_answer,
            "answer_form": answer_form,
            "redirect_form": redirect_form,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The escalation and its history: who raised it, each redirect, the answer."""
    return _detail(request, _escalation(pk))


def _done(request: AuthedRequest, esc: EarlyEscalation) -> HttpResponse:
    if request.POST.get("from") == "asked":
        return redirect("asked_of_me")
    return redirect(esc.get_absolute_url())


def _prefix(request: AuthedRequest, esc: EarlyEscalation) -> str | None:
    # "Asked of me" shows many escalations' forms on one page: each has its own prefix.
    return f"esc{esc.pk}" if request.POST.get("from") == "asked" else None


@login_required
@require_http_methods(["POST"])
def answer(request: AuthedRequest, pk: int) -> HttpResponse:
    esc = _escalation(pk)
    form = AnswerForm(request.POST, prefix=_prefix(request, esc))
    if form.is_valid():
        try:
            esc = services.escalation_answer(
                user=request.user,
                escalation=esc,
                status=form.cleaned_data["status"],
                answer=form.cleaned_data.get("answer") or "",
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Answered; {display_name(esc.raised_by)} is told.")
            return _done(request, esc)
    return _detail(request, esc, answer_form=_unprefixed(AnswerForm, form), status=400)


@login_required
@require_http_methods(["POST"])
def redirect_to(request: AuthedRequest, pk: int) -> HttpResponse:
    esc = _escalation(pk)
    people = people_choices()
    form = RedirectForm(request.POST, prefix=_prefix(request, esc), people=people)
    if form.is_valid():
        try:
            to = _person(form.to_pk())
            if to is None:
                raise RuleBroken("Choose the person who can answer.", field="to")
            esc = services.escalation_redirect(
                user=request.user,
                escalation=esc,
                to=to,
                note=form.cleaned_data.get("note") or "",
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, f"Redirected to {display_name(to)}; the deadline stays the same."
            )
            return _done(request, esc)
    redirect_form = _unprefixed(RedirectForm, form, people=people)
    return _detail(request, esc, redirect_form=redirect_form, status=400)


def _unprefixed(cls: type[forms.Form], form: forms.Form, **kwargs: Any) -> forms.Form:
    """The bound form again without its prefix, its errors and what was typed kept, for the
    escalation's own page (the "Asked of me" form posted with a prefix)."""
    if form.prefix is None:
        return form
    data = {name: form.data.get(form.add_prefix(name), "") for name in form.fields}
    again = cls(data, **kwargs)
    again.is_valid()
    for name, errors in form.errors.items():
        for error in errors:
            if error not in again.errors.get(name, []):
                again.add_error(name if name in again.fields else None, error)
    return again
