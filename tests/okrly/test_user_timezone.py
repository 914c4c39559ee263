"""``okrly.models.user_timezone``: the profile's zone, else UTC, whichever way the user was
read, and one query at most per user object."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from okrly.models import Profile, user_timezone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fresh(pk: int) -> Any:
    return get_user_model().objects.get(pk=pk)


def test_the_profiles_zone_read_once_per_user_object() -> None:
    user = UserFactory()
    Profile.objects.update_or_create(user=user, defaults={"timezone": "Asia/Tokyo"})
    fresh = _fresh(user.pk)
    with CaptureQueriesContext(connection) as queries:
        assert user_timezone(fresh) == "Asia/Tokyo"
        assert user_timezone(fresh) == "Asia/Tokyo"
    assert len(queries) == 1


def test_a_loaded_profile_costs_no_query() -> None:
    user = UserFactory()
    Profile.objects.update_or_create(user=user, defaults={"timezone": "Europe/Lisbon"})
    loaded = get_user_model().objects.select_related("profile").get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        assert user_timezone(loaded) == "Europe/Lisbon"
    assert len(queries) == 0


def test_no_profile_is_utc_and_a_lazy_user_works() -> None:
    user = UserFactory()
    Profile.objects.filter(user=user).delete()
    assert user_timezone(_fresh(user.pk)) == "UTC"
    lazy = SimpleLazyObject(lambda: _fresh(user.pk))
    assert user_timezone(lazy) == "UTC"
