"""The rights matrix: every role of the cast × every service a person calls to write.

For each (role, action) the expected answer comes from the predicate in ``okrly.access``
that the service enforces, asked with the facts of the row the action is about. The service
must then succeed exactly when the predicate says yes, and refuse with ``NotAllowed``
otherwise; after a refusal, someone allowed does the same thing on the same state, to show
the refusal was about rights and not about the state (zulip's habit).

``EXPECTED`` pins the predicates themselves: who of the cast (tests/conftest.py) may do what.

Olga (owner, Growth) owns "Raise trial conversion" and asks Pia (provider, Platform) for a
billing API. Lena leads Growth, Paul leads Platform, Mia is Olga's manager, Lea is in the
leadership group, Ada is staff, Tim is Olga's teammate and Otto has no team. Time is frozen
on Tuesday 17 November 2026, week 7 of 2026 Q4.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from checkins import services as checkins
from checkins import threads
from dependencies import services as dependencies
from objectives import challenges, tradeoffs
from objectives import services as objectives
from objectives.definitions import definition_group
from objectives.models import Objective, TradeOffCategory
from okrly import access
from okrly import services as okrly_services
from okrly.errors import NotAllowed
from okrly.models import Quarter
from ownership import services as ownership
from reviews import carryover, early_escalations, lifecycle, responses, review_services
from reviews import services as reviews
from reviews.models import Grade, MissResponse, Nudge, ResponseCause
from tests.factories import NotificationFactory, ObjectiveFactory, QuarterFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

CAST = [
    "owner",
    "teammate",
    "provider",
    "lead",
    "platform_lead",
    "manager",
    "leader",
    "admin_user",
    "outsider",
]

OWNER = {"owner"}
RESPONSIBLE = {"provider"}
LEADS_OLGA = {"manager", "lead", "leader"}  # can_lead(user, Olga); also who grants her authority
GROWTH_LEADS = {"lead", "admin_user"}  # can_manage_objectives / can_nominate for Growth

EXPECTED: dict[str, set[str]] = {
    "ownership accept": OWNER,
    "ownership accept a handover": {"teammate"},
    "ownership decline": OWNER,
    "ownership handover": GROWTH_LEADS,
    "authority grant": LEADS_OLGA,
    "authority revoke": LEADS_OLGA,
    "declare no dependencies": OWNER,
    "withdraw no dependencies": OWNER,
    "dependency request": OWNER,
    "dependency commit": RESPONSIBLE,
    "dependency counter": RESPONSIBLE,
    "dependency accept counter": OWNER,
    "dependency decline": RESPONSIBLE,
    "dependency reassign": {"platform_lead"},
    "dependency deliver": RESPONSIBLE,
    "dependency confirm": OWNER,
    "dependency reopen": OWNER,
    "dependency flag risk": OWNER | RESPONSIBLE,
    "dependency break": OWNER,
    "check-in submit": OWNER,
    "need handled": RESPONSIBLE,
    "nudge": LEADS_OLGA,
    "check-in seen": LEADS_OLGA,
    # Every OKR is readable by everyone, and anyone may comment on a check-in's thread.
    "check-in comment": set(CAST),
    "objective create": GROWTH_LEADS,
    "objective edit": GROWTH_LEADS,
    "objective align": GROWTH_LEADS,
    "key result create": GROWTH_LEADS,
    "key result edit": GROWTH_LEADS,
    "notification read": OWNER,
    # Its definition group: leadership, Growth's lead and the lead of Platform, asked for
    # the billing API by one of its key results.
    "definition acknowledge": {"lead", "leader", "platform_lead"},
    # Paul's reading is challenged by the rest of the group (never by himself); its thread is
    # answered by the group, Paul among them.
    "definition challenge": {"lead", "leader"},
    "challenge reply": {"lead", "leader", "platform_lead"},
    # Growth's lead or leadership decides Growth's trade-offs (not staff as such); displacing
    # what Platform committed to waits for leadership, who alone approve or refuse it.
    "trade-off decide": {"lead", "leader"},
    "trade-off approve": {"leader"},
    "trade-off refuse": {"leader"},
    # Rule 10: Olga's missed key result is answered by her, Mia (her manager, who holds the
    # conversation) or leadership; its next step, owned by Tim, is closed by him, Mia or
    # leadership.
    "response record": {"owner", "manager", "leader"},
    "next step done": {"teammate", "manager", "leader"},
    # Rule 7: anyone on Growth raises an early escalation on its key result (not staff, not
    # Growth's leaders from outside the team); Olga's, asked of Pia, is answered or redirected
    # by Pia alone.
    "escalation raise": {"owner", "teammate", "lead"},
    "escalation answer": RESPONSIBLE,
    "escalation redirect": RESPONSIBLE,
    # Issue 13: Olga's missed key result is carried into next quarter by Growth's leads.
    "carry over": GROWTH_LEADS,
    # Issue 13: Growth's review is run by its leads and leadership; the organisation's
    # (following up last quarter's decisions, closing) by leadership alone.
    "review factor": {"lead", "leader"},
    "review decision": {"lead", "leader"},
    "review follow-up": {"leader"},
    "review close": {"leader"},
    # Issue 13: leadership starts a quarter's review early; in review, Olga alone grades hers.
    "start reviewing": {"leader"},
    "grade": OWNER,
}


@dataclass
class World:
    people: dict[str, Any]
    key_result: Any
    objective: Any
    quarter: Any
    growth: Any
    platform: Any

    @property
    def olga(self) -> Any:
        return self.people["owner"]

    @property
    def pia(self) -> Any:
        return self.people["provider"]


@pytest.fixture
def world(
    request: pytest.FixtureRequest,
    key_result: Any,
    objective: Any,
    quarter: Any,
    growth: Any,
    platform: Any,
) -> World:
    people = {name: request.getfixturevalue(name) for name in CAST}
    return World(people, key_result, objective, quarter, growth, platform)


# --- the states each action starts from (rows with rules are made by their services) --------


def _key_result(w: World) -> Any:
    return w.key_result


def _requested(w: World) -> Any:
    return dependencies.dependency_request(
        user=w.olga,
        key_result=w.key_result,
        provider_team=w.platform,
        responsible=w.pia,
        deliverable="Billing API",
        due_date=date(2026, 12, 15),
    )


def _countered(w: World) -> Any:
    return dependencies.dependency_counter(
        dependency=_requested(w), user=w.pia, due_date=date(2026, 12, 20)
    )


def _committed(w: World) -> Any:
    return dependencies.dependency_commit(dependency=_requested(w), user=w.pia)


def _delivered(w: World) -> Any:
    return dependencies.dependency_deliver(dependency=_committed(w), user=w.pia)


def _handed_to_tim(w: World) -> Any:
    ownership.ownership_handover(
        key_result=w.key_result,
        user=w.people["lead"],
        new_owner=w.people["teammate"],
        reason="Tim runs the trial flow now.",
    )
    return w.key_result


def _grant(w: World) -> Any:
    return ownership.authority_grant(
        key_result=w.key_result,
        user=w.people["lead"],
        rights=ownership.decision_rights_ensure_defaults()[:1],
        scope="The trial flow's backlog.",
    )


def _declared_none(w: World) -> Any:
    ownership.dependencies_declare_none(key_result=w.key_result, user=w.olga)
    return w.key_result


def _check_in(w: World) -> Any:
    return checkins.checkin_submit(
        user=w.olga,
        key_result=w.key_result,
        status="at_risk",
        confidence=5,
        biggest_risk="The billing API is late",
        value="14",
        need="The billing API by December",
        need_person=w.pia,
    )


def _under_company(w: World) -> Any:
    """Growth's objective, with an objective of a team above Growth to align it to."""
    company = TeamFactory(name="Company", slug="company")
    w.growth.parent = company
    w.growth.save()
    ObjectiveFactory(quarter=w.quarter, team=company, title="Be the default OKR tool")
    return w.objective


