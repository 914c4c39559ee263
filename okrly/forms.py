"""Form helpers shared by every app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from okrly.access import can_sign_in_with_password
from okrly.errors import OKRlyError
from okrly.models import display_name


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


class PersonChoiceField(forms.ModelChoiceField):
    """Active people, labelled by their display name and username."""

    def __init__(self, **kwargs: Any) -> None:
        queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .select_related("profile")
            .order_by("first_name", "last_name", "username")
        )
        super().__init__(queryset=queryset, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


def person_label(user: Any) -> str:
    """How a person picker names a person (``PersonChoiceField``'s options, and the options a
    page reads as SQL: a ``okrly.sql.Person`` will do)."""
    return f"{display_name(user)} ({user.get_username()})"


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
