"""Demo ownership: most owners accepted, some have authority, one declined — a realistic mix
so the Accountability Test shows passes and failures."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model

from dependencies.models import Dependency
from objectives.models import KeyResult
from ownership import services
from ownership.models import AuthorityGrant, DecisionRight, NoDependencies, OwnershipNomination

SCOPES = [
    "Reprioritise the squad backlog for this key result",
    "Ad budget up to €20k this quarter",
    "Swap initiatives without a steering meeting",
]


def seed(today: date) -> None:
    del today
    users = {u.username: u for u in get_user_model().objects.all()}
    granter = users.get("maya")
    services.decision_rights_ensure_defaults()
    rights = list(DecisionRight.objects.filter(active=True)[:3])
    for index, kr in enumerate(
        KeyResult.objects.select_related("owner__profile", "objective__team").order_by("pk")
    ):
        if OwnershipNomination.objects.filter(key_result=kr).exists():
            continue  # safe to run twice
        if kr.title == "Raise activation within 7 days":
            continue  # left for the demo user (ana) to accept herself
        if index % 7 == 3:
            services.ownership_decline(
                key_result=kr, user=kr.owner, reason="My team is already stretched this quarter"
            )
            continue
        services.ownership_accept(key_result=kr, user=kr.owner)
        if (
            granter is not None
            and index % 3 != 2
            and kr.owner_id != granter.pk
            and not AuthorityGrant.objects.filter(key_result=kr).exists()
        ):
            services.authority_grant(
                key_result=kr,
                user=granter,
                rights=rights[: 1 + index % 3],
                scope=SCOPES[index % len(SCOPES)],
            )
        no_deps = not Dependency.objects.filter(key_result=kr).exists()
        if no_deps and index % 2 == 0 and not NoDependencies.objects.filter(key_result=kr).exists():
            services.dependencies_declare_none(key_result=kr, user=kr.owner)
