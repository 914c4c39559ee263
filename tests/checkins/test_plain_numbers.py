"""Values are written as plain decimals (40, 1850, 12.5), never as 4E+1 or 1.85E+3."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from checkins import services
from okrly.numbers import plain_number

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("40.00", "40"),
        ("1850.00", "1850"),
        ("12.50", "12.5"),
        ("0.05", "0.05"),
        ("-0.00", "0"),
        ("-300.00", "-300"),
        ("999999999999.99", "999999999999.99"),
        ("1E+11", "100000000000"),
    ],
)
def test_plain_number_never_uses_an_exponent(stored: str, shown: str) -> None:
    assert plain_number(Decimal(stored)) == shown


def test_my_week_prefills_round_values_without_an_exponent(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    key_result.current_value = Decimal("40.00")
    key_result.save()
    client = client_for(owner)

    html = client.get(reverse("home")).content.decode()
    assert f'name="kr{key_result.pk}-value" value="40"' in html

    services.checkin_submit(
        user=owner,
        key_result=key_result,
        status="on_track",
        confidence=7,
        biggest_risk="Pricing page redesign slips",
        value="1850",
    )
    html = client.get(reverse("home")).content.decode()
    assert f'name="kr{key_result.pk}-value" value="1850"' in html
    assert "E+" not in html


def test_key_result_pages_show_plain_decimals(client_for: Any, owner: Any, key_result: Any) -> None:
    key_result.start_value = Decimal("12.50")
    key_result.target_value = Decimal("1850.00")
    key_result.save()
    services.checkin_submit(
        user=owner,
        key_result=key_result,
        status="at_risk",
        confidence=5,
        biggest_risk="Pricing page redesign slips",
        value="40",
    )

    html = client_for(owner).get(key_result.get_absolute_url()).content.decode()

    assert "<dd>12.5 %</dd>" in html  # the start
    assert "<dd>1850 %</dd>" in html  # the target
    assert "value 40 %" in html  # the check-in in the timeline
    assert "12.50" not in html
    assert "1850.00" not in html
    assert "E+" not in html
