"""Ownership that is real (rules 1, 2, 3, 5): accepted, handed over with a reason, backed by
documented decision authority; and the explicit "this key result needs no dependencies"."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from objectives.models import KeyResult


class OwnershipNomination(models.Model):
    """A person asked to be a key result's one accountable owner, and their answer.

    The first owner is nominated implicitly by creating the key result; their answer is
    recorded here when they give it. A handover is a nomination with a previous owner and a
    reason: the key result's owner only changes when the nominee accepts, so the previous
    owner stays accountable until then. Accepted handovers are the ownership history.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        SUPERSEDED = "superseded", "Replaced by another nomination"

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="nominations")
    nominee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nominations"
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(blank=True, help_text="Why the key result changes hands.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decline_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key_result"],
                condition=Q(status="pending"),
                name="nomination_one_pending_per_key_result",
            ),
        ]
        indexes = [
            # The Accountability Test: has this key result's owner accepted?
            models.Index(fields=["key_result", "nominee", "status"], name="nomination_answer"),
            # "Asked of me": nominations waiting on a person.
            models.Index(
                fields=["nominee"], name="nomination_pending", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nominee} for {self.key_result} ({self.status})"


class DecisionRight(models.Model):
    """The catalogue of decision rights an owner can be granted (admins edit it)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class AuthorityGrant(models.Model):
    """Documented authority for one owner on one key result: which rights, what scope, who
    granted it and when. In force until revoked, and only for the person it names."""

    key_result = models.ForeignKey(
        KeyResult, on_delete=models.CASCADE, related_name="authority_grants"
    )
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authority_grants"
    )
    rights = models.ManyToManyField(DecisionRight, related_name="grants")
    scope = models.TextField(help_text="What the owner may decide, in words: limits, budget.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key_result", "grantee"],
                condition=Q(revoked_at__isnull=True),
                name="authority_one_grant_in_force",
            ),
        ]
        indexes = [
            # The Accountability Test: a grant in force for the key result's owner.
            models.Index(
                fields=["key_result", "grantee"],
                name="authority_in_force",
                condition=Q(revoked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantee} on {self.key_result}"

    @property
    def in_force(self) -> bool:
        return self.revoked_at is None


class NoDependencies(models.Model):
    """The owner's explicit statement that a key result truly depends on no other team."""

    key_result = models.OneToOneField(
        KeyResult, on_delete=models.CASCADE, related_name="no_dependencies"
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    declared_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "no-dependencies declarations"

    def __str__(self) -> str:
        return f"{self.key_result} needs no other team"


class KeyResultStatus(models.Model):
    """Where one key result stands, kept by the writes that change it (issue 14).

    The dashboard aggregates these rows with plain indexed SQL instead of recomputing the
    Accountability Test and its counts from every table on each request. ``ownership.status``
    writes a row in the same transaction as any change to its inputs (the model signals it
    connects, plus the few bulk updates, which call ``refresh`` themselves); the from-scratch
    recomputation in ``ownership.status.compute`` is what the row must always equal.

    Two things change with the calendar alone, and both are dated here so nothing has to scan:
    a committed top-two dependency stops being kept the day after it is due (``kept_until``,
    applied at read time), and a promised dependency becomes overdue (``changes_at``: the
    beat job ``statuses_refresh_task`` rewrites only rows whose date has come, by index).
    """

    key_result = models.OneToOneField(
        KeyResult, on_delete=models.CASCADE, primary_key=True, related_name="status"
    )
    # Denormalised from the key result and its objective, for GROUP BY team / owner.
    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("okrly.Team", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    in_play = models.BooleanField(default=True)  # not displaced by a trade-off (rule 8)
    # The Accountability Test's three checks and the verdict, as of ``computed_on``.
    accepted = models.BooleanField(default=False)
    authority = models.BooleanField(default=False)
    deps_ok = models.BooleanField(default=False)
    ok = models.BooleanField(default=False)
    # What the checks' words need (ownership.accountability): pages build the test from the
    # row instead of running the verdict SQL again.
    declined = models.BooleanField(default=False)
    pending_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The nominee of a handover waiting for an answer.",
    )
    none_needed = models.BooleanField(default=False)
    has_deps = models.BooleanField(default=False)
    # The last day the top-two dependencies are all kept by the clock alone (the earliest due
    # date of a committed one); from the next day check (c) fails. NULL: no such date.
    kept_until = models.DateField(null=True, blank=True)
    # The latest check-in.
    checkin_week = models.PositiveSmallIntegerField(null=True, blank=True)
    checkin_status = models.CharField(max_length=10, blank=True)
    checkin_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    forecast_flag = models.BooleanField(default=False)
    # Its dependencies (those it asks of other teams) and its open needs.
    deps_open = models.PositiveIntegerField(default=0)
    deps_committed = models.PositiveIntegerField(default=0)
    open_escalations = models.PositiveIntegerField(default=0)
    overdue_dependencies = models.PositiveIntegerField(default=0)
    open_needs = models.PositiveIntegerField(default=0)
    # The next day on which this row changes by itself (a promised dependency falls due).
    changes_at = models.DateField(null=True, blank=True)
    computed_on = models.DateField()

    class Meta:
        verbose_name_plural = "key result statuses"
        indexes = [
            models.Index(fields=["quarter", "team"], name="krstatus_quarter_team"),
            models.Index(fields=["quarter", "owner"], name="krstatus_quarter_owner"),
            models.Index(
                fields=["changes_at"],
                name="krstatus_changes_at",
                condition=Q(changes_at__isnull=False),
            ),
            # The rows still counted as passing that a date can fail (TeamFigures adds the
            # ones whose date has passed at request time): the organisation view reads a
            # range of it, the rows between a date passing and statuses_refresh_task.
            models.Index(
                fields=["quarter", "kept_until"],
                name="krstatus_kept_until",
                condition=Q(ok=True, in_play=True, kept_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Status of key result {self.key_result_id}"


class TeamFigures(models.Model):
    """One team's dashboard figures for a quarter, added up from its key results' status rows
    and the dependencies it owes, kept by the same writes (issue 14): the organisation view
    sums a row per team, never the key results or dependencies themselves, so what it reads
    grows with the number of teams, not with everything they do.

    ``week`` 0 holds the quarter's figures (key results in play, failing the test, at risk,
    dependencies the team owes that are overdue or escalated); a week from 1 holds that
    week's check-in figures (key results whose latest check-in is of that week; those whose
    owner was prompted that week and that have none; the week's check-ins and their summed
    confidence, the team view's trend). A week nobody checked in or was prompted has no
    row. ``ownership.figures`` writes them; its ``compute`` is what they must
    equal.

    Two things are not here because the calendar alone changes them: a committed top-two
    dependency stops being kept after its date (read at request time from the status rows'
    ``kept_until``, by a partial index that holds only the rows still counted as passing);
    and a promised dependency becoming overdue, which ``statuses_refresh_task`` applies with
    the status rows it rewrites (every team the key result asks of is rewritten with them).
    """

    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("okrly.Team", on_delete=models.CASCADE, related_name="+")
    week = models.PositiveSmallIntegerField()
    key_results = models.PositiveIntegerField(default=0)
    not_ok = models.PositiveIntegerField(default=0)
    at_risk = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    checked_in = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    # The team view's trend (week n): the check-ins of that week (one a key result at most)
    # and the sum of their confidence, whichever check-in is a key result's latest.
    checkins = models.PositiveIntegerField(default=0)
    confidence = models.PositiveIntegerField(default=0)
    computed_on = models.DateField()

    class Meta:
        verbose_name_plural = "team figures"
        constraints = [
            # Also the organisation view's index: a quarter's rows of two weeks.
            models.UniqueConstraint(
                fields=["quarter", "week", "team"], name="team_figures_once_per_week"
            ),
        ]

    def __str__(self) -> str:
        return f"Figures of team {self.team_id}, week {self.week}"
