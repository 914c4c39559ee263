"""A need stays visible until its person handles it, and a new or changed need after that is
shown and notified again (a handled mark belongs to one need, not to one person)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.urls import reverse

from checkins import services
from checkins.models import CheckIn

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
WEEK_8 = "2026-11-24 09:30:00+00:00"  # a week after frozen_now (week 7 of 2026 Q4)


def submit(owner: Any, key_result: Any, **overrides: Any) -> CheckIn:
    kwargs: dict[str, Any] = {
        "status": "at_risk",
        "confidence": 6,
        "biggest_risk": "Pricing page redesign slips",
        "value": "18",
    }
    kwargs.update(overrides)
    return services.checkin_submit(user=owner, key_result=key_result, **kwargs)


def asked_page(client_for: Any, user: Any) -> str:
    return client_for(user).get(reverse("asked_of_me")).content.decode()


@pytest.fixture
def handled_need(owner: Any, key_result: Any, provider: Any) -> CheckIn:
    """Week 7: Olga needs a webhook from Pia, and Pia has marked it handled."""
    check_in = submit(owner, key_result, need="Wire the billing webhook", need_person=provider)
    return services.checkin_need_handle(check_in=check_in, user=provider)


def test_a_new_weeks_need_to_the_same_person_is_shown_and_notified_after_the_last_was_handled(
    client_for: Any, owner: Any, key_result: Any, provider: Any, handled_need: CheckIn
) -> None:
    assert "Wire the billing webhook" not in asked_page(client_for, provider)

    with time_machine.travel(WEEK_8, tick=False):
        week8 = submit(owner, key_result, need="Review the retry policy", need_person=provider)

        assert week8.week == 8
        assert week8.need_handled_at is None
        assert list(
            provider.notifications.filter(kind="need").order_by("pk").values_list("body", flat=True)
        ) == ["Wire the billing webhook", "Review the retry policy"]
        asked = asked_page(client_for, provider)
        assert "Review the retry policy" in asked
        assert "Wire the billing webhook" not in asked


def test_an_edited_need_to_the_same_person_resets_the_handled_mark_and_notifies_again(
    client_for: Any, owner: Any, key_result: Any, provider: Any, handled_need: CheckIn
) -> None:
    edited = submit(owner, key_result, need="Also the refund webhook", need_person=provider)

    assert edited.pk == handled_need.pk
    edited.refresh_from_db()
    assert edited.need_handled_at is None
    assert list(
        provider.notifications.filter(kind="need").order_by("pk").values_list("body", flat=True)
    ) == ["Wire the billing webhook", "Also the refund webhook"]
    assert "Also the refund webhook" in asked_page(client_for, provider)


def test_editing_other_answers_keeps_a_handled_need_handled_and_quiet(
    client_for: Any, owner: Any, key_result: Any, provider: Any, handled_need: CheckIn
) -> None:
    # Same need (the surrounding spaces are stripped as on the first submission), new value.
    edited = submit(
        owner, key_result, need="  Wire the billing webhook ", need_person=provider, value="21"
    )

    edited.refresh_from_db()
    assert edited.need_handled_at == handled_need.need_handled_at
    assert provider.notifications.filter(kind="need").count() == 1
    assert "Wire the billing webhook" not in asked_page(client_for, provider)