def _company_objective() -> Any:
    return Objective.objects.get(team__slug="company")


def _pauls_reading(w: World) -> Any:
    """Paul's reading of the objective's definition (he is in its group through the billing
    API Olga asked Platform for)."""
    dep = _requested(w)
    return objectives.definition_acknowledge(
        user=w.people["platform_lead"],
        objective=dep.key_result.objective,
        reading="We ship the billing API before SSO.",
    )


def _challenged(w: World) -> Any:
    return challenges.definition_challenge(
        user=w.people["leader"], acknowledgement=_pauls_reading(w), message="We meant margin."
    )


def _group_ids(ack: Any) -> set[int]:
    return {p.pk for p in definition_group(ack.version.objective)}


def _notification(w: World) -> Any:
    return NotificationFactory(recipient=w.olga)


def _trade_off_decide(u: Any, kr: Any, w: World) -> Any:
    return tradeoffs.trade_off_decide(
        user=u,
        team=w.growth,
        quarter=w.quarter,
        category=TradeOffCategory.objects.get_or_create(name="Client escalation")[0],
        reason="Acme threatens to leave over SSO.",
        displaced=[tradeoffs.Displace(kr, "dropped")],
        addition={"kind": "objective", "title": "Keep Acme"},
    )


def _awaiting_approval(w: World) -> Any:
    """Lena drops the key result Platform committed to serve: it waits for leadership."""
    _committed(w)
    return _trade_off_decide(w.people["lead"], w.key_result, w)


