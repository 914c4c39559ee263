"""The people view at any size of organisation (issue 14): its team filter is a team's name,
not a list of every team, and its count stops a few pages past the page shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from okrly.models import Team
from reviews import selectors
from reviews.views import _CappedPaginator
from tests.reviews.conftest import TODAY, Org, page, people_rows

pytestmark = pytest.mark.django_db


def test_the_team_filter_takes_a_teams_name(org: Org, reader: Any) -> None:
    html = page(reader.get("/dashboard/people/", {"team_name": "Growth"}))
    assert list(people_rows(html)) == ["Gabe of Growth", "Gina of Growth"]
    form = html.find("form", "inline-filter")
    boxes = [i for i in form.find_all("input") if i.attrs.get("name") == "team_name"]
    assert [b.attrs.get("value") for b in boxes] == ["Growth"]
    # Never a list of every team as options.
    assert form.find_all("option") == []


def test_an_unknown_team_name_says_so_and_lists_everyone(org: Org, reader: Any) -> None:
    html = page(reader.get("/dashboard/people/", {"team_name": "Nobody's"}))
    assert "No team is named “Nobody's”." in html.text
    assert len(people_rows(html)) == len(people_rows(page(reader.get("/dashboard/people/"))))


def test_the_page_costs_the_same_queries_with_one_team_or_many(org: Org, reader: Any) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert reader.get("/dashboard/people/").status_code == 200
        return len(queries)

    few = count()
    Team.objects.bulk_create(Team(name=f"Extra {n}", slug=f"extra-{n}") for n in range(40))
    Team.objects.refresh_departments()
    assert count() == few


def test_the_count_stops_past_its_cap(org: Org) -> None:
    people = selectors.people(org.quarter, TODAY)
    total = people.count()
    assert total > 5  # the organisation lists more than the cap below
    capped = _CappedPaginator(people, 2, cap_at=4)
    assert (capped.count, capped.more, capped.num_pages) == (5, True, 3)
    # Its pages are the listed people's, in order, whatever the cap.
    assert [p.pk for p in capped.page(2).object_list] == [p.pk for p in list(people)[2:4]]
    exact = _CappedPaginator(people, 2, cap_at=total)
    assert (exact.count, exact.more) == (total, False)


def test_the_risk_feed_counts_no_further_than_its_cap(org: Org) -> None:
    """Six key results with signals (test_figures): counted up to offset + cap + 1, which
    says "more"."""
    items, total = selectors.risk_feed(org.quarter, offset=0, limit=3)
    assert (len(items), total) == (3, 6)
    _, capped = selectors.risk_feed(org.quarter, offset=0, limit=3, cap=1)
    assert capped == 2
    later, capped = selectors.risk_feed(org.quarter, offset=3, limit=3, cap=1)
    assert capped == 5
    assert [i.obj.pk for i in later] == [
        i.obj.pk for i in selectors.risk_feed(org.quarter, offset=0, limit=9)[0][3:6]
    ]
    _, exact = selectors.risk_feed(org.quarter, offset=0, limit=3, cap=10)
    assert exact == 6


@pytest.mark.parametrize(
    "number", [None, "1", "2", "3", "99", "0", "-1", "abc", "2.0", "", "1" * 25]
)
def test_the_team_page_is_the_paginators_page_in_one_statement(org: Org, number: Any) -> None:
    """``TeamKeyResults.page`` reads the page and the count together; it must give what
    ``Paginator.get_page`` gives for any page number a URL can carry."""
    from django.core.paginator import Paginator

    team = max(
        org.teams.values(),
        key=lambda t: len(list(selectors.team_key_results(org.quarter, t, TODAY))),
    )
    rows = selectors.team_key_results(org.quarter, team, TODAY)
    everything = [r.pk for r in rows]
    assert len(everything) >= 3  # so that a page size of 2 makes several pages
    expected = Paginator(everything, 2).get_page(number)
    with CaptureQueriesContext(connection) as queries:
        page = rows.page(number, 2)
    assert (page.number, page.paginator.count, [r.pk for r in page.object_list]) == (
        expected.number,
        expected.paginator.count,
        list(expected.object_list),
    )
    # One statement for a page that exists; a number past the last (or below the first)
    # reads the count and the last page too.
    if expected.number == _wanted(number):
        assert len(queries) == 1
    else:
        assert 2 <= len(queries) <= 3


def _wanted(number: Any) -> int:
    try:
        return int(number) if number is not None else 1
    except ValueError:
        return 1
