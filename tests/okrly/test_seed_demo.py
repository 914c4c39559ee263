from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from checkins.models import CheckIn
from dependencies.models import Dependency, DependencyEvent
from objectives import demo as objectives_demo
from objectives import limits
from objectives import services as objectives
from objectives.definitions import definition_statuses
from objectives.models import (
    DefinitionAcknowledgement,
    DefinitionChallenge,
    DefinitionComment,
    DefinitionVersion,
    Displacement,
    KeyResult,
    Objective,
    TradeOff,
)
from okrly.models import Membership, Notification, Profile, Quarter, Team
from okrly.registry import asked_of
from reviews import demo as reviews_demo
from reviews import selectors
from reviews.models import (
    EarlyEscalation,
    EscalationHop,
    HeadlineSnapshot,
    MissResponse,
    NextStep,
)
from reviews.responses import AWAITING, IN_PROGRESS, response_state

pytestmark = pytest.mark.django_db

MODELS: list[type[Any]] = [
    CheckIn,
    Dependency,
    get_user_model(),
    Team,
    Membership,
    Profile,
    Quarter,
    Objective,
    KeyResult,
    Notification,
    DefinitionVersion,
    DefinitionAcknowledgement,
    DefinitionChallenge,
    DefinitionComment,
    TradeOff,
    Displacement,
    DependencyEvent,
    MissResponse,
    NextStep,
    EarlyEscalation,
    EscalationHop,
]


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_seed_demo_builds_a_believable_organisation(frozen_now: Any) -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert 18 <= get_user_model().objects.count() <= 25
    assert Team.objects.filter(lead__isnull=False).count() == Team.objects.count() >= 5
    assert Team.objects.filter(parent__isnull=False).exists()
    assert Profile.objects.filter(manager__isnull=False).count() >= 15
    assert Profile.objects.values("timezone").distinct().count() >= 10
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    assert quarter.start.isoformat() == "2026-10-01"
    assert KeyResult.objects.filter(owner__isnull=True).count() == 0
    assert KeyResult.objects.count() >= 15
    assert Dependency.objects.filter(status="committed").exists()
    # The previous quarter's two key results (reviews/review_demo.py) have no check-ins.
    assert (
        CheckIn.objects.filter(week=1).count()
        == KeyResult.objects.filter(objective__quarter=quarter).count()
    )
    assert "1 trade-offs" in out.getvalue()
    # The alignment tree has three levels, and every alignment passes the service's rules.
    aligned = list(Objective.objects.filter(parent__isnull=False).select_related("parent"))
    assert Objective.objects.filter(
        parent__parent__parent__isnull=True, parent__parent__isnull=False
    ).exists()
    admin = get_user_model().objects.get(username="admin")
    for objective in aligned:
        objectives.objective_align(user=admin, objective=objective, parent=objective.parent)
    assert len(aligned) >= 5
    printed = out.getvalue()
    assert "okrly-demo" in printed
    assert "maya" in printed


def test_seed_demo_twice_gives_the_same_counts(frozen_now: Any) -> None:
    call_command("seed_demo", stdout=StringIO())
    first = counts()
    call_command("seed_demo", stdout=StringIO())
    assert counts() == first


def test_demo_logins_work(client: Any, frozen_now: Any) -> None:
    call_command("seed_demo", stdout=StringIO())
    # Through the sign-in form, as a person does (the lockout backend needs the request).
    signed_in = client.post("/accounts/login/", {"username": "ana", "password": "okrly-demo"})
    assert signed_in.status_code == 302
    assert "Raise activation within 7 days" in client.get("/").content.decode()


def _objective(key: tuple[str, str]) -> Objective:
    return Objective.objects.get(team__slug=key[0], title=key[1])


