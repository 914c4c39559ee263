"""The quarterly review's services (rule 11): factors and decisions linked to evidence, the
follow-up of last quarter's decisions, the close (a structural decision required, in the
service and in the admin), a decision not done twice, and settings applied when a decision's
quarter starts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from objectives.limits import key_result_limit, objective_limit
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import OrgSetting, Quarter
from okrly.orgsettings import value
from reviews import review_services as services
from reviews.early_escalations import answer_due
from reviews.models import (
    DecisionFollowUp,
    MissResponse,
    Review,
    SettingChange,
    StructuralDecision,
)
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def before(db: Any) -> Quarter:
    """The quarter before the reviewed one (closed)."""
    return Quarter.objects.create(
        name="2026 Q3",
        start=date(2026, 7, 1),
        end=date(2026, 9, 30),
        status=Quarter.Status.CLOSED,
    )


@pytest.fixture
def after(db: Any) -> Quarter:
    """The quarter after the reviewed one: decisions take effect in it."""
    return Quarter.objects.create(
        name="2027 Q1",
        start=date(2027, 1, 1),
        end=date(2027, 3, 31),
        status=Quarter.Status.PLANNING,
    )


@pytest.fixture
def reviewing(quarter: Quarter) -> Quarter:
    quarter.status = Quarter.Status.REVIEWING
    quarter.save()
    return quarter


def _decide(user: Any, review: Review, key_result: Any, takes_effect: Quarter, **kw: Any) -> Any:
    return services.decision_add(
        user=user,
        review=review,
        what_changes=kw.pop("what_changes", "Dependency requests are made in week 0."),
        why="Three misses waited on late requests.",
        owner=kw.pop("owner", user),
        takes_effect=takes_effect,
        success_check="Every dependency is requested by the first Friday.",
        follow_up_on=takes_effect.start + timedelta(days=30),
        key_result=key_result,
        **kw,
    )


def _old_decision(before: Quarter, owner: Any, takes_effect: Quarter, kr: Any) -> Any:
    """A decision of the previous quarter's organisation review (made then, by the ORM)."""
    review = Review.objects.create(quarter=before, team=None, status=Review.Status.CLOSED)
    return StructuralDecision.objects.create(
        review=review,
        what_changes="Every objective names its definition group.",
        why="Two objectives were read three ways.",
        key_result=kr,
        owner=owner,
        takes_effect=takes_effect,
        success_check="No definition challenge goes unanswered.",
        follow_up_on=takes_effect.start + timedelta(days=20),
        created_by=owner,
    )


# --- factors and decisions ----------------------------------------------------------------------


def test_a_factor_needs_text_and_evidence_of_the_quarter(
    leader: Any, quarter: Quarter, key_result: Any, before: Quarter
) -> None:
    review = services.review_for(quarter)
    with pytest.raises(RuleBroken) as no_evidence:
        services.factor_add(user=leader, review=review, text="The outage.")
    assert no_evidence.value.field == "key_result"
    with pytest.raises(RuleBroken) as no_text:
        services.factor_add(user=leader, review=review, text="  ", key_result=key_result)
    assert no_text.value.field == "text"
    old_kr = KeyResultFactory(objective=ObjectiveFactory(quarter=before))
    with pytest.raises(RuleBroken, match="not from the reviewed quarter"):
        services.factor_add(user=leader, review=review, text="Old", key_result=old_kr)
    factor = services.factor_add(
        user=leader, review=review, text="Platform's outage.", key_result=key_result
    )
    assert factor.author == leader
    assert list(review.factors.all()) == [factor]


def test_review_for_creates_one_review_per_scope(quarter: Quarter, growth: Any) -> None:
    assert services.review_for(quarter) == services.review_for(quarter)
    team_review = services.review_for(quarter, growth)
    assert team_review.team == growth
    assert Review.objects.filter(quarter=quarter).count() == 2


