"""Every CSV export neutralises formula-like text: a spreadsheet opening the file shows what
was typed and runs nothing (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest

from okrly.csvexport import safe_cell
from tests.factories import KeyResultFactory, ObjectiveFactory, UserFactory

pytestmark = pytest.mark.django_db

# What a person could type as a key-result title or a name, each read as a formula by
# Excel, LibreOffice or Google Sheets when the cell starts with it.
PAYLOADS = [
    '=HYPERLINK("x")',
    "@SUM(1)",
    "+1+1",
    "-2",
    "\t=1+2",
    "\r=1+2",
]


def _rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode(), newline="")))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_cell_prefixes_formula_like_text_with_a_quote(payload: str) -> None:
    assert safe_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", ["Raise trial conversion", "", "a=b", "1+1", "'=quoted"])
def test_safe_cell_leaves_ordinary_text_alone(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-2, 0, 7, Decimal("-1.5"), None])
def test_safe_cell_leaves_numbers_written_by_the_app_alone(value: Any) -> None:
    """A negative figure the app computed is data, not typed text: it stays a number."""
    assert safe_cell(value) is value


@pytest.fixture
def hostile(quarter: Any, growth: Any, leader: Any) -> dict[str, Any]:
    """Growth's key results are titled with every payload; each is owned by a person whose
    first name is that payload too ("<payload> Hostile"), so the people export carries them.
    A name's leading tab or return is dropped by Django's get_full_name(); what is left starts
    with "=" and is neutralised the same."""
    objective = ObjectiveFactory(quarter=quarter, team=growth, title="Objective")
    for number, payload in enumerate(PAYLOADS):
        owner = UserFactory(username=f"hostile{number}", first_name=payload, last_name="Hostile")
        KeyResultFactory(objective=objective, owner=owner, title=payload)
    return {"quarter": quarter, "team": growth}


def test_team_csv_neutralises_formula_like_titles_and_names(
    hostile: dict[str, Any], client_for: Any, leader: Any
) -> None:
    response = client_for(leader).get(
        f"/dashboard/teams/{hostile['team'].pk}/",
        {"format": "csv", "quarter": hostile["quarter"].pk},
    )
    rows = _rows(response)[1:]
    assert sorted(row[0] for row in rows) == sorted("'" + p for p in PAYLOADS)
    assert sorted(row[1] for row in rows) == sorted("'" + f"{p} Hostile".strip() for p in PAYLOADS)
    # Nothing else in the file starts a formula either.
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@", "\t"))]


def test_people_csv_neutralises_formula_like_names(
    hostile: dict[str, Any], client_for: Any, leader: Any
) -> None:
    response = client_for(leader).get(
        "/dashboard/people/", {"format": "csv", "quarter": hostile["quarter"].pk}
    )
    rows = _rows(response)[1:]
    assert sorted(row[0] for row in rows) == sorted("'" + f"{p} Hostile".strip() for p in PAYLOADS)
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@", "\t"))]
