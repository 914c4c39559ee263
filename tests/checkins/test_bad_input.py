"""Bad input to a check-in answers 400 (API) or a message beside the field (My week), never
500, and nothing is half-written: values that overflow the column, more decimals than it
holds, a projection that overflows, and digits that are not ASCII ("²")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from checkins.models import CheckIn, CheckInRevision

pytestmark = pytest.mark.django_db

TOO_LARGE = [
    "1e15",
    "1e308",
    "-1e308",
    "1e999",
    "1e99999999999",
    "12345678901234567890",
    "-12345678901234567890",
]
NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "sNaN", "12,5x"]
TOO_PRECISE = [("12.345", "12.345"), ("1e-10", "1e-10"), ("0.001", "0.001")]


@pytest.fixture(autouse=True)
def week7() -> Iterator[Any]:
    """Tuesday 17 November 2026, week 7 of the 2026 Q4 quarter."""
    with time_machine.travel("2026-11-17 09:30:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(owner: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    return client


def body(key_result: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "key_result": key_result.pk,
        "status": "on_track",
        "confidence": "7",
        "biggest_risk": "Pricing page slips",
        "value": "18",
        **overrides,
    }


def form(key_result: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "status": "at_risk",
        "confidence": "6",
        "biggest_risk": "Pricing page slips",
        "need": "",
        "need_person": "",
        "need_dependency": "",
        "value": "18",
        **overrides,
    }
    return {f"kr{key_result.pk}-{name}": value for name, value in data.items()}


def nothing_written(key_result: Any) -> bool:
    key_result.refresh_from_db()
    return (
        not CheckIn.objects.exists()
        and not CheckInRevision.objects.exists()
        and key_result.current_value == Decimal(15)
        and key_result.latest_checkin_week is None
    )


@pytest.mark.parametrize("value", TOO_LARGE)
def test_a_value_beyond_the_column_is_refused_by_the_api(
    api: APIClient, key_result: Any, value: str
) -> None:
    response = api.post("/api/checkins/", body(key_result, value=value), format="json")
    assert response.status_code == 400
    message = response.json()["value"][0]
    assert "between -999,999,999,999.99 and 999,999,999,999.99" in message
    assert f"you typed “{value}”" in message
    assert nothing_written(key_result)


@pytest.mark.parametrize("value", [1e15, 1e308, -1e308])
def test_a_json_number_beyond_the_column_is_refused_too(
    api: APIClient, key_result: Any, value: float
) -> None:
    response = api.post("/api/checkins/", body(key_result, value=value), format="json")
    assert response.status_code == 400
    assert "between" in response.json()["value"][0]
    assert nothing_written(key_result)


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("Infinity", "JSON parse error"),  # not JSON: DRF's strict parser refuses it
        ("NaN", "JSON parse error"),
        ("1e999", "The current value must be a number"),  # JSON, but infinite as a float
    ],
)
def test_json_infinity_and_nan_are_refused(
    api: APIClient, key_result: Any, literal: str, message: str
) -> None:
    raw = (
        f'{{"key_result": {key_result.pk}, "status": "on_track", "confidence": "7", '
        f'"biggest_risk": "x", "value": {literal}}}'
    )
    response = api.post("/api/checkins/", raw, content_type="application/json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert nothing_written(key_result)


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_a_value_that_is_no_finite_number_is_refused(
    api: APIClient, key_result: Any, value: str
) -> None:
    response = api.post("/api/checkins/", body(key_result, value=value), format="json")
    assert response.status_code == 400
    assert response.json()["value"] == [
        f"The current value must be a number (you typed “{value}”)."
    ]
    assert nothing_written(key_result)


@pytest.mark.parametrize("value", TOO_LARGE)
def test_my_week_shows_the_range_beside_the_value_and_keeps_what_was_typed(
    client_for: Any, owner: Any, key_result: Any, value: str
) -> None:
    response = client_for(owner).post(
        reverse("checkins:submit", args=[key_result.pk]), form(key_result, value=value)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "between -999,999,999,999.99 and 999,999,999,999.99" in html
    assert f'value="{value}"' in html
    assert nothing_written(key_result)


@pytest.mark.parametrize(("value", "shown"), TOO_PRECISE)
def test_more_decimals_than_the_column_holds_are_refused_not_rounded(
    api: APIClient, client_for: Any, owner: Any, key_result: Any, value: str, shown: str
) -> None:
    response = api.post("/api/checkins/", body(key_result, value=value), format="json")
    assert response.status_code == 400
    assert response.json()["value"] == [
        f"The current value can have at most 2 decimal places (you typed “{shown}”); "
        "round it as you mean it."
    ]
    page = client_for(owner).post(
        reverse("checkins:submit", args=[key_result.pk]), form(key_result, value=value)
    )
    assert page.status_code == 400
    assert "can have at most 2 decimal places" in page.content.decode()
    assert nothing_written(key_result)


def test_trailing_zeros_are_not_extra_decimals(api: APIClient, key_result: Any) -> None:
    response = api.post("/api/checkins/", body(key_result, value="12.340"), format="json")
    assert response.status_code == 201
    assert CheckIn.objects.get().value == Decimal("12.34")


def test_the_largest_value_the_column_holds_is_stored_exactly(
    api: APIClient, key_result: Any
) -> None:
    response = api.post("/api/checkins/", body(key_result, value="-999999999999.99"), format="json")
    assert response.status_code == 201
    assert CheckIn.objects.get().value == Decimal("-999999999999.99")


def test_a_value_whose_forecast_overflows_is_saved_without_a_forecast(
    api: APIClient, key_result: Any, week7: Any
) -> None:
    """7e11 in week 7 (from 10 in week 0) heads for 1.3e12 by week 13: more than the forecast
    column holds. The check-in is kept; the forecast is left out, the flag still computed."""
    response = api.post("/api/checkins/", body(key_result, value="700000000000"), format="json")
    assert response.status_code == 201, response.content
    check_in = CheckIn.objects.get()
    assert (check_in.value, check_in.forecast_value) == (Decimal("700000000000"), None)
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal("700000000000")
    week7.move_to("2026-11-05 12:00:00+00:00")  # week 6, on time
    earlier = api.post(
        "/api/checkins/", body(key_result, value="-700000000000", week=6), format="json"
    )
    assert earlier.status_code == 201, earlier.content


@pytest.mark.parametrize("confidence", ["²", "٣x", "7.5", "1e1", "99999999999999999999", "11"])
def test_a_confidence_that_is_not_a_plain_whole_number_is_refused(
    api: APIClient, client_for: Any, owner: Any, key_result: Any, confidence: str
) -> None:
    response = api.post("/api/checkins/", body(key_result, confidence=confidence), format="json")
    assert response.status_code == 400
    assert "Confidence is a whole number from 0 to 10" in str(response.json())
    page = client_for(owner).post(
        reverse("checkins:submit", args=[key_result.pk]), form(key_result, confidence=confidence)
    )
    assert page.status_code == 400
    assert "Confidence is a whole number from 0 to 10" in page.content.decode()
    assert nothing_written(key_result)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"week": "²"}, "week must be a whole number from 1 to 32767"),
        ({"week": "99999"}, "week must be a whole number from 1 to 32767"),
        ({"key_result": "²"}, "key_result must be a number (an id)."),
        ({"key_result": "99999999999999999999"}, "key_result must be a number (an id)."),
    ],
)
def test_list_filters_refuse_what_is_not_a_number_in_range(
    api: APIClient, key_result: Any, query: dict[str, str], message: str
) -> None:
    response = api.get("/api/checkins/", query)
    assert response.status_code == 400
    (name,) = query
    assert response.json()[name][0].startswith(message)
