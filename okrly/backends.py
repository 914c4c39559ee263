"""Password sign-in, reading each signed-in person's profile with them.

Every page shows dates and times in the viewer's own zone (``okrly.zones``), which is on
their profile. Read with the user, in the one query the session's user costs anyway, the
zone adds no query to any page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            user = model._default_manager.select_related("profile").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
