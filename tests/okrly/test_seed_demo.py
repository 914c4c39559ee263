from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives import services as objectives
from objectives.models import KeyResult, Objective
from okrly.models import Membership, Notification, Profile, Quarter, Team

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
    assert CheckIn.objects.filter(week=1).count() == KeyResult.objects.count()
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
