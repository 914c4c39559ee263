"""Check-in pages: My week's htmx forms, the key result's timeline, needs in "Asked of me",
the dependency review of weeks 1-2, fixed query counts, and the API."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from checkins import services
from checkins.models import CheckIn, CheckInRevision
from dependencies import services as dependency_services
from dependencies.models import Dependency
from tests.factories import KeyResultFactory, ObjectiveFactory, UserFactory, during_week

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
HTMX = {"HTTP_HX_REQUEST": "true"}
WEEK = 7  # frozen_now, 17 Nov 2026, is in week 7 of 2026 Q4 (from 1 Oct)
WEEK_1 = "2026-10-06 09:30:00+00:00"
WEEK_3 = "2026-10-16 09:30:00+00:00"


def answers(key_result: Any, **overrides: Any) -> dict[str, Any]:
    """A complete, valid check-in as My week's form posts it (prefix ``kr<pk>-``)."""
    data: dict[str, Any] = {
        "status": "at_risk",
        "confidence": "6",
        "biggest_risk": "Pricing page redesign slips past December",
        "need": "",
        "need_person": "",
        "need_dependency": "",
        "value": "18.5",
    }
    data.update(overrides)
    return {f"kr{key_result.pk}-{name}": value for name, value in data.items()}


def submit_url(key_result: Any) -> str:
    return reverse("checkins:submit", args=[key_result.pk])


def error_beside(html: str, key_result: Any, field: str, message: str) -> bool:
    """Whether ``message`` is shown as the field's error, after the field and before the
    next question's label (the cards put each error right under its input)."""
    name = f'name="kr{key_result.pk}-{field}"'
    start = html.find(name)
    if start < 0:
        return False
    after = html[start:]
    next_label = after.find("<label", len(name))
    error = after.find('<small class="field-error"')
    if not 0 <= error < (next_label if next_label >= 0 else len(after)):
        return False
    return message in after[error : after.find("</small>", error)]


@pytest.fixture
def commit_dependency(owner: Any, key_result: Any, platform: Any, provider: Any) -> Any:
    """``commit_dependency()``: the owner asks Pia (Platform) for an API and she commits
    (called after the test has moved the clock, so the request is made at that time)."""

    def make() -> Dependency:
        dep = dependency_services.dependency_request(
            user=owner,
            key_result=key_result,
            provider_team=platform,
            responsible=provider,
            deliverable="Billing API v2",
            due_date=date(2026, 12, 1),
        )
        return dependency_services.dependency_commit(dependency=dep, user=provider)

    return make


def submit(owner: Any, key_result: Any, **overrides: Any) -> CheckIn:
    kwargs: dict[str, Any] = {
        "status": "at_risk",
        "confidence": 6,
        "biggest_risk": "Pricing page redesign slips",
        "value": "18",
    }
    kwargs.update(overrides)
    return services.checkin_submit(user=owner, key_result=key_result, **kwargs)


# --- My week ---------------------------------------------------------------------------------


def test_my_week_shows_a_form_per_owned_key_result_and_the_summary(
    client_for: Any, owner: Any, objective: Any, key_result: Any
) -> None:
    second: Any = KeyResultFactory(objective=objective, owner=owner, title="Cut churn in month one")
    submit(owner, second)

    html = client_for(owner).get(reverse("home")).content.decode()

    assert "Week 7 of 14" in html
    assert "<strong>1 of 2</strong> check-ins done" in html
    for kr in (key_result, second):
        assert f'id="checkin-{kr.pk}"' in html
        assert f'hx-post="{submit_url(kr)}"' in html
        assert f'name="kr{kr.pk}-biggest_risk"' in html
    assert "Submit week 7 check-in" in html  # the first one, still to do
    assert "Update week 7 check-in" in html  # the second one, done


