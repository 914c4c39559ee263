"""Every user has a profile: created with the user, so pages never need a get-or-create.
A team's lead follows its LEAD memberships, whoever writes them (pages, admin, cascades)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from okrly.models import Membership, Profile, sync_team_leads


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="okrly_create_profile")
def create_profile(sender: Any, instance: Any, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        Profile.objects.get_or_create(user=instance)


@receiver(post_save, sender=Membership, dispatch_uid="okrly_membership_saved_lead")
@receiver(post_delete, sender=Membership, dispatch_uid="okrly_membership_deleted_lead")
def membership_changed(sender: Any, instance: Membership, raw: bool = False, **_: Any) -> None:
    if not raw:
        sync_team_leads([instance.team_id])