def test_a_decision_takes_effect_after_the_reviewed_quarter_with_evidence(
    leader: Any, quarter: Quarter, after: Quarter, key_result: Any
) -> None:
    review = services.review_for(quarter)
    with pytest.raises(RuleBroken) as no_evidence:
        _decide(leader, review, None, after)
    assert no_evidence.value.field == "key_result"
    with pytest.raises(RuleBroken) as same_quarter:
        _decide(leader, review, key_result, quarter)
    assert same_quarter.value.field == "takes_effect"
    with pytest.raises(RuleBroken) as follow_up_outside:
        services.decision_add(
            user=leader,
            review=review,
            what_changes="x",
            why="y",
            owner=leader,
            takes_effect=after,
            success_check="z",
            follow_up_on=after.end + timedelta(days=1),
            key_result=key_result,
        )
    assert follow_up_outside.value.field == "follow_up_on"
    decision = _decide(leader, review, key_result, after)
    assert decision.created_by == leader
    assert decision.applied_at is None


@pytest.mark.parametrize(
    ("setting", "team", "val", "field"),
    [
        ("NOT_A_SETTING", False, 3, "setting"),
        ("RESPONSE_DAYS", False, 0, "setting_value"),
        ("RESPONSE_DAYS", False, 61, "setting_value"),
        ("RESPONSE_DAYS", True, 5, "setting_team"),
        ("TEAM_OBJECTIVE_LIMIT", False, 3, "setting_team"),
        ("TEAM_OBJECTIVE_LIMIT", True, None, "setting_value"),
        ("", False, 3, "setting"),
    ],
)
def test_a_setting_must_be_adjustable_and_within_bounds(
    leader: Any,
    quarter: Quarter,
    after: Quarter,
    key_result: Any,
    growth: Any,
    setting: str,
    team: bool,
    val: int | None,
    field: str,
) -> None:
    review = services.review_for(quarter)
    with pytest.raises(RuleBroken) as refused:
        _decide(
            leader,
            review,
            key_result,
            after,
            setting=setting,
            setting_team=growth if team else None,
            setting_value=val,
        )
    assert refused.value.field == field
    assert not StructuralDecision.objects.exists()


def test_a_team_review_changes_only_its_own_objective_limit(
    lead: Any, quarter: Quarter, after: Quarter, key_result: Any, growth: Any, platform: Any
) -> None:
    review = services.review_for(quarter, growth)
    with pytest.raises(RuleBroken, match="only its own objective limit"):
        _decide(lead, review, key_result, after, setting="RESPONSE_DAYS", setting_value=4)
    with pytest.raises(RuleBroken, match="only its own objective limit"):
        _decide(
            lead,
            review,
            key_result,
            after,
            setting="TEAM_OBJECTIVE_LIMIT",
            setting_team=platform,
            setting_value=2,
        )
    decision = _decide(
        lead,
        review,
        key_result,
        after,
        setting="TEAM_OBJECTIVE_LIMIT",
        setting_team=growth,
        setting_value=2,
    )
    assert decision.setting_team == growth


# --- rights ---------------------------------------------------------------------------------------


def test_leadership_runs_the_organisations_review_and_leads_their_teams(
    leader: Any,
    lead: Any,
    platform_lead: Any,
    owner: Any,
    outsider: Any,
    quarter: Quarter,
    after: Quarter,
    key_result: Any,
    growth: Any,
) -> None:
    org = services.review_for(quarter)
    team = services.review_for(quarter, growth)
    for user in (lead, owner, outsider):
        with pytest.raises(NotAllowed, match="leadership"):
            services.factor_add(user=user, review=org, text="x", key_result=key_result)
    for user in (platform_lead, owner, outsider):
        with pytest.raises(NotAllowed, match="Growth"):
            _decide(user, team, key_result, after)
        with pytest.raises(NotAllowed):
            services.review_close(user=user, review=team)
    _decide(lead, team, key_result, after)
    _decide(leader, team, key_result, after)
    services.factor_add(user=leader, review=org, text="x", key_result=key_result)
    assert team.decisions.count() == 2


# --- closing --------------------------------------------------------------------------------------


def test_close_is_refused_without_a_structural_decision(
    leader: Any, reviewing: Quarter, key_result: Any
) -> None:
    review = services.review_for(reviewing)
    services.factor_add(user=leader, review=review, text="x", key_result=key_result)
    with pytest.raises(RuleBroken) as refused:
        services.review_close(user=leader, review=review)
    assert refused.value.code == "structural_decision_required"
    assert refused.value.message == services.NO_DECISION_MESSAGE
    review.refresh_from_db()
    reviewing.refresh_from_db()
    assert review.status == Review.Status.OPEN
    assert reviewing.status == Quarter.Status.REVIEWING


