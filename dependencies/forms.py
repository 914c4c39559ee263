from __future__ import annotations

from typing import Any

from django import forms

from dependencies.models import Dependency
from okrly.forms import PersonChoiceField
from okrly.models import Team
from okrly.params import column_range


class DateInput(forms.DateInput):
    input_type = "date"


class DependencyRequestForm(forms.Form):
    deliverable = forms.CharField(
        label="What", max_length=300, help_text="What exactly must be delivered."
    )
    provider_team = forms.ModelChoiceField(queryset=Team.objects.all(), label="From team")
    responsible = PersonChoiceField(
        label="Who", help_text="The one person on that team who will deliver it."
    )
    due_date = forms.DateField(label="By when", widget=DateInput)
    rank = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=column_range(Dependency, "rank")[1],
        help_text="1 and 2 are the key result's top two.",
    )
    confirm_outside_quarter = forms.BooleanField(
        required=False, label="Yes, this date is outside the quarter"
    )

    def __init__(self, *args: Any, key_result: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if key_result is not None:
            team_field = self.fields["provider_team"]
            assert isinstance(team_field, forms.ModelChoiceField)
            team_field.queryset = Team.objects.exclude(pk=key_result.objective.team_id)


class CounterForm(forms.Form):
    due_date = forms.DateField(label="I can deliver by", widget=DateInput, required=False)
    deliverable = forms.CharField(
        label="What I can deliver (leave empty if unchanged)", max_length=300, required=False
    )
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReassignForm(forms.Form):
    responsible = PersonChoiceField(label="Hand it to")
    note = forms.CharField(required=False)
