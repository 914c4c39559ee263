"""Objectives and key results. A key result has exactly one owner: a user, required."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from okrly.links import link
from okrly.models import Quarter, Team, TimeStampedModel


class Objective(TimeStampedModel):
    quarter = models.ForeignKey(Quarter, on_delete=models.PROTECT, related_name="objectives")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="objectives")
    title = models.CharField(max_length=200)
    # Rule 9: an objective carries an explicit definition.
    means = models.TextField("what it means", blank=True)
    does_not_mean = models.TextField("what it does not mean", blank=True)
    tradeoff_rule = models.TextField(
        "how we'll decide when it competes with other work", blank=True
    )
    rank = models.PositiveSmallIntegerField(default=1)
    # Alignment: the objective of an ancestor team (or of the leadership team) in the same
    # quarter that this one serves; objectives.services.objective_align holds the rules.
    # PROTECT, like Team.parent: deleting an objective that others align to must be a
    # deliberate re-alignment of its children, not a silent loss of the tree's structure.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name="aligns to",
    )
    # Set when a trade-off drops or defers the objective (rule 8): it stays, with its history,
    # but no longer counts against the team's limit, and its key results leave the counts.
    displaced_by = models.ForeignKey(
        "TradeOff",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="displaced_objectives",
    )
    # Rule 9's "shared": every member of the definition group acknowledged the current
    # version. Derived, never typed: objectives.definitions.refresh_shared writes it in the
    # transaction of each change that can alter it (its signals), so the dashboard counts
    # it per team without computing any group. Read by the (quarter, team, rank) index's
    # scan of one quarter; a boolean this even is worth no index of its own.
    definition_shared = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["quarter", "team__name", "rank", "pk"]
        indexes = [
            # Objectives page: one quarter's objectives grouped by team, in rank order.
            models.Index(fields=["quarter", "team", "rank"], name="objective_quarter_team_rank"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rank__gte=1), name="objective_rank_positive"),
            # The service refuses longer cycles; the database refuses the shortest one too.
            models.CheckConstraint(
                condition=~Q(parent=F("pk")), name="objective_not_its_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return link("objectives:list") + f"?quarter={self.quarter_id}#objective-{self.pk}"


# The fields a definition version freezes; editing any of them after the first
# acknowledgement starts a new version (objectives.definitions.record_definition_change).
DEFINITION_FIELDS = ("means", "does_not_mean", "tradeoff_rule")


class DefinitionVersion(models.Model):
    """One published wording of an objective's definition (rule 9); the newest is current."""

    objective = models.ForeignKey(
        Objective, on_delete=models.CASCADE, related_name="definition_versions"
    )
    number = models.PositiveIntegerField()
    means = models.TextField("what it means", blank=True)
    does_not_mean = models.TextField("what it does not mean", blank=True)
    tradeoff_rule = models.TextField(
        "how we'll decide when it competes with other work", blank=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The acknowledgement ladder (rule 7 applied to rule 9): DEFINITION_ACK_DAYS after a
    # version is published, the members who have not read it are reminded, then their
    # managers, then leadership (objectives.reminders, okrly.ladder).
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["objective", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["objective", "number"], name="definition_version_once"),
            models.CheckConstraint(
                condition=Q(escalation_rung__lte=3), name="definition_version_rung_0_3"
            ),
        ]
        indexes = [
            # The reminder job: versions whose next rung is due (only those with one).
            models.Index(
                fields=["next_escalation_at"],
                name="definition_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.objective} v{self.number}"


class DefinitionAcknowledgement(models.Model):
    """A group member's reading of one version, in their own words ("what I will do
    differently because of this"). It belongs to that version: a newer version makes it
    out of date without deleting it."""

    version = models.ForeignKey(
        DefinitionVersion, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="definition_readings"
    )
    reading = models.TextField("what I will do differently because of this")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "person"], name="definition_acknowledged_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} read {self.version}"


class DefinitionReminder(models.Model):
    """One rung of a version's acknowledgement ladder, reached once (unique per rung)."""

    version = models.ForeignKey(
        DefinitionVersion, on_delete=models.CASCADE, related_name="reminders"
    )
    rung = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["version", "rung"]
        constraints = [
            models.UniqueConstraint(fields=["version", "rung"], name="definition_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version} rung {self.rung}"


class DefinitionChallenge(models.Model):
    """A leader's "this is not what we meant" on another leader's reading: it opens a thread
    on the objective, and the definition's author is told."""

    acknowledgement = models.ForeignKey(
        DefinitionAcknowledgement, on_delete=models.CASCADE, related_name="challenges"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="definition_challenges"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["acknowledgement", "author"], name="definition_challenged_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author} challenges {self.acknowledgement}"


class DefinitionComment(models.Model):
    """One message of a challenge's thread (the first one says what was meant instead)."""

    challenge = models.ForeignKey(
        DefinitionChallenge, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author} on {self.challenge_id}"


class TradeOffCategory(models.Model):
    """Why something urgent was added mid-quarter; admins edit the list (rule 8)."""

    name = models.CharField(max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "trade-off categories"

    def __str__(self) -> str:
        return self.name


class TradeOff(models.Model):
    """A trade-off decision (rule 8): what was added to a team over its limit mid-quarter, the
    urgent reason, and what it displaced (``Displacement`` rows). Written by
    objectives.tradeoffs; never edited afterwards: the ledger is history."""

    class Status(models.TextChoices):
        DECIDED = "decided", "Decided"
        # A displaced item another team depends on: leadership must approve first; the
        # addition and the displacements wait in the row until then.
        AWAITING_APPROVAL = "awaiting", "Awaiting leadership approval"
        REFUSED = "refused", "Refused by leadership"

    quarter = models.ForeignKey(Quarter, on_delete=models.PROTECT, related_name="trade_offs")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="trade_offs")
    category = models.ForeignKey(
        TradeOffCategory, on_delete=models.PROTECT, related_name="trade_offs"
    )
    reason = models.TextField("why it is urgent")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DECIDED)
    # What is added: kind "objective" or "key_result" and the fields it is created with
    # (kept so that a decision awaiting approval can be carried out when approved).
    addition = models.JSONField(default=dict)
    added_objective = models.ForeignKey(
        Objective, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    added_key_result = models.ForeignKey(
        "KeyResult", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trade_offs_decided"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="trade_offs_approved",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The ledger and the dashboard: one quarter's decisions, per team, newest first.
            models.Index(fields=["quarter", "team", "-created_at"], name="tradeoff_quarter_team"),
        ]

    def __str__(self) -> str:
        return f"Trade-off #{self.pk}"

    def get_absolute_url(self) -> str:
        return link("objectives:trade_offs") + f"?quarter={self.quarter_id}#trade-off-{self.pk}"


class Displacement(models.Model):
    """One item a trade-off displaced: an objective or a key result, dropped, deferred to next
    quarter or descoped (a key result with a new target)."""

    class Action(models.TextChoices):
        DROPPED = "dropped", "Dropped"
        DEFERRED = "deferred", "Deferred to next quarter"
        DESCOPED = "descoped", "Descoped"

    trade_off = models.ForeignKey(TradeOff, on_delete=models.CASCADE, related_name="displaced")
    objective = models.ForeignKey(
        Objective, null=True, blank=True, on_delete=models.PROTECT, related_name="displacements"
    )
    key_result = models.ForeignKey(
        "KeyResult",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="displacements",
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    previous_target = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    new_target = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["trade_off", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(objective__isnull=False, key_result__isnull=True)
                    | Q(objective__isnull=True, key_result__isnull=False)
                ),
                name="displacement_one_item",
            ),
            # Only a key result has a target to descope to, and a descoped one names it.
            models.CheckConstraint(
                condition=~Q(action="descoped")
                | Q(key_result__isnull=False, new_target__isnull=False),
                name="displacement_descoped_has_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.objective or self.key_result}"


def progress_percent(start: Decimal, target: Decimal, current: Decimal) -> int:
    """Percent of the way from start to target (0-100); the same formula either direction.
    A key result's ``progress``, and the team view's rows read as SQL."""
    span = target - start
    if span == 0:
        return 0
    done = (current - start) / span
    return max(0, min(100, round(done * 100)))


def expected_value(start: Decimal, target: Decimal, week: int, weeks: int) -> Decimal:
    """Where a linear pace puts a key result by the end of ``week`` of a ``weeks``-week
    quarter: the same share of the way from start to target, either direction."""
    share = Decimal(max(0, min(week, weeks))) / Decimal(max(weeks, 1))
    return (start + (target - start) * share).quantize(Decimal("0.01"))


def expected_percent(week: int, weeks: int) -> int:
    """Progress (percent of the way) a linear pace expects by the end of ``week``."""
    return max(0, min(100, round(100 * week / max(weeks, 1))))


def pace_gap(progress: int, week: int, weeks: int) -> int:
    """Points of progress ahead of (positive) or behind (negative) a linear pace."""
    return progress - expected_percent(week, weeks)


class KeyResultQuerySet(models.QuerySet["KeyResult"]):
    def in_play(self) -> KeyResultQuerySet:
        """Key results still in the quarter's accountability counts: not dropped or deferred
        by a trade-off (rule 8). A displaced one keeps its page and history but is neither at
        risk nor missed, prompted nor escalated. The one statement of that filter: counts,
        prompts and ladders call this (or ``in_play_q`` through a relation) instead of
        repeating it. Trade-offs mark an objective's key results too, and no key result is
        added to a displaced objective (objectives.services.key_result_create), so the key
        result's own column says it all, without a join."""
        return self.filter(in_play_q())


def in_play_q(prefix: str = "") -> Q:
    """``KeyResult.objects.in_play()`` as a condition on a related key result: ``prefix`` is
    the lookup path to it, e.g. ``in_play_q("key_result__")`` for dependencies and check-ins,
    ``in_play_q("owned_key_results__")`` for users (then in the same ``filter()`` call as the
    relation's other conditions, so both apply to the same key result)."""
    return Q(**{f"{prefix}displaced_by__isnull": True})


class KeyResult(TimeStampedModel):
    class Direction(models.TextChoices):
        INCREASE = "increase", "Increase to target"
        DECREASE = "decrease", "Decrease to target"

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    title = models.CharField(max_length=200)
    start_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    target_value = models.DecimalField(max_digits=14, decimal_places=2)
    current_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    unit = models.CharField(max_length=30, blank=True)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INCREASE
    )
    # Rule 1: one accountable person. A foreign key to the user model, NOT NULL, so the
    # database itself refuses a key result without an owner, with two owners, or owned by a
    # team. PROTECT: deleting a user who owns key results must be a deliberate handover.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_key_results"
    )
    # The latest check-in's answers, kept on the row by the check-in service (like
    # current_value) so that lists and the dashboard read them without scanning check-ins.
    latest_checkin_week = models.PositiveSmallIntegerField(null=True, blank=True)
    latest_checkin_status = models.CharField(max_length=10, blank=True)
    latest_checkin_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    latest_forecast_flag = models.BooleanField(default=False)
    # Carried over from last quarter's missed or deferred key result (reviews.carryover): the
    # history links back; its owner is nominated again and its dependencies are new requests.
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_into"
    )
    # Set when a trade-off drops or defers it, or its objective (rule 8): the key result keeps
    # its history but leaves the quarter's accountability counts (neither at risk nor missed).
    displaced_by = models.ForeignKey(
        TradeOff,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="displaced_key_results",
    )

    objects = KeyResultQuerySet.as_manager()

    class Meta:
        ordering = ["objective", "pk"]
        indexes = [
            # "My week" and the people view: a person's key results.
            models.Index(fields=["owner", "objective"], name="kr_owner_objective"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(direction="increase", target_value__gt=F("start_value"))
                    | Q(direction="decrease", target_value__lt=F("start_value"))
                ),
                name="kr_target_matches_direction",
                violation_error_message=(
                    "The target must be above the start for an increasing key result and "
                    "below it for a decreasing one."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return link("objectives:key_result", self.pk)

    @property
    def progress(self) -> int:
        return progress_percent(self.start_value, self.target_value, self.current_value)
