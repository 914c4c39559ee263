"""Early escalation's pages: Escalate from My week and the key result page (two clicks: the
link, then the form's button), answers from "Asked of me", the escalation's page, and their
query counts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reviews import early_escalations as svc
from reviews.models import EarlyEscalation, EscalationHop, EscalationNorm
from tests.conftest import TEST_TODAY
from tests.factories import KeyResultFactory, ObjectiveFactory, UserFactory

pytestmark = pytest.mark.django_db

NORM = "Escalate as soon as you see a risk you cannot fix alone."


@pytest.fixture(autouse=True)
def _norm(db: Any) -> None:
    EscalationNorm.objects.all().delete()  # the seeded one
    EscalationNorm.objects.create(text=NORM)


def new_url(kr: Any) -> str:
    return reverse("reviews:early_escalation_new", args=[kr.pk])


# Always a valid date (today is never in the past), and one that always is: on the quarter's
# first day it is also before the quarter, and the "past" message is still the one shown.
TODAY = TEST_TODAY.isoformat()
YESTERDAY = (TEST_TODAY - timedelta(days=1)).isoformat()


def needed_by(kr: Any) -> date:
    """Eleven days on, kept inside the key result's quarter (on its last day: that day)."""
    return min(TEST_TODAY + timedelta(days=11), kr.objective.quarter.end)


def raise_(owner: Any, kr: Any, to: Any) -> EarlyEscalation:
    return svc.escalation_raise(
        user=owner, key_result=kr, need="Decide on SSO", asked_of=to, needed_by=needed_by(kr)
    )