def _response(w: World) -> Any:
    """Olga's key result, missed: Mia, her manager, holds the conversation."""
    return responses.response_open(
        kind=MissResponse.Kind.KEY_RESULT_MISSED, key_result=w.key_result, quarter=w.quarter
    )


def _response_record(u: Any, response: Any, w: World) -> Any:
    return responses.response_record(
        user=u,
        response=response,
        conversation_on=date(2026, 11, 16),
        participants=[w.olga, w.people["manager"]],
        cause=ResponseCause.objects.get_or_create(name="Capacity")[0],
        gap="Two engineers moved to the SSO fix.",
        next_step_what="Pair on the pricing test",
        next_step_owner=w.people["teammate"],
        next_step_due=date(2026, 11, 30),
    )


def _recorded(w: World) -> Any:
    """The response recorded by Olga; Tim owns its next step."""
    response = _response(w)
    _response_record(w.olga, response, w)
    return MissResponse.objects.select_related("next_step").get(pk=response.pk)


def _escalation(w: World) -> Any:
    """Olga asks Pia for a decision on her key result."""
    return early_escalations.escalation_raise(
        user=w.olga,
        key_result=w.key_result,
        need="Decide on SSO for trials",
        asked_of=w.pia,
        needed_by=date(2026, 12, 11),
    )


def _missed_with_next_quarter(w: World) -> Any:
    """Olga's key result graded missed, and 2027 Q1 being planned."""
    Grade.objects.create(key_result=w.key_result, quarter=w.quarter, outcome=Grade.Outcome.MISSED)
    QuarterFactory(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31), status="planning")
    return w.key_result


def _reviewing(w: World) -> Any:
    """2026 Q4 in review (Olga's key result has its ungraded grade)."""
    lifecycle.quarter_start_reviewing(user=w.people["leader"], quarter=w.quarter)
    return w.key_result


def _growth_review(w: World) -> Any:
    return review_services.review_for(w.quarter, w.growth)


def _next_quarter() -> Any:
    return Quarter.objects.get_or_create(
        name="2027 Q1",
        defaults={"start": date(2027, 1, 1), "end": date(2027, 3, 31), "status": "planning"},
    )[0]


def _decision_add(u: Any, review: Any, w: World) -> Any:
    return review_services.decision_add(
        user=u,
        review=review,
        what_changes="Dependency requests are made in week 0.",
        why="The billing API was asked for in week 6.",
        owner=w.olga,
        takes_effect=_next_quarter(),
        success_check="Every dependency is requested by the first Friday.",
        follow_up_on=date(2027, 2, 1),
        key_result=w.key_result,
    )


