"""The forms of early escalation: raise, answer, redirect.

Fields are loose on purpose (text and choices, nothing required here): the service gives the
message a person can read, beside the field, and what was typed comes back as typed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from okrly.access import leadership_group_name
from okrly.forms import SingleValuedFields, person_label, picker_people
from okrly.models import Membership
from reviews.models import EarlyEscalation


def people_choices() -> list[tuple[Any, str]]:
    """Every active person as "Name (team)", read once per page (one query) and shared by
    every form on it."""
    return [("", "— choose a person"), *((u.pk, person_label(u)) for u in picker_people())]


def people_choices_near(escalations: list[EarlyEscalation]) -> list[tuple[Any, str]]:
    """The redirect options of "Asked of me": the people who can usually decide or help on
    these escalations (the members and leads of their key results' teams and departments, of
    the teams their dependencies ask, the leadership group, and who raised them), "Name
    (team)", in one query. Not every active person: that grew with the organisation, a list
    of thousands per escalation. The redirect itself takes anyone (its page lists them all)."""
    team_ids: set[int] = set()
    named: set[int] = set()
    for esc in escalations:
        team = esc.key_result.objective.team
        team_ids.update(t for t in (team.pk, team.parent_id) if t is not None)
        named.update(t for t in (team.lead_id, esc.raised_by_id) if t is not None)
        if esc.dependency is not None:
            team_ids.add(esc.dependency.provider_team_id)
    User = get_user_model()
    # One id list from each source (a UNION): an OR of them made the database test everyone.
    ids = (
        Membership.objects.filter(team_id__in=team_ids)
        .order_by()
        .values_list("user_id")
        .union(
            User.objects.filter(groups__name=leadership_group_name()).values_list("pk"),
            User.objects.filter(pk__in=named).values_list("pk"),
        )
    )
    return [
        ("", "— choose a person"),
        *((u.pk, person_label(u)) for u in picker_people().filter(pk__in=ids)),
    ]


def _choice_pk(form: forms.Form, name: str) -> int | None:
    value = form.cleaned_data.get(name) or ""
    return int(value) if str(value).isdigit() else None


class RaiseForm(SingleValuedFields, forms.Form):
    dependency = forms.ChoiceField(label="Which dependency (optional)", required=False)
    need = forms.CharField(
        label="What decision or help is needed?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    asked_of = forms.ChoiceField(label="From whom", required=False)
    needed_by = forms.DateField(
        label="An answer is needed by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        dependencies: list[Any],
        people: list[tuple[Any, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        dep_field: Any = self.fields["dependency"]
        dep_field.choices = [
            ("", "— the key result as a whole"),
            *((d.pk, f"{d.deliverable} ({d.provider_team.name})") for d in dependencies),
        ]
        asked_field: Any = self.fields["asked_of"]
        asked_field.choices = people

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            if _choice_pk(self, "asked_of") is None:
                self.add_error("asked_of", "Choose the person who can decide or help.")
            if cleaned.get("needed_by") is None:
                self.add_error("needed_by", "Say by when an answer is needed.")
        return cleaned

    def asked_of_pk(self) -> int | None:
        return _choice_pk(self, "asked_of")

    def dependency_pk(self) -> int | None:
        return _choice_pk(self, "dependency")

    def needed_by_date(self) -> date:
        value: date = self.cleaned_data["needed_by"]
        return value


class AnswerForm(SingleValuedFields, forms.Form):
    status = forms.ChoiceField(
        label="Your answer",
        choices=[
            (EarlyEscalation.Status.DECIDED, "Decided"),
            (EarlyEscalation.Status.HELPING, "Helping"),
        ],
        widget=forms.RadioSelect,
        required=False,
    )
    answer = forms.CharField(
        label="The decision, or how you are helping",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not cleaned.get("status"):
            self.add_error("status", "Choose “decided” or “helping”.")
        return cleaned


class RedirectForm(SingleValuedFields, forms.Form):
    to = forms.ChoiceField(label="Redirect to", required=False)
    note = forms.CharField(
        label="Why them (optional)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data: Any = None, *, people: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        to_field: Any = self.fields["to"]
        to_field.choices = people

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and _choice_pk(self, "to") is None:
            self.add_error("to", "Choose the person who can answer.")
        return cleaned

    def to_pk(self) -> int | None:
        return _choice_pk(self, "to")
