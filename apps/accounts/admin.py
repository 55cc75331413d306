from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin

from .models import Membership, PersonalToken, Team, TotpDevice, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "groups"]


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "contact_email", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["team", "user", "role"]
    list_filter = ["role", "team"]
    autocomplete_fields = ["user", "team"]


@admin.register(PersonalToken)
class PersonalTokenAdmin(AuditedModelAdmin):
    """Tokens can be seen and revoked (set revoked at) but never created here: no way to show one."""

    list_display = ["name", "user", "hint", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "hint"]
    readonly_fields = ["user", "name", "digest", "hint", "created_at", "last_used_at", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TotpDevice)
class TotpDeviceAdmin(AuditedModelAdmin):
    """Who has two-step sign-in. CoE staff delete a device when its owner lost the phone: the
    owner then signs in with the password alone and sets up a new app. Never created or edited
    here, and the secret is never shown."""

    list_display = ["user", "confirmed_at", "created_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "created_at", "confirmed_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