def _org_review_following_up(w: World) -> Any:
    """2026 Q4's organisation review, with a decision of 2026 Q3's to follow up."""
    before = QuarterFactory(name="2026 Q3", start=date(2026, 7, 1), end=date(2026, 9, 30))
    old_review = review_services.review_for(before)
    old_review.decisions.create(
        what_changes="Every objective names its definition group.",
        why="Read three ways.",
        owner=w.olga,
        takes_effect=w.quarter,
        success_check="No challenge unanswered.",
        follow_up_on=date(2026, 11, 1),
        created_by=w.people["leader"],
    )
    return review_services.review_for(w.quarter)


def _org_review_to_close(w: World) -> Any:
    """2026 Q4 in review, its organisation review with one decision."""
    w.quarter.status = "reviewing"
    w.quarter.save()
    review = review_services.review_for(w.quarter)
    _decision_add(w.people["leader"], review, w)
    return review


def _can_answer_escalation(u: Any, e: Any) -> bool:
    return access.can_answer_escalation(u, asked_of_id=e.asked_of_id, is_open=e.status == "open")


# --- the facts each predicate is asked with ------------------------------------------------


def _kr_facts(kr: Any) -> dict[str, Any]:
    pending = ownership._pending(kr)
    return {
        "owner_id": kr.owner_id,
        "nominee_id": pending.nominee_id if pending else None,
        "accepted": ownership.has_accepted(kr),
    }


def _answers_request(user: Any, dep: Any) -> bool:
    return access.is_responsible(
        user, responsible_id=dep.responsible_id
    ) and access.can_answer_dependency(user, awaiting_id=dep.awaiting_id)


def _owner_of(dep: Any) -> int:
    return int(dep.key_result.owner_id)


@dataclass(frozen=True)
class Action:
    name: str
    setup: Callable[[World], Any]
    allowed: Callable[[Any, Any], bool]  # (user, subject) -> the predicate's answer
    call: Callable[[Any, Any, World], object]  # (user, subject, world) -> the service's result


