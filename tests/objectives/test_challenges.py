"""Challenges to a reading (issue 11, part 1): "this is not what we meant", and its thread.

The cast is tests/conftest.py's, plus Lars, a second lead of Growth. Growth's objective has
version 1 written by Lena; Lars reads it; Lea (leadership) says that is not what was meant.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from objectives import challenges, services
from objectives.definitions import current_version
from objectives.models import DefinitionChallenge, DefinitionComment
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Membership, Notification
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

READING = "I will stop hiring quota reps for it."
MEANT = "We meant margin first: hiring stays frozen, but pricing work goes ahead."


@pytest.fixture
def lars(growth: Any) -> Any:
    user = UserFactory(username="lars", first_name="Lars", last_name="Second")
    MembershipFactory(user=user, team=growth, role=Membership.Role.LEAD)
    return user


@pytest.fixture
def reading(objective: Any, lead: Any, lars: Any, leader: Any) -> Any:
    """Lars's reading of version 1, which Lena wrote."""
    services.objective_update(user=lead, objective=objective, means="Protect margin")
    assert _version(objective).author == lead
    return services.definition_acknowledge(user=lars, objective=objective, reading=READING)


def _version(objective: Any) -> Any:
    version = current_version(objective)
    assert version is not None
    return version


def _told(kind: str = "definition_challenge") -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def _page(client: Any, objective: Any) -> str:
    response = client.get(reverse("objectives:detail", args=[objective.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


# --- the services ---------------------------------------------------------------------------


def test_a_member_challenges_another_members_reading_and_author_and_reader_are_told(
    reading: Any, leader: Any, objective: Any
) -> None:
    challenge = challenges.definition_challenge(
        user=leader, acknowledgement=reading, message=f"  {MEANT}  "
    )
    assert (challenge.acknowledgement, challenge.author) == (reading, leader)
    assert [(c.author, c.body) for c in challenge.comments.all()] == [(leader, MEANT)]
    # Lena wrote the definition, Lars read it; Lea, who wrote the challenge, is not told.
    assert _told() == {"lena", "lars"}
    note = Notification.objects.get(kind="definition_challenge", recipient__username="lars")
    assert note.link == reverse("objectives:detail", args=[objective.pk]) + (
        f"#challenge-{challenge.pk}"
    )
    assert MEANT in note.body
    assert "Lea Leader says Lars Second's reading of version 1" in note.body


def test_ones_own_reading_cannot_be_challenged(reading: Any, lars: Any) -> None:
    with pytest.raises(NotAllowed, match="your own reading"):
        challenges.definition_challenge(user=lars, acknowledgement=reading, message=MEANT)
    assert not DefinitionChallenge.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "owner", "admin_user"])
def test_nobody_outside_the_definition_group_challenges(
    request: pytest.FixtureRequest, reading: Any, who: str
) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(NotAllowed, match="Only the leaders who must share"):
        challenges.definition_challenge(user=user, acknowledgement=reading, message=MEANT)
    assert not DefinitionChallenge.objects.exists()
    assert not Notification.objects.filter(kind="definition_challenge").exists()


@pytest.mark.parametrize("message", ["", "   \n ", None])
def test_a_challenge_must_say_what_was_meant(reading: Any, leader: Any, message: Any) -> None:
    with pytest.raises(RuleBroken, match="Say what was meant instead") as error:
        challenges.definition_challenge(user=leader, acknowledgement=reading, message=message)
    assert error.value.field == "message"
    assert not DefinitionChallenge.objects.exists()


def test_an_overlong_message_is_refused_saying_the_limit(reading: Any, leader: Any) -> None:
    with pytest.raises(RuleBroken, match="under 2000 characters"):
        challenges.definition_challenge(user=leader, acknowledgement=reading, message="x" * 2001)


def test_a_second_challenge_by_the_same_person_says_so(reading: Any, leader: Any) -> None:
    challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    with pytest.raises(RuleBroken, match="already challenged Lars Second's reading of version 1"):
        challenges.definition_challenge(user=leader, acknowledgement=reading, message="Again.")
    assert DefinitionChallenge.objects.count() == 1
    assert DefinitionComment.objects.count() == 1


def test_two_members_may_each_challenge_the_same_reading(
    reading: Any, leader: Any, lead: Any
) -> None:
    challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    challenges.definition_challenge(user=lead, acknowledgement=reading, message="Not hiring.")
    assert DefinitionChallenge.objects.filter(acknowledgement=reading).count() == 2


def test_a_reading_of_an_older_version_can_be_challenged(
    reading: Any, leader: Any, lead: Any, objective: Any
) -> None:
    services.objective_update(user=lead, objective=objective, means="Protect margin, then grow")
    assert _version(objective).number == 2
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    assert challenge.acknowledgement.version.number == 1


def test_without_an_author_the_teams_leads_are_told(
    objective: Any, lead: Any, lars: Any, leader: Any
) -> None:
    # The objective was made without a definition: its version has no author.
    ack = services.definition_acknowledge(user=lars, objective=objective, reading=READING)
    assert _version(objective).author is None
    challenges.definition_challenge(user=leader, acknowledgement=ack, message=MEANT)
    assert _told() == {"lena", "lars"}


def test_the_group_the_reader_and_the_challenger_reply(
    reading: Any, leader: Any, lead: Any, lars: Any
) -> None:
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    Notification.objects.all().delete()
    challenges.challenge_reply(user=lars, challenge=challenge, body="Then pricing is in scope?")
    # Lena (author) and Lea (who opened the thread) are told; Lars, replying, is not.
    assert _told() == {"lena", "lea"}
    challenges.challenge_reply(user=lead, challenge=challenge, body="Yes, pricing is in.")
    challenges.challenge_reply(user=leader, challenge=challenge, body="Agreed.")
    assert [c.body for c in challenge.comments.all()] == [
        MEANT,
        "Then pricing is in scope?",
        "Yes, pricing is in.",
        "Agreed.",
    ]


@pytest.mark.parametrize("who", ["outsider", "owner", "admin_user"])
def test_nobody_else_replies(
    request: pytest.FixtureRequest, reading: Any, leader: Any, who: str
) -> None:
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    with pytest.raises(NotAllowed):
        challenges.challenge_reply(
            user=request.getfixturevalue(who), challenge=challenge, body="Me too."
        )
    assert challenge.comments.count() == 1


def test_an_empty_reply_is_refused(reading: Any, leader: Any, lars: Any) -> None:
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    with pytest.raises(RuleBroken, match="Write your reply") as error:
        challenges.challenge_reply(user=lars, challenge=challenge, body="  ")
    assert error.value.field == "body"


# --- the objective's page ---------------------------------------------------------------------


def test_the_thread_shows_under_the_reading_with_every_message(
    client_for: Any, reading: Any, leader: Any, lars: Any, objective: Any, outsider: Any
) -> None:
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    challenges.challenge_reply(user=lars, challenge=challenge, body="Then pricing is in scope?")
    page = _page(client_for(outsider), objective)
    assert f'id="challenge-{challenge.pk}"' in page
    assert page.index(READING) < page.index(MEANT) < page.index("Then pricing is in scope?")
    assert "Lea Leader challenged Lars Second's reading" in page
    # Otto may read the thread, not reply to it nor challenge.
    assert reverse("objectives:challenge_reply", args=[challenge.pk]) not in page
    assert "Reply in this thread" not in page
    assert "Not what we meant?" not in page
    lars_page = _page(client_for(lars), objective)
    assert "Reply in this thread" in lars_page


def test_the_challenge_button_is_offered_only_where_the_predicate_says_yes(
    client_for: Any, reading: Any, leader: Any, lars: Any, objective: Any
) -> None:
    url = reverse("objectives:challenge", args=[reading.pk])
    assert url in _page(client_for(leader), objective)
    assert url not in _page(client_for(lars), objective)  # his own reading
    challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    assert url not in _page(client_for(leader), objective)  # already challenged it


def test_a_challenge_through_the_plain_form(
    client_for: Any, reading: Any, leader: Any, objective: Any
) -> None:
    client = client_for(leader)
    url = reverse("objectives:challenge", args=[reading.pk])
    refused = client.post(url, {"message": "   "})
    assert refused.status_code == 400
    assert "Say what was meant instead" in refused.content.decode()
    done = client.post(url, {"message": MEANT})
    challenge = DefinitionChallenge.objects.get()
    assert done.status_code == 302
    assert done["Location"].endswith(f"/objectives/{objective.pk}/#challenge-{challenge.pk}")
    again = client.post(url, {"message": "Once more"})
    assert again.status_code == 400
    assert "Once more" in again.content.decode()  # what was typed is kept
    assert "already challenged" in again.content.decode()


def test_a_challenge_and_a_reply_through_htmx(
    client_for: Any, reading: Any, leader: Any, lars: Any
) -> None:
    htmx = {"HX-Request": "true"}
    client = client_for(leader)
    url = reverse("objectives:challenge", args=[reading.pk])
    refused = client.post(url, {"message": ""}, headers=htmx)
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("text/plain")
    assert "Say what was meant instead" in refused.content.decode()
    done = client.post(url, {"message": MEANT}, headers=htmx)
    assert done.status_code == 200
    fragment = done.content.decode()
    assert fragment.startswith('<div class="reading-threads" id="reading-')
    assert MEANT in fragment
    assert "Not what we meant?" not in fragment
    challenge = DefinitionChallenge.objects.get()
    reply_url = reverse("objectives:challenge_reply", args=[challenge.pk])
    replied = client_for(lars).post(reply_url, {"body": "Pricing too?"}, headers=htmx)
    assert replied.status_code == 200
    assert replied.content.decode().startswith(
        f'<div class="challenge" id="challenge-{challenge.pk}"'
    )
    assert "Pricing too?" in replied.content.decode()
    empty = client_for(lars).post(reply_url, {"body": ""}, headers=htmx)
    assert empty.status_code == 400


def test_a_reply_through_the_plain_form(
    client_for: Any, reading: Any, leader: Any, lars: Any, objective: Any
) -> None:
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    url = reverse("objectives:challenge_reply", args=[challenge.pk])
    done = client_for(lars).post(url, {"body": "Then pricing is in scope?"})
    assert done.status_code == 302
    assert done["Location"].endswith(f"#challenge-{challenge.pk}")
    refused = client_for(lars).post(url, {"body": ""})
    assert refused.status_code == 400
    assert "Write your reply" in refused.content.decode()


def test_refusals_and_bad_addresses_are_4xx(
    client_for: Any, reading: Any, leader: Any, lars: Any, outsider: Any
) -> None:
    url = reverse("objectives:challenge", args=[reading.pk])
    assert client_for(lars).post(url, {"message": MEANT}).status_code == 403
    assert client_for(outsider).post(url, {"message": MEANT}).status_code == 403
    assert client_for(leader).get(url).status_code == 405
    missing = reverse("objectives:challenge", args=[999999])
    assert client_for(leader).post(missing, {"message": MEANT}).status_code == 404
    no_thread = reverse("objectives:challenge_reply", args=[999999])
    assert client_for(leader).post(no_thread, {"body": "Hi"}).status_code == 404
    challenge = challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    reply = reverse("objectives:challenge_reply", args=[challenge.pk])
    assert client_for(outsider).post(reply, {"body": "Hi"}).status_code == 403
    assert not DefinitionChallenge.objects.exclude(pk=challenge.pk).exists()


def test_a_challenge_to_an_earlier_version_is_shown_with_its_version(
    client_for: Any, reading: Any, leader: Any, lead: Any, objective: Any
) -> None:
    challenges.definition_challenge(user=leader, acknowledgement=reading, message=MEANT)
    services.objective_update(user=lead, objective=objective, means="Protect margin, then grow")
    page = _page(client_for(leader), objective)
    assert "Challenges to readings of earlier versions" in page
    assert "read version 1" in page
    assert MEANT in page


def _page_queries(client: Any, objective: Any) -> int:
    url = reverse("objectives:detail", args=[objective.pk])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_objective_page_costs_the_same_queries_for_1_and_10_threads(
    client_for: Any, objective: Any, lead: Any, lars: Any, leader: Any, growth: Any
) -> None:
    """One challenge with one message, then ten challenges of ten readings with ten messages
    each (some on an earlier version): the page's query count does not move."""
    services.objective_update(user=lead, objective=objective, means="Protect margin")
    first = services.definition_acknowledge(user=lars, objective=objective, reading=READING)
    challenges.definition_challenge(user=leader, acknowledgement=first, message=MEANT)
    client = client_for(leader)
    one = _page_queries(client, objective)
    readers = []
    for n in range(9):
        person = UserFactory(username=f"lead{n}", first_name=f"Lead{n}")
        MembershipFactory(user=person, team=growth, role=Membership.Role.LEAD)
        readers.append(person)
    for person in readers:
        ack = services.definition_acknowledge(user=person, objective=objective, reading=READING)
        challenge = challenges.definition_challenge(user=leader, acknowledgement=ack, message=MEANT)
        for k in range(9):
            challenges.challenge_reply(user=person, challenge=challenge, body=f"Reply {k}")
    services.objective_update(user=lead, objective=objective, means="Protect margin, then grow")
    services.definition_acknowledge(user=lars, objective=objective, reading=READING)
    assert DefinitionChallenge.objects.count() == 10
    assert DefinitionComment.objects.count() == 1 + 9 * 10
    ten = _page_queries(client, objective)
    assert ten == one, f"{one} queries with 1 thread, {ten} with 10"
