from __future__ import annotations

import logging
import sys
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.views import LoginView, PasswordResetView
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_http_methods

from okrly import health, selectors, services
from okrly.forms import ProfileForm, SignInForm
from okrly.models import Notification, Quarter, Team, request_quarter
from okrly.registry import my_week_panels, team_panels, team_sections
from okrly.throttling import password_reset_allowed
from okrly.types import AuthedRequest

logger = logging.getLogger(__name__)


@login_required
@require_http_methods(["GET"])
def home(request: AuthedRequest) -> HttpResponse:
    """My week: the signed-in person's key results in the current quarter.

    The apps above okrly fill it (the registry): check-ins show a form per key result; without
    them, objectives' fallback lists the key results."""
    quarter = request_quarter(request)
    return render(
        request,
        "okrly/my_week.html",
        {"quarter": quarter, "panels": my_week_panels(request)},
    )


@login_required
@require_http_methods(["GET"])
def inbox(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.inbox(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "okrly/inbox.html", {"page": page})


@login_required
@require_http_methods(["POST"])
def notification_read(request: AuthedRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk)
    # Someone else's notification: PermissionDenied, which Django answers with a 403.
    services.notification_mark_read(notification=notification, user=request.user)
    if request.htmx:
        # The row re-renders as read; the badge in the navigation updates out of band.
        return render(
            request, "okrly/inbox.html#notification-row", {"n": notification, "oob_badge": True}
        )
    return redirect("inbox")


@login_required
@require_http_methods(["GET"])
def nav_counts(request: AuthedRequest) -> HttpResponse:
    """The navigation's counts again, each out of band into its place (the page's refresher
    asks after an htmx write): one query."""
    from okrly.context_processors import nav_read
    from okrly.templatetags.okrly_tags import nav_count_spans

    counts = nav_read(request.user).get()
    badge = loader.render_to_string(
        "includes/unread_badge.html", {"count": counts.unread, "oob": True}
    )
    return HttpResponse(badge + "".join(nav_count_spans(counts, oob=True).values()))


@login_required
@require_http_methods(["POST"])
def notifications_read_all(request: AuthedRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=request.user)
    return redirect("inbox")


@login_required
@require_http_methods(["GET"])
def team_list(request: HttpRequest) -> HttpResponse:
    quarter = Quarter.objects.current(timezone.localdate())
    return render(
        request,
        "okrly/team_list.html",
        {"teams": selectors.teams_with_counts(quarter), "quarter": quarter},
    )


@login_required
@require_http_methods(["GET"])
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    quarter = Quarter.objects.current(timezone.localdate())
    try:
        team = selectors.team_detail(slug)
    except Team.DoesNotExist as exc:
        raise Http404("No such team.") from exc
    return render(
        request,
        "okrly/team_detail.html",
        {
            "team": team,
            "quarter": quarter,
            # The objectives column, from the objectives app, for the quarter shown.
            "sections": team_sections(request, team, quarter),
            "panels": team_panels(request, team),
        },
    )


@login_required
@require_http_methods(["GET"])
def ping(request: HttpRequest) -> HttpResponse:
    """A trivial signed-in page (session lookup only): the benchmark's unit of comparison."""
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain")


@login_not_required
@require_http_methods(["GET"])
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, cache and broker, each reported; 503 only when requests can't be served."""
    status, body = health.report()
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage (database, cache or broker unreachable) is a 503 with a page
    that says so and needs none of them; any other error stays Django's 500.

    A handler rather than a middleware: it also sees errors raised by middleware (a session
    saved to an unreachable database), and Django calls it inside the except block, so the
    exception is at hand.
    """
    part = health.outage_of(sys.exc_info()[1])
    if part is None:
        return defaults.server_error(request)
    message = "OKRly can't reach its {} just now. Nothing you saved before is lost.".format(
        {"database": "database", "cache": "cache", "broker": "task queue"}[part]
    )
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": f"{message} Try again in a minute."}, status=503)
    else:
        # Rendered without the request: no context processor (they read the database).
        page = loader.get_template("503.html").render({"message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = "60"
    return response


@login_required
@require_http_methods(["GET"])
def asked_of_me(request: AuthedRequest) -> HttpResponse:
    """Everything waiting on the signed-in user, gathered from every app's registry entry."""
    from okrly.registry import asked_of

    return render(request, "okrly/asked.html", {"items": asked_of(request.user)})


class LimitedPasswordResetView(PasswordResetView):
    """Django's reset page, sending at most ``PASSWORD_RESET_LIMIT`` e-mails an hour to one
    address and for one client. Past the limit the answer is the same page and nothing is
    sent: it never says whether an account uses the address (okrly/throttling.py)."""

    def form_valid(self, form: Any) -> HttpResponse:
        if not password_reset_allowed(self.request, form.cleaned_data["email"]):
            logger.warning("Password reset e-mail not sent: the hourly limit was reached.")
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthedRequest) -> HttpResponse:
    """A person's own name, time zone and time away."""
    form = ProfileForm(request.POST or None, instance=request.user.profile)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your profile is saved.")
            return redirect("profile")
        return render(request, "okrly/profile.html", {"form": form}, status=400)
    return render(request, "okrly/profile.html", {"form": form})


def sign_in_choices() -> dict[str, Any]:
    """What the sign-in page offers: single sign-on (when on, with the provider's name), and
    whether the password form leads or stands aside for staff (``PASSWORD_SIGN_IN``)."""
    return {
        "sso_enabled": settings.OIDC_ENABLED,
        "sso_name": settings.OIDC_PROVIDER_NAME,
        "password_for_staff_only": settings.PASSWORD_SIGN_IN == "staff",
    }


class SignInView(LoginView):
    """Django's sign-in page with OKRly's form and single sign-on's link."""

    authentication_form = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **sign_in_choices()}


def sign_in_page(request: HttpRequest, *, error: str, status: int) -> HttpResponse:
    """The sign-in page saying why a single sign-on did not sign the person in."""
    context = {"form": SignInForm(request), "sso_error": error, **sign_in_choices()}
    return render(request, "registration/login.html", context, status=status)
