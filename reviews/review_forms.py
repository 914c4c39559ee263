"""The review page's forms: a contributing factor, a structural decision, a follow-up.

Their choices (evidence, people, quarters, teams) are loaded once per page by the view and
handed to every form, so a page costs the same queries however many forms it shows; a value
that is not among them is refused on its field."""

from __future__ import annotations

from typing import Any

from django import forms

from okrly.forms import SingleValuedFields
from reviews import review_services
from reviews.models import DecisionFollowUp
from reviews.review_selectors import EVIDENCE, EvidenceChoices

# The settings a decision may change (okrly.orgsettings.ADJUSTABLE and a team's objective
# limit), as the service lists them.
SETTING_CHOICES = [("", "No setting"), *review_services.setting_choices()]
EVIDENCE_LABELS = {
    "key_result": "Evidence: a key result",
    "dependency": "Evidence: a dependency",
    "trade_off": "Evidence: a trade-off",
    "response": "Evidence: a response to a miss",
}


class EvidenceForm(SingleValuedFields, forms.Form):
    """One select per kind of evidence; at least one must be chosen (the service says so)."""

    def __init__(self, *args: Any, evidence: EvidenceChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.evidence = evidence
        for kind in EVIDENCE:
            self.fields[kind] = forms.TypedChoiceField(
                label=EVIDENCE_LABELS[kind],
                choices=evidence.choices(kind),
                coerce=int,
                required=False,
                empty_value=None,
            )
        # Added after the form ordered its fields: put them where field_order says.
        self.order_fields(self.field_order)

    def evidence_kwargs(self) -> dict[str, Any]:
        return {kind: self.evidence.get(kind, self.cleaned_data.get(kind)) for kind in EVIDENCE}


class FactorForm(EvidenceForm):
    text = forms.CharField(label="What contributed", widget=forms.Textarea(attrs={"rows": 3}))
    field_order = ["text", *EVIDENCE]


class DecisionForm(EvidenceForm):
    what_changes = forms.CharField(
        label="What changes in how we operate", widget=forms.Textarea(attrs={"rows": 2})
    )
    why = forms.CharField(label="Why", widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.TypedChoiceField(label="Owner", coerce=int)
    takes_effect = forms.TypedChoiceField(label="Takes effect in", coerce=int)
    success_check = forms.CharField(
        label="How we will know it worked", widget=forms.Textarea(attrs={"rows": 2})
    )
    follow_up_on = forms.DateField(
        label="Follow-up date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    setting = forms.ChoiceField(label="Setting it changes", choices=SETTING_CHOICES, required=False)
    setting_team = forms.TypedChoiceField(
        label="Team (for a team's objective limit)", coerce=int, required=False, empty_value=None
    )
    setting_value = forms.IntegerField(label="New value", required=False)
    field_order = [
        "what_changes",
        "why",
        *EVIDENCE,
        "owner",
        "takes_effect",
        "success_check",
        "follow_up_on",
        "setting",
        "setting_team",
        "setting_value",
    ]

    def __init__(
        self,
        *args: Any,
        people: dict[int, tuple[Any, str]],
        quarters: dict[int, tuple[Any, str]],
        teams: dict[int, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.people, self.quarters, self.teams = people, quarters, teams
        self.fields["owner"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(pk), label) for pk, (_, label) in people.items()
        ]
        self.fields["takes_effect"].choices = [  # type: ignore[attr-defined]
            (str(pk), label) for pk, (_, label) in quarters.items()
        ]
        self.fields["setting_team"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(pk), team.name) for pk, team in teams.items()
        ]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "what_changes": data["what_changes"],
            "why": data["why"],
            "owner": self.people[data["owner"]][0],
            "takes_effect": self.quarters[data["takes_effect"]][0],
            "success_check": data["success_check"],
            "follow_up_on": data["follow_up_on"],
            "setting": data["setting"],
            "setting_team": self.teams.get(data["setting_team"]),
            "setting_value": data["setting_value"],
            **self.evidence_kwargs(),
        }


class FollowUpForm(SingleValuedFields, forms.Form):
    verdict = forms.ChoiceField(
        label="Verdict", choices=[("", "—"), *DecisionFollowUp.Verdict.choices]
    )
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}))
