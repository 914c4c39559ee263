"""The admin site, with person pickers that say who a person is: "Name (Team)" instead of a
username, so typing "pri" finds Priya by name and shows where she works."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse


class PeopleAutocompleteJsonView(AutocompleteJsonView):
    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, str]:
        # django-stubs don't declare serialize_result, Django's documented extension point.
        result: dict[str, str] = super().serialize_result(obj, to_field_name)  # type: ignore[misc]
        if isinstance(obj, get_user_model()):
            from okrly.forms import person_with_teams

            # The memberships are prefetched for the page (UserAdmin.get_search_results).
            teams = [m.team.name for m in obj.memberships.all()]
            label = person_with_teams(obj, teams)
            result["text"] = f"{label} · {obj.email}" if obj.email else label
        return result


class OkrlyAdminSite(admin.AdminSite):
    site_header = "OKRly administration"
    site_title = "OKRly admin"
    index_title = "Organisation set-up"

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        response = PeopleAutocompleteJsonView.as_view(admin_site=self)(request)
        assert isinstance(response, HttpResponse)  # a JsonResponse, as Django's own
        return response
