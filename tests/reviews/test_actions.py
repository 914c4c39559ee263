"""Leaders act from the dashboard: nudge someone about what they owe, and reply to a risky
check-in. Both are for the person's manager (Mia), a lead of one of their teams (Lena) and
the leadership group (Lea); a teammate (Tim), someone on another team (Pia) and a user with
no rights (Otto) are refused, and then the allowed request goes through, to show that the
refusal was about rights.

Olga (Growth) owns "Raise trial conversion". Time is frozen on Tuesday 17 November 2026.
"""

from __future__ import annotations

from datetime import date
from html import unescape
from typing import Any

import pytest
from django.contrib.messages import get_messages

from checkins import services as checkins
from checkins import threads as services_threads
from checkins.models import CheckInComment
from dependencies import services as dependencies
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification
from reviews import services
from reviews.models import Nudge
from tests.reviews.conftest import HTMX, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

ALLOWED = ["manager", "lead", "leader"]
REFUSED = ["teammate", "provider", "outsider"]
NUDGE_URL = "/dashboard/nudge/"
NUDGE_REFUSED = (
    "Only Olga Owner's manager, a lead of their team or the leadership group can nudge them."
)
ONCE_A_DAY = "Olga Owner was already nudged about this today; once a day is enough."
SEEN_REFUSED = (
    "Only Olga Owner's manager, a lead of their team or the leadership group marks their "
    "check-in seen."
)
EMPTY_COMMENT = "Write something, or go back."


def nudges_to(user: Any) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, kind="nudge")
        .order_by("pk")
        .values_list("subject", flat=True)
    )


def flashed(response: Any) -> str:
    """The message this request added (earlier ones wait unread: redirects aren't followed)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


@pytest.fixture
def nudge_olga(client: Any, owner: Any) -> Any:
    """``nudge_olga(as_user, **more)``: POST the people view's nudge form about Olga."""

    def post(user: Any, **more: Any) -> Any:
        client.force_login(user)
        data = {"person": owner.pk, "kind": "person", "next": "/dashboard/people/", **more}
        return client.post(NUDGE_URL, data)

    return post


# --- nudge ---------------------------------------------------------------------------------


@pytest.mark.parametrize("refused", REFUSED)
@pytest.mark.parametrize("allowed", ALLOWED)
def test_only_a_persons_leaders_can_nudge_them(
    request: pytest.FixtureRequest, nudge_olga: Any, owner: Any, allowed: str, refused: str
) -> None:
    peer, leader = request.getfixturevalue(refused), request.getfixturevalue(allowed)

    response = nudge_olga(peer)
    assert response.status_code == 403
    assert NUDGE_REFUSED in unescape(response.content.decode())
    assert not Nudge.objects.exists()
    assert nudges_to(owner) == []

    response = nudge_olga(leader)
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/people/"
    assert flashed(response) == "Nudge sent."
    assert nudges_to(owner) == [f"{leader.get_full_name()} nudges you: please look at what you owe"]
    nudge = Nudge.objects.get()
    assert (nudge.sender, nudge.recipient, nudge.day) == (leader, owner, date(2026, 11, 17))


def test_the_service_refuses_a_peer_and_accepts_the_lead(
    owner: Any, teammate: Any, lead: Any
) -> None:
    kwargs = {"recipient": owner, "item_kind": "person", "item_id": owner.pk, "message": "Hi"}
    with pytest.raises(NotAllowed, match="can nudge them"):
        services.nudge_send(user=teammate, **kwargs)
    with pytest.raises(NotAllowed):
        services.nudge_send(user=lead, **{**kwargs, "recipient": lead, "item_id": lead.pk})
    assert services.nudge_send(user=lead, **kwargs).sender == lead
    assert nudges_to(owner) == ["Lena Lead nudges you: Hi"]


def test_a_second_nudge_about_the_same_item_waits_for_the_next_day(
    nudge_olga: Any, owner: Any, lead: Any, leader: Any, frozen_now: Any
) -> None:
    assert nudge_olga(lead).status_code == 302

    # Another leader, the same item, the same day: refused, and Olga hears nothing more.
    response = nudge_olga(leader)
    assert response.status_code == 302
    assert flashed(response) == ONCE_A_DAY
    assert len(nudges_to(owner)) == 1
    with pytest.raises(RuleBroken, match="once a day is enough"):
        services.nudge_send(
            user=leader, recipient=owner, item_kind="person", item_id=owner.pk, message="Hi"
        )
    assert len(nudges_to(owner)) == 1

    frozen_now.move_to("2026-11-18 09:30:00+00:00")
    response = nudge_olga(leader)
    assert flashed(response) == "Nudge sent."
    assert len(nudges_to(owner)) == 2
    assert list(Nudge.objects.order_by("day").values_list("day", flat=True)) == [
        date(2026, 11, 17),
        date(2026, 11, 18),
    ]


