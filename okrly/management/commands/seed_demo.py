"""Build a believable demo organisation. Safe to run twice: everything is keyed by a natural
key (username, team slug, quarter name, objective title) and updated in place.

The command is part of the composition root, yet it names no feature app: okrly's own part
(okrly/demo.py: people, teams, the quarter) runs first, then every app's ``demo.py`` that
registered itself in its ``AppConfig.ready()`` (okrly/registry.py), in their order.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from okrly import demo
from okrly.demo import DEMO_PASSWORD
from okrly.models import Notification, Quarter, Team
from okrly.registry import run_demo_seeders

__all__ = ["DEMO_PASSWORD", "Command"]


class Command(BaseCommand):
    help = "Create or refresh the demo organisation and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            counts = self.seed(timezone.localdate())
        self.stdout.write(
            self.style.SUCCESS(
                "Demo organisation ready: " + ", ".join(f"{n} {name}" for name, n in counts.items())
            )
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write("  admin   administrator (staff, sees Admin)")
        self.stdout.write("  maya    CEO, Leadership lead")
        self.stdout.write("  tom     Product lead        ana   key-result owner in Product")
        self.stdout.write("  priya   Engineering lead    ivan  Platform lead")
        self.stdout.write("Open http://127.0.0.1:8000/ and sign in.")

    def seed(self, today: date) -> dict[str, int]:
        users = demo.seed(today)
        # Objectives, dependencies, check-ins and ownership seed their own demo data; each
        # may return counts for the summary line (objectives: objectives and key results).
        app_counts = run_demo_seeders(today)
        welcome = "Welcome to OKRly"
        for user in users.values():
            Notification.objects.get_or_create(
                recipient=user,
                kind="welcome",
                subject=welcome,
                defaults={
                    "body": "You own the key results on My week. Each has exactly one owner: you.",
                    "link": "/",
                    # Demo users have made-up addresses; don't queue mail for them.
                    "email_status": Notification.EmailStatus.SKIPPED,
                },
            )
        return {
            "people": get_user_model().objects.count(),
            "teams": Team.objects.count(),
            "quarters": Quarter.objects.count(),
            **app_counts,
        }
