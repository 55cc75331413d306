from django.contrib import admin

from apps.core.admin import AuditedModelAdmin

from .models import Attestation, CheckResult, Control, Policy, PolicyVersion, ReleaseApproval, Waiver


class ControlInline(admin.StackedInline):
    model = Control
    extra = 0


@admin.register(Policy)
class PolicyAdmin(AuditedModelAdmin):
    list_display = ["title", "category", "owner", "updated_at"]
    list_filter = ["category"]
    search_fields = ["title", "summary"]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(AuditedModelAdmin):
    """Versions move through their states by the services (pages and API), never here."""

    list_display = ["policy", "number", "state", "is_current", "effective_date", "published_at"]
    list_filter = ["state", "is_current"]
    readonly_fields = ["state", "is_current", "published_at", "published_by", "deprecated_at"]
    inlines = [ControlInline]


@admin.register(Attestation)
class AttestationAdmin(AuditedModelAdmin):
    list_display = ["workload", "control", "attested_by", "attested_at", "expires_at"]
    search_fields = ["workload__name", "control__key"]
    raw_id_fields = ["workload", "control"]


@admin.register(CheckResult)
class CheckResultAdmin(admin.ModelAdmin):
    list_display = ["workload", "control", "state", "evaluated_at"]
    list_filter = ["state"]
    raw_id_fields = ["workload", "control"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # evidence is not edited


@admin.register(Waiver)
class WaiverAdmin(AuditedModelAdmin):
    list_display = ["workload", "policy", "control_key", "status", "ends_on", "decided_by"]
    list_filter = ["status"]
    raw_id_fields = ["workload"]


@admin.register(ReleaseApproval)
class ReleaseApprovalAdmin(AuditedModelAdmin):
    list_display = ["release", "approved_by", "approved_at"]
    raw_id_fields = ["release"]
