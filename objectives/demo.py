"""Demo objectives and key results, their shared definitions, and one trade-off.

1. ``seed`` (the first demo seeder, ``ObjectivesConfig.ready()``): each demo team's
   objectives in the demo quarter, created through ``objectives.services`` (so each
   publishes version 1 of its definition and stays within the priority limit) and aligned
   company → department → team, with key results owned by one person each. Dependencies,
   check-ins and ownership build on these key results.
2. ``seed_definitions`` (the last demo seeder, once every app's rows exist, so that the
   definition groups include the teams depended on): the leaders' readings through
   ``definition_acknowledge``. Most definitions are shared; "Make releases boring" still
   waits for Mateo; "Land ten teams that depend on us" is shared on paper but read two
   ways (Sam adds quota reps, Maya protects margin: DIVERGENT), and Maya challenges Sam's
   reading ("this is not what we meant"), with his reply. Then Product, at its limit of
   three objectives, takes on a client escalation by a trade-off that defers a key result
   (after check-ins and ownership, so the deferred key result keeps its history).

Keyed by (quarter, team, title), readings by (version, person), the challenge by its
reading, the trade-off by what it adds: safe to run twice.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.utils import timezone

from objectives import challenges, services, tradeoffs
from objectives.definitions import current_version, publish_definition
from objectives.models import (
    DefinitionAcknowledgement,
    DefinitionChallenge,
    DefinitionVersion,
    Displacement,
    KeyResult,
    Objective,
    TradeOff,
    TradeOffCategory,
)
from okrly.demo import demo_quarter
from okrly.models import Quarter, Team

if TYPE_CHECKING:
    from okrly.types import User

KR = tuple[str, str, int, int, int, str]  # title, owner, start, target, current, unit

# team, title, means, does not mean, how we decide when it competes, key results. No team has
# more than three objectives (OBJECTIVE_LIMIT_DEFAULT) nor an objective more than five key
# results: the demo is created through the services, which refuse more.
OBJECTIVES: list[tuple[str, str, str, str, str, list[KR]]] = [
    (
        "product",
        "Make onboarding effortless for new teams",
        "A new team sets its first OKRs without help from us.",
        "Adding more tutorial screens.",
        "It comes before new features for teams already using OKRly.",
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
        "Interviews come before any roadmap change to check-ins.",
        [("Interview churned teams", "ana", 0, 25, 9, "interviews")],
    ),
    (
        "engineering",
        "Make releases boring",
        "Any engineer can ship on a Friday without fear.",
        "Releasing less often.",
        "Pipeline work beats new internal tooling.",
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
        "Another team's blocker beats our own roadmap.",
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
        "Keeping users beats new screens.",
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
        "Stories from team leads beat broad campaigns.",
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
        "A team that will grow with us beats a bigger one-off deal.",
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
        "Teaching a customer beats doing it for them.",
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
        "An accepted owner beats a new initiative.",
        [("Key results passing the Accountability Test", "maya", 20, 90, 55, "%")],
    ),
    # Product's third: the team is at its limit, so the escalation below is a trade-off.
    (
        "product",
        "Make check-ins take two minutes",
        "An owner finishes the weekly check-in in under two minutes.",
        "Dropping the questions leaders rely on.",
        "Speed for owners beats extra fields for reports.",
        [("Median time to check in", "grace", 6, 2, 4, "min")],
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
    (("product", "Make check-ins take two minutes"), COMPANY),
]

# The objective whose leaders all acknowledged it and still read it two ways: "growth" is
# more quota reps to Sales and protected margin to the CEO (the divergence view shows it).
DIVERGENT = ("sales", "Land ten teams that depend on us")
# Maya marks Sam's reading "not what we meant", and Sam answers in the thread.
CHALLENGE = (
    "sam",
    "maya",
    "Growth here means ten teams at full price. More reps chasing discounted seats is the "
    "opposite of what we wrote.",
    "Then the quota plan changes too: let's settle margin versus seats at Thursday's review.",
)
# Not shared yet: Mateo (Mobile's lead, aligned below) has not read it. The browser test
# (tests/e2e/test_definitions_browser.py) signs in as him and acknowledges it.
NOT_SHARED = ("engineering", "Make releases boring")

# What each leader will do differently, by objective, in the order they acknowledged.
READINGS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("product", "Make onboarding effortless for new teams"): [
        ("tom", "I'll cut the tutorial backlog and spend the freed sprint on guided set-up."),
        ("maya", "I'll stop offering onboarding calls in demos; the product has to do it."),
        ("priya", "I'll give guided set-up a named engineer instead of sharing one."),
        ("lena", "I'll drop 'book a walkthrough' from our sign-up e-mails."),
        ("sam", "I'll stop promising free onboarding sessions in enterprise proposals."),
    ],
    ("product", "Learn why teams stop checking in"): [
        ("tom", "I'll hold the check-in redesign until we have heard from 25 churned teams."),
        ("maya", "I'll read the interview notes every Friday instead of asking for a survey."),
        ("priya", "I'll lend an engineer to pull the usage data behind each interview."),
        ("lena", "I'll hold the re-engagement campaign until we know why teams leave."),
        ("sam", "I'll introduce Product to the churned accounts I still talk to."),
    ],
    NOT_SHARED: [
        ("priya", "I'll stop approving release freezes; we fix the pipeline instead."),
        ("maya", "I'll stop asking for launch dates to line up with big-bang releases."),
        ("tom", "I'll ship features behind flags so releases don't wait for sign-off."),
        ("lena", "I'll plan launches around switching flags on, not around deploy days."),
        ("sam", "I'll stop asking Engineering to hold a release for a customer demo."),
        ("ivan", "I'll put the deploy pipeline ahead of the new internal admin tools."),
    ],
    ("platform", "A platform teams trust"): [
        ("ivan", "I'll answer other teams' requests before starting our own roadmap items."),
        ("maya", "I'll judge Platform by how few teams wait on it, not by what it ships."),
        ("tom", "I'll let product squads use self-service environments without a ticket."),
        ("priya", "I'll stop routing every platform request through my weekly review."),
        ("lena", "I'll build campaign sites on self-service environments instead of asking."),
        ("sam", "I'll stop asking Platform for custom demo environments for prospects."),
    ],
    ("mobile", "A mobile app people keep"): [
        ("mateo", "I'll cancel the tablet redesign and spend the time on crash-free sessions."),
        ("maya", "I'll ask for weekly active users in reviews, never for downloads."),
        ("tom", "I'll put notifications people act on ahead of new mobile screens."),
        ("priya", "I'll keep one platform engineer on the push service until it ships."),
        ("lena", "I'll stop the app-install ads and spend the budget on re-engagement."),
        ("sam", "I'll stop quoting app downloads in sales decks."),
        ("ivan", "I'll ship the push notification service before any other platform work."),
    ],
    ("marketing", "Be the name leaders think of for accountability"): [
        ("lena", "I'll move half the events budget into case studies with team leads."),
        ("maya", "I'll give two talks on ownership instead of sponsoring generic conferences."),
        ("tom", "I'll lend a product manager to each case study so the stories are accurate."),
        ("priya", "I'll let engineers write on our blog about how we run releases."),
        ("sam", "I'll hand Marketing every customer who says accountability is why they bought."),
        ("david", "I'll find three customers willing to be references and book the calls."),
    ],
    DIVERGENT: [
        (
            "sam",
            "I'll hire two more quota-carrying reps this month and push every 50-seat deal to "
            "close before December.",
        ),
        (
            "maya",
            "I'll refuse any deal below a 70% gross margin, even if that means landing fewer "
            "than ten teams.",
        ),
        ("tom", "I'll put SSO for enterprise plans ahead of new onboarding screens."),
        ("priya", "I'll size the platform for ten more large teams before adding features."),
        ("lena", "I'll point the webinar budget at teams over 50 seats, not self-serve sign-ups."),
    ],
    ("customer-success", "Customers succeed without us"): [
        ("david", "I'll train customers to run their own quarterly reviews instead of us."),
        ("maya", "I'll judge Customer Success by renewals, not by tickets closed."),
        ("tom", "I'll turn the top five how-to questions into in-product help."),
        ("priya", "I'll let support engineers fix the top recurring issue instead of triaging."),
        ("lena", "I'll write the quarterly review guide customers will use without us."),
        ("sam", "I'll stop promising a customer success manager on every deal."),
    ],
    COMPANY: [
        ("maya", "I'll ask 'who accepted this?' in every review before discussing the number."),
        ("tom", "I'll refuse key results in Product that have no accepted owner."),
        ("priya", "I'll stop co-owning key results with my leads; each gets one name."),
        ("lena", "I'll cancel my weekly status meeting and read the check-ins instead."),
        ("sam", "I'll give each rep authority over their discount band instead of escalating."),
        ("ivan", "I'll make sure every Platform key result names the person who decides."),
        ("mateo", "I'll hand the crash-rate key result to one engineer with the authority."),
        ("david", "I'll ask each key-result owner in my team to accept ownership in writing."),
    ],
    ("product", "Make check-ins take two minutes"): [
        ("tom", "I'll cut any check-in question an owner can't answer in under a minute."),
        ("maya", "I'll read the four answers as they are instead of asking for slides."),
        ("priya", "I'll stop asking engineers for status updates outside the check-in."),
        ("lena", "I'll stop sending my team a separate weekly status form."),
        ("sam", "I'll drop the Friday pipeline report now that check-ins carry it."),
    ],
}

# The trade-off: Product is at its limit (three objectives) when its largest customer
# escalates; it adds an objective and defers a key result to next quarter.
TRADE_OFF_TEAM = "product"
TRADE_OFF_CATEGORY = "Client escalation"
TRADE_OFF_REASON = (
    "Northwind (400 seats, our largest customer) will not renew in January unless SSO and "
    "audit logs are live this quarter; their CIO escalated to Maya on Friday."
)
TRADE_OFF_ADDS = {
    "kind": "objective",
    "title": "Keep Northwind through their enterprise rollout",
    "means": "Northwind's 400 seats sign in with SSO, with audit logs, before their renewal.",
    "does_not_mean": "Building features only Northwind will use.",
    "tradeoff_rule": "Until January, Northwind's rollout beats guided set-up.",
}
TRADE_OFF_DEFERS = "Ship guided set-up to every new workspace"
# Only its author has read the new definition so far: it is not shared yet either.
TRADE_OFF_READINGS = [
    ("tom", "I'm moving Aisha and Grace onto SSO and audit logs until Northwind is live."),
]


def seed(today: date) -> dict[str, int]:
    """Create or refresh the objectives and key results; return their counts for the summary."""
    quarter = demo_quarter(today)
    if quarter is None:  # okrly's part of the demo runs first and creates it
        return {}
    users = {u.username: u for u in get_user_model().objects.all()}
    teams = {t.slug: t for t in Team.objects.select_related("lead")}
    ranks: dict[str, int] = {}
    made: dict[tuple[str, str], Objective] = {}
    for team_slug, title, means, not_means, rule, krs in OBJECTIVES:
        team = teams[team_slug]
        lead = team.lead or users["maya"]  # every demo team has a lead (okrly/demo.py)
        rank = ranks[team_slug] = ranks.get(team_slug, 0) + 1
        definition = {"means": means, "does_not_mean": not_means, "tradeoff_rule": rule}
        objective = Objective.objects.filter(quarter=quarter, team=team, title=title).first()
        if objective is None:
            # Through the service: version 1 of the definition is published and the group is
            # told, as when a lead writes it.
            objective = services.objective_create(
                user=lead,
                quarter=quarter,
                team=team,
                title=title,
                rank=rank,
                means=means,
                does_not_mean=not_means,
                tradeoff_rule=rule,
            )
        elif any(getattr(objective, name) != value for name, value in definition.items()):
            objective = services.objective_update(user=lead, objective=objective, **definition)
        else:  # written by an older demo, before definitions had versions
            publish_definition(objective=objective, author=lead)
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
        objective = made[child]
        if objective.parent_id != made[parent].pk:
            lead = teams[child[0]].lead or users["maya"]
            services.objective_align(user=lead, objective=objective, parent=made[parent])
    _backdate_versions(quarter, today)
    _backdate_key_results(quarter, today)
    return {"objectives": Objective.objects.count(), "key results": KeyResult.objects.count()}


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _backdate_key_results(quarter: Quarter, today: date) -> None:
    """The key results were written at planning, before the quarter's first check-in: each
    week since is owed, so a week the demo has no check-in for shows as missed on its
    timeline (a key result created on the seed day would owe none). The one a trade-off
    added mid-quarter keeps its later date."""
    planned = _at(min(quarter.start, today), 8)
    KeyResult.objects.filter(objective__quarter=quarter, created_at__gt=planned).exclude(
        objective__title=TRADE_OFF_ADDS["title"]
    ).update(created_at=planned)


def _backdate_versions(quarter: Quarter, today: date) -> None:
    """The definitions were published in the quarter's first days (as if written at
    planning), so the readings that follow have believable dates."""
    published = _at(min(quarter.start + timedelta(days=2), today), 9)
    DefinitionVersion.objects.filter(
        objective__quarter=quarter, number=1, created_at__gt=published
    ).exclude(objective__title=TRADE_OFF_ADDS["title"]).update(created_at=published)


def seed_definitions(today: date) -> dict[str, int]:
    """The leaders' readings and the trade-off (see the module's docstring)."""
    quarter = demo_quarter(today)
    if quarter is None:
        return {}
    users = {u.username: u for u in get_user_model().objects.all()}
    objectives = {
        (o.team.slug, o.title): o
        for o in Objective.objects.filter(quarter=quarter).select_related("team", "quarter")
    }
    for key, readings in READINGS.items():
        objective = objectives.get(key)
        if objective is not None:
            _acknowledge(objective, readings, users, today)
    _challenge(objectives.get(DIVERGENT), users)
    trade_off = _trade_off(quarter)
    if trade_off is not None and trade_off.added_objective is not None:
        _acknowledge(trade_off.added_objective, TRADE_OFF_READINGS, users, None)
    return {
        "objectives": Objective.objects.count(),  # the trade-off added one
        "trade-offs": TradeOff.objects.filter(quarter=quarter).count(),
    }


def _acknowledge(
    objective: Objective,
    readings: list[tuple[str, str]],
    users: dict[str, User],
    today: date | None,
) -> None:
    """Each reading through the service, once per version; dated a day or so apart after the
    version was published (``today`` None: left at now, for a definition published today)."""
    version = current_version(objective)
    done = set(
        DefinitionAcknowledgement.objects.filter(version=version).values_list(
            "person__username", flat=True
        )
    )
    for position, (username, reading) in enumerate(readings):
        person = users.get(username)
        if username in done or person is None:
            continue
        ack = services.definition_acknowledge(user=person, objective=objective, reading=reading)
        if today is not None and version is not None:
            when = min(
                version.created_at + timedelta(days=1 + position, hours=2 * position),
                _at(today, 8),
            )
            DefinitionAcknowledgement.objects.filter(pk=ack.pk).update(created_at=when)


def _challenge(objective: Objective | None, users: dict[str, User]) -> None:
    """The divergence made explicit: a challenge to one reading, with a reply (once)."""
    reader, author, message, reply = CHALLENGE
    ack = DefinitionAcknowledgement.objects.filter(
        version__objective=objective, person__username=reader
    ).first()
    if objective is None or ack is None or author not in users or reader not in users:
        return
    if DefinitionChallenge.objects.filter(acknowledgement=ack).exists():
        return
    challenge = challenges.definition_challenge(
        user=users[author], acknowledgement=ack, message=message
    )
    challenges.challenge_reply(user=users[reader], challenge=challenge, body=reply)


def _trade_off(quarter: Quarter) -> TradeOff | None:
    """Product's client escalation, decided once by its lead (who is in leadership)."""
    done = (
        TradeOff.objects.filter(quarter=quarter, addition__title=TRADE_OFF_ADDS["title"])
        .select_related("added_objective__team", "added_objective__quarter")
        .first()
    )
    if done is not None or quarter.status != Quarter.Status.ACTIVE:
        return done
    team = Team.objects.filter(slug=TRADE_OFF_TEAM).select_related("lead").first()
    deferred = KeyResult.objects.filter(
        objective__quarter=quarter, objective__team=team, title=TRADE_OFF_DEFERS
    ).first()
    category, _ = TradeOffCategory.objects.get_or_create(name=TRADE_OFF_CATEGORY)
    lead = team.lead if team is not None else None
    if team is None or lead is None or deferred is None or not category.active:
        return None  # an administrator reshaped the demo organisation; nothing to decide
    parent = Objective.objects.filter(
        quarter=quarter, team__slug=COMPANY[0], title=COMPANY[1]
    ).first()
    return tradeoffs.trade_off_decide(
        user=lead,
        team=team,
        quarter=quarter,
        category=category,
        reason=TRADE_OFF_REASON,
        displaced=[tradeoffs.Displace(deferred, Displacement.Action.DEFERRED)],
        addition={**TRADE_OFF_ADDS, "parent": parent},
    )
