"""A key result's start, target and current values go through Django's DecimalField (the
model's numeric(14, 2)): a value beyond the column, more decimals than it holds, or no finite
number is shown beside its field and nothing is written, never 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from objectives.models import KeyResult

pytestmark = pytest.mark.django_db


def key_result_form(owner: Any, **overrides: str) -> dict[str, Any]:
    return {
        "title": "Raise trial conversion",
        "owner": owner.pk,
        "direction": "increase",
        "start_value": "10",
        "target_value": "30",
        "current_value": "",
        "unit": "%",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target_value", "1e15", "Ensure that there are no more than 14 digits in total."),
        ("target_value", "12345678901234567890", "no more than 14 digits in total"),
        ("start_value", "-1e308", "no more than 14 digits in total"),
        ("target_value", "12.345", "Ensure that there are no more than 2 decimal places."),
        ("start_value", "1e-10", "no more than 2 decimal places"),
        ("target_value", "NaN", "Enter a number."),
        ("current_value", "Infinity", "Enter a number."),
    ],
)
def test_a_key_result_value_the_column_cannot_hold_is_refused_beside_its_field(
    client_for: Any, lead: Any, owner: Any, objective: Any, field: str, value: str, message: str
) -> None:
    response = client_for(lead).post(
        reverse("objectives:key_result_create", args=[objective.pk]),
        key_result_form(owner, **{field: value}),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in errors[field][0]
    assert not KeyResult.objects.exists()
