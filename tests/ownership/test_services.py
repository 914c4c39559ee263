"""Rules 1-3: acceptance, handover with history, decision authority — rights and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from dependencies import services as dep_services
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import Notification
from ownership import services
from ownership.models import AuthorityGrant, DecisionRight, OwnershipNomination
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
N = OwnershipNomination.Status


def rights() -> list[DecisionRight]:
    # Created here: a transactional test elsewhere may have flushed the migration's rows.
    return services.decision_rights_ensure_defaults()[:2]


class TestAccept:
    def test_only_the_owner_accepts_a_key_result_given_to_them(
        self, key_result: Any, owner: Any, lead: Any, teammate: Any
    ) -> None:
        for refused in (lead, teammate):
            with pytest.raises(NotAllowed, match="Only the person nominated"):
                services.ownership_accept(key_result=key_result, user=refused)
        assert not services.has_accepted(key_result)
        services.ownership_accept(key_result=key_result, user=owner)
        assert services.has_accepted(key_result)

    def test_accepting_twice_is_refused(self, key_result: Any, owner: Any) -> None:
        services.ownership_accept(key_result=key_result, user=owner)
        with pytest.raises(RuleBroken, match="already accepted"):
            services.ownership_accept(key_result=key_result, user=owner)

    def test_declining_needs_a_reason_and_tells_the_team_lead(
        self, key_result: Any, owner: Any, lead: Any, teammate: Any
    ) -> None:
        with pytest.raises(NotAllowed):
            services.ownership_decline(key_result=key_result, user=teammate, reason="Not mine")
        with pytest.raises(RuleBroken, match="Say why"):
            services.ownership_decline(key_result=key_result, user=owner, reason="")
        services.ownership_decline(key_result=key_result, user=owner, reason="No capacity")
        note = Notification.objects.get(recipient=lead, kind="ownership_declined")
        assert (
            note.subject
            == "Olga Owner declined ownership of “Raise trial conversion”: nominate someone else"
        )
        assert note.body == "No capacity"

    def test_someone_elses_nomination_cannot_be_accepted(
        self, key_result: Any, owner: Any, lead: Any, teammate: Any
    ) -> None:
        services.ownership_handover(
            key_result=key_result, user=lead, new_owner=teammate, reason="Olga moves to Sales"
        )
        with pytest.raises(NotAllowed):
            services.ownership_accept(key_result=key_result, user=owner)
        with pytest.raises(NotAllowed):
            services.ownership_accept(key_result=key_result, user=lead)
        services.ownership_accept(key_result=key_result, user=teammate)
        key_result.refresh_from_db()
        assert key_result.owner == teammate


class TestHandover:
    def test_previous_owner_stays_accountable_until_the_new_one_accepts(
        self, key_result: Any, owner: Any, lead: Any, teammate: Any
    ) -> None:
        services.ownership_accept(key_result=key_result, user=owner)
        services.ownership_handover(
            key_result=key_result, user=lead, new_owner=teammate, reason="Olga moves to Sales"
        )
        key_result.refresh_from_db()
        assert key_result.owner == owner
        assert Notification.objects.filter(recipient=teammate, kind="ownership_nominated").exists()

        services.ownership_accept(key_result=key_result, user=teammate)
        key_result.refresh_from_db()
        assert key_result.owner == teammate
        history = list(
            OwnershipNomination.objects.filter(key_result=key_result, status=N.ACCEPTED)
            .order_by("pk")
            .values_list(
                "previous_owner__username", "nominee__username", "reason", "nominated_by__username"
            )
        )
        assert history == [(None, "olga", "", None), ("olga", "tim", "Olga moves to Sales", "lena")]
        assert Notification.objects.filter(recipient=owner, kind="ownership_handed_over").exists()

    def test_a_declined_handover_leaves_the_owner_in_place(
        self, key_result: Any, owner: Any, lead: Any, teammate: Any
    ) -> None:
        services.ownership_handover(
            key_result=key_result, user=lead, new_owner=teammate, reason="x"
        )
        services.ownership_decline(
            key_result=key_result, user=teammate, reason="On leave in December"
        )
        key_result.refresh_from_db()
        assert key_result.owner == owner
        assert OwnershipNomination.objects.get(nominee=teammate).status == N.DECLINED

    def test_a_new_nomination_replaces_one_still_waiting(
        self, key_result: Any, lead: Any, teammate: Any, provider: Any
    ) -> None:
        services.ownership_handover(
            key_result=key_result, user=lead, new_owner=teammate, reason="a"
        )
        services.ownership_handover(
            key_result=key_result, user=lead, new_owner=provider, reason="b"
        )
        statuses = dict(OwnershipNomination.objects.values_list("nominee__username", "status"))
        assert statuses == {"tim": N.SUPERSEDED, "pia": N.PENDING}

    def test_rights_to_hand_over(
        self,
        key_result: Any,
        owner: Any,
        lead: Any,
        teammate: Any,
        provider: Any,
        admin_user: Any,
    ) -> None:
        for refused in (owner, teammate, provider):
            with pytest.raises(NotAllowed, match="Only a lead of Growth"):
                services.ownership_handover(
                    key_result=key_result, user=refused, new_owner=teammate, reason="x"
                )
        assert not OwnershipNomination.objects.exists()
        services.ownership_handover(
            key_result=key_result, user=lead, new_owner=teammate, reason="x"
        )
        services.ownership_handover(
            key_result=key_result, user=admin_user, new_owner=provider, reason="y"
        )

    def test_a_handover_needs_a_reason(self, key_result: Any, lead: Any, teammate: Any) -> None:
        with pytest.raises(RuleBroken) as excinfo:
            services.ownership_handover(
                key_result=key_result, user=lead, new_owner=teammate, reason=" "
            )
        assert excinfo.value.field == "reason"
        assert not OwnershipNomination.objects.exists()

    def test_the_new_owner_must_be_an_active_member_of_a_team(
        self, key_result: Any, lead: Any
    ) -> None:
        loner = UserFactory(first_name="Lou", last_name="Loner")
        with pytest.raises(RuleBroken, match="Lou Loner is not a member of any team"):
            services.ownership_handover(
                key_result=key_result, user=lead, new_owner=loner, reason="x"
            )
        gone = UserFactory(is_active=False)
        with pytest.raises(RuleBroken, match="active person"):
            services.ownership_handover(
                key_result=key_result, user=lead, new_owner=gone, reason="x"
            )
        assert not OwnershipNomination.objects.exists()

    def test_a_team_as_new_owner_is_refused_with_a_message(
        self, key_result: Any, lead: Any, growth: Any
    ) -> None:
        # Rule 1: a key result's owner is one person; a team (with no is_active) used to
        # crash the service with an AttributeError.
        with pytest.raises(RuleBroken) as excinfo:
            services.ownership_handover(
                key_result=key_result, user=lead, new_owner=growth, reason="Growth owns it now"
            )
        assert excinfo.value.field == "new_owner"
        assert "a person, not a team" in excinfo.value.message
        assert not OwnershipNomination.objects.exists()

    def test_the_new_owner_sees_what_they_inherit(
        self,
        key_result: Any,
        owner: Any,
        lead: Any,
        teammate: Any,
        platform: Any,
        provider: Any,
    ) -> None:
        from datetime import date

        promised = dep_services.dependency_request(
            user=owner,
            key_result=key_result,
            provider_team=platform,
            responsible=provider,
            deliverable="Billing API",
            due_date=date(2026, 12, 1),
        )
        dep_services.dependency_commit(dependency=promised, user=provider)
        dep_services.dependency_request(
            user=owner,
            key_result=key_result,
            provider_team=platform,
            responsible=provider,
            deliverable="SSO",
            due_date=date(2026, 12, 5),
        )
        inherited = services.inherited_commitments(key_result)
        assert [d.deliverable for d in inherited["promised"]] == ["Billing API"]
        assert [d.deliverable for d in inherited["requested"]] == ["SSO"]


class TestAuthority:
    def test_granting_rights_matrix(
        self,
        key_result: Any,
        owner: Any,
        lead: Any,
        manager: Any,
        leader: Any,
        teammate: Any,
        provider: Any,
    ) -> None:
        for refused in (owner, teammate, provider):
            with pytest.raises(NotAllowed, match="not by the owner, and not by you"):
                services.authority_grant(
                    key_result=key_result, user=refused, rights=rights(), scope="x"
                )
        assert not AuthorityGrant.objects.exists()
        for allowed in (lead, manager, leader):
            grant = services.authority_grant(
                key_result=key_result, user=allowed, rights=rights(), scope="Backlog"
            )
            assert grant.granted_by == allowed
        # Each new grant replaced the one in force; all three stay in the record.
        assert AuthorityGrant.objects.count() == 3
        assert AuthorityGrant.objects.filter(revoked_at__isnull=True).count() == 1

    def test_a_grant_needs_rights_and_a_scope(self, key_result: Any, lead: Any) -> None:
        with pytest.raises(RuleBroken, match="at least one decision right"):
            services.authority_grant(key_result=key_result, user=lead, rights=[], scope="x")
        with pytest.raises(RuleBroken, match="Describe the scope"):
            services.authority_grant(key_result=key_result, user=lead, rights=rights(), scope="")
        assert not AuthorityGrant.objects.exists()

    def test_revoking_rights_matrix(
        self, key_result: Any, owner: Any, lead: Any, teammate: Any, manager: Any
    ) -> None:
        grant = services.authority_grant(
            key_result=key_result, user=lead, rights=rights(), scope="x"
        )
        for refused in (owner, teammate):
            with pytest.raises(NotAllowed):
                services.authority_revoke(grant=grant, user=refused, reason="no")
        grant.refresh_from_db()
        assert grant.in_force
        with pytest.raises(RuleBroken, match="Say why"):
            services.authority_revoke(grant=grant, user=manager, reason="")
        services.authority_revoke(grant=grant, user=manager, reason="Budget frozen")
        grant.refresh_from_db()
        assert (grant.in_force, grant.revoked_by, grant.revoke_reason) == (
            False,
            manager,
            "Budget frozen",
        )
        with pytest.raises(RuleBroken, match="already revoked"):
            services.authority_revoke(grant=grant, user=manager, reason="again")


class TestNoDependencies:
    def test_only_the_owner_declares_and_not_while_dependencies_exist(
        self, key_result: Any, owner: Any, lead: Any, platform: Any, provider: Any
    ) -> None:
        from datetime import date

        with pytest.raises(NotAllowed):
            services.dependencies_declare_none(key_result=key_result, user=lead)
        dep_services.dependency_request(
            user=owner,
            key_result=key_result,
            provider_team=platform,
            responsible=provider,
            deliverable="Billing API",
            due_date=date(2026, 12, 1),
        )
        with pytest.raises(RuleBroken, match="has dependencies"):
            services.dependencies_declare_none(key_result=key_result, user=owner)


class TestPages:
    def test_nominee_accepts_from_the_key_result_page_and_sees_the_inheritance(
        self, client_for: Any, key_result: Any, lead: Any, teammate: Any
    ) -> None:
        client = client_for(lead)
        response = client.post(
            f"/ownership/{key_result.pk}/handover/",
            {"new_owner": teammate.pk, "reason": "Olga moves to Sales"},
        )
        assert response.status_code == 302
        client = client_for(teammate)
        assert "Accept ownership" in client.get(key_result.get_absolute_url()).content.decode()
        asked = client.get("/asked/").content.decode()
        assert "Ownership handover" in asked
        response = client.post(f"/ownership/{key_result.pk}/accept/")
        assert response["Location"] == f"/ownership/{key_result.pk}/inherited/"
        assert "What you inherit" in client.get(response["Location"]).content.decode()

    def test_handover_form_keeps_input_on_error(
        self, client_for: Any, key_result: Any, lead: Any
    ) -> None:
        loner = UserFactory(first_name="Lou", last_name="Loner")
        response = client_for(lead).post(
            f"/ownership/{key_result.pk}/handover/",
            {"new_owner": loner.pk, "reason": "Restructure"},
        )
        html = response.content.decode()
        assert "not a member of any team" in html
        assert "Restructure</textarea>" in html

    def test_handover_form_with_two_new_owners_is_refused_then_one_succeeds(
        self, client_for: Any, key_result: Any, lead: Any, teammate: Any, provider: Any
    ) -> None:
        url = f"/ownership/{key_result.pk}/handover/"
        client = client_for(lead)
        response = client.post(
            url, {"new_owner": [teammate.pk, provider.pk], "reason": "Olga moves to Sales"}
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert "Choose one new owner, not 2." in html
        assert "Olga moves to Sales</textarea>" in html
        assert not OwnershipNomination.objects.exists()

        response = client.post(url, {"new_owner": teammate.pk, "reason": "Olga moves to Sales"})
        assert response.status_code == 302
        assert OwnershipNomination.objects.get().nominee == teammate

    def test_grant_page_is_refused_to_others(
        self, client_for: Any, key_result: Any, teammate: Any, lead: Any
    ) -> None:
        assert client_for(teammate).get(f"/ownership/{key_result.pk}/authority/").status_code == 403
        response = client_for(lead).post(
            f"/ownership/{key_result.pk}/authority/",
            {"rights": [r.pk for r in rights()], "scope": "Squad backlog"},
        )
        assert response.status_code == 302
        assert AuthorityGrant.objects.get().scope == "Squad backlog"

    def test_api_actions(
        self, client_for: Any, key_result: Any, owner: Any, lead: Any, teammate: Any
    ) -> None:
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(teammate)
        assert api.post(f"/api/key-results/{key_result.pk}/accept/").status_code == 403
        api.force_authenticate(owner)
        accepted = api.post(f"/api/key-results/{key_result.pk}/accept/").json()
        assert accepted["accountability"]["checks"]["owner"]["passed"] is True
        api.force_authenticate(teammate)
        payload = {"rights": [r.pk for r in rights()], "scope": "Backlog"}
        assert (
            api.post(f"/api/key-results/{key_result.pk}/grant-authority/", payload).status_code
            == 403
        )
        api.force_authenticate(lead)
        granted = api.post(f"/api/key-results/{key_result.pk}/grant-authority/", payload).json()
        assert granted["accountability"]["checks"]["authority"]["passed"] is True
        grant = AuthorityGrant.objects.get()
        revoked = api.post(
            f"/api/key-results/{key_result.pk}/revoke-authority/",
            {"grant": grant.pk, "reason": "Reorg"},
        ).json()
        assert revoked["accountability"]["checks"]["authority"]["passed"] is False
