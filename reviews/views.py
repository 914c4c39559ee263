from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from okrly.models import Quarter
from reviews import selectors


@login_required
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """First version of the leaders' dashboard: per team, objectives, key results, progress."""
    quarter = Quarter.objects.current(timezone.localdate())
    rows = list(selectors.team_progress(quarter)) if quarter else []
    return render(
        request,
        "reviews/dashboard.html",
        {"quarter": quarter, "rows": rows, "totals": selectors.totals(rows)},
    )
