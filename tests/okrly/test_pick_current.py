"""``okrly.models.pick_current`` (the dashboard's quarter, picked from the quarters its
picker lists) chooses what ``Quarter.objects.current`` chooses in SQL, for any set of
quarters and any day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from okrly.models import Quarter, pick_current

pytestmark = pytest.mark.django_db

STATUSES = [s for s, _ in Quarter.Status.choices]
BASE = date(2026, 1, 1)


@hsettings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 120), st.sampled_from(STATUSES)), max_size=6
    ),
    today=st.integers(-30, 600),
)
def test_same_quarter_as_the_sql(spans: list[tuple[int, int, str]], today: int) -> None:
    Quarter.objects.all().delete()
    # One quarter may be active (okrly 0008): any later "active" draws plan instead.
    active = [i for i, (_, _, status) in enumerate(spans) if status == "active"]
    spans = [
        (start, length, "planning" if i in active[1:] else status)
        for i, (start, length, status) in enumerate(spans)
    ]
    # bulk_create: random quarters may overlap, which only Quarter.clean refuses; the two
    # rankings must agree on any rows.
    Quarter.objects.bulk_create(
        Quarter(
            name=f"Q{i}",
            start=BASE + timedelta(days=start),
            end=BASE + timedelta(days=start + length),
            status=status,
        )
        for i, (start, length, status) in enumerate(spans)
    )
    day = BASE + timedelta(days=today)
    assert pick_current(Quarter.objects.all(), day) == Quarter.objects.current(day)


def test_the_dashboard_reads_the_quarters_once(client_for: Any, leader: Any, quarter: Any) -> None:
    page = client_for(leader)
    page.get("/dashboard/risks/")
    with CaptureQueriesContext(connection) as captured:
        response = page.get("/dashboard/risks/")
    assert response.status_code == 200
    assert f'<option value="{quarter.pk}" selected>' in response.content.decode()
    # (The navigation's one statement names the quarter in its count of unanswered risks.)
    quarter_reads = [
        q
        for q in captured.captured_queries
        if 'FROM "okrly_quarter"' in q["sql"] and " AS unread" not in q["sql"]
    ]
    assert len(quarter_reads) == 1