def test_demo_definitions_are_published_and_mostly_shared(frozen_now: Any) -> None:
    """Every objective has a published version 1 (through the services); most are shared,
    "Make releases boring" waits for one leader, and the trade-off's new objective is unread."""
    call_command("seed_demo", stdout=StringIO())
    # The current quarter's (the previous quarter's, reviews/review_demo.py, predates them).
    objectives_ = list(Objective.objects.filter(quarter__status=Quarter.Status.ACTIVE))
    statuses = definition_statuses(objectives_)
    assert all(s.version is not None and s.version.number == 1 for s in statuses.values())
    shared = [o for o in objectives_ if statuses[o.pk].shared]
    not_shared = [o for o in objectives_ if not statuses[o.pk].shared]
    assert len(shared) > len(not_shared) >= 1
    waiting = statuses[_objective(objectives_demo.NOT_SHARED).pk]
    assert [p.username for p in waiting.missing] == ["mateo"]  # the browser test's leader
    assert len(waiting.acknowledgements) >= 5
    # Readings are dated after their version was published, none in the future.
    for ack in DefinitionAcknowledgement.objects.select_related("version"):
        assert ack.version.created_at <= ack.created_at <= timezone.now()


def test_demo_has_one_divergent_reading(frozen_now: Any) -> None:
    """Shared on paper, read two ways: Sales reads growth as quota reps, the CEO as margin."""
    call_command("seed_demo", stdout=StringIO())
    divergent = _objective(objectives_demo.DIVERGENT)
    status = definition_statuses([divergent])[divergent.pk]
    assert status.shared
    readings = {ack.person.username: ack.reading for ack in status.acknowledgements}
    assert all(ack.version == status.version for ack in status.acknowledgements)
    assert "quota" in readings["sam"]
    assert "margin" in readings["maya"]
    assert len(set(readings.values())) == len(readings) >= 2
    # The only objective whose readings pull apart on quota reps versus margin.
    clashing = {
        ack.version.objective_id
        for ack in DefinitionAcknowledgement.objects.select_related("version")
        if "quota" in ack.reading or "margin" in ack.reading
    }
    assert clashing == {divergent.pk}
    # Maya says so on the page: a challenge to Sam's reading, and his reply in the thread.
    challenge = DefinitionChallenge.objects.select_related("acknowledgement__person").get()
    assert challenge.author.username == "maya"
    assert challenge.acknowledgement.person.username == "sam"
    assert challenge.acknowledgement.version == status.version
    thread = list(DefinitionComment.objects.filter(challenge=challenge).order_by("pk"))
    assert [c.author.username for c in thread] == ["maya", "sam"]


def test_demo_has_exactly_one_trade_off_with_a_deferred_key_result(frozen_now: Any) -> None:
    call_command("seed_demo", stdout=StringIO())
    trade_off = TradeOff.objects.select_related("team", "category", "added_objective").get()
    assert trade_off.status == TradeOff.Status.DECIDED
    assert trade_off.team.slug == objectives_demo.TRADE_OFF_TEAM
    assert str(trade_off.category) == "Client escalation"
    assert trade_off.quarter.status == Quarter.Status.ACTIVE
    assert trade_off.added_objective is not None
    assert trade_off.added_objective.title == objectives_demo.TRADE_OFF_ADDS["title"]
    displaced = Displacement.objects.get(trade_off=trade_off)
    assert displaced.key_result is not None
    assert displaced.objective is None
    assert displaced.action == Displacement.Action.DEFERRED
    kr = KeyResult.objects.get(pk=displaced.key_result.pk)
    assert kr.displaced_by_id == trade_off.pk
    assert KeyResult.objects.filter(displaced_by__isnull=False).count() == 1
    # The deferred key result keeps the history it had before the decision.
    assert CheckIn.objects.filter(key_result=kr).exists()
    # Its owner was told.
    assert Notification.objects.filter(
        recipient=kr.owner, kind="trade_off_displaced", link=trade_off.get_absolute_url()
    ).exists()
    # Product was at its limit: the new objective came in only through the trade-off.
    team, quarter = trade_off.team, trade_off.quarter
    assert limits.objectives_counted(team, quarter) == limits.objective_limit(team, quarter) + 1
    assert not Objective.objects.filter(
        pk=trade_off.added_objective.pk, parent__isnull=True
    ).exists()


