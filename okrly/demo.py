"""okrly's part of the demo organisation: people, their profiles and managers, the leadership
group, teams with their leads and members, and the current calendar quarter.

The feature apps add theirs through ``okrly.registry.register_demo_seeder`` (each app's
``demo.py``); ``manage.py seed_demo`` runs this first, then them. Everything is keyed by a
natural key (username, team slug, quarter name) and updated in place, so it is safe to run
twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from okrly.access import leadership_group_name
from okrly.models import Membership, Profile, Quarter, Team

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


def quarter_bounds(today: date) -> tuple[date, date]:
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = date(today.year, first_month, 1)
    next_start = date(today.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return start, next_start - timedelta(days=1)


def demo_quarter(today: date) -> Quarter | None:
    """The quarter the demo fills: the one named after today's calendar quarter, else any
    quarter overlapping it (an admin may have configured it under another name)."""
    start, end = quarter_bounds(today)
    return (
        Quarter.objects.filter(name=_quarter_name(start)).first()
        or Quarter.objects.overlapping(start, end).first()
    )


def _quarter_name(start: date) -> str:
    return f"{start.year} Q{(start.month - 1) // 3 + 1}"


def seed(today: date) -> dict[str, Any]:
    """Create or refresh the people, teams and quarter; return the users by username."""
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

    if demo_quarter(today) is None:
        start, end = quarter_bounds(today)
        # A demo seeded in an earlier quarter left it active: one quarter may be (okrly
        # 0008), so the earlier one goes to its review, as the beat job would have done.
        Quarter.objects.filter(status=Quarter.Status.ACTIVE, end__lt=start).update(
            status=Quarter.Status.REVIEWING
        )
        Quarter.objects.create(
            name=_quarter_name(start),
            start=start,
            end=end,
            status=Quarter.Status.ACTIVE,
            checkin_weekday=Quarter.Weekday.MONDAY,
            checkin_hour=9,
        )
    return users
