"""The leaders' side of accountability: nudges, responses to missed commitments and early
escalations (replies to check-ins are their threads, ``checkins.CheckInComment``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from checkins.models import CheckIn
from okrly.links import link


class Nudge(models.Model):
    """A leader's nudge about one item. Unique per item per day: the rate limit is a row."""

    class Item(models.TextChoices):
        PERSON = "person", "Everything a person owes"
        DEPENDENCY = "dependency", "A dependency"
        CHECKIN = "checkin", "A missing check-in"

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nudges"
    )
    item_kind = models.CharField(max_length=12, choices=Item.choices)
    item_id = models.PositiveBigIntegerField()
    day = models.DateField()
    # What the sender wrote with it (optional): it heads the notification.
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Per recipient too: nudging one person about an item never uses up the day's
            # nudge to someone else about it.
            models.UniqueConstraint(
                fields=["recipient", "item_kind", "item_id", "day"],
                name="nudge_once_per_item_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender} nudged {self.recipient} ({self.item_kind} {self.item_id})"


# --- Missed-commitment responses (rule 10) ---------------------------------------------------


class ResponseCause(models.Model):
    """Why a commitment was missed, from a catalogue admins edit (seeded by a migration)."""

    name = models.CharField(max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class MissResponse(models.Model):
    """The same response to every missed commitment (rule 10): opened by the service or job that
    detects the miss, with what was committed against what was delivered prefilled; then
    the conversation, the gap examined (a cause and words) and one next step are recorded
    within RESPONSE_DAYS working days, or the response climbs the ladder."""

    class Kind(models.TextChoices):
        DEPENDENCY_BROKEN = "dep_broken", "Dependency broken"
        DEPENDENCY_UNDELIVERED = "dep_late", "Dependency undelivered at the top of its ladder"
        KEY_RESULT_MISSED = "kr_missed", "Key result missed at the quarter's close"
        CHECKINS_MISSED = "checkins", "Check-ins missed weeks in a row"
        # A review's structural decision marked "not done" in two reviews in a row.
        DECISION_NOT_DONE = "decision", "Structural decision not done in two reviews"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # "dependency:<id>", "key_result:<id>" or "decision:<id>": one text column, so that the
    # database itself refuses a second response to the same miss (a nullable pair would not be
    # unique).
    subject_key = models.CharField(max_length=40)
    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.PROTECT, related_name="+")
    key_result = models.ForeignKey(
        "objectives.KeyResult", on_delete=models.CASCADE, related_name="responses"
    )
    dependency = models.ForeignKey(
        "dependencies.Dependency",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="responses",
    )
    # Who answers for the miss, and who must hold the conversation with them (their manager,
    # else a lead of their team; leadership when neither exists).
    accountable = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="responses_owed"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses_to_hold",
    )
    committed = models.TextField("what was committed")
    delivered = models.TextField("what was delivered")
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField("to be recorded by")
    # The record.
    conversation_on = models.DateField("conversation held on", null=True, blank=True)
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="response_conversations"
    )
    cause = models.ForeignKey(
        ResponseCause, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    gap = models.TextField("the gap, examined", blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The ladder while the response is not recorded (okrly.ladder).
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "response to a missed commitment"
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_key", "quarter"], name="response_once_per_miss"
            ),
            models.CheckConstraint(condition=Q(escalation_rung__lte=3), name="response_rung_0_3"),
        ]
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                name="response_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
            # The responses page and the dashboard's consistency rows: a quarter's responses.
            models.Index(fields=["quarter", "opened_at"], name="response_quarter_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key_result}"

    def get_absolute_url(self) -> str:
        return link("reviews:response", self.pk)


class NextStep(models.Model):
    """A response's next step, tracked like a commitment: due, done, overdue (which climbs the
    ladder: its owner, their lead, leadership)."""

    response = models.OneToOneField(
        MissResponse, on_delete=models.CASCADE, related_name="next_step"
    )
    what = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="next_steps"
    )
    due = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(escalation_rung__lte=3), name="next_step_rung_0_3"),
        ]
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                name="next_step_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.what[:60]


