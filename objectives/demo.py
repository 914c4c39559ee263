"""Demo objectives and key results: each demo team's objectives in the demo quarter, with a
definition (what it means, what it does not) and key results owned by one person each.

Registered in ``ObjectivesConfig.ready()`` as the first demo seeder: dependencies, check-ins
and ownership build on these key results. Keyed by (quarter, team, title) and updated in place.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model

from objectives.models import KeyResult, Objective
from okrly.demo import demo_quarter
from okrly.models import Team

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


# Alignment: (team, title) aligns to (team, title): company → department → team.
COMPANY = ("leadership", "Run the company on commitments")
ALIGNED: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (("product", "Make onboarding effortless for new teams"), COMPANY),
    (("engineering", "Make releases boring"), COMPANY),
    (("platform", "A platform teams trust"), ("engineering", "Make releases boring")),
    (("mobile", "A mobile app people keep"), ("engineering", "Make releases boring")),
    (("marketing", "Be the name leaders think of for accountability"), COMPANY),
    (("sales", "Land ten teams that depend on us"), COMPANY),
    (("customer-success", "Customers succeed without us"), COMPANY),
]


def seed(today: date) -> dict[str, int]:
    """Create or refresh the objectives and key results; return their counts for the summary."""
    quarter = demo_quarter(today)
    if quarter is None:  # okrly's part of the demo runs first and creates it
        return {}
    users = {u.username: u for u in get_user_model().objects.all()}
    teams = {t.slug: t for t in Team.objects.all()}
    ranks: dict[str, int] = {}
    made: dict[tuple[str, str], Objective] = {}
    for team_slug, title, means, not_means, krs in OBJECTIVES:
        team = teams[team_slug]
        rank = ranks[team_slug] = ranks.get(team_slug, 0) + 1
        objective, _ = Objective.objects.update_or_create(
            quarter=quarter,
            team=team,
            title=title,
            defaults={"means": means, "does_not_mean": not_means, "rank": rank},
        )
        made[team_slug, title] = objective
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
    for child, parent in ALIGNED:
        # Demo rows obey the alignment rules (tests/okrly/test_seed_demo.py re-checks them
        # through objectives.services.objective_align); set directly, like the rows above.
        Objective.objects.filter(pk=made[child].pk).update(parent=made[parent])
    return {"objectives": Objective.objects.count(), "key results": KeyResult.objects.count()}
