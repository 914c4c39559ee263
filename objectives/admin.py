from django.contrib import admin

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


@admin.register(KeyResult)
class KeyResultAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "objective", "current_value", "target_value", "unit"]
    list_filter = ["objective__quarter", "objective__team", "direction"]
    search_fields = ["title", "owner__username", "objective__title"]
    autocomplete_fields = ["owner", "objective"]
    list_select_related = ["owner", "objective"]
