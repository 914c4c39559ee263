"""The leaders' accountability dashboard: organisation, team, people, risk feed."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from checkins.models import CheckIn
from okrly import sql
from okrly.access import people_led_by
from okrly.context_processors import nav_read
from okrly.csvexport import csv_response
from okrly.errors import RuleBroken
from okrly.models import Quarter, Team, pick_current, request_quarters
from okrly.params import BadParameter, id_param, int_param
from okrly.types import AuthedRequest
from ownership.badges import badge_html
from reviews import review_services, selectors, services, snapshots
from reviews.charts import trend_svg
from reviews.models import HeadlineSnapshot, Nudge, RiskItem
from reviews.templatetags import dashboard as dashboard_tags


class NoQuarter(Exception):
    """No quarter has been set up: the dashboard says so instead of failing."""


def no_quarter_page(view: Any) -> Any:
    """Render a friendly empty state when there is no quarter yet (a new installation)."""
    from functools import wraps

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NoQuarter:
            return render(request, "reviews/no_quarter.html", {"tab": "org"})

    return wrapper


def _quarter(request: HttpRequest) -> Quarter:
    value = request.GET.get("quarter", "")
    if value:
        pk = id_param(request.GET, "quarter", not_found=True)
        quarter = next((q for q in request_quarters(request) if q.pk == pk), None)
        if quarter is None:
            raise Http404("No such quarter.")
        return quarter
    quarter = pick_current(request_quarters(request), timezone.localdate())
    if quarter is None:
        raise NoQuarter
    return quarter


def trade_offs_url(quarter: Quarter) -> str:
    """The quarter's trade-off ledger (rule 8)."""
    return reverse("objectives:trade_offs") + f"?quarter={quarter.pk}"


