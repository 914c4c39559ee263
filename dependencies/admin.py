from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from dependencies.models import Dependency, DependencyEvent, Escalation
from okrly.admin import SystemRowsAdmin


class EventInline(admin.TabularInline):
    model = DependencyEvent
    extra = 0
    can_delete = False
    readonly_fields = ["actor", "action", "from_status", "to_status", "note", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the history is written by the services, never by hand


class EscalationInline(admin.TabularInline):
    model = Escalation
    extra = 0
    can_delete = False
    readonly_fields = ["trigger", "rung", "sent_at", "recipients"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Dependency)
class DependencyAdmin(SystemRowsAdmin):
    """Read-mostly: the life cycle belongs to the people involved (and the services)."""

    list_display = [
        "deliverable",
        "provider_team",
        "responsible",
        "due_date",
        "status",
        "escalation_rung",
    ]
    list_filter = ["status", "provider_team", "requesting_team", "escalation_rung"]
    search_fields = ["deliverable", "responsible__username", "key_result__title"]
    list_select_related = ["provider_team", "responsible"]
    readonly_fields = [f.name for f in Dependency._meta.fields]
    inlines = [EventInline, EscalationInline]
