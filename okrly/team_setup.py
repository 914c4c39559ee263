"""Teams on the set-up page: the tree (name, parent) and each team's members and roles.
A lead is a member with the lead role; ``Team.lead`` follows from it (sync_team_leads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db import transaction
from django.utils.text import slugify

from okrly import access
from okrly.errors import NotAllowed
from okrly.forms import PersonPickField
from okrly.models import Membership, Team

if TYPE_CHECKING:
    from okrly.types import User


def _staff(user: User) -> None:
    if not access.can_set_up(user):
        raise NotAllowed("Only staff set up teams.")


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "parent"]
        labels = {"parent": "Part of"}
        help_texts = {"parent": "Empty for a department (a team at the top of the tree)."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        parent.empty_label = "— none: a department —"
        if self.instance.pk:
            parent.queryset = Team.objects.exclude(pk=self.instance.pk)

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not slugify(name):
            raise forms.ValidationError("Give the team a name with letters or digits.")
        return name


def _unique_slug(name: str, pk: int | None) -> str:
    base = slugify(name)[:110] or "team"
    others = Team.objects.filter(slug__startswith=base)
    if pk is not None:
        others = others.exclude(pk=pk)
    taken = set(others.values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def team_save(*, user: User, form: TeamForm) -> Team:
    _staff(user)
    team: Team = form.save(commit=False)
    if not team.slug or "name" in form.changed_data:
        team.slug = _unique_slug(team.name, team.pk)
    team.save()
    return team


class MemberAddForm(forms.Form):
    person = PersonPickField(label="Person", help_text="Type part of a name or an e-mail.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team


class MemberRoleForm(forms.Form):
    membership = forms.ModelChoiceField(queryset=Membership.objects.none())
    role = forms.ChoiceField(choices=Membership.Role.choices, required=False)

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["membership"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = team.memberships.select_related("user")
        field.error_messages["invalid_choice"] = "That person is no longer in this team."

    def errors_text(self) -> list[str]:
        return [str(e) for errors in self.errors.values() for e in errors]

    def role_label(self) -> str:
        return str(dict(Membership.Role.choices)[self.cleaned_data["role"] or "member"]).lower()


def member_set(*, user: User, team: Team, person: User, role: str) -> Membership:
    """Add ``person`` to ``team`` with ``role``, or change their role there."""
    _staff(user)
    with transaction.atomic():
        membership, _ = Membership.objects.update_or_create(
            user=person, team=team, defaults={"role": role or Membership.Role.MEMBER}
        )
    return membership


def member_remove(*, user: User, membership: Membership) -> None:
    _staff(user)
    membership.delete()
