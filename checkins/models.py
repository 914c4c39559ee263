"""Weekly check-ins (rule 6), their prompts and the missed-check-in ladder (rule 7)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly.models import Quarter


class CheckIn(models.Model):
    class Status(models.TextChoices):
        ON_TRACK = "on_track", "On track"
        AT_RISK = "at_risk", "At risk"
        OFF_TRACK = "off_track", "Off track"

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="checkins")
    # Week of the quarter, 1 = the week that starts on the quarter's first day.
    week = models.PositiveSmallIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkins"
    )
    # 1. Are you on track to hit this key result?
    status = models.CharField(max_length=10, choices=Status.choices)
    confidence = models.PositiveSmallIntegerField(help_text="0 (no chance) to 10 (certain).")
    # 2. What is the biggest risk?
    biggest_risk = models.TextField()
    # 3. What do you need from someone else that you don't have yet?
    need = models.TextField(blank=True)
    need_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="needs_addressed",
    )
    need_dependency = models.ForeignKey(
        Dependency, null=True, blank=True, on_delete=models.SET_NULL, related_name="needs"
    )
    need_handled_at = models.DateTimeField(null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    # Linear projection of the value at quarter end, and whether "on track" contradicts it.
    forecast_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    forecast_flag = models.BooleanField(default=False)
    submitted_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    # First submitted after its week had ended (within CHECKIN_LATE_DAYS of its prompt).
    late = models.BooleanField(default=False)

    class Meta:
        ordering = ["key_result", "week"]
        constraints = [
            models.UniqueConstraint(fields=["key_result", "week"], name="checkin_once_per_week"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=10), name="checkin_confidence_0_10"
            ),
            models.CheckConstraint(condition=~Q(biggest_risk=""), name="checkin_risk_required"),
            models.CheckConstraint(condition=Q(week__gte=1), name="checkin_week_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["on_track", "at_risk", "off_track"]),
                name="checkin_status_valid",
            ),
        ]
        indexes = [
            # "Asked of me": open needs addressed to a person.
            models.Index(
                fields=["need_person"],
                name="checkin_open_need",
                condition=Q(need_handled_at__isnull=True, need_person__isnull=False),
            ),
            # The risk feed: risky check-ins newest first (a page reads only its rows), and
            # their key result for the quarter's count without reading the table.
            models.Index(
                fields=["-submitted_at", "-id"],
                include=["key_result"],
                name="checkin_risky_feed",
                condition=Q(status__in=["at_risk", "off_track"]) | Q(forecast_flag=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_result} — week {self.week}"

    @property
    def is_risky(self) -> bool:
        return self.status != self.Status.ON_TRACK or self.forecast_flag


class CheckInRevision(models.Model):
    """The check-in as it was before an edit: editing never loses what was said first."""

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="revisions")
    status = models.CharField(max_length=10, choices=CheckIn.Status.choices)
    confidence = models.PositiveSmallIntegerField()
    biggest_risk = models.TextField()
    need = models.TextField(blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    written_at = models.DateTimeField(help_text="When this version was submitted.")

    class Meta:
        ordering = ["written_at", "pk"]

    def __str__(self) -> str:
        return f"{self.check_in} as of {self.written_at:%Y-%m-%d %H:%M}"


class DependencyReview(models.Model):
    """In the quarter's first two weeks, the owner confirms each dependency is on track."""

    check_in = models.ForeignKey(
        CheckIn, on_delete=models.CASCADE, related_name="dependency_reviews"
    )
    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="reviews")
    on_track = models.BooleanField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["check_in", "dependency"], name="dependency_review_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dependency} {'on' if self.on_track else 'off'} track"


class CheckInPrompt(models.Model):
    """One per owner per week: inserting it is what makes the prompt job idempotent. It also
    carries the missed-check-in ladder for that owner and week."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_prompts"
    )
    quarter = models.ForeignKey(Quarter, on_delete=models.CASCADE, related_name="prompts")
    week = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField(help_text="The check-in hour in the owner's own time zone.")
    # The sender writes its token here, then sends; a second sender finds the row taken.
    claim = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "quarter", "week"], name="checkin_prompt_once_per_week"
            ),
            models.CheckConstraint(
                condition=Q(escalation_rung__lte=3), name="checkin_prompt_rung_0_3"
            ),
        ]
        indexes = [
            # The missed-check-in job: prompts whose next rung is due.
            models.Index(
                fields=["next_escalation_at"],
                name="checkin_prompt_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner} — {self.quarter} week {self.week}"


class MissedCheckIn(models.Model):
    """One rung of the missed-check-in ladder, reached once."""

    class Rung(models.IntegerChoices):
        OWNER = 1, "Reminder to the owner"
        MANAGER = 2, "Their manager or team lead"
        LEADERSHIP = 3, "The leadership group"

    prompt = models.ForeignKey(CheckInPrompt, on_delete=models.CASCADE, related_name="missed")
    rung = models.PositiveSmallIntegerField(choices=Rung.choices)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "rung"], name="missed_checkin_once_per_rung"),
        ]
        indexes = [
            # The risk feed, newest first.
            models.Index(fields=["-sent_at", "-id"], name="missed_checkin_feed"),
        ]

    def __str__(self) -> str:
        return f"{self.prompt} — rung {self.rung}"


class CheckInComment(models.Model):
    """One entry of a check-in's thread: a leader's reply, the owner's answer, anyone's
    comment, or a leader's one-click "Seen" (no text)."""

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_comments"
    )
    body = models.TextField(blank=True)
    seen = models.BooleanField(default=False)
    # The author led the owner when writing (okrly.access.can_lead): what makes a risk
    # "answered by a leader" in the risk feed.
    by_leader = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(seen=True) | ~Q(body=""), name="checkin_comment_says_something"
            ),
        ]
        indexes = [
            # A check-in's thread, in order (the timeline and the risk feed's page).
            models.Index(fields=["check_in", "created_at"], name="checkin_comment_thread"),
        ]

    def __str__(self) -> str:
        return f"{self.author} on {self.check_in}"
