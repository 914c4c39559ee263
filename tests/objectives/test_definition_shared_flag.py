"""Objective.definition_shared (issue 14): the materialised rule-9 flag the dashboard counts.

Every change that can alter a definition group, its versions or their readings rewrites the
flag in the same transaction; ``not_shared_by_team`` reads it in one grouped query. The
cast is tests/conftest.py's: Lena leads Growth, Olga owns its key result, Paul leads Platform
(Pia works there), Lea is in the leadership group.
"""

from __future__ import annotations

import random
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies.models import Dependency
from dependencies.services import dependency_request
from objectives import definitions, services
from objectives.definitions import (
    definition_status,
    definition_statuses,
    not_shared_by_team,
    publish_definition,
    refresh_shared,
)
from objectives.models import (
    DefinitionAcknowledgement,
    Objective,
    TradeOff,
    TradeOffCategory,
)
from okrly.models import Membership, Quarter
from tests.conftest import TEST_TODAY
from tests.factories import (
    KeyResultFactory,
    MembershipFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

READING = "I will stop hiring quota reps for it."


def _flag(objective: Objective) -> bool:
    return Objective.objects.values_list("definition_shared", flat=True).get(pk=objective.pk)


def _ack_all(objective: Objective) -> None:
    """Everyone still missing reads the current version (published first if need be)."""
    if definition_status(objective).version is None:
        publish_definition(objective=objective, author=None)
    for person in definition_status(objective).missing:
        services.definition_acknowledge(user=person, objective=objective, reading=READING)


@pytest.fixture
def shared(objective: Any, lead: Any, leader: Any) -> Objective:
    """Growth's objective, read by Lena and Lea: shared."""
    _ack_all(objective)
    assert _flag(objective) is True
    return objective


def _assert_consistent() -> None:
    """The flag of every objective of the open quarters is what the statuses say."""
    objectives = list(Objective.objects.exclude(quarter__status=Quarter.Status.CLOSED))
    statuses = definition_statuses(objectives)
    assert objectives
    assert {o.pk: o.definition_shared for o in objectives} == {
        pk: status.shared for pk, status in statuses.items()
    }


# --- the flag follows each change ----------------------------------------------------------


def test_a_new_objective_has_no_version_and_is_not_shared(objective: Any, lead: Any) -> None:
    assert _flag(objective) is False


def test_acknowledged_by_all_is_shared_and_a_new_version_is_not(
    shared: Objective, lead: Any
) -> None:
    services.objective_update(user=lead, objective=shared, means="Only self-serve, no sales")
    assert shared.definition_versions.count() == 2
    assert _flag(shared) is False
    _ack_all(shared)
    assert _flag(shared) is True


def test_the_last_reading_makes_it_shared_and_removing_one_unshares_it(
    objective: Any, lead: Any, leader: Any
) -> None:
    publish_definition(objective=objective, author=None)
    services.definition_acknowledge(user=lead, objective=objective, reading=READING)
    assert _flag(objective) is False
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    assert _flag(objective) is True
    DefinitionAcknowledgement.objects.get(person=leader).delete()
    assert _flag(objective) is False


def test_a_new_lead_joining_the_team_unshares_it(shared: Objective, growth: Any) -> None:
    newcomer = UserFactory(username="nina")
    MembershipFactory(user=newcomer, team=growth)  # a member: no group changes
    assert _flag(shared) is True
    membership = Membership.objects.get(user=newcomer)
    membership.role = Membership.Role.LEAD
    membership.save()
    assert _flag(shared) is False
    membership.delete()
    assert _flag(shared) is True


def test_a_team_given_a_new_lead_unshares_it(shared: Objective, growth: Any) -> None:
    growth.lead = UserFactory(username="nora")
    growth.save()
    assert _flag(shared) is False


def test_the_leadership_group_gaining_a_member_unshares_it(shared: Objective) -> None:
    newcomer = UserFactory(username="leo")
    group = Group.objects.get(name="Leadership")
    newcomer.groups.add(group)
    assert _flag(shared) is False
    newcomer.groups.remove(group)
    assert _flag(shared) is True
    newcomer.groups.add(group)
    newcomer.groups.clear()
    assert _flag(shared) is True
    group.user_set.add(newcomer)
    assert _flag(shared) is False


def test_another_group_gaining_a_member_changes_nothing(shared: Objective) -> None:
    newcomer = UserFactory(username="leo")
    with mock.patch.object(definitions, "refresh_shared") as refresh:
        newcomer.groups.add(Group.objects.create(name="Finance"))
    refresh.assert_not_called()


def test_a_dependency_on_another_team_adds_its_lead_and_unshares_it(
    shared: Objective,
    key_result: Any,
    owner: Any,
    platform: Any,
    provider: Any,
    platform_lead: Any,
) -> None:
    dependency = dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API",
        due_date=TEST_TODAY,
    )
    assert _flag(shared) is False
    # A declined request asks nothing of Platform any more: Paul leaves the group.
    dependency.status = Dependency.Status.DECLINED
    dependency.save()
    assert _flag(shared) is True
    dependency.status = Dependency.Status.REQUESTED
    dependency.save()
    _ack_all(shared)
    assert _flag(shared) is True
    dependency.delete()
    assert _flag(shared) is True