ACTIONS = [
    Action(
        "ownership accept",
        _key_result,
        lambda u, kr: access.can_answer_ownership(u, **_kr_facts(kr)),
        lambda u, kr, w: ownership.ownership_accept(key_result=kr, user=u),
    ),
    Action(
        "ownership accept a handover",
        _handed_to_tim,
        lambda u, kr: access.can_answer_ownership(u, **_kr_facts(kr)),
        lambda u, kr, w: ownership.ownership_accept(key_result=kr, user=u),
    ),
    Action(
        "ownership decline",
        _key_result,
        lambda u, kr: access.can_answer_ownership(u, **_kr_facts(kr)),
        lambda u, kr, w: ownership.ownership_decline(key_result=kr, user=u, reason="Not mine."),
    ),
    Action(
        "ownership handover",
        _key_result,
        lambda u, kr: access.can_nominate(u, kr.objective.team),
        lambda u, kr, w: ownership.ownership_handover(
            key_result=kr, user=u, new_owner=w.people["teammate"], reason="Tim runs it now."
        ),
    ),
    Action(
        "authority grant",
        _key_result,
        lambda u, kr: access.can_grant(
            u, owner_id=kr.owner_id, manager_id=kr.owner.profile.manager_id, team=kr.objective.team
        ),
        lambda u, kr, w: ownership.authority_grant(
            key_result=kr,
            user=u,
            rights=ownership.decision_rights_ensure_defaults()[:2],
            scope="Up to 5,000 EUR of ads.",
        ),
    ),
    Action(
        "authority revoke",
        _grant,
        lambda u, g: access.can_grant(
            u,
            owner_id=g.key_result.owner_id,
            manager_id=g.key_result.owner.profile.manager_id,
            team=g.key_result.objective.team,
        ),
        lambda u, g, w: ownership.authority_revoke(grant=g, user=u, reason="Scope changed."),
    ),
    Action(
        "declare no dependencies",
        _key_result,
        lambda u, kr: access.is_owner(u, owner_id=kr.owner_id),
        lambda u, kr, w: ownership.dependencies_declare_none(key_result=kr, user=u),
    ),
    Action(
        "withdraw no dependencies",
        _declared_none,
        lambda u, kr: access.is_owner(u, owner_id=kr.owner_id),
        lambda u, kr, w: ownership.dependencies_withdraw_none(key_result=kr, user=u),
    ),
    Action(
        "dependency request",
        _key_result,
        lambda u, kr: access.is_owner(u, owner_id=kr.owner_id),
        lambda u, kr, w: dependencies.dependency_request(
            user=u,
            key_result=kr,
            provider_team=w.platform,
            responsible=w.pia,
            deliverable="Billing API",
            due_date=date(2026, 12, 15),
        ),
    ),
    Action(
        "dependency commit",
        _requested,
        _answers_request,
        lambda u, d, w: dependencies.dependency_commit(dependency=d, user=u),
    ),
    Action(
        "dependency counter",
        _requested,
        lambda u, d: access.can_answer_dependency(u, awaiting_id=d.awaiting_id),
        lambda u, d, w: dependencies.dependency_counter(
            dependency=d, user=u, due_date=date(2026, 12, 22)
        ),
    ),
    Action(
        "dependency accept counter",
        _countered,
        lambda u, d: access.can_accept_counter(u, owner_id=_owner_of(d), awaiting_id=d.awaiting_id),
        lambda u, d, w: dependencies.dependency_accept_counter(dependency=d, user=u),
    ),
    Action(
        "dependency decline",
        _requested,
        _answers_request,
        lambda u, d, w: dependencies.dependency_decline(dependency=d, user=u, reason="No room."),
    ),
    Action(
        "dependency reassign",
        _requested,
        lambda u, d: access.can_reassign_dependency(u, d.provider_team),
        lambda u, d, w: dependencies.dependency_reassign(
            dependency=d, user=u, responsible=w.people["platform_lead"]
        ),
    ),
    Action(
        "dependency deliver",
        _committed,
        lambda u, d: access.is_responsible(u, responsible_id=d.responsible_id),
        lambda u, d, w: dependencies.dependency_deliver(dependency=d, user=u),
    ),
    Action(
        "dependency confirm",
        _delivered,
        lambda u, d: access.is_owner(u, owner_id=_owner_of(d)),
        lambda u, d, w: dependencies.dependency_confirm(dependency=d, user=u),
    ),
    Action(
        "dependency reopen",
        _delivered,
        lambda u, d: access.is_owner(u, owner_id=_owner_of(d)),
        lambda u, d, w: dependencies.dependency_reopen(dependency=d, user=u, reason="No docs."),
    ),
    Action(
        "dependency flag risk",
        _committed,
        lambda u, d: access.can_flag_dependency_risk(
            u, owner_id=_owner_of(d), responsible_id=d.responsible_id
        ),
        lambda u, d, w: dependencies.dependency_flag_risk(dependency=d, user=u, reason="Sick."),
    ),
    Action(
        "dependency break",
        _committed,
        lambda u, d: access.is_owner(u, owner_id=_owner_of(d)),
        lambda u, d, w: dependencies.dependency_break(dependency=d, user=u, reason="Cancelled."),
    ),
    Action(
        "check-in submit",
        _key_result,
        lambda u, kr: access.is_owner(u, owner_id=kr.owner_id),
        lambda u, kr, w: checkins.checkin_submit(
            user=u,
            key_result=kr,
            status="on_track",
            confidence=7,
            biggest_risk="Holidays",
            value="16",
        ),
    ),
    Action(
        "need handled",
        _check_in,
        lambda u, c: access.can_handle_need(u, need_person_id=c.need_person_id),
        lambda u, c, w: checkins.checkin_need_handle(check_in=c, user=u),
    ),
    Action(
        "nudge",
        _key_result,
        lambda u, kr: access.can_lead(u, kr.owner),
        lambda u, kr, w: reviews.nudge_send(
            user=u,
            recipient=kr.owner,
            item_kind=Nudge.Item.PERSON,
            item_id=kr.owner.pk,
            message="Your check-in is due.",
        ),
    ),
    Action(
        "check-in seen",
        _check_in,
        lambda u, c: access.can_lead(u, c.key_result.owner),
        lambda u, c, w: threads.checkin_comment(user=u, check_in=c, seen=True),
    ),
    Action(
        "check-in comment",
        _check_in,
        lambda u, c: u.is_authenticated,
        lambda u, c, w: threads.checkin_comment(user=u, check_in=c, body="Can @pia help?"),
    ),
    Action(
        "objective create",
        _key_result,
        lambda u, kr: access.can_manage_objectives(u, kr.objective.team),
        lambda u, kr, w: objectives.objective_create(
            user=u, quarter=w.quarter, team=w.growth, title="Win the mid-market"
        ),
    ),
    Action(
        "objective edit",
        _key_result,
        lambda u, kr: access.can_manage_objectives(u, kr.objective.team),
        lambda u, kr, w: objectives.objective_update(
            user=u, objective=w.objective, title="Grow self-serve revenue faster"
        ),
    ),
    Action(
        "objective align",
        _under_company,
        lambda u, o: access.can_manage_objectives(u, o.team),
        lambda u, o, w: objectives.objective_align(
            user=u, objective=o, parent=_company_objective()
        ),
    ),
    Action(
        "key result create",
        _key_result,
        lambda u, kr: access.can_manage_objectives(u, kr.objective.team),
        lambda u, kr, w: objectives.key_result_create(
            user=u, objective=w.objective, title="NPS", owner=w.olga, target_value=Decimal(40)
        ),
    ),
    Action(
        "key result edit",
        _key_result,
        lambda u, kr: access.can_manage_objectives(u, kr.objective.team),
        lambda u, kr, w: objectives.key_result_update(
            user=u, key_result=kr, title="Raise trial conversion to 30%"
        ),
    ),
    Action(
        "definition acknowledge",
        _requested,
        lambda u, dep: access.can_acknowledge_definition(
            u,
            group_ids={p.pk for p in definition_group(dep.key_result.objective)},
        ),
        lambda u, dep, w: objectives.definition_acknowledge(
            user=u, objective=dep.key_result.objective, reading="I will hold quota hiring."
        ),
    ),
    Action(
        "definition challenge",
        _pauls_reading,
        lambda u, ack: access.can_challenge_reading(
            u, group_ids=_group_ids(ack), reader_id=ack.person_id
        ),
        lambda u, ack, w: challenges.definition_challenge(
            user=u, acknowledgement=ack, message="We meant margin, not reps."
        ),
    ),
    Action(
        "challenge reply",
        _challenged,
        lambda u, c: access.can_reply_to_challenge(
            u,
            group_ids=_group_ids(c.acknowledgement),
            reader_id=c.acknowledgement.person_id,
            challenger_id=c.author_id,
        ),
        lambda u, c, w: challenges.challenge_reply(user=u, challenge=c, body="Then pricing?"),
    ),
    Action(
        "trade-off decide",
        _key_result,
        lambda u, kr: access.can_decide_trade_off(u, kr.objective.team),
        _trade_off_decide,
    ),
    Action(
        "trade-off approve",
        _awaiting_approval,
        lambda u, t: access.can_approve_trade_off(u),
        lambda u, t, w: tradeoffs.trade_off_approve(user=u, trade_off=t),
    ),
    Action(
        "trade-off refuse",
        _awaiting_approval,
        lambda u, t: access.can_approve_trade_off(u),
        lambda u, t, w: tradeoffs.trade_off_refuse(user=u, trade_off=t),
    ),
    Action(
        "response record",
        _response,
        lambda u, r: access.can_record_response(
            u, accountable_id=r.accountable_id, holder_id=r.holder_id
        ),
        _response_record,
    ),
    Action(
        "next step done",
        _recorded,
        lambda u, r: access.can_close_next_step(
            u, owner_id=r.next_step.owner_id, holder_id=r.holder_id
        ),
        lambda u, r, w: responses.next_step_done(user=u, response=r),
    ),
    Action(
        "escalation raise",
        _key_result,
        lambda u, kr: access.can_raise_escalation(u, owner_id=kr.owner_id, team=kr.objective.team),
        lambda u, kr, w: early_escalations.escalation_raise(
            user=u,
            key_result=kr,
            need="Decide on SSO for trials",
            asked_of=w.people["leader"],
            needed_by=date(2026, 12, 11),
        ),
    ),
    Action(
        "escalation answer",
        _escalation,
        _can_answer_escalation,
        lambda u, e, w: early_escalations.escalation_answer(
            user=u, escalation=e, status="decided", answer="Ship without SSO."
        ),
    ),
    Action(
        "escalation redirect",
        _escalation,
        _can_answer_escalation,
        lambda u, e, w: early_escalations.escalation_redirect(
            user=u, escalation=e, to=w.people["platform_lead"], note="Paul owns SSO."
        ),
    ),
    Action(
        "carry over",
        _missed_with_next_quarter,
        lambda u, kr: access.can_manage_objectives(u, kr.objective.team),
        lambda u, kr, w: carryover.key_result_carry_over(
            user=u, key_result=kr, into=Quarter.objects.get(name="2027 Q1")
        ),
    ),
    Action(
        "start reviewing",
        lambda w: w.quarter,
        lambda u, q: access.can_start_review(u),
        lambda u, q, w: lifecycle.quarter_start_reviewing(user=u, quarter=q),
    ),
    Action(
        "grade",
        _reviewing,
        lambda u, kr: access.can_grade(u, owner_id=kr.owner_id, reviewing=True),
        lambda u, kr, w: lifecycle.key_result_grade(
            user=u,
            key_result=kr,
            final_value="24",
            what_happened="Pricing changed mid-quarter.",
            change_how_we_work="Agree pricing changes a quarter ahead.",
        ),
    ),
    Action(
        "notification read",
        _notification,
        lambda u, n: access.can_read_notification(u, recipient_id=n.recipient_id),
        lambda u, n, w: okrly_services.notification_mark_read(notification=n, user=u),
    ),
]