def test_my_week_shows_only_ones_own_key_results(
    client_for: Any, teammate: Any, objective: Any, key_result: Any
) -> None:
    own: Any = KeyResultFactory(objective=objective, owner=teammate, title="Cut churn in month one")

    html = client_for(teammate).get(reverse("home")).content.decode()

    assert f'id="checkin-{own.pk}"' in html
    assert "<strong>0 of 1</strong> check-ins done" in html
    assert "Raise trial conversion" not in html
    assert f'id="checkin-{key_result.pk}"' not in html


def test_my_week_of_someone_owning_nothing_says_so(
    client_for: Any, outsider: Any, key_result: Any
) -> None:
    html = client_for(outsider).get(reverse("home")).content.decode()

    assert "Nothing owned this quarter" in html
    assert "Raise trial conversion" not in html


def test_htmx_submit_returns_the_saved_card(client_for: Any, owner: Any, key_result: Any) -> None:
    response = client_for(owner).post(submit_url(key_result), answers(key_result), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a fragment: htmx swaps the card in place
    assert html.lstrip().startswith(
        f'<article class="checkin-card is-done" id="checkin-{key_result.pk}"'
    )
    assert "Saved." in html
    assert '<span class="pill pill-at_risk">At risk · 6/10</span>' in html
    # The "N of M done" line above the cards follows, out of band.
    summary = re.search(
        r'<p class="checkin-summary" id="checkin-summary" hx-swap-oob="true">.*?</p>', html
    )
    assert summary is not None
    assert "<strong>1 of 1</strong> check-ins done" in summary.group()
    check_in = CheckIn.objects.get()
    assert (check_in.key_result, check_in.week, check_in.author) == (key_result, WEEK, owner)
    assert check_in.value == Decimal("18.50")
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal("18.50")


def test_second_submission_in_a_week_edits_and_keeps_the_first_version(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    client = client_for(owner)
    client.post(submit_url(key_result), answers(key_result), **HTMX)

    response = client.post(
        submit_url(key_result),
        answers(key_result, status="off_track", confidence="2", biggest_risk="Vendor went bust"),
        **HTMX,
    )

    html = response.content.decode()
    assert "Your earlier answer is kept in the history." in html
    assert "Off track · 2/10" in html
    check_in = CheckIn.objects.get()
    assert (check_in.status, check_in.biggest_risk) == ("off_track", "Vendor went bust")
    first = CheckInRevision.objects.get()
    assert (first.check_in, first.status, first.confidence) == (check_in, "at_risk", 6)
    assert first.biggest_risk == "Pricing page redesign slips past December"
    page = client.get(key_result.get_absolute_url()).content.decode()
    assert "Earlier versions (1)" in page
    assert "At risk, 6/10, value 18.5 — risk: Pricing page redesign slips past December" in page


def test_plain_post_without_htmx_redirects_back_to_the_card(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    response = client_for(owner).post(submit_url(key_result), answers(key_result), follow=True)

    assert response.redirect_chain == [(f"/#checkin-{key_result.pk}", 302)]
    assert "Week 7 check-in saved for “Raise trial conversion”." in response.content.decode()
    assert CheckIn.objects.count() == 1


def test_plain_post_with_bad_input_shows_the_card_with_its_messages(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    data = answers(key_result, confidence="abc", need="Design review from the brand team")

    response = client_for(owner).post(submit_url(key_result), data)

    html = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Week 7 check-in</h1>" in html
    assert error_beside(html, key_result, "confidence", "(you gave “abc”)")
    assert 'value="abc"' in html
    assert "Design review from the brand team</textarea>" in html
    assert not CheckIn.objects.exists()


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("biggest_risk", "   ", "Name the biggest risk"),
        ("confidence", "11", "Confidence is a whole number from 0 to 10 (you gave “11”)."),
        ("confidence", "abc", "Confidence is a whole number from 0 to 10 (you gave “abc”)."),
        ("value", "12,5x", "The current value must be a number (you typed “12,5x”)."),
    ],
)
def test_bad_answer_is_refused_beside_its_field_with_the_typing_kept(
    client_for: Any, owner: Any, key_result: Any, field: str, typed: str, message: str
) -> None:
    data = answers(key_result, need="Design review from the brand team", **{field: typed})

    response = client_for(owner).post(submit_url(key_result), data, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps the card with its messages
    assert error_beside(html, key_result, field, message)
    assert html.count('class="field-error"') == 1
    assert "Design review from the brand team</textarea>" in html
    if field == "biggest_risk":
        assert 'value="6"' in html
        assert 'value="18.5"' in html
    else:
        assert f'value="{typed}"' in html
        assert "Pricing page redesign slips past December</textarea>" in html
    assert re.search(r'value="at_risk"[^>]*\bchecked\b', html)
    assert "Saved." not in html
    assert not CheckIn.objects.exists()


def test_missing_status_is_refused_beside_the_question(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    data = answers(key_result)
    del data[f"kr{key_result.pk}-status"]

    html = client_for(owner).post(submit_url(key_result), data, **HTMX).content.decode()

    status_block = html[html.find('<fieldset class="q-status">') : html.find("</fieldset>")]
    assert "Answer “Are you on track?” with on track, at risk or off track." in status_block
    assert "Pricing page redesign slips past December</textarea>" in html
    assert not CheckIn.objects.exists()


def test_every_problem_shows_at_once(client_for: Any, owner: Any, key_result: Any) -> None:
    data = answers(key_result, status="", confidence="abc", biggest_risk="", value="12,5x")

    html = client_for(owner).post(submit_url(key_result), data, **HTMX).content.decode()

    assert html.count('class="field-error"') == 4
    assert "Answer “Are you on track?”" in html
    assert error_beside(html, key_result, "confidence", "(you gave “abc”)")
    assert error_beside(html, key_result, "biggest_risk", "Name the biggest risk")
    assert error_beside(html, key_result, "value", "(you typed “12,5x”)")
    assert not CheckIn.objects.exists()


def test_need_for_a_person_without_saying_what_is_refused_beside_the_need(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    data = answers(key_result, need="", need_person=str(provider.pk))

    html = client_for(owner).post(submit_url(key_result), data, **HTMX).content.decode()

    assert error_beside(html, key_result, "need", "Say what you need from Pia Provider.")
    assert f'<option value="{provider.pk}" selected>' in html
    assert not CheckIn.objects.exists()


def test_an_unknown_person_is_refused_beside_from_whom(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    data = answers(key_result, need="A review", need_person="999999")

    html = client_for(owner).post(submit_url(key_result), data, **HTMX).content.decode()

    assert error_beside(html, key_result, "need_person", "Select a valid choice.")
    assert not CheckIn.objects.exists()


def test_field_errors_are_what_the_inputs_aria_describedby_names(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    data = answers(key_result, confidence="abc", biggest_risk="", value="x", need_person="999999")

    html = client_for(owner).post(submit_url(key_result), data, **HTMX).content.decode()

    described = re.findall(r'aria-describedby="([^"]+)"', html)
    assert len(described) == 4
    for error_id in described:
        assert f'<small class="field-error" id="{error_id}">' in html


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teammate", "lead", "provider", "outsider", "admin_user"])
def test_only_the_owner_submits_then_the_owners_identical_post_succeeds(
    request: pytest.FixtureRequest, client: Any, owner: Any, key_result: Any, who: str
) -> None:
    data = answers(key_result)
    client.force_login(request.getfixturevalue(who))

    refused = client.post(submit_url(key_result), data, **HTMX)

    assert refused.status_code == 403
    assert "Olga Owner, the owner, checks in" in refused.content.decode()
    assert not CheckIn.objects.exists()
    client.force_login(owner)
    assert client.post(submit_url(key_result), data, **HTMX).status_code == 200
    assert CheckIn.objects.get().author == owner


def test_anonymous_submit_goes_to_the_login_page(client: Any, key_result: Any) -> None:
    response = client.post(submit_url(key_result), answers(key_result))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not CheckIn.objects.exists()


# --- dependency review in weeks 1-2 ------------------------------------------------------------


def test_week_one_form_reviews_open_dependencies_and_a_no_flags_it_at_risk(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, commit_dependency: Any
) -> None:
    frozen_now.move_to(WEEK_1)
    dep = commit_dependency()
    client = client_for(owner)

    html = client.get(reverse("home")).content.decode()

    assert "Week 1: are this key result's dependencies still on track?" in html
    assert "Billing API v2" in html
    assert f'name="kr{key_result.pk}-dep_{dep.pk}"' in html
    assert f'name="kr{key_result.pk}-dep_{dep.pk}_note"' in html

    data = answers(key_result)
    data[f"kr{key_result.pk}-dep_{dep.pk}"] = "no"
    data[f"kr{key_result.pk}-dep_{dep.pk}_note"] = "Pia's team lost two engineers"
    assert "Saved." in client.post(submit_url(key_result), data, **HTMX).content.decode()

    dep.refresh_from_db()
    assert dep.status == Dependency.Status.AT_RISK
    assert dep.reason == "Pia's team lost two engineers"
    review = CheckIn.objects.get().dependency_reviews.get()
    assert (review.dependency, review.on_track) == (dep, False)


def test_the_saved_card_keeps_the_dependency_answer_given(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, commit_dependency: Any
) -> None:
    frozen_now.move_to(WEEK_1)
    dep = commit_dependency()
    client = client_for(owner)
    data = answers(key_result)
    data[f"kr{key_result.pk}-dep_{dep.pk}"] = "no"
    data[f"kr{key_result.pk}-dep_{dep.pk}_note"] = "No owner for the webhook part"

    html = client.post(submit_url(key_result), data, **HTMX).content.decode()

    # Re-submitting the card as shown (say, to fix the value) must not turn it back to "yes".
    page = client.get(reverse("home")).content.decode()
    for shown in (html, page):
        assert re.search(rf'name="kr{key_result.pk}-dep_{dep.pk}" value="no"[^>]*\bchecked', shown)
        assert 'value="No owner for the webhook part"' in shown


def test_a_missing_dependency_answer_is_refused_beside_it(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, commit_dependency: Any
) -> None:
    frozen_now.move_to(WEEK_1)
    dep = commit_dependency()

    html = (
        client_for(owner).post(submit_url(key_result), answers(key_result), **HTMX).content.decode()
    )

    row = html[html.find('<div class="dep-review-row">') :]
    assert "Say whether “Billing API v2” is still on track." in row[: row.find("</div>")]
    assert not CheckIn.objects.exists()
    dep.refresh_from_db()
    assert dep.status == Dependency.Status.COMMITTED


def test_still_on_track_leaves_the_dependency_committed(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, commit_dependency: Any
) -> None:
    frozen_now.move_to("2026-10-12 09:30:00+00:00")  # week 2
    dep = commit_dependency()
    data = answers(key_result)
    data[f"kr{key_result.pk}-dep_{dep.pk}"] = "yes"

    client_for(owner).post(submit_url(key_result), data, **HTMX)

    dep.refresh_from_db()
    assert dep.status == Dependency.Status.COMMITTED
    assert CheckIn.objects.get().dependency_reviews.get().on_track is True


def test_week_three_form_does_not_review_dependencies(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, commit_dependency: Any
) -> None:
    frozen_now.move_to(WEEK_3)
    dep = commit_dependency()
    client = client_for(owner)

    html = client.get(reverse("home")).content.decode()

    assert "Week 3 of 14" in html
    assert "are this key result's dependencies still on track?" not in html
    assert f"dep_{dep.pk}" not in html
    data = answers(key_result)
    data[f"kr{key_result.pk}-dep_{dep.pk}"] = "no"  # a stale form's answer is ignored
    client.post(submit_url(key_result), data, **HTMX)
    dep.refresh_from_db()
    assert dep.status == Dependency.Status.COMMITTED


# --- needs -----------------------------------------------------------------------------------


def test_a_need_naming_a_person_reaches_their_asked_of_me_until_they_handle_it(
    client_for: Any, owner: Any, key_result: Any, provider: Any
) -> None:
    need = "Two days of Pia's time to wire the billing webhook"
    client = client_for(owner)
    client.post(
        submit_url(key_result),
        answers(key_result, need=need, need_person=str(provider.pk)),
        **HTMX,
    )
    check_in = CheckIn.objects.get()
    notification = provider.notifications.get(kind="need")
    assert (
        notification.subject == "Olga Owner needs something from you for “Raise trial conversion”"
    )
    assert (notification.body, notification.link) == (need, reverse("asked_of_me"))

    client = client_for(provider)
    asked = client.get(reverse("asked_of_me")).content.decode()
    assert "Need from a check-in" in asked
    assert need.replace("'", "&#x27;") in asked
    assert "Olga Owner needs this for “Raise trial conversion”, week 7." in asked
    handled_url = reverse("checkins:need_handled", args=[check_in.pk])
    assert f'hx-post="{handled_url}"' in asked
    assert "Mark handled</button>" in asked

    response = client.post(handled_url, {"from": "asked"}, **HTMX)

    assert "Marked handled; the owner has been told." in response.content.decode()
    assert "<html" not in response.content.decode()
    check_in.refresh_from_db()
    assert check_in.need_handled_at is not None
    assert owner.notifications.filter(kind="need_handled").count() == 1
    assert "Need from a check-in" not in client.get(reverse("asked_of_me")).content.decode()
    timeline = client.get(key_result.get_absolute_url()).content.decode()
    assert '<span class="pill pill-committed">handled</span>' in timeline


def test_someone_else_marking_a_need_handled_is_a_403_then_the_person_succeeds(
    client: Any, owner: Any, key_result: Any, provider: Any, teammate: Any
) -> None:
    check_in = submit(owner, key_result, need="A review", need_person=provider)
    url = reverse("checkins:need_handled", args=[check_in.pk])

    for who in (teammate, owner):
        client.force_login(who)
        response = client.post(url, **HTMX)
        assert response.status_code == 403
        assert "This need is addressed to someone else." in response.content.decode()
    check_in.refresh_from_db()
    assert check_in.need_handled_at is None

    client.force_login(provider)
    assert client.post(url).status_code == 302
    check_in.refresh_from_db()
    assert check_in.need_handled_at is not None


def test_a_need_on_a_dependency_goes_to_its_responsible_person(
    client_for: Any, owner: Any, key_result: Any, provider: Any, commit_dependency: Any
) -> None:
    dep = commit_dependency()
    client_for(owner).post(
        submit_url(key_result),
        answers(key_result, need="The sandbox keys", need_dependency=str(dep.pk)),
        **HTMX,
    )

    check_in = CheckIn.objects.get()
    assert (check_in.need_person, check_in.need_dependency) == (provider, dep)
    asked = client_for(provider).get(reverse("asked_of_me")).content.decode()
    assert "(dependency “Billing API v2”)" in asked


# --- key result page -------------------------------------------------------------------------


def test_key_result_page_shows_the_timeline_and_the_chart(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, provider: Any, outsider: Any
) -> None:
    frozen_now.move_to("2026-11-03 09:30:00+00:00")  # week 5
    submit(owner, key_result, value="16")
    frozen_now.move_to("2026-11-17 09:30:00+00:00")  # week 7
    submit(
        owner,
        key_result,
        status="off_track",
        confidence=3,
        biggest_risk="Checkout bug blocks the trial upgrade",
        value="17",
        need="Fix in the payments SDK",
        need_person=provider,
    )

    html = client_for(outsider).get(key_result.get_absolute_url()).content.decode()

    panel = html[html.find('<section class="panel" id="checkin-timeline">') :]
    weeks = re.findall(r'<div class="timeline-week">(Week \d+)</div>', panel)
    assert weeks == ["Week 7", "Week 5"]  # newest first
    assert '<span class="pill pill-off_track">Off track</span> <strong>3/10</strong>' in panel
    assert '<span class="pill pill-at_risk">At risk</span> <strong>6/10</strong>' in panel
    assert "Checkout bug blocks the trial upgrade" in panel
    assert "Fix in the payments SDK — from Pia Provider" in panel
    assert "value 17 %" in panel
    svg = re.search(r"<svg class=\"progress-chart\".*?</svg>", panel, re.DOTALL)
    assert svg is not None
    assert 'aria-label="Progress over 2 check-ins, target 30"' in svg.group()
    assert svg.group().count('class="chart-dot risky"') == 2
    assert "stated vs. forecast" not in panel


def test_on_track_that_the_trend_contradicts_is_flagged_stated_vs_forecast(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    # From 10 at week 0 to 11 at week 7: the trend reaches 12 at week 14, far below 30.
    client_for(owner).post(
        submit_url(key_result), answers(key_result, status="on_track", value="11"), **HTMX
    )
    check_in = CheckIn.objects.get()
    assert check_in.forecast_flag is True
    assert check_in.forecast_value == Decimal("12.00")

    my_week = client_for(owner).get(reverse("home")).content.decode()
    page = client_for(owner).get(key_result.get_absolute_url()).content.decode()

    assert "stated vs. forecast" in my_week
    panel = page[page.find('<section class="panel" id="checkin-timeline">') :]
    assert '<span class="pill pill-on_track">On track</span>' in panel
    assert "stated vs. forecast" in panel
    assert "projects <strong>12 %</strong> at quarter end (target 30)" in panel
    assert 'class="chart-dot risky"' in panel  # "on track" the trend contradicts shows red


def test_on_track_with_a_trend_that_reaches_the_target_is_not_flagged(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    client_for(owner).post(
        submit_url(key_result), answers(key_result, status="on_track", value="21"), **HTMX
    )

    assert CheckIn.objects.get().forecast_flag is False
    page = client_for(owner).get(key_result.get_absolute_url()).content.decode()
    assert "stated vs. forecast" not in page


def test_key_result_page_renders_the_timeline_once_and_not_in_the_title(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    submit(owner, key_result)

    html = client_for(owner).get(key_result.get_absolute_url()).content.decode()

    title = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert title is not None
    assert title.group(1).strip() == "Raise trial conversion · OKRly"
    assert html.count('id="checkin-timeline"') == 1


def test_key_result_page_without_check_ins_says_so(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    html = client_for(owner).get(key_result.get_absolute_url()).content.decode()

    assert "No check-ins yet." in html
    assert "<svg" not in html


# --- query counts ----------------------------------------------------------------------------


def count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_my_week_query_count_does_not_grow_with_key_results(
    client_for: Any, owner: Any, quarter: Any, growth: Any, platform: Any, provider: Any
) -> None:
    client = client_for(owner)
    people = [UserFactory() for _ in range(3)]

    def add(n: int) -> None:
        """Key results each with this week's check-in (a need for someone) and a dependency."""
        for i in range(n):
            objective = ObjectiveFactory(quarter=quarter, team=growth, rank=i + 1)
            kr = KeyResultFactory(objective=objective, owner=owner)
            dependency_services.dependency_request(
                user=owner,
                key_result=kr,
                provider_team=platform,
                responsible=provider,
                deliverable=f"Thing for {kr.title}",
                due_date=date(2026, 12, 1),
            )
            submit(owner, kr, need="A hand", need_person=people[i % len(people)])
            KeyResultFactory(objective=objective)  # someone else's, not on this page

    add(1)
    one = count_queries(client, reverse("home"))
    add(14)
    html = client.get(reverse("home")).content.decode()
    assert "<strong>15 of 15</strong> check-ins done" in html
    assert count_queries(client, reverse("home")) == one


def test_key_result_page_query_count_does_not_grow_with_check_ins(
    frozen_now: Any, client_for: Any, owner: Any, key_result: Any, provider: Any, teammate: Any
) -> None:
    frozen_now.move_to("2026-12-21 09:30:00+00:00")  # week 12: weeks 1-12 can be checked in
    client = client_for(teammate)

    def check_in(week: int) -> None:
        """A check-in with a need for someone, edited once (one earlier version)."""
        for risk in ("First thought", "Second thought"):
            with during_week(key_result.objective.quarter, week):
                submit(
                    owner,
                    key_result,
                    week=week,
                    value=str(10 + week),
                    biggest_risk=risk,
                    need="Review",
                    need_person=provider,
                )

    check_in(1)
    one = count_queries(client, key_result.get_absolute_url())
    for week in range(2, 13):
        check_in(week)
    html = client.get(key_result.get_absolute_url()).content.decode()
    assert html.count('class="timeline-entry"') == 12
    assert count_queries(client, key_result.get_absolute_url()) == one


# --- API -------------------------------------------------------------------------------------


class TestApi:
    def api(self, user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    def payload(self, key_result: Any, **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key_result": key_result.pk,
            "status": "on_track",
            "confidence": 8,
            "biggest_risk": "Holiday traffic dip",
            "value": "22.5",
        }
        data.update(overrides)
        return data

    def test_owner_creates_then_edits_the_weeks_check_in(self, owner: Any, key_result: Any) -> None:
        api = self.api(owner)
        created = api.post("/api/checkins/", self.payload(key_result, week=WEEK))
        assert created.status_code == 201
        assert (created.json()["week"], created.json()["value"]) == (WEEK, "22.50")

        edited = api.post(
            "/api/checkins/", self.payload(key_result, week=WEEK, status="at_risk"), format="json"
        )
        assert edited.status_code == 200
        assert edited.json()["status"] == "at_risk"
        assert edited.json()["edited_at"] is not None
        assert CheckIn.objects.count() == 1
        assert CheckInRevision.objects.count() == 1

    def test_second_post_without_a_week_is_an_edit_answered_200(
        self, owner: Any, key_result: Any
    ) -> None:
        api = self.api(owner)
        assert api.post("/api/checkins/", self.payload(key_result)).status_code == 201
        second = api.post("/api/checkins/", self.payload(key_result, confidence=5))
        assert CheckIn.objects.count() == 1
        assert second.status_code == 200

    def test_non_owner_is_refused_then_the_owner_succeeds(
        self, owner: Any, teammate: Any, key_result: Any
    ) -> None:
        refused = self.api(teammate).post("/api/checkins/", self.payload(key_result))
        assert refused.status_code == 403
        assert "Olga Owner, the key result's owner, checks in for it." in refused.json()["detail"]
        assert not CheckIn.objects.exists()
        assert self.api(owner).post("/api/checkins/", self.payload(key_result)).status_code == 201

    @pytest.mark.parametrize("confidence", ["11", "abc", "-1"])
    def test_bad_confidence_is_a_400_under_confidence(
        self, owner: Any, key_result: Any, confidence: str
    ) -> None:
        response = self.api(owner).post(
            "/api/checkins/", self.payload(key_result, confidence=confidence)
        )
        assert response.status_code == 400
        assert response.json() == {
            "confidence": [f"Confidence is a whole number from 0 to 10 (you gave “{confidence}”)."]
        }
        assert not CheckIn.objects.exists()

    def test_list_filtered_by_key_result(
        self, owner: Any, objective: Any, key_result: Any, teammate: Any
    ) -> None:
        other = KeyResultFactory(objective=objective, owner=owner)
        submit(owner, key_result)
        submit(owner, other)

        listed = self.api(teammate).get("/api/checkins/", {"key_result": key_result.pk})

        assert listed.status_code == 200
        assert listed.json()["count"] == 1
        assert listed.json()["results"][0]["key_result"] == key_result.pk
        assert self.api(teammate).get("/api/checkins/").json()["count"] == 2
        bad = self.api(teammate).get("/api/checkins/", {"key_result": "x"})
        assert bad.status_code == 400
