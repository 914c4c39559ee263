"""Dependencies as commitments (rules 4 and 7): what, by when, who — accepted by that person.

Life cycle (services.py writes every transition, and a DependencyEvent records who did it):

    requested ──commit──▶ committed ──deliver──▶ delivered ──confirm──▶ (confirmed_at set)
        │  ▲                 │  ▲                    │
     counter│accept/         │  └──────reopen────────┘
        ▼  │re-counter      flag_risk ▶ at_risk ──deliver──▶ delivered
    countered                │
        │                   break ▶ broken
     decline ▶ declined
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from objectives.models import KeyResult
from okrly.links import link
from okrly.models import Quarter, Team, TimeStampedModel


class DependencyQuerySet(models.QuerySet["Dependency"]):
    def open(self) -> DependencyQuerySet:
        return self.filter(status__in=Dependency.OPEN_STATUSES)

    def with_parties(self) -> DependencyQuerySet:
        """With everyone a transition or a rung names (owner, responsible, both teams) and
        the quarter, in the same query: what the services and the ladder re-read under lock."""
        return self.select_related(
            "key_result__owner",
            "key_result__objective__quarter",
            # With their profile: the ladder starts at the end of the due date in their zone.
            "responsible__profile",
            "provider_team",
            "requesting_team",
        )

    def due_for_escalation(self, now: datetime) -> DependencyQuerySet:
        """Next rung due by ``now``, outside closed quarters (a closed quarter ends every
        ladder, as it ends the missed-check-in one)."""
        return self.filter(next_escalation_at__lte=now).exclude(
            key_result__objective__quarter__status=Quarter.Status.CLOSED
        )

    def due_in_closed_quarters(self, now: datetime) -> DependencyQuerySet:
        """Next rung due by ``now`` but the quarter is closed: the job clears these."""
        return self.filter(
            next_escalation_at__lte=now,
            key_result__objective__quarter__status=Quarter.Status.CLOSED,
        )


class Dependency(TimeStampedModel):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        COUNTERED = "countered", "Countered"
        COMMITTED = "committed", "Committed"
        DECLINED = "declined", "Declined"
        AT_RISK = "at_risk", "At risk"
        DELIVERED = "delivered", "Delivered"
        BROKEN = "broken", "Broken"

    class Trigger(models.TextChoices):
        UNANSWERED = "unanswered", "Request unanswered"
        OVERDUE = "overdue", "Past its due date"

    OPEN_STATUSES = (Status.REQUESTED, Status.COUNTERED, Status.COMMITTED, Status.AT_RISK)
    # The provider has promised it: the states in which it counts as a commitment.
    PROMISED_STATUSES = (Status.COMMITTED, Status.AT_RISK)

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="dependencies")
    # The key result's team when requested, kept on the row so the database itself can
    # refuse a team depending on itself.
    requesting_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="dependencies_requested"
    )
    provider_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="dependencies_promised"
    )
    deliverable = models.CharField("what", max_length=300)
    due_date = models.DateField("by when")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="dependencies_responsible",
        verbose_name="who",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dependencies_requested"
    )
    rank = models.PositiveSmallIntegerField(help_text="1 and 2 are the key result's top two.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    # Whose answer the request or counter-proposal waits for (None once answered).
    awaiting = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dependencies_awaiting",
    )
    awaiting_since = models.DateTimeField(null=True, blank=True)
    # A counter-proposal in flight: the other side accepts it or proposes again.
    proposed_due_date = models.DateField(null=True, blank=True)
    proposed_deliverable = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was declined, or what puts it at risk.")
    requested_at = models.DateTimeField()
    committed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The escalation ladder: what it is escalating for, the last rung reached (0 = none yet)
    # and when the next rung is due (NULL when nothing is to escalate).
    escalation_trigger = models.CharField(max_length=12, choices=Trigger.choices, blank=True)
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    objects = DependencyQuerySet.as_manager()

    class Meta:
        ordering = ["key_result", "rank"]
        verbose_name_plural = "dependencies"
        constraints = [
            models.UniqueConstraint(fields=["key_result", "rank"], name="dependency_rank_unique"),
            models.CheckConstraint(
                condition=~Q(provider_team=F("requesting_team")),
                name="dependency_not_on_own_team",
                violation_error_message="A team cannot depend on itself.",
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="dependency_rank_positive"),
            models.CheckConstraint(
                condition=Q(escalation_rung__lte=3), name="dependency_escalation_rung_0_3"
            ),
        ]
        indexes = [
            # The escalation job: rows whose next rung is due (only rows with one are indexed).
            models.Index(
                fields=["next_escalation_at"],
                name="dependency_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
            # "Asked of me": open requests waiting on a person.
            models.Index(fields=["awaiting", "status"], name="dependency_awaiting"),
            # Team page and people view: what a person / team has promised.
            models.Index(fields=["responsible", "status"], name="dependency_responsible"),
            models.Index(fields=["provider_team", "status"], name="dependency_provider"),
            # The organisation view's overdue and escalated figures, read on every request:
            # only the promised (committed, at risk) and the escalated open rows are in them,
            # so a quarter's delivered and declined ones are never read (issue 14). The
            # statuses are spelled out: Meta can't see the Status class (PROMISED_STATUSES,
            # OPEN_STATUSES); tests/dependencies/test_indexes.py holds them equal.
            models.Index(
                fields=["due_date"],
                include=["provider_team", "key_result"],
                name="dependency_promised_due",
                condition=Q(status__in=["committed", "at_risk"]),
            ),
            models.Index(
                fields=["escalation_rung"],
                include=["provider_team", "key_result"],
                name="dependency_escalated",
                condition=Q(
                    escalation_rung__gt=0,
                    status__in=["requested", "countered", "committed", "at_risk"],
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deliverable} ({self.provider_team} → {self.key_result})"

    def get_absolute_url(self) -> str:
        return link("dependencies:detail", self.pk)

    @property
    def is_top_two(self) -> bool:
        return self.rank <= 2

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue(self, today: date) -> bool:
        return self.status in self.PROMISED_STATUSES and self.due_date < today


class DependencyEvent(models.Model):
    """Who changed a dependency's state, when, and what they said."""

    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status} → {self.to_status}"


class Escalation(models.Model):
    """One rung of the ladder, reached once. The unique row is what makes the job idempotent:
    whoever inserts it sends the notices; a second run or a second worker cannot insert it."""

    class Rung(models.IntegerChoices):
        RESPONSIBLE = 1, "Reminder to the responsible person"
        TEAM_LEAD = 2, "Their team lead"
        LEADERSHIP = 3, "The leadership group"

    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="escalations")
    trigger = models.CharField(max_length=12, choices=Dependency.Trigger.choices)
    rung = models.PositiveSmallIntegerField(choices=Rung.choices)
    sent_at = models.DateTimeField()
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            # Per trigger: an unanswered request that escalated and was later committed and
            # then slipped past its date climbs the ladder again, once per rung.
            models.UniqueConstraint(
                fields=["dependency", "trigger", "rung"], name="escalation_once_per_rung"
            ),
            models.CheckConstraint(
                condition=Q(rung__gte=1, rung__lte=3), name="escalation_rung_1_3"
            ),
        ]
        indexes = [
            # The risk feed, newest first (with the dependency, for the quarter's count).
            models.Index(
                fields=["-sent_at", "-id"], include=["dependency"], name="escalation_feed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dependency} — rung {self.rung}"
