"""The "Record a trade-off" form: what is added, why, and what happens to each of the team's
current objectives and key results (keep, drop, defer, descope). The rules are the service's
(objectives.tradeoffs.trade_off_decide); the form only collects the choices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms

from objectives.models import Displacement, KeyResult, Objective, TradeOffCategory
from objectives.tradeoffs import Displace
from okrly.forms import PersonChoiceField, SingleValuedFields

KEEP = "keep"
OBJECTIVE_CHOICES = [
    (KEEP, "Keep"),
    (Displacement.Action.DROPPED, "Drop"),
    (Displacement.Action.DEFERRED, "Defer to next quarter"),
]
KEY_RESULT_CHOICES = [*OBJECTIVE_CHOICES, (Displacement.Action.DESCOPED, "Descope")]


class ObjectiveInTeam(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.title)


@dataclass
class ItemRow:
    """One of the team's objectives or key results, with its choice (and a new target)."""

    item: Objective | KeyResult
    action: forms.BoundField
    new_target: forms.BoundField | None = None


class TradeOffForm(SingleValuedFields, forms.Form):
    kind = forms.ChoiceField(
        label="What is added",
        choices=[("objective", "An objective"), ("key_result", "A key result")],
        initial="objective",
        widget=forms.RadioSelect,
    )
    title = forms.CharField(label="Title", max_length=200, required=False)
    means = forms.CharField(
        label="What it means", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    does_not_mean = forms.CharField(
        label="What it does not mean", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    objective = ObjectiveInTeam(
        label="Under the objective",
        queryset=Objective.objects.none(),
        required=False,
        help_text="For a key result: the team's objective it belongs to.",
    )
    owner = PersonChoiceField(
        label="Owner", required=False, help_text="For a key result: the one accountable person."
    )
    start_value = forms.DecimalField(
        label="Start", max_digits=14, decimal_places=2, required=False, initial=Decimal(0)
    )
    target_value = forms.DecimalField(
        label="Target", max_digits=14, decimal_places=2, required=False
    )
    unit = forms.CharField(label="Unit", max_length=30, required=False)
    direction = forms.ChoiceField(
        label="Direction", choices=KeyResult.Direction.choices, initial="increase"
    )
    category = forms.ModelChoiceField(
        label="Category", queryset=TradeOffCategory.objects.filter(active=True)
    )
    reason = forms.CharField(
        label="Why it cannot wait for next quarter",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, objectives: list[Objective], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objectives = objectives
        field = self.fields["objective"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Objective.objects.filter(pk__in=[o.pk for o in objectives])
        for objective in objectives:
            self.fields[f"objective-{objective.pk}"] = forms.ChoiceField(
                label=f"Objective “{objective.title}”",
                choices=OBJECTIVE_CHOICES,
                initial=KEEP,
            )
            for kr in objective.key_results.all():
                self.fields[f"kr-{kr.pk}"] = forms.ChoiceField(
                    label=f"Key result “{kr.title}”", choices=KEY_RESULT_CHOICES, initial=KEEP
                )
                self.fields[f"kr-{kr.pk}-target"] = forms.DecimalField(
                    label=f"New target for “{kr.title}”",
                    max_digits=14,
                    decimal_places=2,
                    required=False,
                )

    def rows(self) -> list[tuple[ItemRow, list[ItemRow]]]:
        """Each objective with its key results, for the template."""
        return [
            (
                ItemRow(objective, self[f"objective-{objective.pk}"]),
                [
                    ItemRow(kr, self[f"kr-{kr.pk}"], self[f"kr-{kr.pk}-target"])
                    for kr in objective.key_results.all()
                ],
            )
            for objective in self.objectives
        ]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == "key_result":
            for name, message in (
                ("objective", "Choose the objective the key result belongs to."),
                ("owner", "Choose the one person accountable for it."),
                ("target_value", "Give the key result a target."),
            ):
                if cleaned.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, message)
        for objective in self.objectives:
            for kr in objective.key_results.all():
                action = cleaned.get(f"kr-{kr.pk}")
                target = f"kr-{kr.pk}-target"
                missing = cleaned.get(target) is None and target not in self.errors
                if action == Displacement.Action.DESCOPED and missing:
                    self.add_error(target, f"Give “{kr.title}” its new, smaller target.")
        return cleaned

    def displaced(self) -> list[Displace]:
        entries: list[Displace] = []
        for objective in self.objectives:
            action = self.cleaned_data.get(f"objective-{objective.pk}", KEEP)
            if action != KEEP:
                entries.append(Displace(objective, action))
            for kr in objective.key_results.all():
                action = self.cleaned_data.get(f"kr-{kr.pk}", KEEP)
                if action != KEEP:
                    entries.append(
                        Displace(kr, action, self.cleaned_data.get(f"kr-{kr.pk}-target"))
                    )
        return entries

    def addition(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["kind"] == "objective":
            return {
                "kind": "objective",
                "title": data["title"],
                "means": data["means"],
                "does_not_mean": data["does_not_mean"],
            }
        return {
            "kind": "key_result",
            "objective": data["objective"],
            "title": data["title"],
            "owner": data["owner"],
            "start_value": data["start_value"] if data["start_value"] is not None else 0,
            "target_value": data["target_value"],
            "unit": data["unit"],
            "direction": data["direction"],
        }
