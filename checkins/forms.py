from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from checkins.models import CheckIn
from checkins.services import checkin_problems
from dependencies.models import Dependency
from okrly import sql
from okrly.formrender import Pairs, PairsSelect
from okrly.forms import PersonChoiceField, person_label
from okrly.models import Membership, Team

REVIEW_CHOICES = [("yes", "Still on track"), ("no", "Not on track")]


def _dependency_label(dep: Dependency) -> str:
    return f"{dep.deliverable} ({dep.provider_team})"


def person_choices(cards: list[Any], also: list[int] | None = None) -> list[tuple[Any, str]]:
    """The "from whom" options of these My-week cards, read once per page and shared by every
    card's form (a ModelChoiceField queries again each time it renders, so one per card would
    be N+1).

    The people a need is usually for: the members of the cards' teams, the people responsible
    for their dependencies, and whoever a check-in already names (else its form would drop
    them on the next save), plus ``also`` (a posted choice shown back). Never everyone: with
    every active person on every card, the page grew with the organisation (thousands of
    options per card). The field still accepts any active person when posted."""
    team_ids = {card.key_result.objective.team_id for card in cards}
    named = set(also or [])
    for card in cards:
        named.update(dep.responsible_id for dep in card.dependencies)
        if card.check_in is not None and card.check_in.need_person_id is not None:
            named.add(card.check_in.need_person_id)
    if not team_ids and not named:
        return [("", "— no one in particular")]
    # One id list from both sources (a UNION), not "member OR named": an OR of the two made
    # the database read every person to test them. SQL (okrly.sql): My week runs it on every
    # request; the labels are PersonChoiceField's.
    params: list[Any] = [*team_ids, *named]
    sources = []
    if team_ids:
        marks = sql.placeholders(list(team_ids))
        sources.append(
            f"SELECT m.user_id FROM {sql.table(Membership)} m WHERE m.team_id IN ({marks})"
        )
    if named:
        marks = sql.placeholders(list(named))
        sources.append(f"SELECT n.id FROM {sql.table(get_user_model())} n WHERE n.id IN ({marks})")
    # Each person's team for the "Name (Team)" label (okrly.forms.with_team_name's choice:
    # a team they lead, else the first by name), in the same statement.
    people = sql.rows(
        f"""
SELECT u.id, u.username, u.first_name, u.last_name,
  (SELECT t.name FROM {sql.table(Membership)} tm JOIN {sql.table(Team)} t ON t.id = tm.team_id
   WHERE tm.user_id = u.id ORDER BY CASE WHEN tm.role = %s THEN 0 ELSE 1 END, t.name
   LIMIT 1) AS team_name
FROM {sql.table(get_user_model())} u
WHERE u.is_active AND u.id IN ({" UNION ".join(sources)})
ORDER BY u.first_name, u.last_name, u.username""",
        [Membership.Role.LEAD, *params],
    )
    return [
        ("", "— no one in particular"),
        *(
            (
                p.id,
                person_label(sql.Person(p.id, p.username, p.first_name, p.last_name, p.team_name)),
            )
            for p in people
        ),
    ]


class _CopiedShallow:
    """A choice field every form copies without copying its choices or queryset.

    A form deep-copies each of its fields; for a choice field that copies and re-normalises
    its choices, and for a model choice field clones its queryset: about half of building a
    My-week card's form. Here the field and its widget are copied (the widget's attributes
    too, as Django does) and the choices and queryset are shared: nothing changes them in
    place, and ``CheckInForm`` assigns new ones (which the copy then holds alone)."""

    widget: forms.Widget
    error_messages: dict[str, Any]
    validators: list[Any]

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        result = copy.copy(self)
        memo[id(self)] = result
        result.widget = copy.copy(self.widget)
        result.widget.attrs = self.widget.attrs.copy()
        result.error_messages = self.error_messages.copy()
        result.validators = self.validators[:]
        return result


class _StatusField(_CopiedShallow, forms.ChoiceField):
    pass


class _PersonField(_CopiedShallow, PersonChoiceField):
    pass


class _DependencyField(_CopiedShallow, forms.ModelChoiceField):
    pass