class ResponseReminder(models.Model):
    """One rung of a response's ladder (not recorded in time) or of its next step's (overdue);
    unique per subject and rung, so a job run twice notifies once."""

    class Subject(models.TextChoices):
        RESPONSE = "response", "Response not recorded"
        NEXT_STEP = "next_step", "Next step overdue"

    response = models.ForeignKey(MissResponse, on_delete=models.CASCADE, related_name="reminders")
    subject = models.CharField(max_length=10, choices=Subject.choices)
    rung = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "subject", "rung"], name="response_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response} {self.subject} rung {self.rung}"


# --- Early escalation (rule 7) ----------------------------------------------------------------


class EscalationNorm(models.Model):
    """The organisation's norm, shown beside the Escalate button: when to escalate, to whom and
    what answer to expect. Admins edit it; the newest row is the one shown."""

    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return self.text[:60]


class EarlyEscalation(models.Model):
    """Trouble raised before it is a miss: what is at risk (a key result, optionally one of its
    dependencies), the decision or help needed, from a named person, by when. The named person
    answers (decided / helping) or redirects it to someone else (the deadline carries over);
    unanswered by its deadline, it climbs the ladder. Raising one never counts against the
    owner."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an answer"
        DECIDED = "decided", "Decided"
        HELPING = "helping", "Helping"

    key_result = models.ForeignKey(
        "objectives.KeyResult", on_delete=models.CASCADE, related_name="early_escalations"
    )
    dependency = models.ForeignKey(
        "dependencies.Dependency",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="early_escalations",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalations_raised"
    )
    need = models.TextField("what decision or help is needed")
    asked_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalations_asked"
    )
    needed_by = models.DateField("answer needed by")
    raised_at = models.DateTimeField()
    # min(ESCALATION_ANSWER_HOURS working hours after raising, the end of needed_by).
    answer_due_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalation_rung__lte=3), name="early_escalation_rung_0_3"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(answered_at__isnull=False),
                name="early_escalation_answered_has_date",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                name="early_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
            # "Asked of me": the open escalations asked of a person.
            models.Index(fields=["asked_of", "status"], name="early_escalation_asked"),
            # The risk feed, newest first.
            models.Index(
                fields=["-raised_at", "-id"], include=["key_result"], name="early_escalation_feed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_result}: {self.need[:40]}"

    def get_absolute_url(self) -> str:
        return link("reviews:early_escalation", self.pk)


class EscalationHop(models.Model):
    """A redirect of an early escalation: from whom to whom, and why. The history stays."""

    escalation = models.ForeignKey(EarlyEscalation, on_delete=models.CASCADE, related_name="hops")
    from_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    to_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["escalation", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.escalation_id}: {self.from_person_id} → {self.to_person_id}"


class EarlyEscalationRung(models.Model):
    """One rung of an unanswered early escalation's ladder, reached once."""

    escalation = models.ForeignKey(EarlyEscalation, on_delete=models.CASCADE, related_name="rungs")
    rung = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "rung"], name="early_escalation_rung_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.escalation_id} rung {self.rung}"


# --- Closing a quarter: grades and the review (rule 11) ----------------------------------------


class Grade(models.Model):
    """A key result's grade at the quarter's end. The row is created, ungraded, when the quarter
    starts reviewing (one per key result), so that the grading prompt and its missed ladder have
    a subject; the owner fills in the final value and the two answers."""

    class Outcome(models.TextChoices):
        ACHIEVED = "achieved", "Achieved"
        PARTLY = "partly", "Partly achieved"
        MISSED = "missed", "Missed"
        DISPLACED = "displaced", "Displaced by trade-off"

    key_result = models.OneToOneField(
        "objectives.KeyResult", on_delete=models.CASCADE, related_name="grade"
    )
    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.PROTECT, related_name="grades")
    final_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    score = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    what_happened = models.TextField(blank=True)
    change_how_we_work = models.TextField("what would you change about how we work?", blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)
    # The grading ladder (like a missed check-in's): the owner, their manager or lead, leadership.
    escalation_rung = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["quarter", "key_result"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1),
                name="grade_score_0_1",
            ),
            models.CheckConstraint(condition=Q(escalation_rung__lte=3), name="grade_rung_0_3"),
        ]
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                name="grade_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_result}: {self.outcome or 'not graded'}"