def test_closing_the_organisations_review_closes_the_quarter_and_opens_responses(
    leader: Any, reviewing: Quarter, after: Quarter, key_result: Any
) -> None:
    review = services.review_for(reviewing)
    _decide(leader, review, key_result, after)
    closed = services.review_close(user=leader, review=review)
    assert closed.status == Review.Status.CLOSED
    assert closed.closed_by == leader
    reviewing.refresh_from_db()
    assert reviewing.status == Quarter.Status.CLOSED
    # Raise trial conversion ended where it started: a miss, now with its response.
    assert MissResponse.objects.filter(
        kind=MissResponse.Kind.KEY_RESULT_MISSED, key_result=key_result
    ).exists()
    with pytest.raises(RuleBroken, match="closed"):
        services.review_close(user=leader, review=review)


def test_the_organisations_review_closes_only_a_reviewing_quarter(
    leader: Any, quarter: Quarter, after: Quarter, key_result: Any
) -> None:
    review = services.review_for(quarter)
    _decide(leader, review, key_result, after)
    with pytest.raises(RuleBroken, match="active"):
        services.review_close(user=leader, review=review)
    quarter.refresh_from_db()
    assert quarter.status == Quarter.Status.ACTIVE


def test_a_team_review_closes_without_touching_the_quarter(
    lead: Any, reviewing: Quarter, after: Quarter, key_result: Any, growth: Any
) -> None:
    review = services.review_for(reviewing, growth)
    with pytest.raises(RuleBroken) as refused:
        services.review_close(user=lead, review=review)
    assert refused.value.code == "structural_decision_required"
    _decide(lead, review, key_result, after)
    services.review_close(user=lead, review=review)
    reviewing.refresh_from_db()
    assert reviewing.status == Quarter.Status.REVIEWING


def test_close_is_refused_while_last_quarters_decisions_are_unmarked(
    leader: Any, reviewing: Quarter, before: Quarter, after: Quarter, key_result: Any
) -> None:
    old = _old_decision(before, leader, reviewing, key_result)
    review = services.review_for(reviewing)
    _decide(leader, review, key_result, after)
    with pytest.raises(RuleBroken) as refused:
        services.review_close(user=leader, review=review)
    assert refused.value.code == "follow_up_required"
    assert refused.value.data == {"decisions": [old.pk]}
    assert "Every objective names its definition group" in refused.value.message
    services.follow_up_mark(
        user=leader, review=review, decision=old, verdict="working", note="All name one."
    )
    services.review_close(user=leader, review=review)
    reviewing.refresh_from_db()
    assert reviewing.status == Quarter.Status.CLOSED


def test_only_last_quarters_decisions_are_followed_up_with_a_note(
    leader: Any, reviewing: Quarter, before: Quarter, after: Quarter, key_result: Any, growth: Any
) -> None:
    old = _old_decision(before, leader, reviewing, key_result)
    review = services.review_for(reviewing)
    current = _decide(leader, review, key_result, after)
    with pytest.raises(RuleBroken) as this_quarters:
        services.follow_up_mark(
            user=leader, review=review, decision=current, verdict="working", note="x"
        )
    assert this_quarters.value.field == "decision"
    # Another scope's review does not follow up the organisation's decisions.
    team_review = services.review_for(reviewing, growth)
    with pytest.raises(RuleBroken):
        services.follow_up_mark(
            user=leader, review=team_review, decision=old, verdict="working", note="x"
        )
    with pytest.raises(RuleBroken) as no_note:
        services.follow_up_mark(
            user=leader, review=review, decision=old, verdict="working", note=" "
        )
    assert no_note.value.field == "note"
    with pytest.raises(RuleBroken) as bad_verdict:
        services.follow_up_mark(user=leader, review=review, decision=old, verdict="maybe", note="x")
    assert bad_verdict.value.field == "verdict"
    services.follow_up_mark(user=leader, review=review, decision=old, verdict="working", note="a")
    # Marking again corrects the verdict (one row per decision and review).
    services.follow_up_mark(
        user=leader, review=review, decision=old, verdict="not_working", note="b"
    )
    marks = list(DecisionFollowUp.objects.filter(decision=old))
    assert [(m.verdict, m.note) for m in marks] == [("not_working", "b")]


