from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEvent, Heartbeat, Notification, Tag


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail cannot be edited or deleted through the app."""

    list_display = ["created_at", "actor_repr", "action", "target_repr", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor_repr", "action", "target_repr"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "title", "read_at"]
    list_filter = ["read_at"]
    search_fields = ["title", "recipient__username"]
    raw_id_fields = ["recipient"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at"]


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose additions, changes and deletions also go to the audit trail."""

    def log_addition(self, request, obj, message):  # type: ignore[no-untyped-def]
        from .services import audit_record

        audit_record(actor=request.user, action=f"admin.add.{obj._meta.model_name}", target=obj, request=request)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):  # type: ignore[no-untyped-def]
        from .services import audit_record

        audit_record(
            actor=request.user,
            action=f"admin.change.{obj._meta.model_name}",
            target=obj,
            changes={"message": message if isinstance(message, list) else str(message)},
            request=request,
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):  # type: ignore[no-untyped-def]
        from .services import audit_record

        for obj in queryset:
            audit_record(actor=request.user, action=f"admin.delete.{obj._meta.model_name}", target=obj, request=request)
        return super().log_deletions(request, queryset)
