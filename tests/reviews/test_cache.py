"""The dashboard's figures are cached by a version every relevant write bumps: each kind of
change shows on the very next read, and an unchanged organisation is not recomputed.

Transactional: the version is bumped when a write commits (never before, or a reader could
cache old figures under the new version), so these tests let each write really commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkins import prompts
from checkins import services as checkins
from dependencies import services as dependencies
from okrly import dashcache
from ownership import services as ownership
from reviews import selectors
from tests.reviews.conftest import Org

pytestmark = pytest.mark.django_db(transaction=True)


def headline(org: Org) -> Any:
    return selectors.org_view(org.quarter, timezone.localdate()).headline


def test_an_unchanged_organisation_is_read_from_the_cache(org: Org) -> None:
    headline(org)
    with CaptureQueriesContext(connection) as ctx:
        again = headline(org)
    assert again.failing == 6
    assert not [q for q in ctx.captured_queries if "WITH kr AS" in q["sql"]]


def test_accepting_and_granting_authority_show_at_once(org: Org) -> None:
    """G3 fails (not accepted, no authority, nothing named); fixing all three passes it."""
    assert headline(org).failing == 6
    kr, gina = org.krs["G3"], org.person("Gina")
    ownership.ownership_accept(key_result=kr, user=gina)
    assert headline(org).failing == 6  # still no authority
    ownership.authority_grant(
        key_result=kr,
        user=org.person("Gus"),
        rights=ownership.decision_rights_ensure_defaults()[:1],
        scope="Backlog",
    )
    ownership.dependencies_declare_none(key_result=kr, user=gina)
    assert headline(org).failing == 5


def test_revoking_authority_shows_at_once(org: Org) -> None:
    """G1 passes; revoking its owner's authority makes it fail (a bulk-free, save path)."""
    from ownership.models import AuthorityGrant

    assert headline(org).failing == 6
    grant = AuthorityGrant.objects.get(key_result=org.krs["G1"], revoked_at__isnull=True)
    ownership.authority_revoke(grant=grant, user=org.person("Gus"), reason="Reorg")
    assert headline(org).failing == 7


def test_a_check_in_shows_at_once(org: Org) -> None:
    before = headline(org)
    checkins.checkin_submit(
        user=org.krs["G3"].owner,
        key_result=org.krs["G3"],
        status="at_risk",
        confidence=4,
        biggest_risk="Late",
        value="30",
    )
    after = headline(org)
    assert (after.missed, after.at_risk, after.checked_in) == (
        before.missed - 1,
        before.at_risk + 1,
        before.checked_in + 1,
    )


def test_a_dependency_answer_shows_at_once(org: Org) -> None:
    """D4 (Data owes Support) was never answered: committing it takes U1 off the failing
    list, but it stays escalated until delivered."""
    before = headline(org)
    dependencies.dependency_commit(dependency=org.deps["D4"], user=org.person("Dana"))
    after = headline(org)
    assert after.failing == before.failing - 1


def test_prompts_sent_in_bulk_show_at_once(org: Org) -> None:
    """The prompt job bulk-inserts (no model signals) and bumps the version itself."""
    version = dashcache.version()
    prompts.checkins_send_prompts(now=timezone.now() + timedelta(days=6))
    assert dashcache.version() > version


def test_a_new_day_is_a_new_computation(org: Org, clock: Any) -> None:
    """Overdue depends on the date: tomorrow's figures are computed, not read from today's."""
    today = headline(org)
    clock.shift(timedelta(days=15))  # 2 December: D1 (due 1 Dec) is now overdue too
    later = selectors.org_view(org.quarter, timezone.localdate()).headline
    assert later.overdue == today.overdue + 1


def test_team_and_people_views_follow_changes(org: Org, reader: Any) -> None:
    team = org.teams["Growth"]
    page = reader.get(f"/dashboard/teams/{team.pk}/").content.decode()
    assert page.count('data-accountability="fail"') == 1
    ownership.ownership_accept(key_result=org.krs["G3"], user=org.person("Gina"))
    page = reader.get("/dashboard/people/").content.decode()
    assert "Gina" in page
    ownership.authority_grant(
        key_result=org.krs["G3"],
        user=org.person("Gus"),
        rights=ownership.decision_rights_ensure_defaults()[:1],
        scope="Backlog",
    )
    ownership.dependencies_declare_none(key_result=org.krs["G3"], user=org.person("Gina"))
    page = reader.get(f"/dashboard/teams/{team.pk}/").content.decode()
    assert page.count('data-accountability="fail"') == 0


def test_responses_next_steps_and_early_escalations_show_at_once(org: Org) -> None:
    """Issue 12: a miss opened, its response recorded and its next step done, and an early
    escalation raised each show on the next read (MissResponse, NextStep and EarlyEscalation
    saves bump the version)."""
    from reviews.models import EarlyEscalation, MissResponse, NextStep

    kr, now = org.krs["G2"], timezone.now()
    assert (headline(org).misses, headline(org).surprises) == (0, 0)
    response = MissResponse.objects.create(
        kind=MissResponse.Kind.KEY_RESULT_MISSED,
        subject_key=f"key_result:{kr.pk}",
        quarter=org.quarter,
        key_result=kr,
        accountable=kr.owner,
        committed="100",
        delivered="25",
        opened_at=now,
        due_at=now + timedelta(days=7),
    )
    # G2 was at risk in week 6 and off track in week 7: signalled, not a surprise.
    assert (headline(org).misses, headline(org).surprises) == (1, 0)
    response.recorded_at = now + timedelta(hours=1)
    response.save()
    assert headline(org).responses_on_time_percent == 100
    step = NextStep.objects.create(
        response=response, what="Re-plan", owner=kr.owner, due=timezone.localdate()
    )
    step.done_at = now
    step.save()
    assert headline(org).steps_on_time_percent == 100
    # G1 was only ever on track: its miss is a surprise, until an escalation raised the day
    # before shows.
    g1 = org.krs["G1"]
    MissResponse.objects.create(
        kind=MissResponse.Kind.KEY_RESULT_MISSED,
        subject_key=f"key_result:{g1.pk}",
        quarter=org.quarter,
        key_result=g1,
        accountable=g1.owner,
        committed="100",
        delivered="50",
        opened_at=now,
        due_at=now + timedelta(days=7),
    )
    assert (headline(org).misses, headline(org).surprises) == (2, 1)
    EarlyEscalation.objects.create(
        key_result=g1,
        raised_by=g1.owner,
        need="A decision",
        asked_of=org.person("Gus"),
        needed_by=timezone.localdate(),
        raised_at=now - timedelta(days=1),
        answer_due_at=now,
    )
    # Lead times: G2 8 days (1.1 weeks, from its week 6 check-in), G1 1 day (0.1).
    assert (headline(org).surprises, headline(org).median_lead_weeks) == (0, 0.6)