def test_a_decision_not_done_in_two_reviews_opens_a_response(
    client_for: Any,
    leader: Any,
    owner: Any,
    reviewing: Quarter,
    before: Quarter,
    after: Quarter,
    key_result: Any,
) -> None:
    old = _old_decision(before, owner, reviewing, key_result)
    q4_review = services.review_for(reviewing)
    services.follow_up_mark(
        user=leader, review=q4_review, decision=old, verdict="not_done", note="Nobody started."
    )
    assert not MissResponse.objects.filter(kind=MissResponse.Kind.DECISION_NOT_DONE).exists()
    _decide(leader, q4_review, key_result, after)
    services.review_close(user=leader, review=q4_review)
    # The next review asks about it again (still not done) beside its own previous decisions.
    q1_review = services.review_for(after)
    assert old in services.decisions_to_follow_up(q1_review)
    assert services.unmarked_decisions(q1_review) == list(
        services.decisions_to_follow_up(q1_review)
    )
    services.follow_up_mark(
        user=leader, review=q1_review, decision=old, verdict="not_done", note="Still not."
    )
    response = MissResponse.objects.get(kind=MissResponse.Kind.DECISION_NOT_DONE)
    assert response.subject_key == f"decision:{old.pk}"
    assert response.accountable == owner
    assert response.key_result == key_result
    assert response.quarter == after
    assert "Every objective names its definition group" in response.committed
    page = client_for(owner).get(response.get_absolute_url())
    assert page.status_code == 200
    assert "Structural decision not done in two reviews" in page.content.decode()
    # Marking it again does not open a second one.
    services.follow_up_mark(
        user=leader, review=q1_review, decision=old, verdict="not_done", note="Still not!"
    )
    assert MissResponse.objects.filter(kind=MissResponse.Kind.DECISION_NOT_DONE).count() == 1
    # The review after that does not ask about it again: the response took it over.
    q2 = QuarterFactory(name="2027 Q2", start=date(2027, 4, 1), end=date(2027, 6, 30))
    Review.objects.filter(pk=q1_review.pk).update(status=Review.Status.CLOSED)
    assert list(services.decisions_to_follow_up(services.review_for(q2))) == []


# --- the admin --------------------------------------------------------------------------------


def _admin_post(client: Any, quarter: Quarter, status: str) -> Any:
    return client.post(
        reverse("admin:okrly_quarter_change", args=[quarter.pk]),
        {
            "name": quarter.name,
            "start": quarter.start.isoformat(),
            "end": quarter.end.isoformat(),
            "checkin_weekday": quarter.checkin_weekday,
            "checkin_hour": quarter.checkin_hour,
            "status": status,
            "objective_limit": "",
        },
    )


def test_the_admin_cannot_close_a_quarter_past_its_review(
    client_for: Any, admin_user: Any, reviewing: Quarter
) -> None:
    client = client_for(admin_user)
    response = _admin_post(client, reviewing, Quarter.Status.CLOSED)
    assert response.status_code == 200
    assert services.NO_DECISION_MESSAGE in response.content.decode().replace("&#x27;", "'")
    reviewing.refresh_from_db()
    assert reviewing.status == Quarter.Status.REVIEWING
    # Other edits still save.
    assert _admin_post(client, reviewing, Quarter.Status.REVIEWING).status_code == 302


def test_the_admin_saves_a_quarter_whose_review_is_closed(
    client_for: Any,
    admin_user: Any,
    leader: Any,
    reviewing: Quarter,
    after: Quarter,
    key_result: Any,
) -> None:
    review = services.review_for(reviewing)
    _decide(leader, review, key_result, after)
    services.review_close(user=leader, review=review)
    reviewing.refresh_from_db()
    assert _admin_post(client_for(admin_user), reviewing, Quarter.Status.CLOSED).status_code == 302


# --- settings applied when a decision takes effect ---------------------------------------------