class GradeReminder(models.Model):
    """One rung of an ungraded key result's ladder, reached once."""

    grade = models.ForeignKey(Grade, on_delete=models.CASCADE, related_name="reminders")
    rung = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grade", "rung"], name="grade_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.grade_id} rung {self.rung}"


class Review(models.Model):
    """A quarter's review: one for the organisation (no team), optional ones per department or
    team. Closing the organisation's review closes the quarter, and needs at least one
    structural decision and every decision of the previous review followed up."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.PROTECT, related_name="reviews")
    team = models.ForeignKey(
        "okrly.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-quarter__start", "team__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["quarter"], condition=Q(team__isnull=True), name="review_one_per_quarter"
            ),
            models.UniqueConstraint(
                fields=["quarter", "team"],
                condition=Q(team__isnull=False),
                name="review_one_per_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quarter} review ({self.team or 'organisation'})"

    def get_absolute_url(self) -> str:
        return link("reviews:review", self.pk)


class Evidence(models.Model):
    """What a factor or a decision points at: a key result, a dependency, a trade-off or a
    response (at least one)."""

    key_result = models.ForeignKey(
        "objectives.KeyResult", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dependency = models.ForeignKey(
        "dependencies.Dependency",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    trade_off = models.ForeignKey(
        "objectives.TradeOff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response = models.ForeignKey(
        MissResponse, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class ContributingFactor(Evidence):
    """Why the quarter went as it did, linked to evidence."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="factors")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review", "created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class StructuralDecision(Evidence):
    """What changes in how the organisation operates (not a new goal): what, why (with
    evidence), its owner, the quarter it takes effect, how we will know it worked, and
    optionally a setting it changes, applied when it takes effect."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    what_changes = models.TextField()
    why = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="structural_decisions"
    )
    takes_effect = models.ForeignKey(
        "okrly.Quarter", on_delete=models.PROTECT, related_name="decisions_taking_effect"
    )
    success_check = models.TextField("how we will know it worked")
    follow_up_on = models.DateField()
    # Optional: a setting it changes (okrly.orgsettings.ADJUSTABLE, or "TEAM_OBJECTIVE_LIMIT"
    # with a team), applied when ``takes_effect`` starts (reviews job), logged in SettingChange.
    setting = models.CharField(max_length=60, blank=True)
    setting_team = models.ForeignKey(
        "okrly.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    setting_value = models.IntegerField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(setting="") | Q(setting_value__isnull=False),
                name="decision_setting_has_value",
            ),
        ]

    def __str__(self) -> str:
        return self.what_changes[:60]


class DecisionFollowUp(models.Model):
    """The next review's verdict on a decision of the previous one."""

    class Verdict(models.TextChoices):
        WORKING = "working", "Done and working"
        NOT_WORKING = "not_working", "Done, not working"
        NOT_DONE = "not_done", "Not done"

    decision = models.ForeignKey(
        StructuralDecision, on_delete=models.CASCADE, related_name="follow_ups"
    )
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="follow_ups")
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    note = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["review", "decision"]
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "review"], name="follow_up_once_per_review"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision}: {self.get_verdict_display()}"


