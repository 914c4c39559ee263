"""Dependencies as commitments: each transition by the right person, refused for others."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from dependencies import services
from dependencies.models import Dependency, DependencyEvent
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
S = Dependency.Status


def notified(user: Any) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("subject", flat=True)
    )


class TestRequest:
    def test_owner_requests_and_the_responsible_person_is_asked(
        self, request_dependency: Any, provider: Any
    ) -> None:
        dep = request_dependency()
        assert (dep.status, dep.awaiting, dep.rank) == (S.REQUESTED, provider, 1)
        assert notified(provider) == ["Olga Owner asks you for “Billing API v2” by 01 Dec"]
        assert DependencyEvent.objects.get(dependency=dep).action == "request"

    def test_only_the_owner_requests(
        self, request_dependency: Any, lead: Any, teammate: Any, provider: Any, owner: Any
    ) -> None:
        for refused in (lead, teammate, provider):
            with pytest.raises(NotAllowed, match="Only the key result's owner"):
                request_dependency(user=refused)
        assert not Dependency.objects.exists()
        assert request_dependency(user=owner).pk

    def test_responsible_person_must_be_on_the_providing_team(
        self, request_dependency: Any, teammate: Any
    ) -> None:
        with pytest.raises(RuleBroken) as excinfo:
            request_dependency(responsible=teammate)
        assert excinfo.value.field == "responsible"
        assert "Tim Teammate is not on Platform" in excinfo.value.message

    def test_a_team_cannot_depend_on_itself(
        self, request_dependency: Any, growth: Any, teammate: Any
    ) -> None:
        with pytest.raises(RuleBroken) as excinfo:
            request_dependency(provider_team=growth, responsible=teammate)
        assert excinfo.value.field == "provider_team"
        assert "own team" in excinfo.value.message

    def test_the_database_refuses_a_team_depending_on_itself(self, request_dependency: Any) -> None:
        dep = request_dependency()
        dep.provider_team = dep.requesting_team
        with pytest.raises(IntegrityError), transaction.atomic():
            dep.save()

    def test_past_due_date_is_refused(self, request_dependency: Any) -> None:
        with pytest.raises(RuleBroken) as excinfo:
            request_dependency(due_date=date(2026, 11, 16))
        assert (excinfo.value.field, "in the past" in excinfo.value.message) == ("due_date", True)

    def test_date_outside_the_quarter_needs_confirmation(self, request_dependency: Any) -> None:
        with pytest.raises(RuleBroken) as excinfo:
            request_dependency(due_date=date(2027, 1, 15))
        assert excinfo.value.field == "confirm_outside_quarter"
        assert "outside 2026 Q4" in excinfo.value.message
        dep = request_dependency(due_date=date(2027, 1, 15), confirm_outside_quarter=True)
        assert dep.due_date == date(2027, 1, 15)

    def test_ranks_are_unique_per_key_result(self, request_dependency: Any) -> None:
        first = request_dependency()
        second = request_dependency(deliverable="SSO")
        assert (first.rank, second.rank) == (1, 2)
        with pytest.raises(RuleBroken, match="Rank 1 is already “Billing API v2”"):
            request_dependency(deliverable="Audit log", rank=1)
        second.rank = 1
        with pytest.raises(IntegrityError), transaction.atomic():
            second.save()

    def test_empty_deliverable_is_refused(self, request_dependency: Any) -> None:
        with pytest.raises(RuleBroken, match="what must be delivered"):
            request_dependency(deliverable="  ")


class TestAnswers:
    def test_only_the_responsible_person_commits(
        self,
        request_dependency: Any,
        owner: Any,
        platform_peer: Any,
        platform_lead: Any,
        provider: Any,
    ) -> None:
        dep = request_dependency()
        for refused in (owner, platform_peer, platform_lead):
            with pytest.raises(NotAllowed):
                services.dependency_commit(dependency=dep, user=refused)
        dep.refresh_from_db()
        assert dep.status == S.REQUESTED
        dep = services.dependency_commit(dependency=dep, user=provider)
        assert (dep.status, dep.awaiting) == (S.COMMITTED, None)
        assert notified(owner) == ["Pia Provider committed to “Billing API v2” by 01 Dec"]

    def test_committing_twice_is_refused(self, request_dependency: Any, provider: Any) -> None:
        dep = request_dependency()
        services.dependency_commit(dependency=dep, user=provider)
        with pytest.raises(RuleBroken, match="already committed"):
            services.dependency_commit(dependency=dep, user=provider)

    def test_counter_then_owner_accepts(
        self, request_dependency: Any, provider: Any, owner: Any
    ) -> None:
        dep = request_dependency()
        dep = services.dependency_counter(
            dependency=dep,
            user=provider,
            due_date=date(2026, 12, 10),
            deliverable="Billing API v2 (read only)",
        )
        assert (dep.status, dep.awaiting) == (S.COUNTERED, owner)
        with pytest.raises(NotAllowed):
            services.dependency_commit(dependency=dep, user=provider)  # waiting on the owner now
        dep = services.dependency_accept_counter(dependency=dep, user=owner)
        assert (dep.status, dep.due_date, dep.deliverable) == (
            S.COMMITTED,
            date(2026, 12, 10),
            "Billing API v2 (read only)",
        )
        assert "accepted your proposal" in notified(provider)[-1]

    def test_owner_re_counters_and_the_provider_commits_to_it(
        self, request_dependency: Any, provider: Any, owner: Any
    ) -> None:
        dep = request_dependency()
        services.dependency_counter(dependency=dep, user=provider, due_date=date(2026, 12, 20))
        dep = services.dependency_counter(dependency=dep, user=owner, due_date=date(2026, 12, 8))
        assert dep.awaiting == provider
        dep = services.dependency_commit(dependency=dep, user=provider)
        assert (dep.status, dep.due_date) == (S.COMMITTED, date(2026, 12, 8))

    def test_a_counter_needs_a_date(self, request_dependency: Any, provider: Any) -> None:
        dep = request_dependency()
        with pytest.raises(RuleBroken) as excinfo:
            services.dependency_counter(dependency=dep, user=provider, due_date=None)
        assert excinfo.value.field == "due_date"
        assert "needs the date" in excinfo.value.message

    def test_answering_a_request_not_addressed_to_you_is_refused(
        self, request_dependency: Any, platform_peer: Any, provider: Any
    ) -> None:
        dep = request_dependency()
        with pytest.raises(NotAllowed, match="waiting on Pia Provider, not on you"):
            services.dependency_counter(
                dependency=dep, user=platform_peer, due_date=date(2026, 12, 9)
            )
        with pytest.raises(NotAllowed):
            services.dependency_decline(dependency=dep, user=platform_peer, reason="busy")
        assert (
            services.dependency_decline(dependency=dep, user=provider, reason="No capacity").status
            == S.DECLINED
        )

    def test_declining_needs_a_reason(
        self, request_dependency: Any, provider: Any, owner: Any
    ) -> None:
        dep = request_dependency()
        with pytest.raises(RuleBroken, match="Say why"):
            services.dependency_decline(dependency=dep, user=provider, reason=" ")
        services.dependency_decline(dependency=dep, user=provider, reason="Frozen until January")
        assert notified(owner) == ["Pia Provider declined “Billing API v2”"]

    def test_the_team_lead_reassigns_within_the_team(
        self,
        request_dependency: Any,
        provider: Any,
        platform_lead: Any,
        platform_peer: Any,
        teammate: Any,
        owner: Any,
    ) -> None:
        dep = request_dependency()
        with pytest.raises(NotAllowed, match="Only a lead of Platform"):
            services.dependency_reassign(dependency=dep, user=provider, responsible=platform_peer)
        with pytest.raises(RuleBroken, match="someone on Platform"):
            services.dependency_reassign(dependency=dep, user=platform_lead, responsible=teammate)
        dep = services.dependency_reassign(
            dependency=dep, user=platform_lead, responsible=platform_peer
        )
        assert (dep.responsible, dep.awaiting) == (platform_peer, platform_peer)
        with pytest.raises(NotAllowed):
            services.dependency_commit(dependency=dep, user=provider)
        assert services.dependency_commit(dependency=dep, user=platform_peer).status == S.COMMITTED


class TestDelivery:
    @pytest.fixture
    def committed(self, request_dependency: Any, provider: Any) -> Any:
        return services.dependency_commit(dependency=request_dependency(), user=provider)

    def test_responsible_delivers_and_the_owner_confirms(
        self, committed: Any, provider: Any, owner: Any
    ) -> None:
        with pytest.raises(NotAllowed):
            services.dependency_deliver(dependency=committed, user=owner)
        dep = services.dependency_deliver(dependency=committed, user=provider)
        assert (dep.status, dep.awaiting) == (S.DELIVERED, owner)
        with pytest.raises(NotAllowed):
            services.dependency_confirm(dependency=dep, user=provider)
        dep = services.dependency_confirm(dependency=dep, user=owner)
        assert dep.confirmed_at is not None
        assert dep.next_escalation_at is None

    def test_owner_reopens_a_delivery(self, committed: Any, provider: Any, owner: Any) -> None:
        dep = services.dependency_deliver(dependency=committed, user=provider)
        with pytest.raises(RuleBroken, match="what is missing"):
            services.dependency_reopen(dependency=dep, user=owner, reason="")
        dep = services.dependency_reopen(dependency=dep, user=owner, reason="No webhooks")
        assert dep.status == S.COMMITTED
        assert notified(provider)[-1] == "Olga Owner reopened “Billing API v2”"

    def test_either_side_flags_risk_nobody_else(
        self, committed: Any, provider: Any, owner: Any, teammate: Any
    ) -> None:
        with pytest.raises(NotAllowed):
            services.dependency_flag_risk(dependency=committed, user=teammate, reason="gut feeling")
        dep = services.dependency_flag_risk(
            dependency=committed, user=provider, reason="Vendor late"
        )
        assert (dep.status, dep.reason) == (S.AT_RISK, "Vendor late")
        assert notified(owner)[-1] == "Pia Provider flagged “Billing API v2” at risk"

    def test_at_risk_can_still_be_delivered(
        self, committed: Any, provider: Any, owner: Any
    ) -> None:
        services.dependency_flag_risk(dependency=committed, user=owner, reason="Scope grew")
        assert (
            services.dependency_deliver(dependency=committed, user=provider).status == S.DELIVERED
        )

    def test_owner_marks_it_broken(self, committed: Any, provider: Any, owner: Any) -> None:
        with pytest.raises(NotAllowed):
            services.dependency_break(dependency=committed, user=provider, reason="x")
        dep = services.dependency_break(
            dependency=committed, user=owner, reason="Missed the launch"
        )
        assert (dep.status, dep.next_escalation_at) == (S.BROKEN, None)

    def test_every_change_records_who_made_it(
        self, committed: Any, provider: Any, owner: Any
    ) -> None:
        services.dependency_deliver(dependency=committed, user=provider)
        services.dependency_confirm(dependency=committed, user=owner)
        events = list(committed.events.values_list("action", "actor__username", "to_status"))
        assert events == [
            ("request", "olga", "requested"),
            ("commit", "pia", "committed"),
            ("deliver", "pia", "delivered"),
            ("confirm", "olga", "delivered"),
        ]
