"""factory_boy factories. Rows with rules are still created by services in tests that test
those rules; factories are for the surrounding data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal

import factory
import time_machine
from django.contrib.auth.models import User

from objectives.models import KeyResult, Objective
from okrly.models import Membership, Notification, Quarter, Team

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save(update_fields=["password"])


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership
        # Naming a team's lead already made them a member with the lead role (Team.save).
        django_get_or_create = ("user", "team")

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class QuarterFactory(factory.django.DjangoModelFactory[Quarter]):
    class Meta:
        model = Quarter

    name = factory.Sequence(lambda n: f"Q{n}")
    start = date(2026, 10, 1)
    end = date(2026, 12, 31)
    # One quarter may be active (okrly 0008): the first a test makes is, later ones plan.
    status = factory.LazyFunction(
        lambda: (
            Quarter.Status.PLANNING
            if Quarter.objects.filter(status=Quarter.Status.ACTIVE).exists()
            else Quarter.Status.ACTIVE
        )
    )


class ObjectiveFactory(factory.django.DjangoModelFactory[Objective]):
    class Meta:
        model = Objective

    quarter = factory.SubFactory(QuarterFactory)
    team = factory.SubFactory(TeamFactory)
    title = factory.Sequence(lambda n: f"Objective {n}")
    rank = 1


class KeyResultFactory(factory.django.DjangoModelFactory[KeyResult]):
    class Meta:
        model = KeyResult

    objective = factory.SubFactory(ObjectiveFactory)
    title = factory.Sequence(lambda n: f"Key result {n}")
    owner = factory.SubFactory(UserFactory)
    start_value = Decimal(0)
    target_value = Decimal(100)
    current_value = Decimal(25)
    unit = "%"


class NotificationFactory(factory.django.DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = "test"
    subject = factory.Sequence(lambda n: f"Something happened {n}")
    body = "Details."
    link = "/"


@contextmanager
def during_week(quarter: Quarter, week: int) -> Iterator[None]:
    """The clock inside ``week`` of ``quarter`` (its first day, at noon UTC): an earlier
    week's check-in filled in on time, as a history is built, not late."""
    moment = datetime.combine(quarter.week_start(week), time(12), tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        yield
