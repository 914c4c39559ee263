"""The CSV exports say what the pages say: every row of the team view's and the people
view's CSV has the numbers rendered in the HTML table and returned by the API, for the
organisation of conftest.py (read on 17 November 2026)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from reviews import selectors, views
from tests.reviews.conftest import Org, page, people_rows, team_rows

pytestmark = pytest.mark.django_db

# Commerce is a department: its own page lists its own key results (none).
KEY_RESULTS = {
    "Growth": 3,
    "Sales": 2,
    "Platform": 1,
    "Mobile": 2,
    "Support": 1,
    "Operations": 1,
    "Commerce": 0,
}


def read_csv(response: Any, header: list[str]) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="okrly-')
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == header
    return [dict(zip(header, line, strict=True)) for line in lines[1:]]


@pytest.mark.parametrize("team", list(KEY_RESULTS))
def test_team_csv_matches_the_team_page_and_the_api(org: Org, reader: Any, team: str) -> None:
    url = f"/dashboard/teams/{org.teams[team].pk}/"
    html = team_rows(page(reader.get(url)))
    exported = read_csv(reader.get(url, {"format": "csv"}), views.TEAM_HEADER)
    api = {
        r["title"]: r
        for r in reader.get(f"/api/dashboard/teams/{org.teams[team].pk}/").json()["results"]
    }

    assert [row["key result"] for row in exported] == list(html) == list(api)
    assert len(exported) == KEY_RESULTS[team]
    for row in exported:
        shown, given = html[row["key result"]], api[row["key result"]]
        as_numbers = {
            "progress": int(row["progress %"]),
            "confidence": int(row["confidence"]) if row["confidence"] else None,
            "open": int(row["dependencies open"]),
            "committed": int(row["dependencies committed"]),
            "escalated": int(row["escalated"]),
            "needs": int(row["open needs"]),
            "failing": len(row["failing checks"].split()),
        }
        assert as_numbers == {key: shown[key] for key in as_numbers}
        assert as_numbers == {
            "progress": given["progress"],
            "confidence": given["confidence"],
            "open": given["dependencies_open"],
            "committed": given["dependencies_committed"],
            "escalated": given["dependencies_escalated"],
            "needs": given["open_needs"],
            "failing": len(given["accountability"]["reasons"]),
        }
        assert row["owner"] == shown["owner"]
        assert row["latest check-in"] == shown["status"]
        assert row["accountability"] == ("pass" if shown["passed"] else "at risk")
        assert shown["passed"] is given["accountability"]["passed"]
        assert row["failing checks"].split() == [
            name for name, check in given["accountability"]["checks"].items() if not check["passed"]
        ]


def test_team_csv_of_a_team_with_every_kind_of_row(org: Org, reader: Any) -> None:
    """Spelled out for Sales: S1 fails on authority, S2 has no check-in and an escalated,
    at-risk dependency."""
    response = reader.get(f"/dashboard/teams/{org.teams['Sales'].pk}/", {"format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="okrly-sales-2026-Q4.csv"'
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines == [
        views.TEAM_HEADER,
        # title, owner, progress, latest, confidence, verdict, failing checks,
        # dependencies open, committed, escalated, open needs
        ["S1 key result", "Sam of Sales", "10", "On track", "9", "at risk", "authority", *"0000"],
        ["S2 key result", "Sid of Sales", "25", "", "", "at risk", "dependencies", *"1110"],
    ]


@pytest.mark.parametrize(
    "team", ["", "Growth", "Sales", "Platform", "Mobile", "Support", "Data", "Finance"]
)
def test_people_csv_matches_the_people_page_and_the_api(org: Org, reader: Any, team: str) -> None:
    query = {"team": org.teams[team].pk} if team else {}
    people_page = page(reader.get("/dashboard/people/", query))
    html = people_rows(people_page)
    escalations = people_rows(people_page, escalations=True)
    exported = read_csv(
        reader.get("/dashboard/people/", {**query, "format": "csv"}), views.PEOPLE_HEADER
    )
    api = {p["name"]: p for p in reader.get("/api/dashboard/people/", query).json()["results"]}
    assert [row["person"] for row in exported] == list(html) == list(api)
    for row in exported:
        numbers = tuple(int(row[column]) for column in views.PEOPLE_HEADER[1:])
        assert numbers == html[row["person"]] + escalations[row["person"]]
        assert numbers == tuple(api[row["person"]][f] for f in selectors.PEOPLE_FIGURES)
    if team == "":
        assert len(exported) == 10
        assert sum(int(row["owes dependencies"]) for row in exported) == 4  # D1, D2, D3, D4


def test_people_csv_filtered_by_team_is_that_teams_rows_of_the_full_csv(
    org: Org, reader: Any
) -> None:
    everyone = {
        row["person"]: row
        for row in read_csv(reader.get("/dashboard/people/?format=csv"), views.PEOPLE_HEADER)
    }
    mobile = read_csv(
        reader.get("/dashboard/people/", {"team": org.teams["Mobile"].pk, "format": "csv"}),
        views.PEOPLE_HEADER,
    )
    assert [row["person"] for row in mobile] == ["Milo of Mobile", "Mona of Mobile"]
    assert all(row == everyone[row["person"]] for row in mobile)