def test_the_limit_is_per_item(
    nudge_olga: Any, owner: Any, lead: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    """A nudge about everything Olga owes does not use up today's nudge about one thing."""
    dep = dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=date(2026, 12, 1),
    )
    assert flashed(nudge_olga(lead)) == "Nudge sent."
    assert flashed(nudge_olga(lead, kind="dependency", item=dep.pk)) == "Nudge sent."
    assert flashed(nudge_olga(lead, kind="dependency", item=dep.pk)) == ONCE_A_DAY
    assert len(nudges_to(owner)) == 2


def test_htmx_nudge_answers_with_a_small_fragment(
    client: Any, owner: Any, lead: Any, leader: Any
) -> None:
    data = {"person": owner.pk, "kind": "person"}
    client.force_login(lead)
    response = client.post(NUDGE_URL, data, **HTMX)
    assert response.status_code == 200
    assert response.content.decode() == (
        f'<span class="nudged" id="nudge-{owner.pk}" data-announce>✓ Nudged today by you</span>'
    )

    client.force_login(leader)
    response = client.post(NUDGE_URL, data, **HTMX)
    assert response.status_code == 200
    assert response.content.decode() == (
        f'<span class="nudged muted" id="nudge-{owner.pk}" data-announce>{ONCE_A_DAY}</span>'
    )
    assert len(nudges_to(owner)) == 1


def test_htmx_refusal_escapes_the_persons_name(client: Any, owner: Any, lead: Any) -> None:
    owner.first_name = '<img src=x onerror="alert(1)">'
    owner.save()
    client.force_login(lead)
    client.post(NUDGE_URL, {"person": owner.pk}, **HTMX)
    body = client.post(NUDGE_URL, {"person": owner.pk}, **HTMX).content.decode()
    assert "<img" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Owner was already nudged" in body


def test_nudge_returns_only_to_a_page_of_this_site(nudge_olga: Any, lead: Any) -> None:
    response = nudge_olga(lead, next="https://evil.example/phish")
    assert response["Location"] == "/dashboard/people/"
    response = nudge_olga(lead, next="/dashboard/people/?team=1")  # refused: same item, day
    assert response["Location"] == "/dashboard/people/?team=1"


def test_nudge_with_a_malformed_item_is_not_found(nudge_olga: Any, owner: Any, lead: Any) -> None:
    assert nudge_olga(lead, item="not-a-number").status_code == 404
    assert nudge_olga(lead, person="x").status_code == 404
    assert nudge_olga(lead, kind="everything").status_code == 404
    assert nudges_to(owner) == []


def test_nudge_needs_a_signed_in_user_and_a_post(client: Any, owner: Any, lead: Any) -> None:
    response = client.post(NUDGE_URL, {"person": owner.pk})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client.force_login(lead)
    assert client.get(NUDGE_URL).status_code == 405


# --- acknowledge a risky check-in ----------------------------------------------------------


@pytest.fixture
def risky(owner: Any, key_result: Any) -> Any:
    """Olga's week 7 check-in: at risk."""
    return checkins.checkin_submit(
        user=owner,
        key_result=key_result,
        status="at_risk",
        confidence=4,
        biggest_risk="Pricing page redesign slips",
        value="14",
    )


def thread_url(check_in: Any) -> str:
    return f"/checkins/check-ins/{check_in.pk}/thread/"


def told(user: Any, kind: str) -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.filter(recipient=user, kind=kind)
        .order_by("pk")
        .values_list("subject", "body", "link")
    )


@pytest.mark.parametrize("refused", REFUSED)
@pytest.mark.parametrize("allowed", ALLOWED)
def test_only_the_owners_leaders_mark_a_check_in_seen(
    request: pytest.FixtureRequest,
    client: Any,
    owner: Any,
    key_result: Any,
    risky: Any,
    allowed: str,
    refused: str,
) -> None:
    peer, leader = request.getfixturevalue(refused), request.getfixturevalue(allowed)

    client.force_login(peer)
    response = client.post(thread_url(risky), {"seen": "1"})
    assert response.status_code == 403
    assert SEEN_REFUSED in unescape(response.content.decode())
    assert not CheckInComment.objects.exists()

    client.force_login(leader)
    response = client.post(thread_url(risky), {"seen": "1"})
    assert response.status_code == 302
    where = f"/objectives/key-results/{key_result.pk}/#checkin-entry-{risky.pk}"
    assert response["Location"] == where
    entry = CheckInComment.objects.get()
    assert (entry.author, entry.seen, entry.by_leader, entry.body) == (leader, True, True, "")
    name = leader.get_full_name()
    subject = f"{name} saw your week 7 check-in for “Raise trial conversion”"
    assert told(owner, "checkin_seen") == [(subject, "", where)]