def test_a_setting_is_applied_when_its_quarter_starts_and_logged(
    leader: Any, quarter: Quarter, after: Quarter, key_result: Any, growth: Any
) -> None:
    review = services.review_for(quarter)
    limit = _decide(
        leader, review, key_result, after, setting="OBJECTIVE_LIMIT_DEFAULT", setting_value=2
    )
    team = _decide(
        leader,
        review,
        key_result,
        after,
        setting="TEAM_OBJECTIVE_LIMIT",
        setting_team=growth,
        setting_value=4,
    )
    _decide(leader, review, key_result, after)  # no setting: nothing to apply
    assert services.decisions_apply_due() == 0
    assert objective_limit(growth, after) == 3
    start = datetime(2027, 1, 1, 0, 6, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert services.decisions_apply_due() == 2
        assert services.decisions_apply_due() == 0  # once
    assert value("OBJECTIVE_LIMIT_DEFAULT") == 2
    growth.refresh_from_db()
    assert growth.objective_limit == 4
    log = [
        (c.decision_id, c.setting, c.old_value, c.new_value) for c in SettingChange.objects.all()
    ]
    assert log == [
        (limit.pk, "OBJECTIVE_LIMIT_DEFAULT", 3, 2),
        (team.pk, "TEAM_OBJECTIVE_LIMIT", None, 4),
    ]
    limit.refresh_from_db()
    assert limit.applied_at == start
    # The code that reads these settings sees the organisation's value.
    other = ObjectiveFactory(quarter=after).team
    assert objective_limit(other, after) == 2
    assert objective_limit(growth, after) == 4


def test_the_readers_use_the_organisations_settings(db: Any) -> None:
    assert key_result_limit() == 5
    OrgSetting.objects.create(name="KEY_RESULT_LIMIT_DEFAULT", value=4)
    assert key_result_limit() == 4
    raised = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday morning
    far = date(2027, 6, 1)
    default_due = answer_due(raised, far, "UTC")
    OrgSetting.objects.create(name="ESCALATION_ANSWER_HOURS", value=1)
    assert answer_due(raised, far, "UTC") < default_due


def test_a_response_is_due_in_the_organisations_response_days(
    key_result: Any, quarter: Quarter
) -> None:
    from reviews.responses import response_open

    OrgSetting.objects.create(name="RESPONSE_DAYS", value=1)
    opened = response_open(kind="kr_missed", key_result=key_result, quarter=quarter)
    assert opened is not None
    assert opened.due_at - opened.opened_at <= timedelta(days=3)


def test_decisions_in_force_are_the_quarters_with_their_follow_up_dates(
    leader: Any, quarter: Quarter, after: Quarter, key_result: Any
) -> None:
    review = services.review_for(quarter)
    late = services.decision_add(
        user=leader,
        review=review,
        what_changes="Late",
        why="w",
        owner=leader,
        takes_effect=after,
        success_check="s",
        follow_up_on=after.end,
        key_result=key_result,
    )
    soon = _decide(leader, review, key_result, after)
    assert list(services.decisions_in_force(after)) == [soon, late]
    assert list(services.decisions_in_force(quarter)) == []
    later = QuarterFactory(name="2027 Q2", start=date(2027, 4, 1), end=date(2027, 6, 30))
    assert list(services.decisions_in_force(later)) == []


def test_the_dashboard_shows_the_decisions_in_force_with_their_follow_up(
    client_for: Any, outsider: Any, leader: Any, quarter: Quarter, before: Quarter, key_result: Any
) -> None:
    """Rule 11's follow-up: last quarter's decisions stay in sight on this quarter's dashboard
    (the quarter in the fixture is the one in force on every pinned day)."""
    decision = _old_decision(before, leader, quarter, key_result)
    page = client_for(outsider).get(reverse("reviews:dashboard"), {"quarter": quarter.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="decision-{decision.pk}"' in html
    assert "Every objective names its definition group." in html
    assert f'datetime="{decision.follow_up_on:%Y-%m-%d}"' in html
    StructuralDecision.objects.filter(pk=decision.pk).update(takes_effect=before)
    html = client_for(outsider).get(reverse("reviews:dashboard"), {"quarter": quarter.pk})
    assert "No structural decision takes effect" in html.content.decode()
