"""Every user has a profile: created with the user, so pages never need a get-or-create."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from okrly.models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="okrly_create_profile")
def create_profile(sender: Any, instance: Any, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        Profile.objects.get_or_create(user=instance)