ACTIONS += [
    Action(
        "review factor",
        _growth_review,
        lambda u, r: access.can_run_review(u, r.team),
        lambda u, r, w: review_services.factor_add(
            user=u, review=r, text="Platform's outage.", key_result=w.key_result
        ),
    ),
    Action(
        "review decision",
        _growth_review,
        lambda u, r: access.can_run_review(u, r.team),
        _decision_add,
    ),
    Action(
        "review follow-up",
        _org_review_following_up,
        lambda u, r: access.can_run_review(u, r.team),
        lambda u, r, w: review_services.follow_up_mark(
            user=u,
            review=r,
            decision=review_services.decisions_to_follow_up(r).get(),
            verdict="not_done",
            note="Nobody started.",
        ),
    ),
    Action(
        "review close",
        _org_review_to_close,
        lambda u, r: access.can_run_review(u, r.team),
        lambda u, r, w: review_services.review_close(user=u, review=r),
    ),
]

BY_NAME = {a.name: a for a in ACTIONS}

# Writes a person makes without a right to check: each acts only on the user's own rows.
NO_RIGHT_TO_CHECK = {"notifications_mark_all_read"}

# The service each action calls (the names the check below looks for).
SERVICES = {
    "ownership_accept",
    "ownership_decline",
    "ownership_handover",
    "authority_grant",
    "authority_revoke",
    "dependencies_declare_none",
    "dependencies_withdraw_none",
    "dependency_request",
    "dependency_commit",
    "dependency_counter",
    "dependency_accept_counter",
    "dependency_decline",
    "dependency_reassign",
    "dependency_deliver",
    "dependency_confirm",
    "dependency_reopen",
    "dependency_flag_risk",
    "dependency_break",
    "checkin_submit",
    "checkin_need_handle",
    "nudge_send",
    "checkin_comment",
    "objective_create",
    "objective_update",
    "objective_align",
    "key_result_create",
    "key_result_update",
    "notification_mark_read",
    "definition_acknowledge",
    "definition_challenge",
    "challenge_reply",
    "trade_off_decide",
    "trade_off_approve",
    "trade_off_refuse",
    "response_record",
    "next_step_done",
    "escalation_raise",
    "escalation_answer",
    "escalation_redirect",
    "factor_add",
    "decision_add",
    "follow_up_mark",
    "review_close",
    "key_result_carry_over",
    "quarter_start_reviewing",
    "key_result_grade",
}