class CheckInForm(forms.Form):
    """The three questions and the value. Fields are loose on purpose (text, not numbers):
    the service gives the message, and what was typed comes back as typed."""

    status = _StatusField(
        label="Are you on track to hit this key result?",
        choices=CheckIn.Status.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    confidence = forms.CharField(
        label="Confidence (0–10)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 10, "step": 1, "inputmode": "numeric"}),
    )
    biggest_risk = forms.CharField(
        label="What is the biggest risk? (required)",
        required=False,
        # Marked required before any submit (the service still says why when it is empty).
        widget=forms.Textarea(attrs={"rows": 2, "required": True, "aria-required": "true"}),
    )
    need = forms.CharField(
        label="What do you need from someone else that you don't have yet?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    need_person = _PersonField(label="From whom (optional)", required=False, widget=PairsSelect)
    need_dependency = _DependencyField(
        label="…or for which dependency (optional)",
        queryset=Dependency.objects.none(),
        required=False,
        widget=PairsSelect,
    )
    value = forms.CharField(label="Current value", required=False)

    def __init__(
        self,
        *args: Any,
        key_result: Any,
        dependencies: list[Dependency],
        review: bool,
        people: list[tuple[Any, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``dependencies`` are the key result's (already loaded); ``people`` the "from whom"
        options from ``person_choices()``. Both are given as fixed choices, so rendering a
        form costs no query; the querysets only check a posted value."""
        kwargs.setdefault("prefix", f"kr{key_result.pk}")
        super().__init__(*args, **kwargs)
        need_dependency = self.fields["need_dependency"]
        assert isinstance(need_dependency, forms.ModelChoiceField)
        if self.is_bound:
            # Only a posted value is checked against it (an unbound form, one per card of My
            # week, renders the fixed choices below).
            need_dependency.queryset = Dependency.objects.filter(key_result_id=key_result.pk)
        need_dependency.choices = Pairs(
            [("", "— none"), *((dep.pk, _dependency_label(dep)) for dep in dependencies)]
        )
        if people is not None:
            need_person = self.fields["need_person"]
            assert isinstance(need_person, forms.ModelChoiceField)
            need_person.choices = Pairs(people)
        if key_result.unit:
            self.fields["value"].label = f"Current value ({key_result.unit})"
        self.review_fields: list[tuple[Dependency, forms.BoundField, forms.BoundField]] = []
        if review:
            for dep in dependencies:
                if dep.status not in Dependency.OPEN_STATUSES:
                    continue
                self.fields[f"dep_{dep.pk}"] = forms.ChoiceField(
                    label=dep.deliverable,
                    choices=REVIEW_CHOICES,
                    widget=forms.RadioSelect,
                    initial="yes",
                    error_messages={
                        "required": f"Say whether “{dep.deliverable}” is still on track.",
                        "invalid_choice": f"Say whether “{dep.deliverable}” is still on track.",
                    },
                )
                self.fields[f"dep_{dep.pk}_note"] = forms.CharField(
                    label="What is wrong",
                    required=False,
                    max_length=300,
                    # The row shows no label of its own: say what the box is for.
                    widget=forms.TextInput(
                        attrs={
                            "placeholder": "If not on track: what is wrong?",
                            "aria-label": f"What is wrong with “{dep.deliverable}”",
                        }
                    ),
                )
                self.review_fields.append((dep, self[f"dep_{dep.pk}"], self[f"dep_{dep.pk}_note"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The service's own checks, all at once, so every problem shows beside its field.
        for name, message in checkin_problems(
            status=data.get("status"),
            confidence=data.get("confidence"),
            biggest_risk=data.get("biggest_risk"),
            value=data.get("value"),
        ).items():
            self.add_error(name, message)
        return data

    def dependency_reviews(self) -> dict[int, tuple[bool, str]]:
        return {
            dep.pk: (
                self.cleaned_data.get(f"dep_{dep.pk}") != "no",
                self.cleaned_data.get(f"dep_{dep.pk}_note", ""),
            )
            for dep, _, _ in self.review_fields
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "status": data["status"],
            "confidence": data["confidence"],
            "biggest_risk": data["biggest_risk"],
            "need": data["need"],
            "need_person": data["need_person"],
            "need_dependency": data["need_dependency"],
            "value": data["value"],
            "dependency_reviews": self.dependency_reviews(),
        }
