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
