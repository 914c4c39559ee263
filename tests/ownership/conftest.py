from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from okrly.models import Membership
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def manager(owner: Any) -> Any:
    """Olga's manager (not a lead of Growth)."""
    user = UserFactory(username="mia", first_name="Mia", last_name="Manager")
    owner.profile.manager = user
    owner.profile.save()
    return user


@pytest.fixture
def leader(db: Any) -> Any:
    user = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(user)
    return user


@pytest.fixture
def platform_lead(platform: Any) -> Any:
    user = UserFactory(username="paul", first_name="Paul", last_name="Platformlead")
    platform.lead = user
    platform.save()
    MembershipFactory(user=user, team=platform, role=Membership.Role.LEAD)
    return user
