"""The prompt e-mail opens the check-in directly (issue 15): one signed link per key result,
valid for that key result and week only, for 7 days, landing on the card, after sign-in if
needed.

2026 Q4 starts on Thursday 1 October; check-ins are on Monday at 09:00 in the owner's zone
(UTC here). Week 7 runs from Thursday 12 to Wednesday 18 November, its prompt is on Monday
16 November; week 6's prompt was on Monday 9 November, open late until Sunday 15 at 09:00.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkins import links, prompts
from checkins.models import CheckIn
from checkins.services import checkin_submit
from okrly.models import Notification
from okrly.outbox import notifications_send_email
from tests.factories import KeyResultFactory, UserFactory

LINK = re.compile(r"https?://[^\s\"<>]+/checkins/open/[^\s\"<>/]+/")


@pytest.fixture
def travel(db: Any) -> Iterator[Any]:
    # Before the quarter: the key results exist from its start, so every week is owed.
    with time_machine.travel("2026-10-01 07:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def two_key_results(travel: Any, objective: Any, owner: Any) -> list[Any]:
    return [
        KeyResultFactory(objective=objective, owner=owner, title="Trial conversion to 12%"),
        KeyResultFactory(objective=objective, owner=owner, title="Churn under 2%"),
    ]


def prompt_emails(travel: Any) -> list[Any]:
    """Run the prompt job on Monday 16 November at 09:00 (UTC) and send its e-mails."""
    travel.move_to("2026-11-16 09:00:00+00:00")
    assert prompts.checkins_send_prompts().prompts >= 1
    ids = list(Notification.objects.filter(kind="checkin_prompt").values_list("pk", flat=True))
    mail.outbox.clear()
    notifications_send_email(notification_ids=ids)
    return list(mail.outbox)


def path_of(url: str) -> str:
    return urlsplit(url).path


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_prompt_email_has_one_signed_link_per_key_result_each_landing_on_its_card(
    travel: Any, two_key_results: list[Any], owner: Any
) -> None:
    [message] = prompt_emails(travel)
    assert message.to == [owner.email]
    urls = LINK.findall(message.body)
    assert len(urls) == 2
    html = str(message.alternatives[0][0])
    assert sorted(LINK.findall(html)) == sorted(urls)
    for kr in two_key_results:
        assert kr.title in message.body
    # Each link names its own key result and this week's number (7), and nothing else.
    read = sorted(
        (links.read(path_of(u).split("/")[-2]) for u in urls), key=lambda t: t.key_result_id
    )
    assert [(t.key_result_id, t.week) for t in read] == sorted((kr.pk, 7) for kr in two_key_results)

    client = signed_in(owner)
    for url, target in zip(
        urls, [links.read(path_of(u).split("/")[-2]) for u in urls], strict=True
    ):
        response = client.get(path_of(url))
        assert response.status_code == 302
        assert response["Location"] == f"/#checkin-{target.key_result_id}"
    # The card it lands on is on My week, with its form.
    page = client.get("/").content.decode()
    for kr in two_key_results:
        assert f'id="checkin-{kr.pk}"' in page


@pytest.mark.django_db
def test_signed_out_the_link_asks_to_sign_in_and_then_returns_to_the_card(
    travel: Any, two_key_results: list[Any], owner: Any, password: str
) -> None:
    [message] = prompt_emails(travel)
    link_path = path_of(LINK.findall(message.body)[0])
    client = Client()
    response = client.get(link_path)
    assert response.status_code == 302
    login = response["Location"]
    assert login.startswith(reverse("login"))
    assert "next=" in login

    signed = client.post(login, {"username": owner.username, "password": password})
    assert signed.status_code == 302
    assert signed["Location"] == link_path
    landed = client.get(signed["Location"])
    assert landed.status_code == 302
    assert re.fullmatch(r"/#checkin-\d+", landed["Location"])


@pytest.mark.django_db
def test_a_changed_link_is_refused_with_a_message(
    travel: Any, two_key_results: list[Any], owner: Any
) -> None:
    [message] = prompt_emails(travel)
    token = path_of(LINK.findall(message.body)[0]).split("/")[-2]
    target = links.read(token)
    # Same signature, another week or key result: the signature no longer matches.
    payload, _, rest = token.partition(":")
    forged = signing.b64_encode(f"[{target.key_result_id},{target.week - 1}]".encode()).decode()
    client = signed_in(owner)
    for bad in (f"{forged}:{rest}", token[:-3], "nothing-here", "a" * 300):
        response = client.get(reverse("checkins:open", args=[bad]))
        assert response.status_code == 400, bad
        assert "not valid" in response.content.decode()
    assert payload != forged


@pytest.mark.django_db
def test_the_link_lasts_seven_days(travel: Any, two_key_results: list[Any], owner: Any) -> None:
    [message] = prompt_emails(travel)
    link_path = path_of(LINK.findall(message.body)[0])
    client = signed_in(owner)
    travel.move_to("2026-11-23 08:59:00+00:00")  # 6 days 23:59 after the e-mail
    assert client.get(link_path).status_code == 302
    travel.move_to("2026-11-23 09:00:01+00:00")
    expired = client.get(link_path)
    assert expired.status_code == 400
    assert "expired" in expired.content.decode()
    assert "7 days" in expired.content.decode()


@pytest.mark.django_db
def test_a_missed_week_opens_its_late_card_while_open_and_the_key_result_once_closed(
    travel: Any, two_key_results: list[Any], owner: Any
) -> None:
    kr = two_key_results[0]
    travel.move_to("2026-11-13 12:00:00+00:00")  # Friday of week 7: week 6 is open late
    week6 = links.signed_path(kr.pk, 6)
    week5 = links.signed_path(kr.pk, 5)
    client = signed_in(owner)
    late = client.get(week6)
    assert late.status_code == 302
    assert late["Location"] == reverse("checkins:week_card", args=[kr.pk, 6])
    card = client.get(late["Location"])
    assert card.status_code == 200
    assert "late" in card.content.decode().lower()

    closed = client.get(week5, follow=True)
    assert closed.redirect_chain[-1][0] == kr.get_absolute_url()
    assert "Week 5's check-in for “Trial conversion to 12%” is closed" in unescape(
        closed.content.decode()
    )

    # Once week 6 is checked in, its late card is no longer offered either.
    checkin_submit(
        user=owner,
        key_result=kr,
        status="on_track",
        confidence=7,
        biggest_risk="None this week",
        value=kr.start_value,
        week=6,
    )
    assert CheckIn.objects.filter(key_result=kr, week=6, late=True).exists()
    assert client.get(week6)["Location"] == kr.get_absolute_url()


@pytest.mark.django_db
def test_someone_else_following_the_link_gets_the_key_result_page_not_the_form(
    travel: Any, two_key_results: list[Any], teammate: Any
) -> None:
    kr = two_key_results[0]
    travel.move_to("2026-11-16 10:00:00+00:00")
    response = signed_in(teammate).get(links.signed_path(kr.pk, 7), follow=True)
    assert response.redirect_chain[-1][0] == kr.get_absolute_url()
    assert "This check-in link is for Olga Owner" in response.content.decode()


@pytest.mark.django_db
def test_prompt_emails_cost_a_fixed_number_of_queries_per_batch(
    travel: Any, objective: Any
) -> None:
    """The links are signed when the e-mails are sent, two queries for a whole batch."""

    def send(count: int) -> int:
        for n in range(count):
            user = UserFactory(username=f"owner{count}-{n}")
            KeyResultFactory(objective=objective, owner=user)
            KeyResultFactory(objective=objective, owner=user)
        return count

    travel.move_to("2026-10-01 07:00:00+00:00")
    send(3)
    emails = prompt_emails(travel)
    assert len(emails) == 3
    Notification.objects.all().delete()
    travel.move_to("2026-11-01 07:00:00+00:00")
    send(30)
    travel.move_to("2026-11-23 09:00:00+00:00")
    prompts.checkins_send_prompts()
    big = list(Notification.objects.filter(kind="checkin_prompt").values_list("pk", flat=True))
    small = big[:3]
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as few:
        notifications_send_email(notification_ids=small)
    with CaptureQueriesContext(connection) as many:
        notifications_send_email(notification_ids=big[3:])
    sent = len(mail.outbox)
    # A query per sent row (marked sent as soon as its own send succeeded), the rest fixed.
    assert sent == len(big)
    assert len(many) - len(big[3:]) == len(few) - len(small)
    assert all(len(LINK.findall(m.body)) == 2 for m in mail.outbox)