def test_anyone_comments_and_a_leaders_reply_is_marked_as_theirs(
    client: Any, owner: Any, teammate: Any, lead: Any, key_result: Any, risky: Any
) -> None:
    client.force_login(teammate)
    assert client.post(thread_url(risky), {"body": "I can help"}).status_code == 302
    client.force_login(lead)
    client.post(thread_url(risky), {"body": "  Let's cut scope on Thursday  "})
    client.force_login(owner)
    client.post(thread_url(risky), {"body": "Thanks, Thursday works"})
    assert list(CheckInComment.objects.values_list("author__username", "body", "by_leader")) == [
        ("tim", "I can help", False),
        ("lena", "Let's cut scope on Thursday", True),
        ("olga", "Thanks, Thursday works", False),
    ]
    assert len(told(owner, "checkin_comment")) == 2  # not told of her own answer
    # The thread is under that week in the key result's timeline.
    html = page(client.get(f"/objectives/key-results/{key_result.pk}/"))
    thread = html.by_id(f"thread-{risky.pk}").text
    assert "Lena Lead leader : Let's cut scope on Thursday" in " ".join(thread.split())


def test_a_mention_notifies_the_person_named(
    client: Any, owner: Any, lead: Any, provider: Any, teammate: Any, risky: Any
) -> None:
    services_threads.checkin_comment(
        user=lead, check_in=risky, body="@pia can the API land by Friday? cc @Tim @nobody"
    )
    assert [s for s, _, _ in told(provider, "mention")] == [
        "Lena Lead mentioned you on the week 7 check-in for “Raise trial conversion”"
    ]
    assert len(told(teammate, "mention")) == 1  # by first name, as only one Tim exists
    assert told(lead, "mention") == []


def test_an_empty_comment_is_refused_and_nothing_is_lost(
    client: Any, owner: Any, lead: Any, risky: Any
) -> None:
    client.force_login(lead)
    response = client.post(thread_url(risky), {"body": "   "})
    assert response.status_code == 302
    assert flashed(response) == EMPTY_COMMENT
    response = client.post(thread_url(risky), {"body": ""}, **HTMX)
    assert response.status_code == 400
    assert response.content.decode() == EMPTY_COMMENT
    too_long = client.post(thread_url(risky), {"body": "x" * 2001}, **HTMX)
    assert too_long.status_code == 400
    assert "under 2000 characters" in too_long.content.decode()
    assert not CheckInComment.objects.exists()
    assert told(owner, "checkin_comment") == []


