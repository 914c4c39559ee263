"""Requests no view can answer are refused with 400 (or 404 for an id that names nothing),
never 500: NUL characters in an address, JSON nested 50,000 deep, and integer parameters
that ``str.isdigit()`` accepted but ``int()`` refused ("²")."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404, QueryDict
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from checkins.models import CheckIn
from okrly.params import ID_MAX, BadParameter, id_list_param, id_param, int_param

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(owner: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    return client


# --- the one integer parser ------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["²", "١x", "1e3", "0x10", "7.5", "", "  "])
def test_int_param_accepts_only_whole_numbers(raw: str) -> None:
    if not raw.strip():
        assert int_param({"week": raw}, "week") is None
        return
    with pytest.raises(BadParameter) as excinfo:
        int_param({"week": raw}, "week", min_value=1, max_value=32767)
    assert excinfo.value.field == "week"
    assert excinfo.value.message.startswith("week must be a whole number from 1 to 32767")


def test_int_param_reads_plain_numbers_and_checks_the_range() -> None:
    assert int_param({"week": " 12 "}, "week", min_value=1, max_value=14) == 12
    with pytest.raises(BadParameter, match="less than or equal to 14"):
        int_param({"week": "15"}, "week", min_value=1, max_value=14)


def test_an_id_beyond_bigint_is_no_id_and_on_a_page_names_nothing() -> None:
    assert id_param({"team": str(ID_MAX)}, "team") == ID_MAX
    with pytest.raises(BadParameter, match=r"team must be a number \(an id\)\."):
        id_param({"team": str(ID_MAX + 1)}, "team")
    with pytest.raises(Http404, match=r"No such team\."):
        id_param({"team": "²"}, "team", not_found=True)
    with pytest.raises(Http404, match=r"No such key result\."):
        id_list_param(QueryDict("kr=1&kr=%C2%B2"), "kr", label="key result")


# --- integer parameters on pages and the API -------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/ownership/test/?quarter=%C2%B2", "No such quarter."),
        ("/ownership/test/?kr=%C2%B2", "No such key result."),
        ("/ownership/test/?kr=99999999999999999999", "No such key result."),
        ("/objectives/?quarter=%C2%B2", "No such quarter."),
        ("/objectives/?quarter=99999999999999999999", "No such quarter."),
    ],
)
def test_page_ids_that_are_no_ids_answer_404(
    client_for: Any, outsider: Any, quarter: Any, url: str, message: str
) -> None:
    response = client_for(outsider).get(url)
    assert response.status_code == 404
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/objectives/?quarter=%C2%B2", "quarter"),
        ("/api/objectives/?team=%C2%B2", "team"),
        ("/api/key-results/?owner=%C2%B2", "owner"),
        ("/api/key-results/?quarter=99999999999999999999", "quarter"),
    ],
)
def test_api_ids_that_are_no_ids_answer_400(api: APIClient, url: str, name: str) -> None:
    response = api.get(url)
    assert response.status_code == 400
    assert response.json() == {name: [f"{name} must be a number (an id)."]}


# --- NUL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/teams/%00/",
        "/api/dependencies/?status=%00",
        "/api/key-results/?unit=a%00b",
        "/api/checkins/?week=1&x=%00",
    ],
)
def test_nul_in_an_api_address_is_refused_with_400(api: APIClient, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The address contains a NUL character (%00), which no page or API accepts."
    }


@pytest.mark.parametrize("url", ["/teams/%00/", "/dashboard/?sort=%00", "/objectives/?q=%00"])
def test_nul_in_a_page_address_is_refused_with_400(
    client_for: Any, outsider: Any, url: str
) -> None:
    response = client_for(outsider).get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_team_slug_without_nul_still_answers(api: APIClient, growth: Any) -> None:
    assert api.get("/api/teams/growth/").status_code == 200
    assert api.get("/api/teams/nobody/").status_code == 404


# --- deep JSON ---------------------------------------------------------------------------------


def test_json_nested_50000_deep_is_a_parse_error(api: APIClient, key_result: Any) -> None:
    body = "[" * 50_000 + "]" * 50_000
    response = api.post("/api/checkins/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}
    assert not CheckIn.objects.exists()


def test_json_nested_a_little_is_read_as_usual(api: APIClient, key_result: Any) -> None:
    body = '{"key_result": [[[1]]]}'
    response = api.post("/api/checkins/", body, content_type="application/json")
    assert response.status_code == 400
    assert "key_result" in response.json()


# --- addresses the API has no view for -------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/dashboard/teams/-1/", "/api/checkins/1/nothing/", "/api/nowhere/"]
)
def test_an_unknown_api_address_answers_json_404(api: APIClient, url: str) -> None:
    response = api.get(url)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_address_still_answers_the_404_page(client_for: Any, outsider: Any) -> None:
    response = client_for(outsider).get("/nowhere/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_a_team_slug_with_a_dot_is_the_apis_404(api: APIClient, growth: Any) -> None:
    response = api.get("/api/teams/gro.wth/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Team matches the given query."}
