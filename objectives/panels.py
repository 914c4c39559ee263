"""What the objectives app adds to okrly's pages, registered in ``ObjectivesConfig.ready()``.

okrly sits below every feature app and must not import them (the import contracts in
pyproject.toml); its My-week and team pages render whatever the apps register instead.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from objectives.selectors import my_key_results, team_objectives
from okrly.models import Quarter, Team
from okrly.types import AuthedRequest


def render_my_week(request: AuthedRequest) -> str:
    """My week without the check-in app: the key results the user owns this quarter.

    A fallback (``register_my_week_fallback``): check-ins, when installed, show these key
    results with their forms instead, and then this is never called."""
    quarter = Quarter.objects.current(timezone.localdate())
    key_results = list(my_key_results(request.user, quarter)) if quarter else []
    return render_to_string(
        "objectives/my_week.html",
        {"quarter": quarter, "key_results": key_results},
        request=request,
    )


def render_team_objectives(request: HttpRequest, team: Team, quarter: Any) -> str:
    """The team page's objectives for the quarter it shows, with their key results."""
    objectives = list(team_objectives(team, quarter)) if quarter else []
    return render_to_string(
        "objectives/team_objectives.html",
        {"team": team, "quarter": quarter, "objectives": objectives},
        request=request,
    )