def test_demo_stays_within_the_priority_limits(frozen_now: Any) -> None:
    """Apart from what the trade-off added, no team is over its objective limit and no
    objective over its key-result limit: the demo is written through the services."""
    call_command("seed_demo", stdout=StringIO())
    added = set(TradeOff.objects.values_list("added_objective", flat=True))
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    for team in Team.objects.all():
        counted = Objective.objects.filter(team=team, quarter=quarter, displaced_by=None).exclude(
            pk__in=added
        )
        assert counted.count() <= limits.objective_limit(team, quarter)
    for objective in Objective.objects.all():
        assert limits.key_results_counted(objective) <= limits.key_result_limit()


# --- responses to missed commitments and early escalations (issue 12) -------------------------


def test_demo_has_one_open_response_and_a_non_zero_surprise_rate(
    frozen_now: Any, client_for: Any
) -> None:
    """A promise nobody signalled is broken (its response is open, the dashboard counts it a
    surprise); another, at risk for weeks, was broken and its response recorded."""
    call_command("seed_demo", stdout=StringIO())
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    now = timezone.now()
    open_ = MissResponse.objects.select_related(
        "key_result", "dependency", "accountable", "holder"
    ).get(recorded_at__isnull=True)
    assert open_.kind == MissResponse.Kind.DEPENDENCY_BROKEN
    assert open_.key_result.title == reviews_demo.SURPRISES[0].key_result
    assert open_.dependency is not None
    assert open_.dependency.status == Dependency.Status.BROKEN
    assert open_.holder is not None
    assert (open_.accountable.username, open_.holder.username) == ("aisha", "tom")
    assert response_state(open_) == AWAITING
    assert "Northwind" in open_.delivered  # prefilled from the break's reason

    recorded = MissResponse.objects.select_related("cause", "next_step__owner").get(
        recorded_at__isnull=False
    )
    assert recorded.key_result.title == reviews_demo.SIGNALLED.key_result
    assert recorded.conversation_on is not None
    assert quarter.start <= recorded.conversation_on <= timezone.localdate()
    assert {p.username for p in recorded.participants.all()} == {"david", "lena", "fatima"}
    assert recorded.cause is not None
    assert recorded.gap
    assert recorded.next_step.owner.username == "david"
    assert recorded.next_step.done_at is None
    assert response_state(recorded) == IN_PROGRESS
    # Broken days ago (never before the quarter), recorded within its deadline.
    assert recorded.recorded_at is not None
    assert recorded.opened_at < recorded.recorded_at <= recorded.due_at
    assert recorded.recorded_at <= now
    assert MissResponse.objects.count() == 2

    # Of the two misses one was never signalled: the surprise rate is one half, and the
    # signalled one was flagged weeks before by its at-risk check-ins.
    headline = selectors.org_view(quarter, timezone.localdate()).headline
    assert (headline.misses, headline.surprises) == (2, 1)
    assert headline.surprise_rate == 0.5
    assert headline.median_lead_weeks is not None
    assert headline.median_lead_weeks >= 1
    assert headline.responses_on_time_percent == 100

    maya = get_user_model().objects.get(username="maya")
    page = client_for(maya).get("/dashboard/")
    assert page.status_code == 200
    assert "50%" in page.content.decode()
    listed = client_for(maya).get("/reviews/responses/")
    assert listed.status_code == 200
    assert reviews_demo.SURPRISES[0].key_result in listed.content.decode()


def test_demo_has_an_answered_and_an_open_early_escalation(
    frozen_now: Any, client_for: Any
) -> None:
    call_command("seed_demo", stdout=StringIO())
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    answered = EarlyEscalation.objects.select_related("asked_of", "answered_by", "dependency").get(
        status=EarlyEscalation.Status.DECIDED
    )
    assert answered.answered_by is not None
    assert answered.answered_at is not None
    assert answered.asked_of.username == answered.answered_by.username == "priya"
    assert answered.answer == reviews_demo.ANSWERED.decision
    assert answered.dependency is not None  # the cluster budget it waits for
    # Raised weeks ago, within the quarter, and answered within its deadline.
    assert answered.raised_at.date() >= quarter.start
    assert timezone.now() - answered.raised_at >= reviews_demo.ANSWERED.raised_ago
    assert answered.raised_at < answered.answered_at <= answered.answer_due_at
    assert answered.needed_by >= answered.raised_at.date()

    still_open = EarlyEscalation.objects.select_related("asked_of").get(
        status=EarlyEscalation.Status.OPEN
    )
    tom = still_open.asked_of
    assert tom.username == "tom"
    assert still_open.answer_due_at > timezone.now()
    assert [i.link for i in asked_of(tom) if i.link == still_open.get_absolute_url()]
    page = client_for(tom).get("/asked/")
    assert page.status_code == 200
    assert reviews_demo.STILL_OPEN.key_result in page.content.decode()