def test_alignment_below_adds_a_teams_lead_to_every_objective_above(
    quarter: Any, growth: Any, lead: Any, leader: Any, platform: Any, platform_lead: Any
) -> None:
    company = TeamFactory(name="Company", slug="company")
    top = ObjectiveFactory(quarter=quarter, team=company, title="Be the default")
    middle = ObjectiveFactory(quarter=quarter, team=growth, parent=top)
    _ack_all(top)
    _ack_all(middle)
    assert (_flag(top), _flag(middle)) == (True, True)
    below = ObjectiveFactory(quarter=quarter, team=platform, parent=middle)
    # Paul must now read both objectives above his team's.
    assert (_flag(top), _flag(middle), _flag(below)) == (False, False, False)
    # Moved away, his team's objective no longer reaches them.
    below.parent = None
    below.save(update_fields=["parent"])
    assert (_flag(top), _flag(middle)) == (True, True)
    below.parent = top
    below.save()
    assert (_flag(top), _flag(middle)) == (False, True)
    below.delete()
    assert _flag(top) is True


def test_deactivating_the_only_missing_member_shares_it(
    objective: Any, lead: Any, leader: Any
) -> None:
    publish_definition(objective=objective, author=None)
    services.definition_acknowledge(user=leader, objective=objective, reading=READING)
    assert _flag(objective) is False
    lead.is_active = False
    lead.save()
    assert _flag(objective) is True
    lead.is_active = True
    lead.save(update_fields=["is_active"])
    assert _flag(objective) is False


def test_a_sign_in_refreshes_nothing_and_reads_nothing_for_it(
    shared: Objective, lead: Any, client: Any
) -> None:
    with (
        mock.patch.object(definitions, "refresh_shared") as refresh,
        CaptureQueriesContext(connection) as queries,
    ):
        client.force_login(lead)
    refresh.assert_not_called()
    # Only the sign-in's own writes: no query on the user before its last_login is saved.
    assert not [q for q in queries.captured_queries if "is_active" in q["sql"]]


def test_a_full_save_of_a_stale_objective_keeps_the_flag_right(
    shared: Objective, lead: Any
) -> None:
    stale = Objective.objects.get(pk=shared.pk)
    Objective.objects.filter(pk=shared.pk).update(definition_shared=False)  # as if stale
    stale.definition_shared = False
    stale.title = "Grow self-serve revenue, profitably"
    stale.save()
    assert _flag(shared) is True
    assert stale.definition_shared is True


def test_a_title_only_save_costs_no_refresh(shared: Objective) -> None:
    shared.title = "Renamed"
    with mock.patch.object(definitions, "refresh_shared") as refresh:
        shared.save(update_fields=["title"])
    refresh.assert_not_called()


