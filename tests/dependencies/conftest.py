from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dependencies import services
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def platform_peer(platform: Any) -> Any:
    user = UserFactory(username="pete", first_name="Pete", last_name="Peer")
    MembershipFactory(user=user, team=platform)
    return user


@pytest.fixture
def request_dependency(owner: Any, key_result: Any, platform: Any, provider: Any) -> Any:
    """``request_dependency(**overrides)``: the owner asks Pia (Platform) for an API."""

    def make(**overrides: Any) -> Any:
        kwargs: dict[str, Any] = {
            "user": owner,
            "key_result": key_result,
            "provider_team": platform,
            "responsible": provider,
            "deliverable": "Billing API v2",
            "due_date": date(2026, 12, 1),
        }
        kwargs.update(overrides)
        return services.dependency_request(**kwargs)

    return make


# The local webhook server standing in for Slack and Teams (issue 16).
from tests.webhooks import webhook  # noqa: E402, F401
