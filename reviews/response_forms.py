"""The form that records a response's conversation, gap and next step. Its field names are the
service's keywords, so a refusal (``RuleBroken(field=...)``) is shown beside its field."""

from __future__ import annotations

from django import forms

from okrly.forms import PeopleChoiceField, PersonChoiceField, SingleValuedFields
from reviews.models import ResponseCause


class DateInput(forms.DateInput):
    input_type = "date"


# The pickers of the app's other forms: "Name (Team)", one label for a person everywhere.
PersonPicker = PersonChoiceField
PeoplePicker = PeopleChoiceField


class ResponseRecordForm(SingleValuedFields, forms.Form):
    conversation_on = forms.DateField(label="Conversation held on", widget=DateInput)
    participants = PeoplePicker(
        label="Who took part",
        help_text="The person accountable and their manager or team lead, at least.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    cause = forms.ModelChoiceField(
        label="Cause",
        queryset=ResponseCause.objects.filter(active=True),
        empty_label="Choose the main cause",
    )
    gap = forms.CharField(
        label="The gap, examined",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was committed against what was delivered, and why they differ.",
    )
    next_step_what = forms.CharField(
        label="Next step", widget=forms.Textarea(attrs={"rows": 2}), help_text="What will be done."
    )
    next_step_owner = PersonPicker(label="Next step owner")
    next_step_due = forms.DateField(label="Next step due", widget=DateInput)
