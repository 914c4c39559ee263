"""Trade-off pages (rule 8): the ledger (and its CSV), recording a decision, and leadership's
approval. The rules are objectives.tradeoffs'; these pages ask okrly.access the same
questions the services do, and offer an action only where it will be accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from objectives import selectors, tradeoffs
from objectives.models import Displacement, KeyResult, Objective, TradeOff
from objectives.tradeoff_forms import TradeOffForm
from okrly.access import (
    can_approve_trade_off,
    can_decide_trade_off,
    teams_deciding_trade_offs,
)
from okrly.csvexport import csv_response
from okrly.errors import RuleBroken
from okrly.forms import add_service_error
from okrly.models import Quarter, Team, display_name
from okrly.numbers import plain_number
from okrly.params import id_param
from okrly.types import AuthedRequest

if TYPE_CHECKING:
    from okrly.access import Person


@dataclass
class TeamLedger:
    """One team's decisions in the quarter, newest first; ``warn`` when there are more than
    TRADE_OFF_WARN of them (refused ones left out: nothing changed)."""

    team: Team
    decisions: list[TradeOff] = field(default_factory=list)
    counted: int = 0
    warn: bool = False


def _quarter(request: HttpRequest) -> Quarter | None:
    if request.GET.get("quarter"):
        pk = id_param(request.GET, "quarter", not_found=True)
        quarter = Quarter.objects.filter(pk=pk).first() if pk is not None else None
        if quarter is None:
            raise Http404("No such quarter.")
        return quarter
    today = timezone.localdate()
    return Quarter.objects.current(today) or Quarter.objects.order_by("-start").first()


def _by_team(decisions: list[TradeOff]) -> list[TeamLedger]:
    teams: dict[int, TeamLedger] = {}
    for decision in decisions:
        group = teams.setdefault(decision.team_id, TeamLedger(decision.team))
        group.decisions.append(decision)
        if decision.status != TradeOff.Status.REFUSED:
            group.counted += 1
    limit = int(settings.TRADE_OFF_WARN)
    for group in teams.values():
        group.warn = group.counted > limit
    return sorted(teams.values(), key=lambda g: g.team.name)


CSV_HEADER = [
    "Trade-off",
    "Quarter",
    "Team",
    "Decided at",
    "Decided by",
    "Category",
    "Reason",
    "Status",
    "Approved or refused by",
    "Added",
    "Displaced",
    "Action",
    "Previous target",
    "New target",
]


def _csv_rows(quarter: Quarter, decisions: list[TradeOff]) -> list[list[Any]]:
    """One row per displaced item (a decision awaiting approval lists what it would displace)."""
    rows = []
    for decision in decisions:
        head = [
            decision.pk,
            quarter.name,
            decision.team.name,
            timezone.localtime(decision.created_at).strftime("%Y-%m-%d %H:%M"),
            display_name(decision.decided_by),
            decision.category.name,
            decision.reason,
            decision.get_status_display(),
            display_name(decision.approved_by) if decision.approved_by else "",
            decision.addition.get("title", ""),
        ]
        for row in decision.displaced.all():
            item = row.objective or row.key_result
            rows.append(
                [
                    *head,
                    str(item),
                    row.get_action_display(),
                    plain_number(row.previous_target),
                    plain_number(row.new_target),
                ]
            )
    return rows


@login_required
@require_http_methods(["GET"])
def trade_off_ledger(request: AuthedRequest) -> HttpResponse:
    """The quarter's trade-off decisions, newest first per team, with what each displaced; a
    fixed number of queries however many there are. ``?format=csv`` downloads the same."""
    quarter = _quarter(request)
    decisions = list(tradeoffs.ledger(quarter)) if quarter else []
    if request.GET.get("format") == "csv":
        if quarter is None:
            raise Http404("No quarter yet.")
        return csv_response(
            f"okrly-trade-offs-{quarter.name}.csv".replace(" ", "-"),
            CSV_HEADER,
            _csv_rows(quarter, decisions),
        )
    may_record = (
        quarter is not None
        and quarter.status == Quarter.Status.ACTIVE
        and teams_deciding_trade_offs(request.user).exists()
    )
    return render(
        request,
        "objectives/trade_offs.html",
        {
            "quarter": quarter,
            "quarters": Quarter.objects.all(),
            "groups": _by_team(decisions),
            "warn_limit": settings.TRADE_OFF_WARN,
            "can_approve": can_approve_trade_off(request.user),
            "may_record": may_record,
        },
    )


def _team_work(team: Team, quarter: Quarter) -> list[Objective]:
    """The team's objectives still in play this quarter, each with its key results in play."""
    return list(
        Objective.objects.filter(team=team, quarter=quarter, displaced_by=None)
        .order_by("rank", "pk")
        .prefetch_related(
            Prefetch(
                "key_results",
                queryset=KeyResult.objects.filter(displaced_by=None)
                .select_related("owner")
                .order_by("pk"),
            )
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def trade_off_create(request: AuthedRequest) -> HttpResponse:
    """Record a trade-off for a team (``?team=``) in the active quarter."""
    teams = list(teams_deciding_trade_offs(request.user).order_by("name"))
    if not teams:
        raise PermissionDenied(
            "Only a team's lead or the leadership group records the team's trade-offs."
        )
    quarter = Quarter.objects.current(timezone.localdate())  # an active quarter, or None
    if quarter is None:
        raise Http404("No quarter is under way; in planning, drop or merge an objective instead.")
    team_id = id_param(request.GET, "team", not_found=True)
    team = next((t for t in teams if t.pk == team_id), None) if team_id else teams[0]
    if team is None:
        raise PermissionDenied(
            "Only a lead of that team or the leadership group records its trade-offs."
        )
    work = _team_work(team, quarter)
    initial: dict[str, Any] = {}
    if request.method == "GET":
        kind = request.GET.get("kind")
        if kind in ("objective", "key_result"):
            initial["kind"] = kind
        objective_id = id_param(request.GET, "objective")
        if objective_id is not None and any(o.pk == objective_id for o in work):
            initial["objective"] = objective_id
        initial["title"] = request.GET.get("title", "")[:200]
    form = TradeOffForm(request.POST or None, objectives=work, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                trade_off = tradeoffs.trade_off_decide(
                    user=request.user,
                    team=team,
                    quarter=quarter,
                    category=form.cleaned_data["category"],
                    reason=form.cleaned_data["reason"],
                    displaced=form.displaced(),
                    addition=form.addition(),
                )
            except RuleBroken as error:
                add_service_error(form, error)
            else:
                if trade_off.status == TradeOff.Status.AWAITING_APPROVAL:
                    messages.success(
                        request,
                        f"Trade-off #{trade_off.pk} is recorded. It displaces work another team "
                        "committed to, so it waits for leadership's approval.",
                    )
                else:
                    messages.success(request, f"Trade-off #{trade_off.pk} is recorded and done.")
                return redirect(trade_off.get_absolute_url())
    return render(
        request,
        "objectives/trade_off_form.html",
        {"form": form, "team": team, "teams": teams, "quarter": quarter},
        status=status,
    )


def _decision(request: AuthedRequest, pk: int, *, approve: bool) -> HttpResponse:
    trade_off = get_object_or_404(TradeOff.objects.select_related("team", "quarter"), pk=pk)
    if not can_approve_trade_off(request.user):
        raise PermissionDenied("Only the leadership group approves or refuses a trade-off.")
    try:
        if approve:
            tradeoffs.trade_off_approve(user=request.user, trade_off=trade_off)
        else:
            tradeoffs.trade_off_refuse(user=request.user, trade_off=trade_off)
    except RuleBroken as error:
        # Decided or refused meanwhile (another leader was quicker), or an item it displaces
        # was displaced by another decision: the reason, as a 400.
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    verb = "approved and carried out" if approve else "refused: nothing was added or displaced"
    messages.success(request, f"Trade-off #{trade_off.pk} {verb}.")
    return redirect(trade_off.get_absolute_url())


@login_required
@require_http_methods(["POST"])
def trade_off_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decision(request, pk, approve=True)


@login_required
@require_http_methods(["POST"])
def trade_off_refuse(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decision(request, pk, approve=False)


def record_url(team: Team, **params: Any) -> str:
    """The "Record a trade-off" page for ``team``, pre-filled with ``params``."""
    return reverse("objectives:trade_off_create") + "?" + urlencode({"team": team.pk, **params})


# --- where people work: the objectives page and the create forms -----------------------------


@dataclass
class DeferredOffer:
    """An item a trade-off deferred into the quarter being planned, and where to re-add it."""

    displacement: Displacement
    previous: Quarter
    url: str
    label: str


def deferred_offers(
    quarter: Quarter, groups: list[selectors.TeamObjectives]
) -> list[DeferredOffer]:
    """What the previous quarter's trade-offs deferred into ``quarter`` (when it is being
    planned), except what the team has already planned again under the same title; each with
    a link to the new objective or key result form, filled in from it. Two queries."""
    if quarter.status != Quarter.Status.PLANNING:
        return []
    planned = {
        (group.team.pk, title)
        for group in groups
        for objective in group.objectives
        for title in [objective.title, *(kr.title for kr in objective.key_results.all())]
    }
    by_title = {
        (group.team.pk, objective.title): objective
        for group in groups
        for objective in group.objectives
    }
    offers = []
    for row in tradeoffs.deferred_into(quarter):
        team = row.trade_off.team
        prefill = urlencode({"deferred": row.pk, "quarter": quarter.pk})
        if row.objective is not None:
            if (team.pk, row.objective.title) in planned:
                continue
            url = reverse("objectives:create") + "?" + prefill
            label = "Plan it again"
        else:
            kr = row.key_result
            assert kr is not None
            if (team.pk, kr.title) in planned:
                continue
            home = by_title.get((team.pk, kr.objective.title))
            if home is not None:
                url = reverse("objectives:key_result_create", args=[home.pk]) + "?" + prefill
                label = f"Add it to “{home.title}”"
            else:
                url = reverse("objectives:create") + "?" + prefill
                label = f"Plan “{kr.objective.title}” again, then add it"
        offers.append(DeferredOffer(row, row.trade_off.quarter, url, label))
    return offers


def _deferred(request: HttpRequest) -> Displacement | None:
    pk = id_param(request.GET, "deferred")
    if pk is None:
        return None
    return (
        Displacement.objects.filter(pk=pk, action=Displacement.Action.DEFERRED)
        .select_related("objective", "key_result__objective", "key_result__owner")
        .first()
    )


def deferred_objective_initial(request: HttpRequest) -> dict[str, Any]:
    """The new objective form filled in from a deferred objective (or a deferred key result's
    objective): ``?deferred=<displacement>&quarter=<the quarter being planned>``."""
    row = _deferred(request)
    if row is None:
        return {}
    source = row.objective or (row.key_result.objective if row.key_result else None)
    if source is None:
        return {}
    initial: dict[str, Any] = {
        "team": source.team_id,
        "title": source.title,
        "means": source.means,
        "does_not_mean": source.does_not_mean,
        "tradeoff_rule": source.tradeoff_rule,
    }
    quarter = id_param(request.GET, "quarter")
    if quarter is not None:
        initial["quarter"] = quarter
    return initial


def deferred_key_result_initial(request: HttpRequest) -> dict[str, Any]:
    """The new key result form filled in from a deferred key result (``?deferred=``)."""
    row = _deferred(request)
    kr = row.key_result if row is not None else None
    if kr is None:
        return {}
    return {
        "title": kr.title,
        "owner": kr.owner,
        "direction": kr.direction,
        "start_value": kr.start_value,
        "target_value": kr.target_value,
        "unit": kr.unit,
    }


def trade_off_needed(error: RuleBroken, team: Team, user: Person, **prefill: Any) -> str:
    """The "Record a trade-off" address when the service refused an addition for want of one
    and the person may record it (can_decide_trade_off), else ""."""
    if error.code != "trade_off_required" or not can_decide_trade_off(user, team):
        return ""
    return record_url(team, **prefill)
