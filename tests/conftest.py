"""Shared fixtures: a small organisation of named people with fixed roles.

- ``lead``: lead of the Growth team (its ``Team.lead`` and a member with the lead role)
- ``owner``: a Growth member who owns a key result
- ``teammate``: another Growth member, no special rights
- ``provider``: a member of another team (Platform)
- ``platform_lead``: lead of Platform
- ``manager``: Olga's manager, who leads no team
- ``leader``: a member of the leadership group
- ``admin_user``: staff, configures the organisation
- ``outsider``: signed-in user with no team and no rights
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from okrly.models import Membership
from tests.factories import (
    PASSWORD,
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)

# Playwright runs an event loop in the test thread; Django's ORM refuses to run there
# unless told it is safe (the live server is in another thread, the test only sets up data).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# The day every test runs on, whatever the calendar says: CI runs on any day of the year, and
# a test that read the real date passed when written and failed weeks later. CI reruns the
# browser and dashboard tests with OKRLY_TEST_TODAY set to the quarter's first day, a Monday in
# mid-quarter and its last day (.ci/run). 2026-11-30 is the Monday the old suite broke on.
TEST_TODAY = date.fromisoformat(os.environ.get("OKRLY_TEST_TODAY") or "2026-11-30")
TEST_NOW = datetime.combine(TEST_TODAY, time(10, 0), tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(request: pytest.FixtureRequest) -> Any:
    """Every test starts at TEST_NOW (the clock ticks on from there, so timeouts still work).

    Tests that pin their own moment travel again inside this one (time-machine nests).
    Integration tests are left on the real clock: their workers are other processes, which
    can't be moved, and a test and its worker must agree on the time.
    """
    if request.node.get_closest_marker("integration"):
        yield None
        return
    with time_machine.travel(TEST_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def frozen_now() -> Any:
    """Inside the demo quarter (2026 Q4), on a Tuesday morning UTC."""
    with time_machine.travel("2026-11-17 09:30:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def quarter(db: Any) -> Any:
    return QuarterFactory(name="2026 Q4")


@pytest.fixture
def growth(db: Any) -> Any:
    return TeamFactory(name="Growth", slug="growth")


@pytest.fixture
def platform(db: Any) -> Any:
    return TeamFactory(name="Platform", slug="platform")


@pytest.fixture
def lead(growth: Any) -> Any:
    user = UserFactory(username="lena", first_name="Lena", last_name="Lead")
    growth.lead = user
    growth.save()
    MembershipFactory(user=user, team=growth, role=Membership.Role.LEAD)
    return user


@pytest.fixture
def owner(growth: Any) -> Any:
    user = UserFactory(username="olga", first_name="Olga", last_name="Owner")
    MembershipFactory(user=user, team=growth)
    return user


@pytest.fixture
def teammate(growth: Any) -> Any:
    user = UserFactory(username="tim", first_name="Tim", last_name="Teammate")
    MembershipFactory(user=user, team=growth)
    return user


@pytest.fixture
def provider(platform: Any) -> Any:
    user = UserFactory(username="pia", first_name="Pia", last_name="Provider")
    MembershipFactory(user=user, team=platform)
    return user


@pytest.fixture
def admin_user(db: Any) -> Any:
    return UserFactory(username="ada", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db: Any) -> Any:
    return UserFactory(username="otto", first_name="Otto", last_name="Outsider")


@pytest.fixture
def platform_lead(platform: Any) -> Any:
    user = UserFactory(username="paul", first_name="Paul", last_name="Platformlead")
    platform.lead = user
    platform.save()
    MembershipFactory(user=user, team=platform, role=Membership.Role.LEAD)
    return user


@pytest.fixture
def manager(owner: Any) -> Any:
    """Olga's manager, who leads no team."""
    user = UserFactory(username="mia", first_name="Mia", last_name="Manager")
    owner.profile.manager = user
    owner.profile.save()
    return user


@pytest.fixture
def leader(db: Any) -> Any:
    """A member of the leadership group."""
    from django.contrib.auth.models import Group

    user = UserFactory(username="lea", first_name="Lea", last_name="Leader")
    Group.objects.get_or_create(name="Leadership")[0].user_set.add(user)
    return user


@pytest.fixture
def objective(quarter: Any, growth: Any) -> Any:
    return ObjectiveFactory(quarter=quarter, team=growth, title="Grow self-serve revenue")


@pytest.fixture
def key_result(objective: Any, owner: Any) -> Any:
    return KeyResultFactory(
        objective=objective,
        owner=owner,
        title="Raise trial conversion",
        start_value=Decimal(10),
        target_value=Decimal(30),
        current_value=Decimal(15),
    )


@pytest.fixture
def client_for(client: Any) -> Any:
    """``client_for(user)``: the test client signed in as that user."""

    def sign_in(user: Any) -> Any:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Each test starts with an empty cache: cached dashboard figures from an earlier test's
    database must never answer for this one's (the in-memory cache outlives databases)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
