"""Org structure (teams, memberships, profiles, quarters) and notifications."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from okrly.types import User


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def display_name(user: User) -> str:
    """How a person is named everywhere: full name, else username."""
    return str(user.get_full_name() or user.get_username())


def local_today(user: User, now: datetime | None = None) -> date:
    """Today where the person is: a check-in's week is their week, not the server's."""
    tz = zoneinfo.ZoneInfo(user_timezone(user))
    return (now or timezone.now()).astimezone(tz).date()


_TIMEZONE = "_okrly_timezone"


def user_timezone(user: User) -> str:
    """A person's time zone: their profile's, else UTC. From the profile when it is loaded
    (a list read with its people's profiles); else its one column, read as SQL and kept on
    the user for the request (My week asks on every request; the ORM's related-object read
    cost more than the page's other statements)."""
    # (The user model's descriptor: ``request.user`` is a lazy object, not a User.)
    if get_user_model().profile.is_cached(user):
        return str(user.profile.timezone) if hasattr(user, "profile") else "UTC"
    found: str | None = getattr(user, _TIMEZONE, None)
    if found is None:
        from okrly import sql

        rows = sql.rows(
            f"SELECT p.timezone FROM {sql.table(Profile)} p WHERE p.user_id = %s", [user.pk]
        )
        found = str(rows[0].timezone) if rows else "UTC"
        setattr(user, _TIMEZONE, found)
    return found


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(
            "%(value)s is not an IANA time zone; use a name like Europe/Paris or America/New_York.",
            params={"value": value},
            code="invalid_timezone",
        )


def ancestry(parent: Mapping[int, int | None], pk: int) -> list[int]:
    """The team, then its parent and so on up to its department, from a {team: parent} map
    (a loop in the tree stops the walk)."""
    found = [pk]
    seen = {pk}
    node = parent.get(pk)
    while node is not None and node not in seen:
        found.append(node)
        seen.add(node)
        node = parent.get(node)
    return found


class TeamQuerySet(models.QuerySet["Team"]):
    def refresh_departments(self) -> int:
        """Set every team's ``department`` from the tree; returns how many teams changed.
        ``Team.save`` calls it; so must anything that creates or moves teams in bulk."""
        return len(self.set_departments())

    def set_departments(self) -> dict[int, int]:
        """``refresh_departments``' work (one read, then one update per department whose
        teams changed), returning {team: its new department} for the teams that changed."""
        rows = list(Team.objects.order_by().values_list("pk", "parent_id", "department_id"))
        parent = {pk: parent_id for pk, parent_id, _ in rows}
        changed: dict[int, int] = {}
        for pk, _, current in rows:
            root = ancestry(parent, pk)[-1]
            if current != root:
                changed[pk] = root
        by_root: dict[int, list[int]] = {}
        for pk, root in changed.items():
            by_root.setdefault(root, []).append(pk)
        for root, pks in by_root.items():
            Team.objects.filter(pk__in=pks).update(department_id=root)
        return changed


class Team(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    # One concept of lead: the LEAD membership role. This column is derived from it (kept by
    # sync_team_leads on every membership write) so that pages can name "the" lead with a
    # join instead of a subquery; setting it on save adds the LEAD membership it implies.
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        help_text="Derived: a member with the lead role (the longest-serving one).",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Rule 8: how many objectives the team takes on in a quarter. Empty: the quarter's limit,
    # else OBJECTIVE_LIMIT_DEFAULT (objectives.limits.objective_limit decides which applies).
    objective_limit = models.PositiveSmallIntegerField(
        "objective limit",
        null=True,
        blank=True,
        help_text="Objectives per quarter (empty: the default, 3); a quarter's limit overrides it.",
    )
    # The top of the team's tree (itself for a top-level team): the dashboard adds figures up
    # by department in SQL with it, instead of walking thousands of teams in Python per
    # request. Kept by save() and TeamQuerySet.refresh_departments().
    department = models.ForeignKey(
        "self", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="team_not_its_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if fields is None or "parent" in fields:
            # A new team, or one that may have moved (with every team below it).
            changed = Team.objects.set_departments()
            self.department_id = changed.get(self.pk, self.department_id)
        if self.lead_id is not None and (fields is None or "lead" in fields):
            # A lead named on the team is a member with the lead role: the membership is
            # what rights and pages ask (okrly.access.leads_team).
            Membership.objects.update_or_create(
                user_id=self.lead_id, team=self, defaults={"role": Membership.Role.LEAD}
            )

    def get_absolute_url(self) -> str:
        return reverse("team_detail", args=[self.slug])

    def clean(self) -> None:
        # Walk up the tree: a cycle (A under B under A) would make every tree view loop.
        seen = {self.pk}
        node = self.parent
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": "This parent would make the team tree a loop."})
            seen.add(node.pk)
            node = node.parent


class Membership(TimeStampedModel):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Lead"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["team__name", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_once_per_team"),
            models.CheckConstraint(
                condition=Q(role__in=["member", "lead"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @property
    def is_lead(self) -> bool:
        """For templates, which would otherwise compare the role to the string "lead"."""
        return self.role == self.Role.LEAD


def sync_team_leads(team_ids: Iterable[int] | None = None) -> int:
    """Derive ``Team.lead`` from the LEAD memberships of ``team_ids`` (every team if None):
    the current lead while they keep the role, else the longest-serving lead, else nobody.
    One read, then one UPDATE per team that changed; returns how many changed. Membership's
    save and delete signals call it; so must any bulk write of memberships."""
    teams = Team.objects.order_by()
    leads = Membership.objects.filter(role=Membership.Role.LEAD).order_by("pk")
    if team_ids is not None:
        ids = list(team_ids)
        teams, leads = teams.filter(pk__in=ids), leads.filter(team_id__in=ids)
    by_team: dict[int, list[int]] = {}
    for team_id, user_id in leads.values_list("team_id", "user_id"):
        by_team.setdefault(team_id, []).append(user_id)
    changed = 0
    for pk, current in teams.values_list("pk", "lead_id"):
        users = by_team.get(pk, [])
        wanted = current if current in users else (users[0] if users else None)
        if wanted != current:
            Team.objects.filter(pk=pk).update(lead_id=wanted)
            changed += 1
    return changed


class Profile(TimeStampedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=120, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    out_of_office_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(manager=F("user")), name="profile_not_own_manager"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def is_out_of_office(self, on: date) -> bool:
        return self.out_of_office_until is not None and on <= self.out_of_office_until


class QuarterQuerySet(models.QuerySet["Quarter"]):
    def overlapping(self, start: date, end: date) -> QuarterQuerySet:
        # Two closed ranges overlap when each starts on or before the other ends.
        return self.filter(start__lte=end, end__gte=start)

    def current(self, today: date) -> Quarter | None:
        """The quarter pages show: the active one covering today, else one reviewing that
        covers today (its last day), else the latest active, else the latest reviewing (a
        review that runs on after the quarter's end: the dashboard keeps showing it). One
        query."""
        covers = Q(start__lte=today, end__gte=today)
        active = Q(status=Quarter.Status.ACTIVE)
        rank = Case(
            When(active & covers, then=Value(0)),
            When(covers, then=Value(1)),
            When(active, then=Value(2)),
            default=Value(3),
        )
        return (
            self.filter(status__in=[Quarter.Status.ACTIVE, Quarter.Status.REVIEWING])
            .order_by(rank, "-start", "pk")
            .first()
        )


def pick_current(quarters: Iterable[Quarter], today: date) -> Quarter | None:
    """``QuarterQuerySet.current`` over quarters already read (a page that lists them all for
    its quarter picker needs no second query); the same ranking, tested against it."""
    shown = [q for q in quarters if q.status in (Quarter.Status.ACTIVE, Quarter.Status.REVIEWING)]

    def rank(q: Quarter) -> tuple[int, int, int]:
        covers = q.start <= today <= q.end
        active = q.status == Quarter.Status.ACTIVE
        order = 0 if active and covers else 1 if covers else 2 if active else 3
        return (order, -q.start.toordinal(), q.pk)

    return min(shown, key=rank, default=None)


_QUARTERS = "_okrly_quarters"


def request_quarters(request: Any) -> list[Quarter]:
    """Every quarter, read once per request (newest first, their own order): a page picks
    its quarter from them (``pick_current``), lists them in its quarter picker, and asks
    whether one is reviewing, for one query. Written as SQL: every dashboard page and My week
    run it, and a statement without joins needs nothing the ORM's compiler adds."""
    found: list[Quarter] | None = getattr(request, _QUARTERS, None)
    if found is None:
        from okrly import sql

        found = list(
            Quarter.objects.raw(f"SELECT * FROM {sql.table(Quarter)} ORDER BY start DESC, id")
        )
        setattr(request, _QUARTERS, found)
    return found


def request_quarter(request: Any) -> Quarter | None:
    """``Quarter.objects.current(today)`` from the request's quarters (``request_quarters``)."""
    return pick_current(request_quarters(request), timezone.localdate())


class Quarter(TimeStampedModel):
    class Status(models.TextChoices):
        PLANNING = "planning", "Planning"
        ACTIVE = "active", "Active"
        # From its last day (or earlier, by leadership) until the review closes it: owners grade
        # their key results and leaders review the quarter (reviews.lifecycle).
        REVIEWING = "reviewing", "Reviewing"
        CLOSED = "closed", "Closed"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    name = models.CharField(max_length=40, unique=True)
    start = models.DateField()
    end = models.DateField()
    checkin_weekday = models.PositiveSmallIntegerField(
        "check-in weekday", choices=Weekday.choices, default=Weekday.MONDAY
    )
    checkin_hour = models.PositiveSmallIntegerField(
        "check-in hour",
        default=9,
        help_text="Hour of the day (0-23) in each owner's own time zone.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNING)
    # Overrides every team's own limit for this quarter (a tighter quarter for everyone).
    objective_limit = models.PositiveSmallIntegerField(
        "objective limit for every team",
        null=True,
        blank=True,
        help_text="Overrides each team's objective limit this quarter; empty keeps them.",
    )

    objects = QuarterQuerySet.as_manager()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="quarter_starts_before_end"
            ),
            models.CheckConstraint(condition=Q(checkin_weekday__lte=6), name="quarter_weekday_0_6"),
            models.CheckConstraint(condition=Q(checkin_hour__lte=23), name="quarter_hour_0_23"),
            # One active quarter at a time: with two, every picker offered both and "the
            # current quarter" depended on dates. A partial unique index (PostgreSQL and SQLite
            # both have them) holds it against any writer, the admin and bulk updates too.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="one_active_quarter",
                violation_error_message="Another quarter is already active; "
                "close or review it first.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.start and self.end and self.start >= self.end:
            errors["end"] = "The quarter must end after it starts."
        elif self.start and self.end:
            clash = Quarter.objects.overlapping(self.start, self.end).exclude(pk=self.pk).first()
            if clash is not None:
                errors["start"] = (
                    f"These dates overlap {clash.name} ({clash.start:%d %b %Y} – "
                    f"{clash.end:%d %b %Y}); quarters must not overlap."
                )
        if self.status == Quarter.Status.ACTIVE:
            active = Quarter.objects.filter(status=Quarter.Status.ACTIVE).exclude(pk=self.pk)
            other = active.first()
            if other is not None:
                errors["status"] = (
                    f"{other.name} is active; only one quarter can be active at a time. "
                    f"Start {other.name}'s review first."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def weeks(self) -> int:
        return (self.end - self.start).days // 7 + 1

    def week_of(self, day: date) -> int:
        """Week of the quarter containing ``day``: week 1 starts on the quarter's first day."""
        return (day - self.start).days // 7 + 1

    def week_start(self, week: int) -> date:
        return self.start + timedelta(days=7 * (week - 1))

    def week_end(self, week: int) -> date:
        """The last day of ``week``: six days after its start, or the quarter's last day."""
        return min(self.week_start(week) + timedelta(days=6), self.end)

    def checkin_moment(self, week: int, zone: str) -> datetime:
        """When ``week``'s check-in is asked for in ``zone``: the quarter's check-in weekday
        within the week, at its hour (the prompt job's moment, checkins.prompts)."""
        first = self.week_start(week)
        day = first + timedelta(days=(self.checkin_weekday - first.weekday()) % 7)
        return datetime.combine(day, time(self.checkin_hour), tzinfo=zoneinfo.ZoneInfo(zone))

    def first_owed_week(self, created: datetime | None, zone: str) -> int:
        """The first week whose check-in a key result created at ``created`` owes: the week
        it was created in, or the next one when it came after that week's check-in moment
        (in ``zone``, its owner's). The timeline's gaps and the card's late weeks both ask."""
        if created is None:
            return 1
        first = max(1, self.week_of(created.astimezone(zoneinfo.ZoneInfo(zone)).date()))
        if first <= self.weeks and created > self.checkin_moment(first, zone):
            first += 1
        return first

    def late_until(self, week: int, zone: str) -> datetime:
        """Until when a missed ``week`` can still be checked in late: CHECKIN_LATE_DAYS after
        its check-in moment in the owner's zone."""
        return self.checkin_moment(week, zone) + timedelta(days=settings.CHECKIN_LATE_DAYS)

    def current_week(self, user: User) -> int | None:
        """The week it is for ``user`` in their own time zone; None outside the quarter."""
        today = local_today(user)
        if not self.start <= today <= self.end:
            return None
        return self.week_of(today)


class OrgSetting(models.Model):
    """A setting a structural decision changed (reviews): it overrides the environment's value
    from the moment the decision takes effect. okrly.orgsettings.value() reads it."""

    name = models.CharField(max_length=60, unique=True)
    value = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped (no address)"
        FAILED = "failed", "Failed (gave up)"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    # A sender claims rows by writing its own token; only the holder of the token sends them.
    email_claim = models.UUIDField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Inbox page and unread badge: a user's notifications, newest first.
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_created"),
            # E-mail sweep: pending or stale "sending" rows only.
            models.Index(
                fields=["email_status", "created_at"],
                name="notif_email_unsent",
                condition=Q(email_status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


# The channels' models live in their own module (Slack and Teams, issue 16); importing them
# here registers them with the app like the rest.
from okrly.channels import Channel, ChannelPost  # noqa: E402, F401

# Invitations live in their own module (okrly/invitations.py); imported here so that Django
# finds the model when it loads this app's models.
from okrly.invitations import Invitation  # noqa: E402, F401
