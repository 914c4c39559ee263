"""Each write that changes a key result's status rewrites its ``KeyResultStatus`` row in the
same transaction (issue 14): read inside the ``transaction.atomic()`` block, right after the
service returns and before anything commits, the row already holds the new value. For a few
representative writes, rolling the transaction back leaves the old row.

The property test (test_status_property.py) shows the table equals a recomputation after any
sequence of writes; these tests pin each write path to the columns it moves, with values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from checkins.models import CheckIn
from checkins.services import checkin_need_handle, checkin_submit
from dependencies import services as deps
from dependencies.escalation import dependencies_escalate
from dependencies.models import Dependency
from objectives import services as objectives
from objectives.models import Displacement, KeyResult
from ownership import services as ownership
from ownership.models import AuthorityGrant, KeyResultStatus
from ownership.status import refresh_due
from tests.conftest import TEST_NOW, TEST_TODAY
from tests.displacing import drop
from tests.factories import KeyResultFactory, TeamFactory

pytestmark = pytest.mark.django_db
S = Dependency.Status
DUE = TEST_TODAY + timedelta(days=10)


class Rollback(Exception):
    """Raised to leave an atomic block by rolling it back."""


def status(kr: KeyResult) -> KeyResultStatus:
    return KeyResultStatus.objects.get(pk=kr.pk)


def rights() -> list[Any]:
    return ownership.decision_rights_ensure_defaults()[:2]


def request(kr: KeyResult, platform: Any, provider: Any, due: date = DUE) -> Dependency:
    return deps.dependency_request(
        user=kr.owner,
        key_result=kr,
        provider_team=platform,
        responsible=provider,
        deliverable="SSO for Acme",
        due_date=due,
        confirm_outside_quarter=True,  # the quarter may end before DUE on its last day
    )


def week_of_today(kr: KeyResult) -> int:
    return kr.objective.quarter.week_of(timezone.localdate())


@pytest.fixture
def ready(key_result: KeyResult, owner: Any, lead: Any) -> KeyResult:
    """Accepted by its owner, with authority from the lead: only check (c) is left."""
    ownership.ownership_accept(key_result=key_result, user=owner)
    ownership.authority_grant(key_result=key_result, user=lead, rights=rights(), scope="Backlog")
    return key_result


# --- check-ins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "value", "flag"),
    [
        # On track while the value has not moved since the start: the forecast misses.
        (CheckIn.Status.ON_TRACK, "10", True),
        (CheckIn.Status.ON_TRACK, "30", False),
        (CheckIn.Status.AT_RISK, "10", False),
        (CheckIn.Status.OFF_TRACK, "12", False),
    ],
)
def test_a_check_in_writes_the_latest_answers(
    key_result: KeyResult, owner: Any, answer: str, value: str, flag: bool
) -> None:
    before = status(key_result)
    assert (before.checkin_week, before.checkin_status, before.checkin_confidence) == (
        None,
        "",
        None,
    )
    week = week_of_today(key_result)
    with transaction.atomic():
        checkin_submit(
            user=owner,
            key_result=key_result,
            status=answer,
            confidence=6,
            biggest_risk="Hiring.",
            value=value,
        )
        row = status(key_result)
        assert (row.checkin_week, row.checkin_status, row.checkin_confidence) == (week, answer, 6)
        assert row.forecast_flag is flag


def test_a_need_raised_and_handled_moves_open_needs(
    key_result: KeyResult, owner: Any, teammate: Any
) -> None:
    with transaction.atomic():
        check_in = checkin_submit(
            user=owner,
            key_result=key_result,
            status=CheckIn.Status.AT_RISK,
            confidence=4,
            biggest_risk="Data.",
            value="12",
            need="The tracking plan.",
            need_person=teammate,
        )
        assert status(key_result).open_needs == 1
    with transaction.atomic():
        checkin_need_handle(check_in=check_in, user=teammate)
        assert status(key_result).open_needs == 0


# --- ownership and authority -----------------------------------------------------------------


def test_accepting_ownership_passes_check_a(key_result: KeyResult, owner: Any) -> None:
    assert not status(key_result).accepted
    with transaction.atomic():
        ownership.ownership_accept(key_result=key_result, user=owner)
        row = status(key_result)
        assert row.accepted
        assert not row.ok  # no authority and nothing said of dependencies yet


def test_declining_ownership_fails_check_a(key_result: KeyResult, owner: Any) -> None:
    with transaction.atomic():
        ownership.ownership_decline(key_result=key_result, user=owner, reason="No time.")
        row = status(key_result)
        assert (row.accepted, row.owner_id) == (False, owner.pk)


def test_a_handover_changes_the_owner_only_when_accepted(
    ready: KeyResult, owner: Any, lead: Any, teammate: Any
) -> None:
    ownership.dependencies_declare_none(key_result=ready, user=owner)
    assert (status(ready).owner_id, status(ready).ok) == (owner.pk, True)
    with transaction.atomic():
        ownership.ownership_handover(
            key_result=ready, user=lead, new_owner=teammate, reason="Olga moves team."
        )
        # Until the nominee accepts, the current owner stays accountable.
        assert (status(ready).owner_id, status(ready).accepted) == (owner.pk, True)
    with transaction.atomic():
        ownership.ownership_accept(key_result=ready, user=teammate)
        row = status(ready)
        # The new owner accepted but the authority was granted to Olga, not to them.
        assert (row.owner_id, row.accepted, row.authority, row.ok) == (
            teammate.pk,
            True,
            False,
            False,
        )


def test_authority_granted_and_revoked(key_result: KeyResult, lead: Any) -> None:
    with transaction.atomic():
        grant = ownership.authority_grant(
            key_result=key_result, user=lead, rights=rights(), scope="Backlog"
        )
        assert status(key_result).authority
    with transaction.atomic():
        ownership.authority_revoke(grant=grant, user=lead, reason="Reorganised.")
        assert not status(key_result).authority


def test_declaring_and_withdrawing_no_dependencies(ready: KeyResult, owner: Any) -> None:
    with transaction.atomic():
        ownership.dependencies_declare_none(key_result=ready, user=owner)
        row = status(ready)
        assert (row.deps_ok, row.ok) == (True, True)
    with transaction.atomic():
        ownership.dependencies_withdraw_none(key_result=ready, user=owner)
        row = status(ready)
        assert (row.deps_ok, row.ok) == (False, False)


# --- dependencies ------------------------------------------------------------------------------

# A dependency's state after each path: (deps_open, deps_committed, deps_ok, kept_until,
# changes_at) of its key result, which has no other dependency.
COMMITTED = (1, 1, True, DUE, DUE + timedelta(days=1))


def _commit(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    return deps.dependency_commit(dependency=dep, user=provider)


def _flag_risk(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    _commit(dep, owner, provider)
    return deps.dependency_flag_risk(dependency=dep, user=provider, reason="Ill.")


def _break(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    _commit(dep, owner, provider)
    return deps.dependency_break(dependency=dep, user=owner, reason="Not coming.")


def _deliver(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    _commit(dep, owner, provider)
    return deps.dependency_deliver(dependency=dep, user=provider)


def _decline(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    return deps.dependency_decline(dependency=dep, user=provider, reason="No capacity.")


def _reopen(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    _deliver(dep, owner, provider)
    return deps.dependency_reopen(dependency=dep, user=owner, reason="Half done.")


def _counter(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    return deps.dependency_counter(dependency=dep, user=provider, due_date=DUE + timedelta(days=5))


def _accept_counter(dep: Dependency, owner: Any, provider: Any) -> Dependency:
    _counter(dep, owner, provider)
    return deps.dependency_accept_counter(dependency=dep, user=owner)


LATER = DUE + timedelta(days=5)


@pytest.mark.parametrize(
    ("path", "after"),
    [
        pytest.param(_commit, COMMITTED, id="commit"),
        pytest.param(_flag_risk, (1, 1, False, None, DUE + timedelta(days=1)), id="flag_risk"),
        pytest.param(_break, (0, 0, False, None, None), id="break"),
        pytest.param(_deliver, (0, 0, True, None, None), id="deliver"),
        # A declined request no longer counts: no dependency left, and none declared.
        pytest.param(_decline, (0, 0, False, None, None), id="decline"),
        pytest.param(_reopen, COMMITTED, id="reopen"),
        pytest.param(_counter, (1, 0, False, None, None), id="counter"),
        # The due date changes to the one the provider proposed.
        pytest.param(
            _accept_counter, (1, 1, True, LATER, LATER + timedelta(days=1)), id="due_date_change"
        ),
    ],
)
def test_each_dependency_transition_rewrites_the_counts_and_dates(
    ready: KeyResult,
    owner: Any,
    platform: Any,
    provider: Any,
    path: Callable[..., Dependency],
    after: tuple[Any, ...],
) -> None:
    with transaction.atomic():
        dep = request(ready, platform, provider)
        row = status(ready)
        # Requested: open, not yet committed, so check (c) fails.
        assert (row.deps_open, row.deps_committed, row.deps_ok, row.kept_until) == (
            1,
            0,
            False,
            None,
        )
    with transaction.atomic():
        path(dep, owner, provider)
        row = status(ready)
        assert (
            row.deps_open,
            row.deps_committed,
            row.deps_ok,
            row.kept_until,
            row.changes_at,
        ) == after
        assert row.ok is after[2]  # accepted and authorised: (c) decides


def test_the_ladder_counts_an_open_escalation(
    key_result: KeyResult, platform: Any, provider: Any
) -> None:
    dep = request(key_result, platform, provider)
    assert status(key_result).open_escalations == 0
    # Unanswered past DEPENDENCY_UNANSWERED_DAYS: the first rung is due.
    with time_machine.travel(TEST_NOW + timedelta(days=4), tick=False), transaction.atomic():
        run = dependencies_escalate()
        assert run.escalated == 1
        dep.refresh_from_db()
        assert dep.escalation_rung == 1
        assert status(key_result).open_escalations == 1
    with time_machine.travel(TEST_NOW + timedelta(days=4), tick=False), transaction.atomic():
        deps.dependency_decline(dependency=dep, user=provider, reason="No capacity.")
        assert status(key_result).open_escalations == 0


# --- key results and objectives ----------------------------------------------------------------


def test_a_new_key_result_has_its_row_at_once(objective: Any, lead: Any, owner: Any) -> None:
    with transaction.atomic():
        kr = objectives.key_result_create(
            user=lead, objective=objective, title="Cut churn", owner=owner, target_value=Decimal(5)
        )
        row = status(kr)
        assert (row.owner_id, row.team_id, row.quarter_id) == (
            owner.pk,
            objective.team_id,
            objective.quarter_id,
        )
        assert (row.in_play, row.accepted, row.ok, row.deps_open) == (True, False, False, 0)


def test_an_owner_written_directly_is_rewritten(key_result: KeyResult, teammate: Any) -> None:
    """The admin (or a script) saving the key result: the signal rewrites its row."""
    with transaction.atomic():
        key_result.owner = teammate
        key_result.save()
        assert (status(key_result).owner_id, status(key_result).accepted) == (teammate.pk, False)


def test_a_deleted_key_result_loses_its_row(
    key_result: KeyResult, owner: Any, platform: Any, provider: Any
) -> None:
    request(key_result, platform, provider)
    checkin_submit(
        user=owner,
        key_result=key_result,
        status=CheckIn.Status.ON_TRACK,
        confidence=7,
        biggest_risk="None known.",
        value="20",
        need="A review.",
        need_person=provider,
    )
    pk = key_result.pk
    with transaction.atomic():
        key_result.delete()
        assert not KeyResultStatus.objects.filter(pk=pk).exists()


def test_an_objective_moved_to_another_team_moves_its_key_results(
    key_result: KeyResult, objective: Any
) -> None:
    other = KeyResultFactory(objective=objective)
    new_team = TeamFactory(name="Growth EU")
    with transaction.atomic():
        objective.team = new_team
        objective.save()
        assert {status(key_result).team_id, status(other).team_id} == {new_team.pk}


@pytest.mark.parametrize(
    "action", [Displacement.Action.DROPPED, Displacement.Action.DEFERRED], ids=str
)
def test_a_trade_off_takes_the_key_result_out_of_play(
    key_result: KeyResult, objective: Any, lead: Any, action: str
) -> None:
    from objectives import tradeoffs
    from objectives.models import TradeOffCategory

    kept = KeyResultFactory(objective=objective)
    with transaction.atomic():
        tradeoffs.trade_off_decide(
            user=lead,
            team=objective.team,
            quarter=objective.quarter,
            category=TradeOffCategory.objects.get_or_create(name="Client escalation")[0],
            reason="Acme threatens to leave.",
            displaced=[tradeoffs.Displace(key_result, action)],
            addition={"kind": "objective", "title": "Keep Acme"},
        )
        assert (status(key_result).in_play, status(kept).in_play) == (False, True)


def test_a_dropped_objective_takes_all_its_key_results_out_of_play(
    key_result: KeyResult, objective: Any, lead: Any
) -> None:
    other = KeyResultFactory(objective=objective)
    with transaction.atomic():
        drop(lead, objective)
        assert (status(key_result).in_play, status(other).in_play) == (False, False)


# --- the clock -------------------------------------------------------------------------------


def test_the_refresh_job_rewrites_a_row_once_its_due_date_has_passed(
    ready: KeyResult, platform: Any, provider: Any
) -> None:
    first = request(ready, platform, provider, due=TEST_TODAY + timedelta(days=2))
    second = request(ready, platform, provider, due=TEST_TODAY + timedelta(days=6))
    for dep in (first, second):
        deps.dependency_commit(dependency=dep, user=provider)
    row = status(ready)
    assert (row.ok, row.overdue_dependencies, row.kept_until, row.changes_at) == (
        True,
        0,
        TEST_TODAY + timedelta(days=2),
        TEST_TODAY + timedelta(days=3),
    )
    # Nothing is due yet: the job rewrites nothing.
    assert refresh_due() == 0
    with time_machine.travel(TEST_NOW + timedelta(days=3), tick=False), transaction.atomic():
        assert refresh_due() == 1
        row = status(ready)
        assert row.computed_on == TEST_TODAY + timedelta(days=3)
        # The first is overdue: check (c) fails; the row next changes after the second's date.
        assert (row.ok, row.overdue_dependencies, row.kept_until, row.changes_at) == (
            False,
            1,
            TEST_TODAY + timedelta(days=6),
            TEST_TODAY + timedelta(days=7),
        )
        # Run again (a second beat): nothing left due.
        assert refresh_due() == 0


# --- a rollback leaves the old row -----------------------------------------------------------


def _check_in(kr: KeyResult, owner: Any, platform: Any, provider: Any, lead: Any) -> None:
    checkin_submit(
        user=owner,
        key_result=kr,
        status=CheckIn.Status.OFF_TRACK,
        confidence=2,
        biggest_risk="Everything.",
        value="11",
        need="Help.",
        need_person=lead,
    )


def _dependency(kr: KeyResult, owner: Any, platform: Any, provider: Any, lead: Any) -> None:
    deps.dependency_commit(dependency=request(kr, platform, provider), user=provider)


def _revoke(kr: KeyResult, owner: Any, platform: Any, provider: Any, lead: Any) -> None:
    ownership.authority_revoke(
        grant=AuthorityGrant.objects.get(key_result=kr, revoked_at=None), user=lead, reason="No."
    )


def _trade_off(kr: KeyResult, owner: Any, platform: Any, provider: Any, lead: Any) -> None:
    drop(lead, kr)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(_check_in, id="check-in"),
        pytest.param(_dependency, id="dependency"),
        pytest.param(_revoke, id="authority"),
        pytest.param(_trade_off, id="trade-off"),
    ],
)
def test_a_rolled_back_write_leaves_the_old_row(
    key_result: KeyResult,
    owner: Any,
    lead: Any,
    platform: Any,
    provider: Any,
    path: Callable[..., None],
) -> None:
    ownership.ownership_accept(key_result=key_result, user=owner)
    ownership.authority_grant(key_result=key_result, user=lead, rights=rights(), scope="Backlog")
    ownership.dependencies_declare_none(key_result=key_result, user=owner)
    columns = [f.attname for f in KeyResultStatus._meta.concrete_fields]
    before = KeyResultStatus.objects.filter(pk=key_result.pk).values(*columns).get()
    assert before["ok"] is True

    def write_then_roll_back() -> None:
        with transaction.atomic():
            path(key_result, owner, platform, provider, lead)
            changed = KeyResultStatus.objects.filter(pk=key_result.pk).values(*columns).get()
            assert changed != before
            raise Rollback

    with pytest.raises(Rollback):
        write_then_roll_back()
    assert KeyResultStatus.objects.filter(pk=key_result.pk).values(*columns).get() == before


def test_the_row_is_written_on_the_day_of_the_write(key_result: KeyResult, owner: Any) -> None:
    with time_machine.travel(TEST_NOW + timedelta(days=1), tick=False):
        ownership.ownership_accept(key_result=key_result, user=owner)
        assert status(key_result).computed_on == TEST_TODAY + timedelta(days=1)
