"""``Team.department`` is the top of each team's tree, kept by ``Team.save`` and by
``TeamQuerySet.refresh_departments`` (what bulk creation must call): the organisation view
adds its figures up by it, so a wrong one would put a team's figures in another department."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps

from okrly.models import Team
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def departments() -> dict[str, str | None]:
    names = dict(Team.objects.values_list("pk", "name"))
    return {
        name: names.get(dept) if dept else None
        for name, dept in Team.objects.values_list("name", "department_id")
    }


def test_a_top_level_team_is_its_own_department_and_a_team_below_is_in_its_top() -> None:
    top = TeamFactory(name="Product")
    mid = TeamFactory(name="Growth", parent=top)
    low = TeamFactory(name="Onboarding", parent=mid)
    assert departments() == {"Product": "Product", "Growth": "Product", "Onboarding": "Product"}
    assert low.department_id == top.pk  # the instance too, not only the row


def test_moving_a_team_moves_every_team_below_it() -> None:
    product, platform = TeamFactory(name="Product"), TeamFactory(name="Platform")
    growth = TeamFactory(name="Growth", parent=product)
    TeamFactory(name="Onboarding", parent=growth)
    growth.parent = platform
    growth.save()
    assert departments()["Onboarding"] == "Platform"
    assert departments()["Growth"] == "Platform"
    growth.parent = None  # promoted to a department of its own
    growth.save(update_fields=["parent"])
    assert departments() == {
        "Product": "Product",
        "Platform": "Platform",
        "Growth": "Growth",
        "Onboarding": "Growth",
    }


def test_a_save_that_does_not_touch_the_parent_reads_nothing_more(
    django_assert_num_queries: Any,
) -> None:
    team = TeamFactory(name="Product")
    with django_assert_num_queries(1):
        team.save(update_fields=["name"])


def test_bulk_created_teams_get_theirs_from_refresh_departments() -> None:
    top = Team.objects.bulk_create([Team(name="Ops", slug="ops")])[0]
    Team.objects.bulk_create([Team(name=f"Ops {n}", slug=f"ops-{n}", parent=top) for n in range(3)])
    assert set(departments().values()) == {None}  # bulk_create skips save
    assert Team.objects.refresh_departments() == 4
    assert set(departments().values()) == {"Ops"}
    assert Team.objects.refresh_departments() == 0  # nothing left to change


def test_the_migration_fills_existing_teams() -> None:
    top = TeamFactory(name="Product")
    TeamFactory(name="Growth", parent=top)
    Team.objects.update(department=None)
    migration = importlib.import_module("okrly.migrations.0007_team_department")
    migration.fill(django_apps, None)
    assert departments() == {"Product": "Product", "Growth": "Product"}


def test_the_nightly_job_repairs_what_a_bulk_write_left() -> None:
    from okrly.tasks import teams_departments_refresh_task

    top = TeamFactory(name="Product")
    TeamFactory(name="Growth", parent=top)
    Team.objects.update(department=None)
    assert teams_departments_refresh_task.apply().get() == {"teams": 2}
    assert departments() == {"Product": "Product", "Growth": "Product"}
    assert teams_departments_refresh_task.apply().get() == {"teams": 0}