@pytest.mark.parametrize(
    ("name", "role"),
    [(a.name, role) for a in ACTIONS for role in CAST],
    ids=[f"{a.name}-{role}" for a in ACTIONS for role in CAST],
)
def test_the_service_does_exactly_what_the_predicate_allows(
    world: World, name: str, role: str
) -> None:
    action = BY_NAME[name]
    subject = action.setup(world)
    user = world.people[role]
    allowed = action.allowed(user, subject)
    assert allowed == (role in EXPECTED[name]), f"the predicate for {name} changed for {role}"
    if allowed:
        action.call(user, subject, world)
        return
    with pytest.raises(NotAllowed):
        action.call(user, subject, world)
    # The same state, someone allowed: the refusal was about rights.
    somebody_allowed = world.people[sorted(EXPECTED[name])[0]]
    action.call(somebody_allowed, subject, world)


def test_the_table_names_every_action_and_only_the_cast() -> None:
    assert set(EXPECTED) == set(BY_NAME)
    assert all(allowed and allowed <= set(CAST) for allowed in EXPECTED.values())


def test_every_service_a_person_calls_is_in_the_matrix() -> None:
    """A new write with a ``user`` argument must join the matrix (or say why it has no right
    to check): a service that forgot its predicate would otherwise go unnoticed."""
    found = set()
    for module in (
        objectives,
        challenges,
        tradeoffs,
        dependencies,
        checkins,
        threads,
        ownership,
        reviews,
        responses,
        early_escalations,
        review_services,
        carryover,
        lifecycle,
        okrly_services,
    ):
        for fname, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or fname.startswith("_"):
                continue
            user = inspect.signature(function).parameters.get("user")
            if user is not None and user.kind is inspect.Parameter.KEYWORD_ONLY:
                found.add(fname)
    assert found == SERVICES | NO_RIGHT_TO_CHECK


# --- roles are named by Membership.Role, never by their text ---------------------------------

ROLE_LITERAL = re.compile(r"""role\s*==?\s*["'](?:lead|member)["']""")
APP_DIRS = ["okrly", "objectives", "dependencies", "checkins", "ownership", "reviews", "templates"]


def test_no_role_is_written_as_a_string_outside_membership_role() -> None:
    """``memberships__role="lead"`` in a query keeps working until the value is renamed, then
    silently matches nobody; Membership.Role.LEAD (or ``is_lead`` in a template) cannot."""
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}:{number}"
        for folder in APP_DIRS
        for path in sorted((root / folder).rglob("*"))
        if path.suffix in {".py", ".html"} and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ROLE_LITERAL.search(line)
    ]
    assert found == []


def test_the_team_page_marks_its_leads(client_for: Any, world: World) -> None:
    html = client_for(world.olga).get(reverse("team_detail", args=["growth"])).content.decode()
    marked = [item for item in re.findall(r"<li>(.*?)</li>", html, re.S) if "<mark>lead" in item]
    assert len(marked) == 1
    assert "Lena" in marked[0]
