"""Early escalation (rule 7): raising, answering and redirecting, the answer deadline in
working hours, and the ladder when nobody answers.

Calendar: Friday 4 December 2026 15:00 UTC plus 48 working hours is Tuesday 8 December 15:00
(Friday 9 h, Monday 24 h, Tuesday 15 h; the weekend does not count).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from checkins.models import CheckIn
from dependencies.models import Dependency
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification, Quarter
from reviews import early_escalations as svc
from reviews.early_escalation_ladder import early_escalations_escalate
from reviews.models import EarlyEscalation, EarlyEscalationRung, EscalationHop
from reviews.tasks import early_escalations_escalate_task
from tests.factories import KeyResultFactory, UserFactory

FRIDAY = "2026-12-04 15:00:00+00:00"
FAR = datetime(2026, 12, 30, tzinfo=UTC)  # a rung not due in these tests


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel(FRIDAY, tick=False) as traveller:
        yield traveller


def raise_(user: Any, kr: Any, to: Any, **kw: Any) -> EarlyEscalation:
    args: dict[str, Any] = {"need": "Decide: ship without SSO?", "needed_by": date(2026, 12, 11)}
    args.update(kw)
    return svc.escalation_raise(user=user, key_result=kr, asked_of=to, **args)


def kinds_to(user: Any) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True)
    )


# --- raising -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_raises_and_the_named_person_is_told(
    travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    assert esc.status == EarlyEscalation.Status.OPEN
    assert esc.raised_at == datetime(2026, 12, 4, 15, tzinfo=UTC)
    # Across the weekend: Friday 9 h + Monday 24 h + Tuesday 15 h.
    assert esc.answer_due_at == datetime(2026, 12, 8, 15, tzinfo=UTC)
    assert esc.next_escalation_at == esc.answer_due_at  # rung 1 at the deadline (0 h)
    note = Notification.objects.get(recipient=provider)
    assert note.kind == "early_escalation"
    assert note.link == f"/reviews/escalations/{esc.pk}/" == esc.get_absolute_url()
    assert "Tue 08 Dec, 15:00" in note.body


@pytest.mark.django_db
def test_deadline_is_the_date_asked_for_when_that_comes_first(
    travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    esc = raise_(owner, key_result, provider, needed_by=date(2026, 12, 7))
    assert esc.answer_due_at == datetime(2026, 12, 8, 0, tzinfo=UTC)  # the end of Monday


@pytest.mark.django_db
def test_deadline_counts_in_the_named_persons_zone(
    travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    provider.profile.timezone = "America/New_York"
    provider.profile.save()
    esc = raise_(owner, key_result, provider, needed_by=date(2026, 12, 31))
    # 10:00 Friday in New York: 14 h Friday + 24 h Monday + 10 h Tuesday = Tuesday 10:00 EST.
    assert esc.answer_due_at == datetime(2026, 12, 8, 15, tzinfo=UTC)
    # Raised on a Saturday, the count starts on Monday morning where the person is.
    with time_machine.travel("2026-12-05 12:00:00+00:00", tick=False):
        esc2 = raise_(owner, key_result, provider, needed_by=date(2026, 12, 31))
    assert esc2.answer_due_at == datetime(2026, 12, 9, 5, tzinfo=UTC)  # Wed 00:00 EST


@pytest.mark.django_db
def test_a_teammate_may_raise_but_an_outsider_may_not(
    travel: Any, key_result: Any, teammate: Any, outsider: Any, provider: Any
) -> None:
    assert raise_(teammate, key_result, provider).raised_by == teammate
    with pytest.raises(NotAllowed):
        raise_(outsider, key_result, provider)
    assert EarlyEscalation.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"need": "   "}, "need"),
        ({"need": "x" * (svc.NEED_MAX + 1)}, "need"),
        ({"needed_by": date(2026, 12, 3)}, "needed_by"),
    ],
)
def test_bad_input_is_refused_on_its_field(
    travel: Any, key_result: Any, owner: Any, provider: Any, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(RuleBroken) as caught:
        raise_(owner, key_result, provider, **change)
    assert caught.value.field == field
    assert not EarlyEscalation.objects.exists()


@pytest.mark.django_db
def test_the_named_person_must_be_active_and_someone_else(
    travel: Any, key_result: Any, owner: Any
) -> None:
    gone = UserFactory(is_active=False)
    for person in (gone, owner):
        with pytest.raises(RuleBroken) as caught:
            raise_(owner, key_result, person)
        assert caught.value.field == "asked_of"


@pytest.mark.django_db
def test_the_dependency_must_be_the_key_results_own(
    travel: Any, key_result: Any, owner: Any, provider: Any, platform: Any
) -> None:
    other_kr = KeyResultFactory(objective=key_result.objective, owner=owner)
    dep = Dependency.objects.create(
        key_result=other_kr,
        requesting_team_id=key_result.objective.team_id,
        provider_team=platform,
        responsible=provider,
        requested_by=owner,
        deliverable="SSO",
        due_date=date(2026, 12, 20),
        rank=1,
        requested_at="2026-11-01T00:00:00Z",
    )
    with pytest.raises(RuleBroken) as caught:
        raise_(owner, key_result, provider, dependency=dep)
    assert caught.value.field == "dependency"
    assert raise_(owner, other_kr, provider, dependency=dep).dependency == dep


@pytest.mark.django_db
def test_an_out_of_office_person_is_named_as_such(
    travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    provider.profile.out_of_office_until = date(2026, 12, 14)
    provider.profile.save()
    with pytest.raises(RuleBroken) as caught:
        raise_(owner, key_result, provider)
    assert caught.value.field == "asked_of"
    assert caught.value.code == "out_of_office"
    assert "out of office until Mon 14 Dec 2026" in caught.value.message
    assert "Name someone else" in caught.value.message


@pytest.mark.django_db
def test_a_closed_quarter_takes_no_escalation(
    travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    Quarter.objects.update(status=Quarter.Status.CLOSED)
    key_result.objective.quarter.refresh_from_db()
    with pytest.raises(RuleBroken):
        raise_(owner, key_result, provider)


@pytest.mark.django_db
def test_raising_never_marks_the_owner_as_failing(
    travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    before = KeyResultFactory._meta.model.objects.values().get(pk=key_result.pk)
    raise_(owner, key_result, provider)
    after = KeyResultFactory._meta.model.objects.values().get(pk=key_result.pk)
    assert before == after
    assert not CheckIn.objects.exists()
    assert key_result.current_value == Decimal(15)
    assert kinds_to(owner) == []


# --- answering and redirecting -----------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_named_person_answers(
    travel: Any, key_result: Any, owner: Any, provider: Any, platform_lead: Any, leader: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    for someone in (owner, platform_lead, leader):
        with pytest.raises(NotAllowed):
            svc.escalation_answer(user=someone, escalation=esc, status="decided", answer="Yes")
    with pytest.raises(RuleBroken) as caught:
        svc.escalation_answer(user=provider, escalation=esc, status="open", answer="Yes")
    assert caught.value.field == "status"
    with pytest.raises(RuleBroken) as caught:
        svc.escalation_answer(user=provider, escalation=esc, status="helping", answer=" ")
    assert caught.value.field == "answer"
    esc = svc.escalation_answer(
        user=provider, escalation=esc, status="decided", answer="Ship without SSO."
    )
    assert (esc.status, esc.answered_by, esc.next_escalation_at) == ("decided", provider, None)
    assert kinds_to(owner) == ["early_escalation_answered"]
    with pytest.raises(RuleBroken):  # answered once
        svc.escalation_answer(user=provider, escalation=esc, status="helping", answer="More")


@pytest.mark.django_db
def test_redirect_rules(
    travel: Any, key_result: Any, owner: Any, provider: Any, platform_lead: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    with pytest.raises(NotAllowed):
        svc.escalation_redirect(user=platform_lead, escalation=esc, to=platform_lead, note="")
    for to in (provider, owner, UserFactory(is_active=False)):
        with pytest.raises(RuleBroken) as caught:
            svc.escalation_redirect(user=provider, escalation=esc, to=to, note="")
        assert caught.value.field == "to"
    assert not EscalationHop.objects.exists()


@pytest.mark.django_db
def test_out_of_office_person_redirects_and_the_deadline_carries_over_the_weekend(
    travel: Any, key_result: Any, owner: Any, provider: Any, platform_lead: Any, leader: Any
) -> None:
    """Raised on Friday to Pia, due Tuesday 15:00. Pia is off from Monday: on Friday evening
    she redirects it to Paul, who has the same Tuesday deadline, not a new 48 hours; Paul
    answers on Tuesday morning and nothing climbs."""
    esc = raise_(owner, key_result, provider)
    travel.move_to("2026-12-04 18:00:00+00:00")
    provider.profile.out_of_office_until = date(2026, 12, 18)
    provider.profile.save()
    # Redirecting back to someone who is away is refused the same way.
    away = UserFactory(username="away")
    away.profile.out_of_office_until = date(2026, 12, 10)
    away.profile.save()
    with pytest.raises(RuleBroken, match="out of office"):
        svc.escalation_redirect(user=provider, escalation=esc, to=away, note="")
    esc = svc.escalation_redirect(
        user=provider, escalation=esc, to=platform_lead, note="I am away; Paul owns SSO."
    )
    assert esc.asked_of == platform_lead
    assert esc.answer_due_at == datetime(2026, 12, 8, 15, tzinfo=UTC)
    hop = EscalationHop.objects.get()
    assert (hop.from_person, hop.to_person, hop.note) == (
        provider,
        platform_lead,
        "I am away; Paul owns SSO.",
    )
    assert kinds_to(platform_lead) == ["early_escalation"]
    assert kinds_to(owner) == ["early_escalation_redirected"]
    # Pia can no longer answer; Paul can.
    with pytest.raises(NotAllowed):
        svc.escalation_answer(user=provider, escalation=esc, status="decided", answer="x")
    travel.move_to("2026-12-07 12:00:00+00:00")  # Monday: nothing is due yet
    assert early_escalations_escalate().escalated == 0
    travel.move_to("2026-12-08 09:00:00+00:00")
    svc.escalation_answer(
        user=platform_lead, escalation=esc, status="helping", answer="Pairing with Olga."
    )
    travel.move_to("2026-12-31 00:00:00+00:00")
    assert early_escalations_escalate().escalated == 0
    assert not EarlyEscalationRung.objects.exists()


# --- the ladder --------------------------------------------------------------------------------


@pytest.fixture
def unanswered(travel: Any, key_result: Any, owner: Any, provider: Any, leader: Any) -> Any:
    return raise_(owner, key_result, provider)


def run_at(travel: Any, moment: str) -> Any:
    travel.move_to(moment)
    return early_escalations_escalate()


@pytest.mark.django_db
def test_unanswered_climbs_named_person_then_their_lead_then_leadership(
    unanswered: Any, travel: Any, provider: Any, platform_lead: Any, leader: Any
) -> None:
    assert run_at(travel, "2026-12-08 14:59:00+00:00").escalated == 0  # not due yet
    assert run_at(travel, "2026-12-08 15:00:00+00:00").escalated == 1
    assert kinds_to(provider)[-1] == "early_escalation_rung_1"
    assert run_at(travel, "2026-12-09 14:00:00+00:00").escalated == 0  # rung 2 at +24 h
    run_at(travel, "2026-12-09 15:00:00+00:00")
    assert kinds_to(platform_lead) == ["early_escalation_rung_2"]  # a lead of Pia's team
    note = Notification.objects.get(recipient=platform_lead)
    assert note.subject.startswith("Pia Provider has not answered an escalation")
    run_at(travel, "2026-12-11 15:00:00+00:00")  # +72 h
    assert kinds_to(leader) == ["early_escalation_rung_3"]
    assert run_at(travel, "2026-12-31 00:00:00+00:00").escalated == 0  # three rungs only
    assert list(EarlyEscalationRung.objects.values_list("rung", "notified")) == [
        (1, 1),
        (2, 1),
        (3, 1),
    ]
    unanswered.refresh_from_db()
    assert (unanswered.escalation_rung, unanswered.next_escalation_at) == (3, None)


@pytest.mark.django_db
def test_rung_two_goes_to_the_manager_first(
    unanswered: Any, travel: Any, provider: Any, platform_lead: Any
) -> None:
    boss = UserFactory(username="boss")
    provider.profile.manager = boss
    provider.profile.save()
    run_at(travel, "2026-12-08 15:00:00+00:00")
    run_at(travel, "2026-12-09 15:00:00+00:00")
    assert kinds_to(boss) == ["early_escalation_rung_2"]
    assert kinds_to(platform_lead) == []


@pytest.mark.django_db
def test_answering_stops_the_ladder_and_the_task_reports_counts(
    unanswered: Any, travel: Any, provider: Any
) -> None:
    travel.move_to("2026-12-08 15:00:00+00:00")
    assert early_escalations_escalate_task() == {"escalated": 1, "notifications": 1}
    svc.escalation_answer(user=provider, escalation=unanswered, status="decided", answer="Go")
    assert run_at(travel, "2026-12-20 00:00:00+00:00").escalated == 0
    assert EarlyEscalationRung.objects.count() == 1


@pytest.mark.django_db
def test_a_closed_quarter_ends_the_ladder(unanswered: Any, travel: Any) -> None:
    Quarter.objects.update(status=Quarter.Status.CLOSED)
    assert run_at(travel, "2026-12-08 15:00:00+00:00").escalated == 0
    unanswered.refresh_from_db()
    assert unanswered.next_escalation_at is None


@pytest.mark.django_db
def test_each_rung_once_when_run_twice(unanswered: Any, travel: Any) -> None:
    assert run_at(travel, "2026-12-08 15:00:00+00:00").escalated == 1
    assert run_at(travel, "2026-12-08 15:00:00+00:00").escalated == 0
    assert EarlyEscalationRung.objects.count() == 1


@pytest.fixture
def committed_unanswered(django_db_blocker: Any, key_result: Any, owner: Any, provider: Any) -> Any:
    with time_machine.travel(FRIDAY, tick=False):
        return raise_(owner, key_result, provider)


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_exactly_once_per_rung(
    committed_unanswered: Any, provider: Any
) -> None:
    """Four workers at once (threads with their own connections): rung 1 is sent once."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            early_escalations_escalate(now=datetime(2026, 12, 8, 16, tzinfo=UTC))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert EarlyEscalationRung.objects.count() == 1
    assert kinds_to(provider) == ["early_escalation", "early_escalation_rung_1"]


