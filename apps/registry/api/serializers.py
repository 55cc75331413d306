from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import Team
from apps.registry.models import (
    AIModel,
    DataClassification,
    ExchangeRate,
    LifecycleStage,
    ModelPrice,
    Release,
    RiskTier,
    UseCaseCategory,
    Workload,
)

# --- Model catalogue -----------------------------------------------------------------------


class ModelPriceOutput(serializers.ModelSerializer):
    class Meta:
        model = ModelPrice
        fields = ["effective_from", "input_per_million", "output_per_million", "currency", "note"]
        read_only_fields = fields


class ModelPriceCreateInput(serializers.Serializer):
    effective_from = serializers.DateTimeField()
    input_per_million = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    output_per_million = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", default="USD")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ExchangeRateOutput(serializers.ModelSerializer):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "effective_from", "per_usd", "note"]
        read_only_fields = fields


class ExchangeRateCreateInput(serializers.Serializer):
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="Three letters, e.g. EUR.")
    effective_from = serializers.DateField(help_text="The first day the rate applies, YYYY-MM-DD.")
    per_usd = serializers.DecimalField(max_digits=18, decimal_places=8, min_value=Decimal("0.00000001"),
                                       help_text="Units of the currency for one US dollar.")  # fmt: skip
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AIModelOutput(serializers.ModelSerializer):
    current_price = serializers.SerializerMethodField()
    workload_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = AIModel
        fields = [
            "slug", "provider", "model_id", "display_name", "description", "aliases", "match_pattern", "modality",
            "context_window", "approval_status", "conditions", "max_data_classification", "current_price",
            "workload_count", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ModelPriceOutput(allow_null=True))
    def get_current_price(self, obj: AIModel) -> dict[str, Any] | None:
        from django.utils import timezone

        now = timezone.now()
        # prices are prefetched newest first by the selector
        price = next((p for p in obj.prices.all() if p.effective_from <= now), None)
        return ModelPriceOutput(price).data if price else None


class AIModelUpdateInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=120)
    description = serializers.CharField(allow_blank=True, max_length=10_000)
    aliases = serializers.ListField(child=serializers.CharField(max_length=120), max_length=50)
    match_pattern = serializers.CharField(allow_blank=True, max_length=200)
    modality = serializers.ChoiceField(choices=AIModel.Modality.choices)
    context_window = serializers.IntegerField(min_value=1, allow_null=True)
    approval_status = serializers.ChoiceField(choices=AIModel.ApprovalStatus.choices)
    conditions = serializers.CharField(allow_blank=True, max_length=5_000)
    max_data_classification = serializers.ChoiceField(choices=DataClassification.choices)


class AIModelCreateInput(AIModelUpdateInput):
    provider = serializers.RegexField(r"^[a-z0-9][a-z0-9._-]*$", max_length=60)
    model_id = serializers.CharField(max_length=120)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in {"provider", "model_id"}:
                field.required = False


# --- Workloads -----------------------------------------------------------------------------


class ReleaseRefOutput(serializers.ModelSerializer):
    class Meta:
        model = Release
        fields = ["id", "version", "promoted_at"]
        read_only_fields = fields


FINANCIAL_FIELDS = [
    "currency", "value_per_request", "minutes_saved_per_request", "loaded_hourly_rate", "fixed_monthly_value",
    "fixed_monthly_run_cost", "monthly_budget", "target_roi",
]  # fmt: skip


class WorkloadOutput(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    models = serializers.SlugRelatedField(source="ai_models", slug_field="slug", many=True, read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    live_release = ReleaseRefOutput(read_only=True, allow_null=True)

    class Meta:
        model = Workload
        fields = [
            "slug", "name", "description", "team", "business_owner", "business_owner_email", "lifecycle_stage",
            "risk_tier", "data_classification", "use_case_category", "models", "tags", "repository_url",
            "runbook_url", "dashboard_url", *FINANCIAL_FIELDS, "objective_p95_latency_ms", "objective_min_quality",
            "objective_max_error_rate", "live_release", "created_at", "updated_at", "retired_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {name: {"required": False} for name in FINANCIAL_FIELDS}

    def to_representation(self, instance: Workload) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        # The money behind a workload is for its team, the CoE and leadership (issue #3).
        if request is not None and not request.user.has_perm("registry.view_financials", instance):
            for name in FINANCIAL_FIELDS:
                data.pop(name, None)
        return data


class WorkloadUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(allow_blank=True, max_length=20_000)
    business_owner = serializers.CharField(allow_blank=True, max_length=120)
    business_owner_email = serializers.EmailField(allow_blank=True)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices)
    data_classification = serializers.ChoiceField(choices=DataClassification.choices)
    use_case_category = serializers.ChoiceField(choices=UseCaseCategory.choices)
    models = serializers.SlugRelatedField(
        source="ai_models", slug_field="slug", many=True, queryset=AIModel.objects.all()
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=30)
    repository_url = serializers.URLField(allow_blank=True)
    runbook_url = serializers.URLField(allow_blank=True)
    dashboard_url = serializers.URLField(allow_blank=True)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    value_per_request = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True)
    minutes_saved_per_request = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, allow_null=True)
    loaded_hourly_rate = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True)
    fixed_monthly_value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    fixed_monthly_run_cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    monthly_budget = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True)
    target_roi = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    objective_p95_latency_ms = serializers.IntegerField(min_value=1, allow_null=True)
    objective_min_quality = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=0, max_value=1, allow_null=True
    )
    objective_max_error_rate = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=0, max_value=1, allow_null=True
    )


class WorkloadCreateInput(WorkloadUpdateInput):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    slug = serializers.SlugField(max_length=120, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in {"team", "name"}:
                field.required = False


class WorkloadFilterInput(serializers.Serializer):
    """Query parameters of the workload list."""

    q = serializers.CharField(required=False, help_text="Search name, slug, description and team.")
    team = serializers.SlugField(required=False, help_text="Team slug.")
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    data_classification = serializers.ChoiceField(choices=DataClassification.choices, required=False)
    use_case_category = serializers.ChoiceField(choices=UseCaseCategory.choices, required=False)
    model = serializers.SlugField(required=False, help_text="Catalogue model slug.")
    tag = serializers.SlugField(required=False)
    mine = serializers.BooleanField(required=False, help_text="Only my teams' workloads.")
    ordering = serializers.ChoiceField(
        choices=["name", "-name", "team", "stage", "risk", "updated", "created"], required=False
    )


# --- Releases ------------------------------------------------------------------------------


class ReleaseOutput(serializers.ModelSerializer):
    models = serializers.SlugRelatedField(source="ai_models", slug_field="slug", many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Release
        fields = [
            "id", "version", "changelog", "models", "config", "status", "created_at", "created_by", "promoted_at",
        ]  # fmt: skip
        read_only_fields = fields


class ReleaseCreateInput(serializers.Serializer):
    version = serializers.RegexField(
        r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$", max_length=40, help_text="A label such as 1.4.0 (letters, digits, . + _ -)."
    )
    changelog = serializers.CharField(required=False, allow_blank=True, max_length=20_000, default="")
    models = serializers.SlugRelatedField(
        source="ai_models", slug_field="slug", many=True, queryset=AIModel.objects.all(), allow_empty=False
    )
    config = serializers.JSONField(required=False, default=dict, help_text="A JSON object.")

    def validate_config(self, value: Any) -> Any:
        """The service checks it too (and its size); checked here as well so that a body with other
        bad fields names this one in the same 400, as API.md promises."""
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Give a JSON object, {…}.")
        return value


class RollbackInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2_000, help_text="Why the earlier release goes live again.")
