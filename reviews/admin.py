from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from okrly.admin import SystemRowsAdmin
from reviews.models import EarlyEscalation, EscalationHop, EscalationNorm


@admin.register(EscalationNorm)
class EscalationNormAdmin(admin.ModelAdmin):
    """The text shown beside the Escalate button: when to escalate, to whom, what answer to
    expect. The newest row is the one shown; older ones stay as its history."""

    list_display = ["__str__", "updated_at"]


class HopInline(admin.TabularInline):
    model = EscalationHop
    extra = 0
    can_delete = False
    readonly_fields = ["from_person", "to_person", "note", "at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EarlyEscalation)
class EarlyEscalationAdmin(SystemRowsAdmin):
    """Read-only: raised, answered and redirected through the services (their rights and
    deadlines)."""

    list_display = ["key_result", "raised_by", "asked_of", "status", "answer_due_at"]
    list_filter = ["status", "key_result__objective__quarter"]
    search_fields = ["need", "key_result__title", "asked_of__username", "raised_by__username"]
    list_select_related = ["key_result", "raised_by", "asked_of"]
    readonly_fields = [f.name for f in EarlyEscalation._meta.fields]
    inlines = [HopInline]
