"""Every in-app person picker names a person the same way, "Name (Team)" with a team they
lead first (the audit found the escalation picker saying "Tom Reyes (Leadership)" where the
dependency picker said "Tom Reyes (Product)")."""

from __future__ import annotations

import pytest

from okrly.forms import PeopleChoiceField, PersonChoiceField
from okrly.models import Membership
from reviews.early_escalation_forms import people_choices
from reviews.response_forms import PeoplePicker, PersonPicker
from reviews.review_views import _people
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_picker_names_a_person_by_the_team_they_lead() -> None:
    tom = UserFactory(username="tom", first_name="Tom", last_name="Reyes")
    # A member of "Alpha" (first by name), the lead of "Product".
    MembershipFactory(user=tom, team=TeamFactory(name="Alpha"))
    MembershipFactory(user=tom, team=TeamFactory(name="Product"), role=Membership.Role.LEAD)
    loner = UserFactory(username="loner", first_name="Lee", last_name="Lone")

    def label(choices: list[tuple[object, str]], pk: int) -> str:
        return next(text for value, text in choices if str(value) == str(pk))

    for person, said in ((tom, "Tom Reyes (Product)"), (loner, "Lee Lone (loner)")):
        labels = {
            "early escalation": label(people_choices(), person.pk),
            "review owner": _people()[person.pk][1],
        }
        for name, field in {
            "person": PersonChoiceField(),
            "people": PeopleChoiceField(),
            "response person": PersonPicker(),
            "response people": PeoplePicker(),
        }.items():
            labels[name] = label(list(field.choices), person.pk)
        assert set(labels.values()) == {said}, labels
