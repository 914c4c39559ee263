from __future__ import annotations

from typing import Any

from django import forms

from objectives.models import KeyResult, Objective
from okrly.forms import PersonChoiceField, SingleValuedFields
from okrly.models import Quarter, Team


class ParentChoiceField(forms.ModelChoiceField):
    """An objective to align to, named with its team (titles repeat across teams)."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.team.name} · {obj.title} ({obj.quarter.name})"


def _parent_field(form: forms.ModelForm, queryset: Any) -> None:
    field = form.fields["parent"]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset.select_related("team", "quarter").order_by(
        "quarter__start", "team__name", "rank", "pk"
    )
    field.required = False


class ObjectiveForm(SingleValuedFields, forms.ModelForm):
    class Meta:
        model = Objective
        fields = [
            "quarter",
            "team",
            "title",
            "means",
            "does_not_mean",
            "tradeoff_rule",
            "rank",
            "parent",
        ]
        field_classes = {"parent": ParentChoiceField}
        widgets = {
            "means": forms.Textarea(attrs={"rows": 3}),
            "does_not_mean": forms.Textarea(attrs={"rows": 3}),
            "tradeoff_rule": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "means": "What success looks like, in words everyone will read the same way.",
            "does_not_mean": "What this objective is not about, to stop it being stretched.",
            "tradeoff_rule": "When it competes with other work, what wins, and who decides.",
            "rank": "1 is the team's most important objective this quarter.",
            "parent": (
                "Optional: the objective of a team above this one (or a company objective) "
                "in the same quarter that this one serves."
            ),
        }

    def __init__(self, *args: Any, teams: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        quarter_field = self.fields["quarter"]
        team_field = self.fields["team"]
        assert isinstance(quarter_field, forms.ModelChoiceField)
        assert isinstance(team_field, forms.ModelChoiceField)
        quarter_field.queryset = Quarter.objects.exclude(status=Quarter.Status.CLOSED)
        team_field.queryset = teams if teams is not None else Team.objects.all()
        self.fields["rank"].required = False
        # The service decides which parent is allowed and says why one is not.
        _parent_field(self, Objective.objects.exclude(quarter__status=Quarter.Status.CLOSED))


class ObjectiveEditForm(ObjectiveForm):
    class Meta(ObjectiveForm.Meta):
        fields = ["title", "means", "does_not_mean", "tradeoff_rule", "rank", "parent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        forms.ModelForm.__init__(self, *args, **kwargs)
        self.fields["rank"].required = True
        # Its own quarter's objectives of other teams; the service refuses unrelated teams.
        _parent_field(
            self,
            Objective.objects.filter(quarter_id=self.instance.quarter_id).exclude(
                team_id=self.instance.team_id
            ),
        )


class KeyResultForm(SingleValuedFields, forms.ModelForm):
    owner = PersonChoiceField(
        help_text="The one person accountable for this key result; not a team, not two people."
    )

    class Meta:
        model = KeyResult
        fields = [
            "title",
            "owner",
            "direction",
            "start_value",
            "target_value",
            "current_value",
            "unit",
        ]
        labels = {"start_value": "Start", "target_value": "Target", "current_value": "Current"}
        help_texts = {"unit": "e.g. %, €, customers, days"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["current_value"].required = False


class KeyResultEditForm(KeyResultForm):
    """Editing keeps the owner: a handover (with acceptance) changes it."""

    class Meta(KeyResultForm.Meta):
        fields = ["title", "direction", "start_value", "target_value", "current_value", "unit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("owner", None)


class ReadingForm(forms.Form):
    # The length rule is the service's (it says why); the form only carries the text.
    reading = forms.CharField(
        label="What I will do differently because of this",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One sentence in your own words: at least 15 characters.",
    )

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        # The page comes back with the reason: focus returns to the field (no script), where
        # a screen reader reads the reason through the field's aria-describedby.
        if field in self.fields:
            self.fields[field].widget.attrs["autofocus"] = True
