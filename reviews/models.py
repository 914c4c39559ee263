"""The leaders' side of accountability: nudges and replies to risky check-ins."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from checkins.models import CheckIn


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


class CheckInAcknowledgement(models.Model):
    """A leader's short reply to a risky check-in, which its owner sees."""

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="acknowledgements")
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reply = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The owner's key result page and the risk feed: replies to a check-in.
            models.Index(fields=["check_in", "created_at"], name="ack_by_checkin"),
        ]

    def __str__(self) -> str:
        return f"{self.leader} on {self.check_in}"
