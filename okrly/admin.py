"""Admin for the organisation set-up, meant for a non-developer: filters, search, inlines."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Case, Count, QuerySet, Value, When
from django.http import HttpRequest

from okrly import registry
from okrly.forms import ProfileForm
from okrly.invitations import Invitation
from okrly.models import Membership, Notification, Profile, Quarter, Team

User = get_user_model()


class SystemRowsAdmin(admin.ModelAdmin):
    """Rows only the product writes (through its services, with their rules and side
    effects): the admin shows them to look into, never adds, edits or deletes them. Without
    this the admin home offered "Add" for notifications, prompts and missed check-ins."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["team"]
    verbose_name = "team membership"


class ProfileAdminForm(ProfileForm):
    """The person's own form (a picker of IANA zones, the browser's suggested) plus their
    manager, which only an administrator sets."""

    class Meta(ProfileForm.Meta):
        fields = ["display_name", "timezone", "manager", "out_of_office_until"]


class ProfileInline(admin.StackedInline):
    model = Profile
    form = ProfileAdminForm
    fk_name = "user"
    can_delete = False
    autocomplete_fields = ["manager"]
    fields = ["display_name", "timezone", "manager", "out_of_office_until"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "lead", "member_count"]
    list_filter = ["parent"]
    search_fields = ["name", "slug", "lead__username", "lead__first_name", "lead__last_name"]
    prepopulated_fields = {"slug": ["name"]}
    # The lead is a membership with the lead role (the inline); Team.lead is derived from it.
    autocomplete_fields = ["parent"]
    readonly_fields = ["lead"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .select_related("parent", "lead")
            .annotate(n_members=Count("memberships"))
        )

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, obj: Any) -> int:
        return int(obj.n_members)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileAdminForm
    list_display = ["user", "display_name", "timezone", "manager", "out_of_office_until"]
    list_filter = ["timezone"]
    search_fields = ["user__username", "display_name", "user__email"]
    autocomplete_fields = ["user", "manager"]
    list_select_related = ["user", "manager"]


class QuarterAdminForm(forms.ModelForm):
    class Meta:
        model = Quarter
        fields = [
            "name",
            "start",
            "end",
            "checkin_weekday",
            "checkin_hour",
            "status",
            "objective_limit",
        ]

    def clean_status(self) -> str:
        """The status field cannot skip the review: a quarter closes when its organisation's
        review closes (with a structural decision), and this says so (okrly.registry)."""
        status = str(self.cleaned_data["status"])
        already = self.instance.pk is not None and self.instance.status == Quarter.Status.CLOSED
        if status == Quarter.Status.CLOSED and not already:
            refusal = registry.quarter_close_refusal(self.instance)
            if refusal:
                raise forms.ValidationError(refusal)
        return status


@admin.register(Quarter)
class QuarterAdmin(admin.ModelAdmin):
    form = QuarterAdminForm
    list_display = ["name", "start", "end", "status", "checkin_weekday", "checkin_hour"]
    list_filter = ["status"]
    search_fields = ["name"]
    date_hierarchy = "start"


@admin.register(Notification)
class NotificationAdmin(SystemRowsAdmin):
    list_display = ["subject", "recipient", "kind", "created_at", "read_at", "email_status"]
    list_filter = ["kind", "email_status"]
    search_fields = ["subject", "recipient__username"]
    list_select_related = ["recipient"]
    readonly_fields = [
        "created_at",
        "email_status",
        "email_claim",
        "email_claimed_at",
        "emailed_at",
        "email_attempts",
    ]
    autocomplete_fields = ["recipient"]


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [ProfileInline, UserMembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_active", "groups", "memberships__team"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Names first: typing "pri" lists Priya before someone whose e-mail or username
        merely contains it (the autocomplete picks the first on Enter). The teams come along
        for the picker's "Name (Team)" labels, in one more query per page."""
        found, distinct = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            rank = Case(
                When(first_name__istartswith=term, then=Value(0)),
                When(last_name__istartswith=term, then=Value(1)),
                When(username__istartswith=term, then=Value(2)),
                When(email__istartswith=term, then=Value(3)),
                default=Value(4),
            )
            found = found.annotate(search_rank=rank).order_by(
                "search_rank", "first_name", "last_name", "username"
            )
        return found.prefetch_related("memberships__team"), distinct

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The profile is created with the user (a signal); on the add form there is none yet.
        return super().get_inline_instances(request, obj) if obj else []


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations change through /setup/people/ (okrly/inviting.py), whose rules
    (a resend invalidates the earlier links, a revoke kills them) a plain edit would skip."""

    list_display = ["user", "invited_by", "send_count", "sent_at", "email_status", "accepted_at"]
    list_filter = ["email_status"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "invited_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