@pytest.mark.parametrize(
    "moment",
    [
        "2026-10-01 14:00:00+00:00",  # the quarter's first day: nothing can be back-dated
        "2026-12-30 22:00:00+00:00",  # its last days: every check-in is forecast-flagged
    ],
)
def test_demo_responses_at_the_quarter_edges(moment: str) -> None:
    """The demo still opens one response and answers one escalation at either end of the
    quarter, never dated before it, and a second run changes nothing."""
    with time_machine.travel(moment, tick=False):
        call_command("seed_demo", stdout=StringIO())
        first = counts()
        quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
        assert MissResponse.objects.filter(recorded_at__isnull=True).count() == 1
        assert MissResponse.objects.filter(opened_at__date__lt=quarter.start).count() == 0
        answered = EarlyEscalation.objects.get(status=EarlyEscalation.Status.DECIDED)
        assert answered.raised_at.date() >= quarter.start
        assert answered.answered_at is not None
        assert answered.raised_at <= answered.answered_at <= answered.answer_due_at
        call_command("seed_demo", stdout=StringIO())
        assert counts() == first


def test_demo_has_a_closed_previous_quarter_with_its_review(frozen_now: Any) -> None:
    """Issue 13: the quarter before today's is closed, its organisation review holds two
    structural decisions taking effect now, and the current review marks one of them not done;
    seeding again adds nothing."""
    from reviews.models import DecisionFollowUp, Review, StructuralDecision

    call_command("seed_demo", stdout=StringIO())
    current = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    previous = Quarter.objects.get(end__lt=current.start)
    assert previous.status == Quarter.Status.CLOSED
    assert previous.end == current.start - timedelta(days=1)
    review = Review.objects.get(quarter=previous, team=None)
    assert review.status == Review.Status.CLOSED
    decisions = list(StructuralDecision.objects.filter(review=review))
    assert len(decisions) == 2
    assert all(d.takes_effect == current for d in decisions)
    follow_ups = list(DecisionFollowUp.objects.filter(review__quarter=current))
    assert [f.verdict for f in follow_ups] == [DecisionFollowUp.Verdict.NOT_DONE]
    assert Review.objects.get(quarter=current, team=None).status == Review.Status.OPEN
    before = (Review.objects.count(), StructuralDecision.objects.count(), len(follow_ups))
    call_command("seed_demo", stdout=StringIO())
    after = (
        Review.objects.count(),
        StructuralDecision.objects.count(),
        DecisionFollowUp.objects.count(),
    )
    assert after == before


def test_demo_key_results_were_planned_before_the_quarter_and_show_their_missed_weeks(
    client: Any, frozen_now: Any
) -> None:
    """Issue 15: written at planning, not on the seed day, so a week without a check-in is
    owed and the timeline says "missed"; the dashboard has last week's headline to compare."""
    call_command("seed_demo", stdout=StringIO())
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    planned = KeyResult.objects.filter(objective__quarter=quarter).exclude(
        objective__title=objectives_demo.TRADE_OFF_ADDS["title"]
    )
    assert planned.exists()
    assert {kr.created_at.date() for kr in planned} == {quarter.start}
    # A key result missing a past week's check-in shows the gap on its page.
    week = quarter.week_of(timezone.localdate())
    gappy = next(
        kr
        for kr in planned.filter(displaced_by__isnull=True)
        if set(range(1, week)) - set(kr.checkins.values_list("week", flat=True))
    )
    client.force_login(gappy.owner)
    assert 'class="timeline-missed"' in client.get(gappy.get_absolute_url()).content.decode()

    assert sorted(HeadlineSnapshot.objects.values_list("week", flat=True)) == [week - 1, week]
    client.force_login(get_user_model().objects.get(username="maya"))
    assert 'class="trend ' in client.get("/dashboard/").content.decode()
