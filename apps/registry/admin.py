from django.contrib import admin

from apps.core.admin import AuditedModelAdmin

from .models import AIModel, ExchangeRate, ModelPrice, Release, ReleaseEvent, Workload


class ModelPriceInline(admin.TabularInline):
    model = ModelPrice
    extra = 0
    fields = ["effective_from", "input_per_million", "output_per_million", "currency", "note"]


@admin.register(AIModel)
class AIModelAdmin(AuditedModelAdmin):
    list_display = ["display_name", "provider", "model_id", "approval_status", "max_data_classification"]
    list_filter = ["provider", "approval_status", "max_data_classification", "modality"]
    search_fields = ["display_name", "model_id", "provider"]
    prepopulated_fields = {"slug": ["provider", "model_id"]}
    inlines = [ModelPriceInline]


@admin.register(Workload)
class WorkloadAdmin(AuditedModelAdmin):
    list_display = ["name", "team", "lifecycle_stage", "risk_tier", "data_classification", "live_release"]
    list_filter = ["lifecycle_stage", "risk_tier", "data_classification", "use_case_category", "team"]
    search_fields = ["name", "slug", "description"]
    autocomplete_fields = ["team"]
    filter_horizontal = ["ai_models", "tags"]
    raw_id_fields = ["live_release", "created_by"]


class ReleaseEventInline(admin.TabularInline):
    model = ReleaseEvent
    fk_name = "release"
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "previous", "reason", "actor", "at"]


@admin.register(Release)
class ReleaseAdmin(AuditedModelAdmin):
    """Releases change state only through promote and rollback (services), never here."""

    list_display = ["workload", "version", "status", "created_at", "promoted_at"]
    list_filter = ["status"]
    search_fields = ["workload__name", "version"]
    readonly_fields = ["workload", "version", "status", "promoted_at", "created_by"]
    filter_horizontal = ["ai_models"]
    inlines = [ReleaseEventInline]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(AuditedModelAdmin):
    list_display = ["currency", "effective_from", "per_usd", "note"]
    list_filter = ["currency"]
    search_fields = ["currency", "note"]
    date_hierarchy = "effective_from"
    readonly_fields = ["created_at", "created_by"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
