from django.contrib import admin

from okrly.admin import SystemRowsAdmin
from ownership.models import AuthorityGrant, DecisionRight, NoDependencies, OwnershipNomination


@admin.register(DecisionRight)
class DecisionRightAdmin(admin.ModelAdmin):
    """The catalogue of rights leads can grant; editable by admins."""

    list_display = ["name", "description", "active", "position"]
    list_editable = ["active", "position"]
    search_fields = ["name"]


@admin.register(AuthorityGrant)
class AuthorityGrantAdmin(admin.ModelAdmin):
    list_display = ["key_result", "grantee", "granted_by", "granted_at", "revoked_at"]
    list_filter = ["rights", "key_result__objective__quarter"]
    search_fields = ["key_result__title", "grantee__username", "scope"]
    list_select_related = ["key_result", "grantee", "granted_by"]
    readonly_fields = ["granted_at", "revoked_at", "revoked_by", "granted_by"]


@admin.register(OwnershipNomination)
class OwnershipNominationAdmin(SystemRowsAdmin):
    list_display = [
        "key_result",
        "nominee",
        "previous_owner",
        "status",
        "created_at",
        "answered_at",
    ]
    list_filter = ["status"]
    search_fields = ["key_result__title", "nominee__username"]
    list_select_related = ["key_result", "nominee", "previous_owner"]
    readonly_fields = [f.name for f in OwnershipNomination._meta.fields]


@admin.register(NoDependencies)
class NoDependenciesAdmin(SystemRowsAdmin):
    list_display = ["key_result", "declared_by", "declared_at"]