class SettingChange(models.Model):
    """The log of settings changed by decisions: what, from, to, when."""

    decision = models.ForeignKey(
        StructuralDecision, on_delete=models.PROTECT, related_name="setting_changes"
    )
    setting = models.CharField(max_length=60)
    team = models.ForeignKey(
        "okrly.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    old_value = models.IntegerField(null=True, blank=True)
    new_value = models.IntegerField()
    applied_at = models.DateTimeField()

    class Meta:
        ordering = ["applied_at", "pk"]

    def __str__(self) -> str:
        return f"{self.setting}: {self.old_value} → {self.new_value}"


class RiskItem(models.Model):
    """The risk feed's one item per key result (issue 15): its latest risk signal, how many
    came before it, the check-in whose thread answers it, and when a leader last answered.

    Kept by ``reviews.risks`` in the transaction of every write that changes it (a risky
    check-in, a thread entry, a dependency's escalation, an early escalation, the key result
    moving or leaving the quarter's counts); ``reviews.risks.compute`` is the from-scratch
    recomputation it must always equal. The feed pages, filters and counts these rows with
    indexed SQL instead of grouping every signal of the quarter on each request."""

    class Kind(models.TextChoices):
        AT_RISK = "at_risk", "At risk"
        OFF_TRACK = "off_track", "Off track"
        FORECAST = "forecast", "Stated vs. forecast"
        ESCALATION = "escalation", "Escalation"
        EARLY = "early", "Early escalation"

    key_result = models.OneToOneField(
        "objectives.KeyResult", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("okrly.Team", on_delete=models.CASCADE, related_name="+")
    in_play = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(help_text="When the latest signal came.")
    # The latest signal's row: a check-in, a dependency's escalation or an early escalation.
    signal_id = models.PositiveBigIntegerField()
    earlier = models.PositiveIntegerField(default=0, help_text="Signals before the latest.")
    # The latest risky check-in (its thread is where leaders answer); None without one.
    check_in = models.ForeignKey(
        CheckIn, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The latest reply or "Seen" by a leader on any of its check-ins.
    answered_at = models.DateTimeField(null=True, blank=True)
    # answered_at >= at: a leader has answered since the latest signal.
    answered = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # The feed: a quarter's items newest first, and its unanswered ones (and their
            # count on the Dashboard tab).
            models.Index(
                fields=["quarter", "-at"], name="riskitem_feed", condition=Q(in_play=True)
            ),
            models.Index(
                fields=["quarter", "-at"],
                name="riskitem_unanswered",
                condition=Q(in_play=True, answered=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Risk of key result {self.key_result_id}: {self.kind}"


class LeaderDigest(models.Model):
    """A leader's weekly digest (issue 15), one per leader and Monday: the unique row is
    written first and the e-mail queued after it commits, so a second run, a second worker
    or a second beat sends nothing (beat has no lock)."""

    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The Monday it is for, in the leader's own zone.
    monday = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    # (label, path) pairs, one per item; the e-mail lists them as links.
    items = models.JSONField(default=list, blank=True)
    # None when nothing changed: the row still marks the week done, no e-mail goes out.
    notification = models.OneToOneField(
        "okrly.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["leader", "monday"], name="one_digest_per_leader_week")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.leader_id} on {self.monday}"


class HeadlineSnapshot(models.Model):
    """The dashboard's headline figures as a week ended (issue 15's week-over-week arrows).

    Most figures (failing the test, at risk, overdue, escalations) are the state now, kept
    by the writes, with no history; a beat job writes the current week's row every quarter
    hour, so the previous week's row holds its figures as that week ended, and the
    dashboard compares today's with it (one indexed read)."""

    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.CASCADE, related_name="+")
    week = models.PositiveSmallIntegerField()
    figures = models.JSONField(default=dict)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["quarter", "week"], name="one_headline_per_week")
        ]

    def __str__(self) -> str:
        return f"Headline of quarter {self.quarter_id}, week {self.week}"


class TeamDigest(models.Model):
    """A team's weekly digest in its Slack and Teams channels (issue 16), one per team,
    quarter and week: the unique row is written first and the posts queued with it, so a
    second run, a second worker or a second beat posts nothing."""

    # None: the leadership group's digest, of every team.
    team = models.ForeignKey(
        "okrly.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    quarter = models.ForeignKey("okrly.Quarter", on_delete=models.CASCADE, related_name="+")
    week = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # (label, path) pairs, one per item, as posted.
    items = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "quarter", "week"],
                condition=Q(team__isnull=False),
                name="one_team_digest_per_week",
            ),
            models.UniqueConstraint(
                fields=["quarter", "week"],
                condition=Q(team__isnull=True),
                name="one_leadership_digest_per_week",
            ),
        ]

    def __str__(self) -> str:
        return f"Digest of team {self.team_id}, week {self.week}"
