from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from objectives.models import KeyResult
from okrly import access
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter
from okrly.params import id_list_param, id_param
from okrly.types import AuthedRequest
from ownership import services
from ownership.accountability import Code, accountability, accountability_for
from ownership.badges import badge_html
from ownership.forms import GrantForm, HandoverForm, ReasonForm
from ownership.models import AuthorityGrant, OwnershipNomination


def _key_result(pk: int) -> KeyResult:
    try:
        return KeyResult.objects.select_related(
            "owner__profile", "objective__team", "objective__quarter"
        ).get(pk=pk)
    except KeyResult.DoesNotExist as exc:
        raise Http404("No such key result.") from exc


def render_key_result_panel(request: HttpRequest, key_result: KeyResult) -> str:
    kr = key_result
    user = request.user
    pending = services._pending(kr)
    result = accountability(kr)
    grants = list(
        AuthorityGrant.objects.filter(key_result=kr)
        .select_related("grantee", "granted_by", "revoked_by")
        .prefetch_related("rights")[:10]
    )
    history = list(
        OwnershipNomination.objects.filter(key_result=kr)
        .exclude(status=OwnershipNomination.Status.PENDING)
        .select_related("nominee", "previous_owner", "nominated_by")[:20]
    )
    owner_check = result.checks[0]
    return render_to_string(
        "ownership/panel.html",
        {
            "kr": kr,
            "result": result,
            "badge": badge_html(result, compact=False),
            "pending": pending,
            "can_answer": access.can_answer_ownership(
                user,
                owner_id=kr.owner_id,
                nominee_id=pending.nominee_id if pending else None,
                accepted=owner_check.passed,
            )
            # An owner who declined may still change their mind, but the next step is the
            # lead's (nominate someone else), so the page offers no answer again.
            and (pending is not None or owner_check.code != Code.DECLINED),
            "can_nominate": access.can_nominate(user, kr.objective.team),
            "can_grant": services.may_grant(user, kr),
            "is_owner": access.is_owner(user, owner_id=kr.owner_id),
            "grant_in_force": next(
                (g for g in grants if g.in_force and g.grantee_id == kr.owner_id), None
            ),
            "grants": grants,
            "history": history,
            "decline_form": ReasonForm(prefix="decline"),
            "revoke_form": ReasonForm(prefix="revoke"),
            "none_declared": hasattr(kr, "no_dependencies"),
        },
        request=request,
    )


def _fail(request: AuthedRequest, kr: KeyResult, error: RuleBroken) -> HttpResponse:
    if request.htmx and request.POST.get("from") == "myweek":
        # My week's panel: htmx shows the refusal in the page's announced error region.
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    messages.error(request, error.message)
    return redirect(kr.get_absolute_url() + "#ownership-panel")


def _answered_on_card(request: HttpRequest, kr: KeyResult, message: str) -> HttpResponse:
    """My week's Accept/Decline panel, once answered: what happened, in its place (the one
    "answered" snippet, as "Asked of me" shows it)."""
    return render(
        request,
        "includes/answered.html",
        {"message": message, "tag": "p", "row_id": f"accept-{kr.pk}"},
    )


@login_required
@require_http_methods(["POST"])
def accept(request: AuthedRequest, pk: int) -> HttpResponse:
    kr = _key_result(pk)
    was_handover = (p := services._pending(kr)) is not None and p.nominee_id == request.user.pk
    try:
        services.ownership_accept(key_result=kr, user=request.user)
    except RuleBroken as error:
        return _fail(request, kr, error)
    if request.htmx and request.POST.get("from") == "asked":
        return render(
            request, "includes/answered.html", {"message": "Accepted: you are the owner."}
        )
    if request.htmx and request.POST.get("from") == "myweek":
        return _answered_on_card(request, kr, "Accepted: you are the owner. Check in below.")
    messages.success(request, f"You are the owner of “{kr.title}”.")
    if was_handover:
        return redirect("ownership:inherited", pk=kr.pk)
    return redirect(kr.get_absolute_url())


