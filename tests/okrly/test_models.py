"""Org structure invariants: quarters, time zones, teams."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from okrly.models import Membership, Profile, Quarter, validate_timezone
from tests.factories import MembershipFactory, QuarterFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_quarter_must_start_before_it_ends_in_the_form() -> None:
    quarter = Quarter(name="Backwards", start=date(2027, 3, 31), end=date(2027, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        quarter.full_clean()
    assert "end after it starts" in str(excinfo.value.message_dict["end"])


def test_quarter_must_start_before_it_ends_in_the_database() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Quarter.objects.create(name="Zero", start=date(2027, 1, 1), end=date(2027, 1, 1))


@pytest.mark.parametrize(
    ("start", "end", "overlaps"),
    [
        (date(2026, 12, 31), date(2027, 3, 31), True),  # shares the last day
        (date(2026, 11, 1), date(2026, 11, 30), True),  # inside
        (date(2026, 7, 1), date(2026, 10, 1), True),  # shares the first day
        (date(2027, 1, 1), date(2027, 3, 31), False),  # the day after
        (date(2026, 7, 1), date(2026, 9, 30), False),  # the day before
    ],
)
def test_quarters_do_not_overlap(start: date, end: date, overlaps: bool) -> None:
    QuarterFactory(name="2026 Q4", start=date(2026, 10, 1), end=date(2026, 12, 31))
    candidate = Quarter(name="New", start=start, end=end)
    if overlaps:
        with pytest.raises(ValidationError) as excinfo:
            candidate.full_clean()
        assert "overlap 2026 Q4" in excinfo.value.message_dict["start"][0]
    else:
        candidate.full_clean()


def test_editing_a_quarter_does_not_clash_with_itself() -> None:
    quarter = QuarterFactory(start=date(2026, 10, 1), end=date(2026, 12, 31))
    quarter.end = date(2026, 12, 30)
    quarter.full_clean()


def test_checkin_hour_is_refused_outside_the_day() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        QuarterFactory(checkin_hour=24)


@pytest.mark.parametrize("name", ["Europe/Paris", "America/New_York", "Pacific/Kiritimati", "UTC"])
def test_iana_timezones_are_accepted(name: str) -> None:
    validate_timezone(name)


@pytest.mark.parametrize("name", ["Paris", "CET+1", "Mars/Olympus", "", "europe/paris"])
def test_other_timezones_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_timezone(name)
    assert "IANA time zone" in excinfo.value.messages[0]


def test_profile_refuses_an_invalid_timezone_on_full_clean() -> None:
    user = UserFactory()
    profile = user.profile
    profile.timezone = "Moon/Base"
    with pytest.raises(ValidationError) as excinfo:
        profile.full_clean()
    assert "timezone" in excinfo.value.message_dict


def test_every_user_gets_a_profile() -> None:
    user = UserFactory()
    assert Profile.objects.filter(user=user).count() == 1


def test_a_person_is_not_their_own_manager() -> None:
    user = UserFactory()
    user.profile.manager = user
    with pytest.raises(IntegrityError), transaction.atomic():
        user.profile.save()


def test_out_of_office_until_includes_the_day() -> None:
    profile = UserFactory().profile
    profile.out_of_office_until = date(2026, 11, 20)
    assert profile.is_out_of_office(date(2026, 11, 20))
    assert not profile.is_out_of_office(date(2026, 11, 21))


def test_membership_is_unique_per_team() -> None:
    membership = MembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=membership.user, team=membership.team)


def test_team_tree_cannot_loop(growth: Any) -> None:
    child = TeamFactory(parent=growth)
    growth.parent = child
    with pytest.raises(ValidationError) as excinfo:
        growth.full_clean()
    assert "loop" in excinfo.value.message_dict["parent"][0]


def test_team_cannot_be_its_own_parent(growth: Any) -> None:
    growth.parent = growth
    with pytest.raises(IntegrityError), transaction.atomic():
        growth.save()


def test_current_quarter_is_the_active_one_containing_today() -> None:
    QuarterFactory(
        name="Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), status=Quarter.Status.REVIEWING
    )
    q4 = QuarterFactory(
        name="Q4", start=date(2026, 10, 1), end=date(2026, 12, 31), status=Quarter.Status.ACTIVE
    )
    QuarterFactory(
        name="Q1", start=date(2027, 1, 1), end=date(2027, 3, 31), status=Quarter.Status.PLANNING
    )
    assert Quarter.objects.current(date(2026, 11, 23)) == q4
