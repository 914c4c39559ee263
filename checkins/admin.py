from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from checkins.models import CheckIn, CheckInPrompt, CheckInRevision, MissedCheckIn
from okrly.admin import SystemRowsAdmin


class RevisionInline(admin.TabularInline):
    model = CheckInRevision
    extra = 0
    can_delete = False
    readonly_fields = ["status", "confidence", "biggest_risk", "need", "value", "written_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CheckIn)
class CheckInAdmin(SystemRowsAdmin):
    """Read-only: check-ins are the owners' words, written through the service."""

    list_display = ["key_result", "week", "status", "confidence", "forecast_flag", "submitted_at"]
    list_filter = ["status", "forecast_flag", "key_result__objective__quarter"]
    search_fields = ["key_result__title", "biggest_risk", "need", "author__username"]
    list_select_related = ["key_result"]
    readonly_fields = [f.name for f in CheckIn._meta.fields]
    inlines = [RevisionInline]


@admin.register(CheckInPrompt)
class CheckInPromptAdmin(SystemRowsAdmin):
    list_display = [
        "owner",
        "quarter",
        "week",
        "due_at",
        "sent_at",
        "escalation_rung",
        "completed_at",
    ]
    list_filter = ["quarter", "week", "escalation_rung"]
    search_fields = ["owner__username"]
    list_select_related = ["owner", "quarter"]


@admin.register(MissedCheckIn)
class MissedCheckInAdmin(SystemRowsAdmin):
    list_display = ["prompt", "rung", "sent_at"]
    list_filter = ["rung"]