def test_the_ladder_writing_a_versions_rung_costs_no_refresh(shared: Objective) -> None:
    version = shared.definition_versions.get()
    version.escalation_rung = 1
    with mock.patch.object(definitions, "refresh_shared") as refresh:
        version.save(update_fields=["escalation_rung", "next_escalation_at"])
    refresh.assert_not_called()


# --- refresh_shared ----------------------------------------------------------------------------


def test_refresh_writes_only_what_changed_in_a_fixed_number_of_queries(
    quarter: Any, lead: Any, leader: Any
) -> None:
    teams = [TeamFactory() for _ in range(6)]
    objectives = [ObjectiveFactory(quarter=quarter, team=t) for t in teams for _ in range(2)]
    for objective in objectives[::2]:
        _ack_all(objective)
    Objective.objects.update(definition_shared=False)  # half of them now wrong
    with CaptureQueriesContext(connection) as few:
        refresh_shared([objectives[0].pk])
    with CaptureQueriesContext(connection) as many:
        found = refresh_shared()
    updates = [q for q in many.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1  # only "shared" rows were wrong
    assert len(few) <= 11
    assert len(many) == len(few)
    assert found == {o.pk: o.pk in {x.pk for x in objectives[::2]} for o in objectives}
    _assert_consistent()
    with CaptureQueriesContext(connection) as again:
        refresh_shared()
    assert not [q for q in again.captured_queries if q["sql"].startswith("UPDATE")]


def test_refresh_of_everything_leaves_closed_quarters_alone(
    objective: Any, lead: Any, leader: Any
) -> None:
    closed = QuarterFactory(status=Quarter.Status.CLOSED)
    old = ObjectiveFactory(quarter=closed, team=objective.team)
    _ack_all(old)
    Objective.objects.filter(pk=old.pk).update(definition_shared=False)
    assert refresh_shared().keys() == {objective.pk}
    assert _flag(old) is False
    assert refresh_shared([old.pk]) == {old.pk: True}


def test_refresh_of_nothing_costs_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert refresh_shared([]) == {}
        assert refresh_shared([None]) == {}
    assert len(queries) == 0


# --- the dashboard's read ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 50])
def test_not_shared_by_team_is_one_query(count: int, quarter: Any, leader: Any) -> None:
    teams = [TeamFactory() for _ in range(count)]
    for team in teams:
        ObjectiveFactory(quarter=quarter, team=team)
        _ack_all(ObjectiveFactory(quarter=quarter, team=team))
    dropped = ObjectiveFactory(quarter=quarter, team=teams[0])
    Objective.objects.filter(pk=dropped.pk).update(
        displaced_by=TradeOff.objects.create(
            quarter=quarter,
            team=teams[0],
            category=TradeOffCategory.objects.get_or_create(name="Client escalation")[0],
            reason="A client",
            decided_by=leader,
        )
    )
    ObjectiveFactory(quarter=QuarterFactory(), team=teams[0])  # another quarter's
    with CaptureQueriesContext(connection) as queries:
        everyone = not_shared_by_team(quarter.pk, None)
    assert len(queries) == 1
    assert everyone == {team.pk: (2, 1) for team in teams}
    with CaptureQueriesContext(connection) as queries:
        some = not_shared_by_team(quarter.pk, [t.pk for t in teams[:3]])
    assert len(queries) == 1
    assert some == {team.pk: (2, 1) for team in teams[:3]}


def test_not_shared_by_team_matches_the_statuses(shared: Objective, quarter: Any) -> None:
    ObjectiveFactory(quarter=quarter, team=shared.team)
    rows = list(Objective.objects.filter(quarter=quarter))
    statuses = definition_statuses(rows)
    assert not_shared_by_team(quarter.pk, None) == {
        shared.team_id: (2, sum(not statuses[o.pk].shared for o in rows))
    }


# --- consistency ---------------------------------------------------------------------------


def test_after_a_random_sequence_of_changes_the_flag_equals_the_status(
    quarter: Any,
    growth: Any,
    platform: Any,
    lead: Any,
    leader: Any,
    owner: Any,
    provider: Any,
    platform_lead: Any,
) -> None:
    rng = random.Random(14)
    company = TeamFactory(name="Company", slug="company")
    company_lead = UserFactory(username="carl")
    MembershipFactory(user=company_lead, team=company, role=Membership.Role.LEAD)
    top = ObjectiveFactory(quarter=quarter, team=company)
    objectives = [
        top,
        ObjectiveFactory(quarter=quarter, team=growth, parent=top),
        ObjectiveFactory(quarter=quarter, team=platform),
        ObjectiveFactory(quarter=quarter, team=growth),
    ]
    key_results = [KeyResultFactory(objective=o, owner=owner) for o in objectives[1:]]
    people = [lead, leader, platform_lead, company_lead, provider, owner]
    leadership = Group.objects.get(name="Leadership")

    def acknowledge() -> None:
        objective = rng.choice(objectives)
        if definition_status(objective).missing:
            _ack_all(objective) if rng.random() < 0.5 else services.definition_acknowledge(
                user=definition_status(objective).missing[0], objective=objective, reading=READING
            )

    def new_version() -> None:
        objective = rng.choice(objectives)
        objective.means = f"Meaning {rng.random()}"
        objective.save()
        publish_definition(objective=objective, author=None)

    def toggle_lead() -> None:
        person, team = rng.choice(people), rng.choice([growth, platform, company])
        membership, made = Membership.objects.get_or_create(user=person, team=team)
        if not made and rng.random() < 0.3:
            membership.delete()
            return
        membership.role = (
            Membership.Role.MEMBER
            if membership.role == Membership.Role.LEAD
            else Membership.Role.LEAD
        )
        membership.save()

    def toggle_leadership() -> None:
        person = rng.choice(people)
        if person.groups.filter(pk=leadership.pk).exists():
            person.groups.remove(leadership)
        else:
            person.groups.add(leadership)

    def toggle_active() -> None:
        person = rng.choice(people)
        person.is_active = not person.is_active
        person.save()

    def toggle_dependency() -> None:
        key_result = rng.choice(key_results)
        dependency = Dependency.objects.filter(key_result=key_result).first()
        if dependency is None:
            team = platform if key_result.objective.team_id != platform.pk else growth
            dependency_request(
                user=owner,
                key_result=key_result,
                provider_team=team,
                responsible=provider if team == platform else owner,
                deliverable="Something",
                due_date=TEST_TODAY,
            )
        elif dependency.status == Dependency.Status.DECLINED:
            dependency.delete()
        else:
            dependency.status = Dependency.Status.DECLINED
            dependency.save()

    def realign() -> None:
        child = rng.choice(objectives[1:])
        child.parent = None if child.parent_id else top
        child.save(update_fields=["parent"])

    steps = [
        acknowledge,
        acknowledge,
        acknowledge,
        new_version,
        toggle_lead,
        toggle_leadership,
        toggle_active,
        toggle_dependency,
        realign,
    ]
    flags: set[bool] = set()
    for _ in range(60):
        rng.choice(steps)()
        _assert_consistent()
        flags |= set(Objective.objects.values_list("definition_shared", flat=True))
    assert flags == {True, False}  # the sequence went through both states


def test_the_nightly_job_repairs_a_flag_written_past_the_signals(objective: Objective) -> None:
    """A flag left wrong (here forced by an update(), which sends no signal; in life, two
    concurrent transactions) is put right by the nightly job, which writes only that one."""
    from objectives.tasks import definitions_refresh_task

    _ack_all(objective)
    assert _flag(objective) is True
    Objective.objects.filter(pk=objective.pk).update(definition_shared=False)
    result = definitions_refresh_task.apply().get()
    assert result["objectives"] >= 1
    assert _flag(objective) is True
    assert definitions_refresh_task.apply().get()["objectives"] == result["objectives"]
    assert _flag(objective) is True
