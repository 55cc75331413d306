"""Telemetry in the admin: for looking, not editing. Keys are created and revoked by the services
(the raw key is shown once, to the team); scorecards and rollups are computed, not typed."""

from django.contrib import admin

from apps.core.admin import AuditedModelAdmin

from .models import Alert, IngestionKey, PullSource, Scorecard


class ReadOnlyAdmin(AuditedModelAdmin):
    """Look, never add, change or delete: keys are revoked by their team (audited), scorecards and
    alerts are computed; a deletion here would leave no trace of what went."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(IngestionKey)
class IngestionKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "hint", "workload", "created_at", "last_used_at", "revoked_at", "events_accepted"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "hint", "workload__name"]
    exclude = ["digest"]
    raw_id_fields = ["workload"]


@admin.register(PullSource)
class PullSourceAdmin(AuditedModelAdmin):
    list_display = ["name", "workload", "enabled", "last_success_at", "consecutive_failures", "next_run_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "url", "workload__name"]
    exclude = ["auth_header_encrypted"]  # not editable either; set through the portal, never shown
    readonly_fields = ["cursor", "last_run_at", "last_success_at", "last_error", "last_error_at",
                       "consecutive_failures", "events_pulled"]  # fmt: skip
    raw_id_fields = ["workload"]


@admin.register(Scorecard)
class ScorecardAdmin(ReadOnlyAdmin):
    list_display = ["workload", "day", "requests", "cost", "roi", "latency_p95_ms", "error_rate", "drift_score"]
    list_filter = ["complete"]
    search_fields = ["workload__name"]
    date_hierarchy = "day"
    raw_id_fields = ["workload"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["title", "workload", "kind", "severity", "created_at", "resolved_at"]
    list_filter = ["kind", "severity", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "workload__name"]
    raw_id_fields = ["workload"]
