"""The admin follows the priority limit like every other path (rule 8): adding an objective,
or key results, past the limit is refused with the service's message (objectives.limits, under
the team's row lock: the admin's change view runs in one transaction). It has no trade-off
path: mid-quarter, the message says to record a trade-off decision instead."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from objectives import definitions, limits
from objectives.models import KeyResult, Objective
from okrly.errors import RuleBroken


class LimitedObjectiveForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        team, quarter = cleaned.get("team"), cleaned.get("quarter")
        if team is None or quarter is None:
            return cleaned
        instance = self.instance
        # A new objective, or one moved to another team or quarter, takes a place there.
        # (clean() runs before the form's values are copied onto the instance.)
        moved = instance.pk is None or (instance.team_id, instance.quarter_id) != (
            team.pk,
            quarter.pk,
        )
        if moved:
            try:
                limits.require_room_for_objective(team, quarter)
            except RuleBroken as error:
                raise ValidationError(error.message, code=error.code) from None
        return cleaned


class LimitedKeyResultFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        objective = self.instance
        if objective is None or getattr(objective, "team_id", None) is None:
            return
        if objective.quarter_id is None:
            return
        adding = leaving = 0
        for form in self.forms:
            deleted = bool(getattr(form, "cleaned_data", {}).get("DELETE"))
            if form.instance.pk is None and form.has_changed() and not deleted:
                adding += 1
            elif form.instance.pk is not None and deleted and form.instance.displaced_by_id is None:
                leaving += 1
        if adding > leaving:
            try:
                limits.require_room_for_key_result(objective, adding=adding - leaving)
            except RuleBroken as error:
                raise ValidationError(error.message, code=error.code) from None


class KeyResultInline(admin.TabularInline):
    model = KeyResult
    formset = LimitedKeyResultFormSet
    extra = 0
    autocomplete_fields = ["owner"]
    fields = ["title", "owner", "direction", "start_value", "target_value", "current_value", "unit"]


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    form = LimitedObjectiveForm
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
        # An administrator's edit of the definition is versioned like a lead's (rule 9): once
        # someone acknowledged it, the change is a new version and the readings go out of date.
        definitions.publish_definition(objective=obj, author=request.user)  # type: ignore[arg-type]


class LimitedKeyResultForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        objective = cleaned.get("objective")
        if objective is None:
            return cleaned
        if self.instance.pk is None or self.instance.objective_id != objective.pk:
            if objective.displaced_by_id is not None:
                raise ValidationError(
                    f"“{objective.title}” was displaced by trade-off #{objective.displaced_by_id}; "
                    "add key results to an objective still in play."
                )
            try:
                limits.require_room_for_key_result(objective)
            except RuleBroken as error:
                raise ValidationError(error.message, code=error.code) from None
        return cleaned


@admin.register(KeyResult)
class KeyResultAdmin(admin.ModelAdmin):
    form = LimitedKeyResultForm
    list_display = ["title", "owner", "objective", "current_value", "target_value", "unit"]
    list_filter = ["objective__quarter", "objective__team", "direction"]
    search_fields = ["title", "owner__username", "objective__title"]
    autocomplete_fields = ["owner", "objective"]
    list_select_related = ["owner", "objective"]
