"""Form helpers shared by every app."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone

from okrly.access import can_sign_in_with_password
from okrly.errors import OKRlyError
from okrly.models import Profile, display_name, validate_timezone


def add_service_error(form: forms.BaseForm, error: OKRlyError) -> None:
    """Show a service's refusal next to the field it is about (or on top of the form).

    The form is re-rendered bound to what the user typed, so nothing they entered is lost.
    """
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class SingleValuedFields(forms.BaseForm):
    """Refuse a POST that sends two values for a field that takes one.

    A QueryDict answers ``get()`` with the last value, so ``owner=3&owner=7`` would silently
    keep 7; for a key result's single accountable owner that is exactly the ambiguity rule 1
    forbids. Mix in before the form class: ``class F(SingleValuedFields, forms.ModelForm)``.
    """

    def clean(self) -> dict[str, Any] | None:
        getlist = getattr(self.data, "getlist", None)
        if getlist is not None:
            for name, field in self.fields.items():
                if getattr(field.widget, "allow_multiple_selected", False):
                    continue  # a multiple choice takes many values by design
                count = len(getlist(self.add_prefix(name)))
                if count > 1:
                    label = str(field.label or name.replace("_", " ")).lower()
                    self.add_error(name, f"Choose one {label}, not {count}.")
        return super().clean()


def with_team_name(people: Any) -> Any:
    """``people`` (a User queryset) annotated with ``team_name``: the team a picker names a
    person by, a team they lead first, else the first by name. A subquery, not a prefetch:
    a picker renders without a query of its own per person or per render."""
    from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When

    from okrly.models import Membership

    first = (
        Membership.objects.filter(user=OuterRef("pk"))
        .annotate(
            lead_first=Case(
                When(role=Membership.Role.LEAD, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("lead_first", "team__name")
        .values("team__name")[:1]
    )
    return people.annotate(team_name=Subquery(first))


def picker_people() -> Any:
    """The people every in-app person picker offers: the active ones, by name, each with the
    team it names them by (``with_team_name``; labelled by ``person_label``)."""
    return with_team_name(
        get_user_model()
        .objects.filter(is_active=True)
        .select_related("profile")
        .order_by("first_name", "last_name", "username")
    )


class PersonChoiceField(forms.ModelChoiceField):
    """Active people, labelled "Name (Team)" (``person_label``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=picker_people(), **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    """Several of the active people, labelled as ``PersonChoiceField`` labels them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=picker_people(), **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


def person_label(user: Any) -> str:
    """How a person picker names a person: "Name (Team)", so two people with similar names
    are told apart by where they work; "Name (username)" for someone in no team. The
    ``team_name`` comes with the row (``with_team_name``, or a ``okrly.sql.Person`` read with
    it); a user read without it is named by the username."""
    team = getattr(user, "team_name", None)
    return f"{display_name(user)} ({team or user.get_username()})"


def person_with_teams(user: Any, teams: list[str]) -> str:
    """A person as every picker that searches people shows them: "Name (Team, Team)", so
    two people with similar names are told apart by where they work."""
    name = display_name(user)
    return f"{name} ({', '.join(teams)})" if teams else name


def person_picker_options() -> list[tuple[str, str]]:
    """(value, label) for a person picker's <datalist>: the value is the e-mail (else the
    username) that ``PersonPickField`` looks up, the label "Name (Team)"; the browser filters
    both as the person types. Two queries whatever the number of people."""
    from okrly.models import Membership

    teams: dict[int, list[str]] = {}
    for user_id, team in Membership.objects.order_by("team__name").values_list(
        "user_id", "team__name"
    ):
        teams.setdefault(user_id, []).append(team)
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("first_name", "last_name", "username")
        .only("pk", "username", "first_name", "last_name", "email")
    )
    return [
        (person.email or person.get_username(), person_with_teams(person, teams.get(person.pk, [])))
        for person in people
    ]


class PersonPickField(forms.CharField):
    """A person typed or picked from a <datalist> (``person_picker_options``): found by
    e-mail or username, case-insensitively. Several people sharing an e-mail are refused
    rather than guessed between."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.widget.attrs.update({"list": "people-options", "autocomplete": "off"})

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return None
        people = get_user_model().objects.filter(is_active=True)
        found = list(people.filter(email__iexact=text)[:2]) or list(
            people.filter(username__iexact=text)[:2]
        )
        if not found:
            raise forms.ValidationError(
                f"No one with the e-mail or username “{text}”. Type part of a name and pick "
                "from the list."
            )
        if len(found) > 1:
            raise forms.ValidationError(
                f"Several people share “{text}”; ask an administrator to fix their e-mails."
            )
        return found[0]


# The world's regions in the IANA database; the rest are legacy links (US/Pacific, Etc/GMT+3)
# that would only lengthen the list. A value already saved outside them stays selectable.
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


@cache
def _zone_choices(day: date) -> tuple[tuple[str, str], ...]:
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)

    def label(name: str) -> str:
        offset = noon.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "+" if minutes >= 0 else "−"
        return f"{name} (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"

    names = sorted(z for z in zoneinfo.available_timezones() if z.startswith(_REGIONS))
    return (("UTC", "UTC"), *((name, label(name)) for name in names))


def timezone_choices(current: str | None = None) -> list[tuple[str, str]]:
    """IANA zones with today's UTC offset ("Asia/Kathmandu (UTC+05:45)"), computed once a
    day; ``current`` is kept when it is a valid zone outside the regions."""
    choices = list(_zone_choices(timezone.localdate()))
    if current and current not in dict(choices):
        choices.insert(1, (current, current))
    return choices


class TimeZoneField(forms.ChoiceField):
    """A picker of IANA zones; static/js/zone-suggest.js offers the browser's own zone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Time zone")
        # NUL first: a ChoiceField lacks CharField's check, and PostgreSQL refuses NUL.
        validators: list[Callable[[Any], None]] = [
            ProhibitNullCharactersValidator(),
            validate_timezone,
        ]
        super().__init__(choices=timezone_choices, validators=validators, **kwargs)
        self.widget.attrs["data-zone-suggest"] = ""

    def valid_value(self, value: Any) -> bool:
        # Any valid IANA name is accepted (validate_timezone says why not otherwise), not only
        # the listed ones: an import or an old value may use a legacy link.
        return True


class ProfileForm(forms.ModelForm):
    """A person's own settings: how they are named, their zone, when they are away."""

    timezone = TimeZoneField(
        help_text="Dates and times are shown in it, and check-ins are asked in it."
    )

    class Meta:
        model = Profile
        fields = ["display_name", "timezone", "out_of_office_until"]
        widgets = {
            "out_of_office_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        }

    class Media:
        js = ["js/zone-suggest.js"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["timezone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = timezone_choices(self.instance.timezone if self.instance.pk else None)


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing a password sign-in that ``PASSWORD_SIGN_IN`` reserves
    for staff. Asked only after the password is right, so the refusal tells a stranger
    nothing about which accounts exist."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not can_sign_in_with_password(user):
            raise forms.ValidationError(
                "Password sign-in is for staff only. Use “Sign in with %(provider)s” above.",
                code="password_sign_in_off",
                params={"provider": settings.OIDC_PROVIDER_NAME},
            )