def test_htmx_comment_answers_with_the_whole_thread_escaped(
    client: Any, owner: Any, lead: Any, risky: Any
) -> None:
    client.force_login(lead)
    response = client.post(thread_url(risky), {"body": "I'll call <Platform>"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith(f'<div class="thread" id="thread-{risky.pk}"')
    assert "I&#x27;ll call &lt;Platform&gt;" in body
    # The risk feed shows it under the check-in it answers, which now reads as answered.
    html = page(client.get("/dashboard/risks/"))
    (item,) = html.find_all("li", "feed-checkin")
    assert "is-answered" in item.classes
    assert "I'll call <Platform>" in html.by_id(f"thread-{risky.pk}").text


# --- only actions the reader can take are offered ------------------------------------------
# The page asks access.people_led_by, the service asks access.can_lead: these tests hold the
# two to the same answer, so a button is never offered that answers 403 when pressed.

EVERYONE = [*ALLOWED, *REFUSED, "owner"]


@pytest.mark.parametrize("reader", EVERYONE)
def test_seen_is_offered_exactly_where_the_service_accepts_it(
    request: pytest.FixtureRequest, client: Any, owner: Any, risky: Any, reader: str
) -> None:
    user = request.getfixturevalue(reader)
    client.force_login(user)
    html = page(client.get("/dashboard/risks/"))
    (item,) = html.find_all("li", "feed-checkin")
    offered = any(b.attrs.get("name") == "seen" for b in item.find_all("button"))
    assert offered == (reader in ALLOWED)
    assert item.find_all("form", "thread-form")  # anyone may comment

    response = client.post(thread_url(risky), {"seen": "1"})
    assert response.status_code == (302 if offered else 403)


@pytest.mark.parametrize("reader", EVERYONE)
def test_nudge_is_offered_exactly_where_the_service_accepts_it(
    request: pytest.FixtureRequest,
    client: Any,
    nudge_olga: Any,
    owner: Any,
    key_result: Any,
    reader: str,
) -> None:
    user = request.getfixturevalue(reader)
    client.force_login(user)
    html = page(client.get("/dashboard/people/"))
    olga_row = html.by_id(f"person-{owner.pk}")
    offered = any(b.attrs.get("value") == str(owner.pk) for b in olga_row.find_all("button"))
    assert offered == (reader in ALLOWED)
    # Nobody is offered a nudge to themselves.
    own_row = [n for n in html.find_all("tr") if n.attrs.get("id") == f"person-{user.pk}"]
    assert all(not row.find_all("button") for row in own_row)

    assert nudge_olga(user).status_code == (302 if offered else 403)


@pytest.mark.parametrize("reader", EVERYONE)
def test_people_led_by_agrees_with_can_lead(
    request: pytest.FixtureRequest, owner: Any, reader: str
) -> None:
    from okrly.access import can_lead, people_led_by

    user = request.getfixturevalue(reader)
    others = [request.getfixturevalue(name) for name in EVERYONE]
    led = people_led_by(user)
    assert [p.pk in led for p in others] == [can_lead(user, p) for p in others]
    assert user.pk not in led


# --- issue 15: a nudge carries a message, lands where its item is answered, and stays said ---


def test_a_nudge_carries_its_message_and_refuses_an_overlong_one(
    client: Any, owner: Any, lead: Any
) -> None:
    client.force_login(lead)
    data = {"person": owner.pk, "kind": "person", "message": "  Update pricing before Thu  "}
    too_long = client.post(NUDGE_URL, {**data, "message": "x" * 301}, **HTMX)
    assert "under 300 characters" in too_long.content.decode()
    assert Nudge.objects.count() == 0
    client.post(NUDGE_URL, data, **HTMX)
    assert Nudge.objects.get().message == "Update pricing before Thu"
    assert nudges_to(owner) == ["Lena Lead nudges you: Update pricing before Thu"]


def test_a_person_nudge_links_to_the_card_of_a_missing_check_in(
    client: Any, owner: Any, lead: Any, key_result: Any
) -> None:
    client.force_login(lead)
    client.post(NUDGE_URL, {"person": owner.pk, "kind": "person"}, **HTMX)
    note = Notification.objects.get(recipient=owner, kind="nudge")
    assert note.link == f"/#checkin-{key_result.pk}"
    client.force_login(owner)
    assert f'id="checkin-{key_result.pk}"' in client.get("/").content.decode()


def test_a_person_nudge_links_to_the_row_that_waits_for_them(
    client: Any, owner: Any, leader: Any, key_result: Any, platform: Any, provider: Any
) -> None:
    """Pia owes the answer to Olga's request: her nudge lands on its row in "Asked of me"."""
    dep = dependencies.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 1),
    )
    client.force_login(leader)
    client.post(NUDGE_URL, {"person": provider.pk, "kind": "person"}, **HTMX)
    note = Notification.objects.get(recipient=provider, kind="nudge")
    assert note.link == f"/asked/#dependency-{dep.pk}"
    client.force_login(provider)
    assert f'id="dependency-{dep.pk}"' in client.get("/asked/").content.decode()


def test_the_people_view_says_who_nudged_today_after_a_reload(
    client: Any, owner: Any, lead: Any, leader: Any, frozen_now: Any, key_result: Any
) -> None:
    client.force_login(lead)
    client.post(NUDGE_URL, {"person": owner.pk, "kind": "person"}, **HTMX)
    client.force_login(leader)
    row = page(client.get("/dashboard/people/")).by_id(f"person-{owner.pk}")
    assert "✓ Nudged today by Lena Lead" in row.text
    assert not row.find_all("button")  # once a day: not offered again
    frozen_now.move_to("2026-11-18 09:30:00+00:00")
    row = page(client.get("/dashboard/people/")).by_id(f"person-{owner.pk}")
    assert "Nudged today" not in row.text
    assert row.find_all("button")


def test_seen_is_no_longer_offered_once_a_leader_answered(
    client: Any, owner: Any, risky: Any, lead: Any
) -> None:
    """A leader's Seen (or reply) answers the item; the button goes, the reply box stays."""

    def seen_offered() -> bool:
        (item,) = page(client.get("/dashboard/risks/")).find_all("li", "feed-checkin")
        assert item.find_all("form", "thread-form")
        return any(b.attrs.get("name") == "seen" for b in item.find_all("button"))

    client.force_login(lead)
    assert seen_offered()
    assert client.post(thread_url(risky), {"seen": "1"}).status_code == 302
    assert not seen_offered()
