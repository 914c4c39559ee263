from __future__ import annotations

from django import forms

from okrly.forms import PersonChoiceField, SingleValuedFields
from ownership.models import DecisionRight


class HandoverForm(SingleValuedFields, forms.Form):
    new_owner = PersonChoiceField(label="New owner")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Kept in the ownership history.",
    )


class GrantForm(forms.Form):
    rights = forms.ModelMultipleChoiceField(
        queryset=DecisionRight.objects.filter(active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Decision rights",
    )
    scope = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="What the owner may decide and the limits, e.g. “ad budget up to €20k”.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
