"""The teams page counts what a team carries this quarter: not the objectives and key results
a trade-off dropped or deferred (rule 8), as the team's limit and the dashboard do not."""

from __future__ import annotations

from typing import Any

import pytest

from okrly import selectors
from tests.displacing import drop
from tests.factories import KeyResultFactory, ObjectiveFactory

pytestmark = pytest.mark.django_db


def counts(quarter: Any) -> dict[str, tuple[int, int]]:
    return {
        t.name: (t.objective_count, t.key_result_count)
        for t in selectors.teams_with_counts(quarter)
    }


def test_the_teams_page_leaves_displaced_objectives_and_key_results_out(
    client_for: Any,
    quarter: Any,
    growth: Any,
    lead: Any,
    owner: Any,
    objective: Any,
    key_result: Any,
) -> None:
    KeyResultFactory(objective=objective, owner=owner, title="Cut churn")
    other = ObjectiveFactory(quarter=quarter, team=growth, title="Localise checkout", rank=2)
    KeyResultFactory(objective=other, owner=owner, title="Ship in German")
    assert counts(quarter)["Growth"] == (2, 3)

    drop(lead, key_result, title="Ship SSO")  # adds an objective without key results
    assert counts(quarter)["Growth"] == (3, 2)
    drop(lead, other, title="Fix invoices")  # the objective and its key result
    assert counts(quarter)["Growth"] == (3, 1)

    html = client_for(lead).get("/teams/").content.decode()
    assert '<td class="num">3</td>' in html
    assert '<td class="num">1</td>' in html