@login_required
@require_http_methods(["POST"])
def decline(request: AuthedRequest, pk: int) -> HttpResponse:
    kr = _key_result(pk)
    form = ReasonForm(request.POST, prefix="decline")
    form.is_valid()
    try:
        services.ownership_decline(
            key_result=kr, user=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except RuleBroken as error:
        return _fail(request, kr, error)
    if request.htmx and request.POST.get("from") == "myweek":
        return _answered_on_card(
            request, kr, "Declined: your team lead has been asked to nominate someone else."
        )
    messages.success(request, "Declined; the team lead has been asked to nominate someone else.")
    return redirect(kr.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def handover(request: AuthedRequest, pk: int) -> HttpResponse:
    kr = _key_result(pk)
    if not access.can_nominate(request.user, kr.objective.team):
        raise PermissionDenied(f"Only a lead of {kr.objective.team.name} nominates owners.")
    form = HandoverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ownership_handover(
                key_result=kr,
                user=request.user,
                new_owner=form.cleaned_data["new_owner"],
                reason=form.cleaned_data["reason"],
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, "Nominated. Until they accept, the current owner stays accountable."
            )
            return redirect(kr.get_absolute_url())
    return render(request, "ownership/handover.html", {"kr": kr, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def grant(request: AuthedRequest, pk: int) -> HttpResponse:
    kr = _key_result(pk)
    if not services.may_grant(request.user, kr):
        raise PermissionDenied(
            "Authority is granted by the owner's manager, a lead of the key result's team or "
            "the leadership group."
        )
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.authority_grant(
                key_result=kr,
                user=request.user,
                rights=list(form.cleaned_data["rights"]),
                scope=form.cleaned_data["scope"],
            )
        except RuleBroken as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Authority granted and documented.")
            return redirect(kr.get_absolute_url())
    return render(request, "ownership/grant.html", {"kr": kr, "form": form})


@login_required
@require_http_methods(["POST"])
def revoke(request: AuthedRequest, pk: int, grant_pk: int) -> HttpResponse:
    kr = _key_result(pk)
    authority = get_object_or_404(AuthorityGrant, pk=grant_pk, key_result=kr)
    form = ReasonForm(request.POST, prefix="revoke")
    form.is_valid()
    try:
        services.authority_revoke(
            grant=authority, user=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except RuleBroken as error:
        return _fail(request, kr, error)
    messages.success(request, "Authority revoked.")
    return redirect(kr.get_absolute_url())


@login_required
@require_http_methods(["POST"])
def no_dependencies(request: AuthedRequest, pk: int) -> HttpResponse:
    kr = _key_result(pk)
    try:
        if request.POST.get("withdraw"):
            services.dependencies_withdraw_none(key_result=kr, user=request.user)
        else:
            services.dependencies_declare_none(
                key_result=kr, user=request.user, note=request.POST.get("note", "")
            )
    except RuleBroken as error:
        return _fail(request, kr, error)
    return redirect(kr.get_absolute_url())


@login_required
@require_http_methods(["GET"])
def inherited(request: HttpRequest, pk: int) -> HttpResponse:
    kr = _key_result(pk)
    return render(
        request,
        "ownership/inherited.html",
        {"kr": kr, "inherited": services.inherited_commitments(kr)},
    )


@login_required
@require_http_methods(["GET"])
def accountability_test(request: HttpRequest) -> HttpResponse:
    """The leader picks the key results that matter most and reads the three answers."""
    quarter_id = id_param(request.GET, "quarter", not_found=True)
    quarter = (
        Quarter.objects.filter(pk=quarter_id).first()
        if quarter_id is not None
        else Quarter.objects.current(timezone.localdate())
    )
    if quarter is None:
        raise Http404("No such quarter.")
    # Key results a trade-off dropped or deferred have left the test (rule 8).
    all_krs = (
        KeyResult.objects.in_play()
        .filter(objective__quarter=quarter)
        .select_related("owner", "objective__team")
        .order_by("objective__team__name", "objective__rank", "pk")
    )
    picked = id_list_param(request.GET, "kr", label="key result")
    chosen = all_krs.filter(pk__in=picked) if picked else all_krs
    page = Paginator(chosen, 25).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    results = accountability_for(rows)
    table = sorted(
        ((kr, results[kr.pk]) for kr in rows), key=lambda pair: (pair[1].passed, pair[0].pk)
    )
    return render(
        request,
        "ownership/accountability_test.html",
        {
            "quarter": quarter,
            "quarters": Quarter.objects.all(),
            "choices": all_krs,
            "picked": set(picked),
            "table": table,
            "page": page,
            "failing": sum(1 for _, r in table if not r.passed),
        },
    )