def _base(request: HttpRequest, quarter: Quarter, tab: str) -> dict[str, Any]:
    return {
        "quarter": quarter,
        "quarters": request_quarters(request),
        "tab": tab,
        "sort": request.GET.get("sort", ""),
        "trade_offs_url": trade_offs_url(quarter),
        "trade_off_warn": settings.TRADE_OFF_WARN,
        # The risk feed tab's count of unanswered items (read when the tabs print it).
        "unanswered": lambda: selectors.unanswered_count(quarter),
    }


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def dashboard(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    today = timezone.localdate()
    view = selectors.org_view(quarter, today, sort=request.GET.get("sort", ""))
    # Each headline figure against last week's as it ended (reviews.snapshots; one read).
    previous = HeadlineSnapshot.objects.filter(quarter=quarter, week=view.week - 1).first()
    # A page of departments: a large organisation's hundreds stay a page's worth of HTML.
    page = Paginator(view.departments, DEPARTMENTS_PER_PAGE).get_page(request.GET.get("page"))
    # Rule 11's follow-up: the decisions taking effect this quarter stay in sight (one query).
    decisions = list(review_services.decisions_in_force(quarter))
    return render(
        request,
        "reviews/dashboard.html",
        {
            **_base(request, quarter, "org"),
            "view": view,
            "changes": snapshots.changes(view.headline, previous),
            "rows": page.object_list,
            "page": page,
            "decisions": decisions,
            "today": today,
        },
    )


DEPARTMENTS_PER_PAGE = 50
LEADERS_PER_PAGE = 50


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def consistency(request: HttpRequest) -> HttpResponse:
    """Rule 10's consistency per leader, a page at a time."""
    quarter = _quarter(request)
    rows = selectors.consistency_rows(quarter, timezone.localdate())
    page = Paginator(rows, LEADERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/consistency.html",
        {**_base(request, quarter, "consistency"), "rows": page.object_list, "page": page},
    )


@login_required
@require_http_methods(["GET"])
def department(request: HttpRequest, pk: int) -> HttpResponse:
    """The teams under a department, loaded when a leader expands its row (htmx)."""
    quarter = _quarter(request)
    dept = get_object_or_404(Team, pk=pk)
    rows = selectors.department_teams(
        quarter, timezone.localdate(), dept, sort=request.GET.get("sort", "")
    )
    return render(
        request,
        "reviews/dashboard.html#team-rows",
        {**_base(request, quarter, "org"), "rows": rows, "department": dept},
    )


TEAM_HEADER = [
    "key result",
    "owner",
    "progress %",
    "latest check-in",
    "confidence",
    "accountability",
    "failing checks",
    "dependencies open",
    "dependencies committed",
    "escalated",
    "open needs",
]


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def team(request: HttpRequest, pk: int) -> HttpResponse:
    quarter = _quarter(request)
    today = timezone.localdate()
    page_number = request.GET.get("page")
    key_results = selectors.TeamKeyResults(quarter, pk, today)

    def table(page: Any) -> list[tuple[Any, Any]]:
        found = list(page.object_list)
        results = selectors.team_accountability(found, today)
        return [(kr, results[kr.pk]) for kr in found]

    if request.GET.get("format") == "csv":
        header, rows = selectors.team_header_read(pk, quarter), key_results.page_read(1, 10_000)
        sql.run(header, rows)
        if header.value is None:
            raise Http404("No such team.")
        return csv_response(
            f"okrly-{header.value.slug}-{quarter.name}.csv".replace(" ", "-"),
            TEAM_HEADER,
            [_team_csv_row(kr, r) for kr, r in table(rows.value)],
        )

    # The page's reads that need only the team's id, in one round trip (okrly.sql.run).
    header = selectors.team_header_read(pk, quarter)
    rows = key_results.page_read(page_number, 50)
    trend = selectors.team_trend_read(quarter, pk)
    promises = selectors.team_promises_read(quarter, pk)
    outcomes = selectors.team_outcomes_read(quarter, pk, today)
    # The quarter's week now: each row's pace, the team's, and whether a check-in is current.
    week = selectors.dashboard_week(quarter, today)
    pace = selectors.team_pace_read(quarter, pk, week)
    sql.run(header, rows, trend, promises, outcomes, pace, nav_read(request.user, request))
    team_obj, page = header.value, rows.value
    if team_obj is None:
        raise Http404("No such team.")
    points = selectors.trend_points(trend.value, quarter, today, page.paginator.count)
    return render(
        request,
        "reviews/team.html",
        {
            **_base(request, quarter, "team"),
            "team": team_obj,
            "page": page,
            "table": [(kr, r, badge_html(r)) for kr, r in table(page)],
            "week": week,
            "pace": pace.value,
            "promises": promises.value,
            "trend": trend_svg(points, quarter.weeks),
            "trade_offs": team_obj.decided_trade_offs,  # type: ignore[attr-defined]
            "outcomes": outcomes.value,
        },
    )


def _team_csv_row(kr: Any, result: Any) -> list[Any]:
    status = CheckIn.Status(kr.acct_checkin_status).label if kr.acct_checkin_status else ""
    return [
        kr.title,
        kr.owner.get_full_name() or kr.owner.username,
        kr.progress,
        status,
        kr.latest_confidence if kr.latest_confidence is not None else "",
        "pass" if result.passed else "at risk",
        " ".join(result.failing),
        kr.deps_open,
        kr.deps_committed,
        kr.deps_escalated,
        kr.open_needs,
    ]


PEOPLE_HEADER = [
    "person",
    "owes dependencies",
    "owes needs",
    "nominations to answer",
    "missing check-ins",
    "missing acceptances",
    "owed dependencies",
    "owed needs",
    "escalations raised",
    "escalations answered on time",
]


# How far past the page shown the people and risk-feed counts go: every row counted is read,
# so a page costs the same in any organisation, and says "of N or more" past that.
_PAGES_AHEAD = 3


class _CappedPaginator(Paginator):
    """A paginator that counts no further than ``cap_at`` rows (one more says there are
    more): counting everyone listed would grow with the organisation. The rows up to the cap
    are paged as usual."""

    def __init__(self, people: selectors.People, per_page: int, *, cap_at: int) -> None:
        super().__init__(cast(Any, people), per_page)  # sliced and counted as a list
        self.people = people
        self.cap_at = cap_at

    @cached_property
    def count(self) -> int:
        return self.people.count_upto(self.cap_at)

    @property
    def more(self) -> bool:
        return self.count > self.cap_at


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def people(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    team_pk = id_param(request.GET, "team", not_found=True)
    team_obj = get_object_or_404(Team, pk=team_pk) if team_pk is not None else None
    # The filter's text box names a team (the id stays, for links and the CSV): found by its
    # unique name, so the page never lists every team of the organisation as options.
    team_name = request.GET.get("team_name", "").strip()
    unknown_team = ""
    if team_obj is None and team_name:
        team_obj = Team.objects.filter(name=team_name).first()
        unknown_team = "" if team_obj else team_name
    people = selectors.people(quarter, timezone.localdate(), team=team_obj)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"okrly-people-{quarter.name}.csv".replace(" ", "-"),
            PEOPLE_HEADER,
            [
                [
                    p.get_full_name() or p.username,
                    *(getattr(p, name) for name in selectors.PEOPLE_FIGURES),
                ]
                for p in people
            ],
        )

    per_page = 50
    try:
        # Bounded: a 20-digit page would overflow the query's OFFSET (bigint).
        number = int_param(request.GET, "page", min_value=1, max_value=10**9) or 1
    except BadParameter:
        number = 1
    # Counted at most _PAGES_AHEAD pages past this one, so the count costs the same in any
    # organisation (past that, "or more" and a link to the next page).
    paginator = _CappedPaginator(people, per_page, cap_at=(number + _PAGES_AHEAD) * per_page)
    page = paginator.get_page(number)
    rows = list(page.object_list)
    # "Nudged today by X" where a nudge went today: after a reload too (one query).
    nudged = services.nudged_today([p.pk for p in rows], Nudge.Item.PERSON)
    for row in rows:
        row.nudged_by = nudged.get(row.pk)
    return render(
        request,
        "reviews/people.html",
        {
            **_base(request, quarter, "people"),
            "page": page,
            "rows": rows,
            # Nudge is offered only for the people this reader may nudge (the service's rule).
            "led": people_led_by(request.user),
            "team": team_obj,
            "unknown_team": unknown_team,
            "more": paginator.more,
        },
    )


@login_required
@require_http_methods(["GET"])
@no_quarter_page
def risks(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    per_page = 25
    # Counted at most _PAGES_AHEAD pages past this one: the count costs the same in any
    # organisation (past that, "more than N" and a link to the next page).
    cap = _PAGES_AHEAD * per_page
    try:
        # Bounded: a 20-digit page would overflow the query's OFFSET (bigint).
        number = int_param(request.GET, "page", min_value=1, max_value=10**9) or 1
    except BadParameter:
        number = 1
    offset = (number - 1) * per_page
    chosen, team, problem = _feed_filter(request, quarter)
    items, total = selectors.risk_feed(
        quarter, offset=offset, limit=per_page, cap=cap, chosen=chosen
    )
    pages = max(1, (total + per_page - 1) // per_page)
    if number > pages:  # past the end (the feed shrank, or a typed URL): show the last page
        number = pages
        offset = (number - 1) * per_page
        items, total = selectors.risk_feed(
            quarter, offset=offset, limit=per_page, cap=cap, chosen=chosen
        )
    more = total > offset + cap
    return render(
        request,
        "reviews/risks.html",
        {
            **_base(request, quarter, "risks"),
            "items": items,
            # Reply is offered only on check-ins this reader may answer (the service's rule).
            "led": people_led_by(request.user),
            # The feed is paged in SQL (offset and limit); the Paginator only numbers the pages
            # for the shared pagination include.
            "page": Paginator(range(total), per_page).get_page(number),
            "total": total - 1 if more else total,
            "more": more,
            "chosen": chosen,
            "team_name": team.name if team else request.GET.get("team_name", ""),
            "kinds": RiskItem.Kind.choices,
            "filter_problem": problem,
        },
    )


@login_required
@require_http_methods(["GET"])
def risk_badge(request: HttpRequest) -> HttpResponse:
    """The Risk feed tab's count, alone: what the tab reloads after a thread changed."""
    try:
        quarter = _quarter(request)
    except NoQuarter:
        return HttpResponse("")  # no quarter, no feed: the (empty) count goes
    return HttpResponse(dashboard_tags.risk_badge(quarter, selectors.unanswered_count(quarter)))


def _feed_filter(
    request: HttpRequest, quarter: Quarter
) -> tuple[selectors.FeedFilter, Team | None, str]:
    """The risk feed's filters from the query string: ``team`` (an id, from a dashboard link)
    or ``team_name`` (typed), each with its sub-teams; ``kind``; ``unanswered=1``;
    ``checkin=risky`` (the latest check-in at risk or off track). A name that
    matches no team filters to nothing and says so; an unknown kind is ignored."""
    team: Team | None = None
    problem = ""
    team_id = id_param(request.GET, "team", not_found=True)
    name = request.GET.get("team_name", "").strip()
    if team_id is not None:
        team = get_object_or_404(Team, pk=team_id)
    elif name:
        team = Team.objects.filter(name__iexact=name).first()
        if team is None:
            problem = f"No team is called “{name}”."
    teams = [t.pk for t in selectors.subtree(team)] if team else ([] if problem else None)
    kind = request.GET.get("kind", "")
    return (
        selectors.FeedFilter(
            teams=teams,
            kind=kind if kind in RiskItem.Kind.values else "",
            unanswered=request.GET.get("unanswered") == "1",
            latest_risky=request.GET.get("checkin") == "risky",
        ),
        team,
        problem,
    )


def _back(request: HttpRequest) -> str:
    """Where a form posted from the dashboard returns: ``next`` when it is a page of this
    site (never another host: an open redirect), else the people view."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("reviews:people")


def _post_id(request: HttpRequest, name: str, default: int = 0) -> int:
    """A posted id; malformed or beyond any id (``item=99999999999999999999``): 404."""
    pk = id_param(request.POST, name, not_found=True)
    return default if pk is None else pk


@login_required
@require_http_methods(["POST"])
def nudge(request: AuthedRequest) -> HttpResponse:
    User = get_user_model()
    recipient = get_object_or_404(
        User.objects.select_related("profile"), pk=_post_id(request, "person")
    )
    kind = request.POST.get("kind", Nudge.Item.PERSON)
    if kind not in Nudge.Item.values:
        raise Http404("No such item.")
    item_id = _post_id(request, "item", default=recipient.pk)
    try:
        services.nudge_send(
            user=request.user,
            recipient=recipient,
            item_kind=kind,
            item_id=item_id,
            message=request.POST.get("message", ""),
        )
    except RuleBroken as error:
        if request.htmx:
            # The message carries people's names: escaped like any other text.
            return HttpResponse(
                format_html(
                    '<span class="nudged muted" id="nudge-{}" data-announce>{}</span>',
                    recipient.pk,
                    error.message,
                )
            )
        messages.error(request, error.message)
        return redirect(_back(request))
    if request.htmx:
        # In the button's place, with its id: focus and the announcement land on it.
        return HttpResponse(
            format_html(
                '<span class="nudged" id="nudge-{}" data-announce>✓ Nudged today by you</span>',
                recipient.pk,
            )
        )
    messages.success(request, "Nudge sent.")
    return redirect(_back(request))