def count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_my_week_card_offers_escalate_with_the_norm(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    html = client_for(owner).get(reverse("home")).content.decode()
    assert f'href="{new_url(key_result)}"' in html
    assert NORM in html


def test_raise_from_the_form_names_the_person_by_name_and_team(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    client = client_for(owner)
    page = client.get(new_url(key_result)).content.decode()
    assert "Pia Provider (Platform)" in page
    assert NORM in page
    response = client.post(
        new_url(key_result),
        {"need": "Decide on SSO", "asked_of": provider.pk, "needed_by": needed_by(key_result)},
    )
    esc = EarlyEscalation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == esc.get_absolute_url()
    assert (esc.asked_of, esc.raised_by, esc.dependency) == (provider, owner, None)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"need": "", "asked_of": "P", "needed_by": TODAY}, "need", "Say what decision"),
        ({"need": "Kept text", "asked_of": "", "needed_by": TODAY}, "asked_of", "Choose"),
        ({"need": "Kept text", "asked_of": "P", "needed_by": YESTERDAY}, "needed_by", "past"),
        ({"need": "Kept text", "asked_of": "P", "needed_by": "tomorrow"}, "needed_by", "valid"),
        ({"need": "Kept text", "asked_of": "99999999", "needed_by": "x"}, "asked_of", "valid"),
        ({"need": "Kept text", "asked_of": "P", "dependency": "1e400"}, "dependency", "valid"),
    ],
)
def test_errors_show_on_their_field_with_the_input_kept(
    client_for: Any,
    owner: Any,
    key_result: Any,
    provider: Any,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    data = {k: (str(provider.pk) if v == "P" else v) for k, v in data.items()}
    response = client_for(owner).post(new_url(key_result), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in html
    assert message in html
    if data["need"]:
        assert "Kept text" in html
    assert not EarlyEscalation.objects.exists()


def test_out_of_office_person_is_said_on_the_field(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    provider.profile.out_of_office_until = TEST_TODAY + timedelta(days=20)
    provider.profile.save()
    response = client_for(owner).post(
        new_url(key_result),
        {"need": "Decide", "asked_of": provider.pk, "needed_by": TODAY},
    )
    assert response.status_code == 400
    assert "is out of office until" in response.content.decode()


def test_an_outsider_gets_403_and_no_button(
    client_for: Any, outsider: Any, key_result: Any
) -> None:
    client = client_for(outsider)
    assert client.get(new_url(key_result)).status_code == 403
    assert client.post(new_url(key_result), {}).status_code == 403
    html = client.get(key_result.get_absolute_url()).content.decode()
    assert new_url(key_result) not in html


def test_key_result_page_lists_escalations_and_offers_escalate_to_the_team(
    client_for: Any, teammate: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    raise_(owner, key_result, provider)
    html = client_for(teammate).get(key_result.get_absolute_url()).content.decode()
    assert 'id="early-escalations"' in html
    assert new_url(key_result) in html
    assert "Decide on SSO" in html
    assert NORM in html


def test_named_person_answers_from_asked_of_me(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    client = client_for(provider)
    html = client.get(reverse("asked_of_me")).content.decode()
    assert "Early escalation" in html
    assert reverse("reviews:early_escalation_answer", args=[esc.pk]) in html
    # Each form carries the page's CSRF token (the forms are included, not pre-rendered).
    forms = html.split('class="asked-form"')[1:]
    assert len(forms) == 2
    assert all('name="csrfmiddlewaretoken" value="' in form for form in forms)
    prefix = f"esc{esc.pk}"
    response = client.post(
        reverse("reviews:early_escalation_answer", args=[esc.pk]),
        {"from": "asked", f"{prefix}-status": "decided", f"{prefix}-answer": "Ship it"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("asked_of_me")
    esc.refresh_from_db()
    assert (esc.status, esc.answer) == ("decided", "Ship it")
    assert "Early escalation" not in client.get(reverse("asked_of_me")).content.decode()


def test_a_bad_answer_from_asked_of_me_is_shown_on_the_escalation_page(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    prefix = f"esc{esc.pk}"
    response = client_for(provider).post(
        reverse("reviews:early_escalation_answer", args=[esc.pk]),
        {"from": "asked", f"{prefix}-status": "decided", f"{prefix}-answer": ""},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_answer_error"' in html
    assert "Say what was decided." in html


def test_redirect_from_the_escalation_page_and_the_history(
    client_for: Any, owner: Any, key_result: Any, provider: Any, platform_lead: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    client = client_for(provider)
    response = client.post(
        reverse("reviews:early_escalation_redirect", args=[esc.pk]),
        {"to": platform_lead.pk, "note": "Paul owns SSO"},
    )
    assert response.status_code == 302
    assert EscalationHop.objects.count() == 1
    html = client_for(owner).get(esc.get_absolute_url()).content.decode()
    assert "redirected it to Paul Platformlead" in html
    assert "Paul owns SSO" in html
    assert 'id="answer-form"' not in html  # the raiser does not answer


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1e400", "99999999999999999999"])
def test_redirect_bad_person_is_400(
    client_for: Any, owner: Any, key_result: Any, provider: Any, bad: str
) -> None:
    esc = raise_(owner, key_result, provider)
    response = client_for(provider).post(
        reverse("reviews:early_escalation_redirect", args=[esc.pk]), {"to": bad}
    )
    assert response.status_code == 400
    assert 'id="id_to_error"' in response.content.decode()


def test_only_the_named_person_may_answer_or_redirect_over_http(
    client_for: Any, owner: Any, key_result: Any, provider: Any, leader: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    client = client_for(leader)
    answer = reverse("reviews:early_escalation_answer", args=[esc.pk])
    assert client.post(answer, {"status": "decided", "answer": "x"}).status_code == 403
    redirect = reverse("reviews:early_escalation_redirect", args=[esc.pk])
    assert client.post(redirect, {"to": owner.pk}).status_code == 403


def test_escalation_page_query_count_is_fixed(
    client_for: Any, owner: Any, key_result: Any, provider: Any, platform_lead: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    client = client_for(owner)
    one = count_queries(client, esc.get_absolute_url())
    svc.escalation_redirect(user=provider, escalation=esc, to=platform_lead, note="a")
    for _ in range(3):
        UserFactory()
    assert count_queries(client, esc.get_absolute_url()) == one


def test_asked_my_week_and_key_result_page_query_counts_do_not_grow(
    client_for: Any, owner: Any, key_result: Any, provider: Any, quarter: Any, growth: Any
) -> None:
    raise_(owner, key_result, provider)
    asked = client_for(provider)
    small_asked = count_queries(asked, reverse("asked_of_me"))
    home = client_for(owner)
    small_home = count_queries(home, reverse("home"))
    small_kr = count_queries(home, key_result.get_absolute_url())
    for _ in range(5):
        kr = KeyResultFactory(objective=ObjectiveFactory(quarter=quarter, team=growth), owner=owner)
        raise_(owner, kr, provider)
        raise_(owner, key_result, provider)
    home = client_for(owner)
    assert count_queries(home, reverse("home")) == small_home
    assert count_queries(home, key_result.get_absolute_url()) == small_kr
    assert count_queries(client_for(provider), reverse("asked_of_me")) == small_asked


def test_asked_of_me_offers_redirects_to_the_people_near_the_escalation(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    """The key result's team and the raiser, never every active person (a list that grew with
    the organisation); the redirect itself still takes anyone."""
    esc = raise_(owner, key_result, provider)
    stranger = UserFactory(username="stranger", first_name="Stan", last_name="Stranger")
    html = client_for(provider).get(reverse("asked_of_me")).content.decode()
    picker = html.split(f'name="esc{esc.pk}-to"')[1].split("</select>")[0]
    assert f'value="{owner.pk}"' in picker
    assert f'value="{stranger.pk}"' not in picker
