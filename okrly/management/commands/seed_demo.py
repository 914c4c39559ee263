"""Build a believable demo organisation. Safe to run twice: everything is keyed by a natural
key (username, team slug, quarter name, objective title) and updated in place."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from objectives.models import KeyResult, Objective
from okrly.access import leadership_group_name
from okrly.models import Membership, Notification, Profile, Quarter, Team
from okrly.registry import run_demo_seeders

DEMO_PASSWORD = "okrly-demo"

# username, first, last, timezone, manager username
PEOPLE = [
    ("maya", "Maya", "Okafor", "Europe/London", None),
    ("tom", "Tom", "Reyes", "America/New_York", "maya"),
    ("priya", "Priya", "Natarajan", "Asia/Kolkata", "maya"),
    ("lena", "Lena", "Fischer", "Europe/Berlin", "maya"),
    ("sam", "Sam", "Carter", "America/Los_Angeles", "maya"),
    ("ana", "Ana", "Silva", "America/Sao_Paulo", "tom"),
    ("kenji", "Kenji", "Watanabe", "Asia/Tokyo", "tom"),
    ("olivia", "Olivia", "Brown", "Australia/Sydney", "priya"),
    ("noah", "Noah", "Schmidt", "Europe/Berlin", "lena"),
    ("fatima", "Fatima", "Haddad", "Asia/Dubai", "lena"),
    ("liam", "Liam", "O'Connor", "Europe/Dublin", "sam"),
    ("zoe", "Zoe", "Martin", "Europe/Paris", "sam"),
    ("ivan", "Ivan", "Petrov", "Europe/Warsaw", "priya"),
    ("grace", "Grace", "Kim", "Asia/Seoul", "tom"),
    ("david", "David", "Levi", "Asia/Jerusalem", "lena"),
    ("chloe", "Chloe", "Dubois", "Europe/Paris", "sam"),
    ("mateo", "Mateo", "García", "Europe/Madrid", "priya"),
    ("aisha", "Aisha", "Bello", "Africa/Lagos", "tom"),
    ("ethan", "Ethan", "Wright", "Pacific/Auckland", "priya"),
    ("sofia", "Sofia", "Rossi", "Europe/Rome", "lena"),
]

# slug, name, parent slug, lead, members
TEAMS = [
    ("leadership", "Leadership", None, "maya", ["tom", "priya", "lena", "sam"]),
    ("product", "Product", None, "tom", ["ana", "grace", "aisha"]),
    ("engineering", "Engineering", None, "priya", ["ivan", "mateo"]),
    ("platform", "Platform", "engineering", "ivan", ["olivia", "ethan"]),
    ("mobile", "Mobile", "engineering", "mateo", ["kenji"]),
    ("marketing", "Marketing", None, "lena", ["noah", "fatima", "sofia"]),
    ("sales", "Sales", None, "sam", ["liam", "zoe"]),
    ("customer-success", "Customer Success", None, "david", ["chloe"]),
]

# team, title, means, does not mean, [(kr title, owner, start, target, current, unit)]
OBJECTIVES: list[tuple[str, str, str, str, list[tuple[str, str, int, int, int, str]]]] = [
    (
        "product",
        "Make onboarding effortless for new teams",
        "A new team sets its first OKRs without help from us.",
        "Adding more tutorial screens.",
        [
            ("Raise activation within 7 days", "ana", 38, 60, 47, "%"),
            ("Cut time to first key result", "grace", 45, 15, 31, "min"),
            ("Ship guided set-up to every new workspace", "aisha", 0, 100, 40, "%"),
        ],
    ),
    (
        "product",
        "Learn why teams stop checking in",
        "We can name the top three reasons with evidence.",
        "A survey nobody reads.",
        [("Interview churned teams", "ana", 0, 25, 9, "interviews")],
    ),
    (
        "engineering",
        "Make releases boring",
        "Any engineer can ship on a Friday without fear.",
        "Releasing less often.",
        [
            ("Deploys per week", "ivan", 3, 15, 9, "deploys"),
            ("Change failure rate", "mateo", 18, 5, 11, "%"),
        ],
    ),
    (
        "platform",
        "A platform teams trust",
        "Other teams build on it without asking us first.",
        "Rewriting everything.",
        [
            ("API p95 latency", "olivia", 420, 200, 310, "ms"),
            ("Self-service environments", "ethan", 0, 12, 5, "envs"),
        ],
    ),
    (
        "mobile",
        "A mobile app people keep",
        "Weekly use, not installs.",
        "Chasing download numbers.",
        [
            ("Weekly active mobile users", "kenji", 1200, 3000, 1850, "users"),
            ("Crash-free sessions", "mateo", 97, 99, 98, "%"),
        ],
    ),
    (
        "marketing",
        "Be the name leaders think of for accountability",
        "Leaders associate OKRly with ownership.",
        "Generic brand awareness.",
        [
            ("Qualified leads from content", "noah", 120, 400, 210, "leads"),
            ("Webinar attendance", "fatima", 0, 600, 180, "people"),
            ("Case studies published", "sofia", 0, 6, 2, "stories"),
        ],
    ),
    (
        "sales",
        "Land ten teams that depend on us",
        "Paying teams with more than 50 seats.",
        "Discounted pilots.",
        [
            ("New annual contracts", "liam", 0, 10, 4, "contracts"),
            ("Pipeline coverage", "zoe", 1, 3, 2, "x"),
        ],
    ),
    (
        "customer-success",
        "Customers succeed without us",
        "Teams run their own quarterly reviews.",
        "More support tickets closed.",
        [
            ("Net revenue retention", "david", 96, 115, 104, "%"),
            ("Time to first response", "chloe", 9, 2, 5, "h"),
        ],
    ),
    (
        "leadership",
        "Run the company on commitments",
        "Every key result has an accepted owner with authority.",
        "More meetings.",
        [("Key results passing the Accountability Test", "maya", 20, 90, 55, "%")],
    ),
]


def quarter_bounds(today: date) -> tuple[date, date]:
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = date(today.year, first_month, 1)
    next_start = date(today.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return start, next_start - timedelta(days=1)


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
        User = get_user_model()
        users: dict[str, Any] = {}
        for username, first, last, _tz, _manager in PEOPLE:
            user, created = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@demo.okrly.test",
                    "is_active": True,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            users[username] = user
        admin, created = User.objects.update_or_create(
            username="admin",
            defaults={
                "email": "admin@demo.okrly.test",
                "is_staff": True,
                "is_superuser": True,
                "first_name": "Ada",
                "last_name": "Admin",
            },
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save(update_fields=["password"])
        for username, _first, _last, tz, manager in PEOPLE:
            Profile.objects.update_or_create(
                user=users[username],
                defaults={
                    "display_name": users[username].get_full_name(),
                    "timezone": tz,
                    "manager": users[manager] if manager else None,
                },
            )
        leadership, _ = Group.objects.get_or_create(name=leadership_group_name())
        leadership.user_set.add(*(users[u] for u in ("maya", "tom", "priya", "lena", "sam")))

        teams: dict[str, Team] = {}
        for slug, name, parent, lead, members in TEAMS:
            team, _ = Team.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "lead": users[lead],
                    "parent": teams[parent] if parent else None,
                },
            )
            teams[slug] = team
            Membership.objects.update_or_create(
                user=users[lead], team=team, defaults={"role": Membership.Role.LEAD}
            )
            for member in members:
                Membership.objects.get_or_create(
                    user=users[member], team=team, defaults={"role": Membership.Role.MEMBER}
                )

        start, end = quarter_bounds(today)
        quarter_name = f"{start.year} Q{(start.month - 1) // 3 + 1}"
        quarter = Quarter.objects.filter(name=quarter_name).first()
        if quarter is None and not Quarter.objects.overlapping(start, end).exists():
            quarter = Quarter.objects.create(
                name=quarter_name,
                start=start,
                end=end,
                status=Quarter.Status.ACTIVE,
                checkin_weekday=Quarter.Weekday.MONDAY,
                checkin_hour=9,
            )
        if quarter is None:
            quarter = Quarter.objects.overlapping(start, end).first()
        assert quarter is not None

        ranks: dict[str, int] = {}
        for team_slug, title, means, not_means, krs in OBJECTIVES:
            team = teams[team_slug]
            rank = ranks[team_slug] = ranks.get(team_slug, 0) + 1
            objective, _ = Objective.objects.update_or_create(
                quarter=quarter,
                team=team,
                title=title,
                defaults={"means": means, "does_not_mean": not_means, "rank": rank},
            )
            for kr_title, owner, start_v, target_v, current_v, unit in krs:
                KeyResult.objects.update_or_create(
                    objective=objective,
                    title=kr_title,
                    defaults={
                        "owner": users[owner],
                        "start_value": Decimal(start_v),
                        "target_value": Decimal(target_v),
                        "current_value": Decimal(current_v),
                        "unit": unit,
                        "direction": (
                            KeyResult.Direction.INCREASE
                            if target_v > start_v
                            else KeyResult.Direction.DECREASE
                        ),
                    },
                )
        # Dependencies, check-ins and later features seed their own demo data.
        run_demo_seeders(today)
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
            "people": User.objects.count(),
            "teams": Team.objects.count(),
            "quarters": Quarter.objects.count(),
            "objectives": Objective.objects.count(),
            "key results": KeyResult.objects.count(),
        }
