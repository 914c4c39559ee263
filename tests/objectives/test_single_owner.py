"""Rule 1: one accountable person per key result, enforced by the schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from objectives import services
from objectives.models import KeyResult
from okrly.errors import RuleBroken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_owner_is_a_single_required_foreign_key_to_a_person() -> None:
    field = KeyResult._meta.get_field("owner")
    assert field.many_to_one
    assert field.related_model is get_user_model()
    assert field.null is False
    # No second way to own a key result: no many-to-many to people, no team owner.
    assert not [f for f in KeyResult._meta.get_fields() if f.many_to_many]


def test_database_refuses_a_key_result_without_owner(objective: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyResult.objects.create(objective=objective, title="Nobody's", target_value=10)


def test_database_refuses_null_owner_in_raw_sql(objective: Any) -> None:
    """Even a write that bypasses the ORM cannot leave the owner empty."""
    table = KeyResult._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (objective_id, title, start_value, target_value, "
            "current_value, unit, direction, owner_id, created_at, updated_at) "
            "VALUES (%s, 'raw', 0, 10, 0, '', 'increase', NULL, %s, %s)",
            [objective.pk, "2026-11-01 00:00:00", "2026-11-01 00:00:00"],
        )


def test_database_refuses_a_team_as_owner(objective: Any, growth: Any) -> None:
    """A team's id is not a person: the foreign key to the user table refuses it."""
    from django.db.models import Max

    highest = get_user_model().objects.aggregate(m=Max("pk"))["m"] or 0
    missing_user_id = highest + growth.pk + 1000

    def insert_team_owned() -> None:
        # Django declares foreign keys DEFERRABLE INITIALLY DEFERRED; check_constraints makes
        # the database check them now, as it would at commit.
        with transaction.atomic():
            KeyResult.objects.create(
                objective=objective, title="Team-owned", target_value=10, owner_id=missing_user_id
            )
            connection.check_constraints(table_names=[KeyResult._meta.db_table])

    with pytest.raises(IntegrityError):
        insert_team_owned()
    with pytest.raises(ValueError, match='must be a "User" instance'):
        KeyResult(objective=objective, title="Team-owned", target_value=10, owner=growth)


def test_service_refuses_a_team_as_owner(lead: Any, objective: Any, growth: Any) -> None:
    with pytest.raises(RuleBroken) as excinfo:
        services.key_result_create(
            user=lead, objective=objective, title="Shared", owner=growth, target_value=Decimal(5)
        )
    assert excinfo.value.field == "owner"
    assert "a person, not a team" in excinfo.value.message
    assert not KeyResult.objects.filter(title="Shared").exists()


def test_service_refuses_no_owner(lead: Any, objective: Any) -> None:
    with pytest.raises(RuleBroken, match="one person accountable"):
        services.key_result_create(
            user=lead, objective=objective, title="Orphan", owner=None, target_value=Decimal(5)
        )


def test_service_refuses_a_deactivated_owner(lead: Any, objective: Any) -> None:
    gone = UserFactory(is_active=False)
    with pytest.raises(RuleBroken, match="deactivated"):
        services.key_result_create(
            user=lead, objective=objective, title="Ghost", owner=gone, target_value=Decimal(5)
        )


def test_deleting_an_owner_is_refused_while_they_own_key_results(key_result: Any) -> None:
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        key_result.owner.delete()


def key_result_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Paying SMB teams",
        "direction": "increase",
        "start_value": "0",
        "target_value": "50",
        "current_value": "",
        "unit": "teams",
    }
    data.update(overrides)
    return data


def test_the_form_refuses_two_owners_instead_of_keeping_the_last(
    client_for: Any, lead: Any, owner: Any, teammate: Any, objective: Any
) -> None:
    url = reverse("objectives:key_result_create", args=[objective.pk])
    client = client_for(lead)

    response = client.post(url, key_result_post(owner=[owner.pk, teammate.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose one owner, not 2." in html
    assert 'value="Paying SMB teams"' in html
    assert not KeyResult.objects.filter(title="Paying SMB teams").exists()

    response = client.post(url, key_result_post(owner=teammate.pk))
    assert response.status_code == 302
    assert KeyResult.objects.get(title="Paying SMB teams").owner == teammate


def test_the_forms_refuse_two_values_for_any_single_valued_field(
    client_for: Any, lead: Any, owner: Any, objective: Any, key_result: Any
) -> None:
    client = client_for(lead)
    response = client.post(
        reverse("objectives:key_result_create", args=[objective.pk]),
        key_result_post(owner=owner.pk, target_value=["50", "80"]),
    )
    assert "Choose one target, not 2." in response.content.decode()
    assert not KeyResult.objects.filter(title="Paying SMB teams").exists()

    response = client.post(
        reverse("objectives:key_result_edit", args=[key_result.pk]),
        key_result_post(title=["Raise trial conversion", "Something else"]),
    )
    assert "Choose one title, not 2." in response.content.decode()
    key_result.refresh_from_db()
    assert key_result.title == "Raise trial conversion"
