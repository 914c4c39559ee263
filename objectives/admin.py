from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from objectives import definitions
from objectives.models import KeyResult, Objective


class KeyResultInline(admin.TabularInline):
    model = KeyResult
    extra = 0
    autocomplete_fields = ["owner"]
    fields = ["title", "owner", "direction", "start_value", "target_value", "current_value", "unit"]


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "quarter", "rank"]
    list_filter = ["quarter", "team"]
    search_fields = ["title", "means", "does_not_mean"]
    list_select_related = ["team", "quarter"]
    # Alignment has rules (no loop, same quarter, a team above): objectives.services.
    # objective_align and the objective's edit page apply them; the admin only shows it.
    readonly_fields = ["parent"]
    inlines = [KeyResultInline]

    def save_model(self, request: HttpRequest, obj: Objective, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # An administrator's edit of the definition is versioned like a lead's (rule 8): once
        # someone acknowledged it, the change is a new version and the readings go out of date.
        definitions.publish_definition(objective=obj, author=request.user)  # type: ignore[arg-type]


@admin.register(KeyResult)
class KeyResultAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "objective", "current_value", "target_value", "unit"]
    list_filter = ["objective__quarter", "objective__team", "direction"]
    search_fields = ["title", "owner__username", "objective__title"]
    autocomplete_fields = ["owner", "objective"]
    list_select_related = ["owner", "objective"]