@pytest.mark.django_db
def test_the_job_reads_only_what_is_due(
    travel: Any, key_result: Any, owner: Any, provider: Any, leader: Any
) -> None:
    """Escalations not due (answered, or due later) cost the job nothing: the same queries
    for one due escalation beside 1 or 30 others."""

    def count() -> int:
        EarlyEscalation.objects.update(escalation_rung=0, next_escalation_at=FAR)
        EarlyEscalationRung.objects.all().delete()
        due.refresh_from_db()
        EarlyEscalation.objects.filter(pk=due.pk).update(next_escalation_at=due.answer_due_at)
        with CaptureQueriesContext(connection) as ctx:
            assert early_escalations_escalate(now=datetime(2026, 12, 8, 16, tzinfo=UTC)).escalated
        return len(ctx.captured_queries)

    due = raise_(owner, key_result, provider)
    raise_(owner, key_result, provider)
    one = count()
    for _ in range(29):
        raise_(owner, key_result, provider)
    assert count() == one


@pytest.mark.django_db
def test_admins_edit_the_norm_and_read_escalations(
    client_for: Any, admin_user: Any, travel: Any, key_result: Any, owner: Any, provider: Any
) -> None:
    esc = raise_(owner, key_result, provider)
    client = client_for(admin_user)
    response = client.post("/admin/reviews/escalationnorm/add/", {"text": "Escalate early."})
    assert response.status_code == 302
    assert svc.current_norm() == "Escalate early."
    assert client.get(f"/admin/reviews/earlyescalation/{esc.pk}/change/").status_code == 200
    assert client.get("/admin/reviews/earlyescalation/add/").status_code == 403
