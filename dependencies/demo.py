"""Demo dependencies: a few commitments between the demo teams, in every state worth seeing."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model

from dependencies import services
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly.models import Team

# key result title, providing team slug, responsible, what, days from today, final state
DEMO = [
    ("Weekly active mobile users", "platform", "olivia", "Push notification service", 12, "commit"),
    ("Case studies published", "customer-success", "chloe", "Three customer references", 9, ""),
    ("New annual contracts", "product", "grace", "SSO for enterprise plans", 16, "risk"),
    ("Self-service environments", "engineering", "mateo", "Cluster budget approval", 6, "counter"),
]


def seed(today: date) -> None:
    users = {u.username: u for u in get_user_model().objects.all()}
    for kr_title, team_slug, who, what, days, final in DEMO:
        key_result = KeyResult.objects.filter(title=kr_title).select_related("owner").first()
        team = Team.objects.filter(slug=team_slug).first()
        if key_result is None or team is None or who not in users:
            continue
        if Dependency.objects.filter(key_result=key_result, deliverable=what).exists():
            continue  # safe to run twice
        dep = services.dependency_request(
            user=key_result.owner,
            key_result=key_result,
            provider_team=team,
            responsible=users[who],
            deliverable=what,
            due_date=today + timedelta(days=days),
            confirm_outside_quarter=True,
        )
        if final in ("commit", "risk"):
            services.dependency_commit(dependency=dep, user=users[who])
        if final == "risk":
            services.dependency_flag_risk(
                dependency=dep, user=users[who], reason="Identity provider contract not signed yet"
            )
        if final == "counter":
            services.dependency_counter(
                dependency=dep,
                user=users[who],
                due_date=today + timedelta(days=days + 14),
                note="Budget committee meets after your date",
            )
