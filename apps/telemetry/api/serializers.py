"""The telemetry API's shapes: keys, scorecards, pull sources and alerts of one workload. The
native ingestion batch's shapes live beside its view (``ingest.py``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.telemetry.models import Alert, IngestionKey, PullSource, Scorecard


def _refuse_unknown(serializer: serializers.Serializer, data: Any, message: str) -> dict[str, Any]:
    """``to_internal_value`` that names every field the input does not take, beside the usual errors."""
    unknown = sorted(set(data) - set(serializer.fields)) if isinstance(data, dict) else []
    errors: dict[str, Any] = {name: [message] for name in unknown}
    value: dict[str, Any] = {}
    try:
        value = serializers.Serializer.to_internal_value(serializer, data)
    except serializers.ValidationError as exc:
        errors.update(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
    if errors:
        raise serializers.ValidationError(errors)
    return value


# --- Ingestion keys ----------------------------------------------------------------------------


class IngestionKeyOutput(serializers.ModelSerializer):
    """A key as listed: its name and first characters, never the key or its digest."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True, help_text="False once revoked.")

    class Meta:
        model = IngestionKey
        fields = [
            "id", "name", "hint", "is_active", "created_at", "created_by", "last_used_at", "revoked_at",
            "events_accepted", "spans_dropped",
        ]  # fmt: skip
        read_only_fields = fields


class IngestionKeyCreatedOutput(IngestionKeyOutput):
    key = serializers.CharField(
        read_only=True, help_text="The key itself (coei_…), shown in this answer only: store it now."
    )

    class Meta(IngestionKeyOutput.Meta):
        fields = [*IngestionKeyOutput.Meta.fields, "key"]
        read_only_fields = fields


class IngestionKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="Where it is used, e.g. 'prod collector'.")


# --- Scorecards --------------------------------------------------------------------------------


class ScorecardOutput(serializers.ModelSerializer):
    """A workload's day. Money is a decimal string in the workload's ``currency`` (token costs
    converted from US dollars at ``usd_rate``, empty when no rate was in force); rates are 0–1."""

    class Meta:
        model = Scorecard
        fields = [
            "day", "complete", "requests", "errors", "input_tokens", "output_tokens", "unpriced_requests",
            "currency", "usd_rate", "token_cost", "fixed_cost", "cost", "value", "roi", "month_to_date_cost",
            "month_to_date_value",
            "month_end_forecast", "budget_burn", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
            "latency_objective_met", "error_rate", "safety_flag_rate", "quality_score", "satisfaction", "anomalies",
            "drift", "drift_score", "regression", "metrics", "computed_at",
        ]  # fmt: skip
        read_only_fields = fields


class ScorecardFilterInput(serializers.Serializer):
    """Query parameters of the scorecard list."""

    start = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD (inclusive).")
    end = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD (inclusive).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"end": ["The end comes before the start."]})
        return attrs


class ScoreQueuedOutput(serializers.Serializer):
    detail = serializers.CharField()


# --- Pull sources --------------------------------------------------------------------------------

SOURCE_NOT_WRITABLE = "Not writable: a source's name and health are not changed here."


class PullSourceOutput(serializers.ModelSerializer):
    """A pull source and its health. The Authorization header it sends is never shown."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    has_auth_header = serializers.SerializerMethodField(help_text="Whether an Authorization header is set.")
    is_healthy = serializers.BooleanField(read_only=True, help_text="False after a failed fetch.")

    class Meta:
        model = PullSource
        fields = [
            "id", "name", "url", "interval_minutes", "enabled", "has_auth_header", "is_healthy", "cursor",
            "next_run_at", "last_run_at", "last_success_at", "last_error", "last_error_at", "consecutive_failures",
            "events_pulled", "created_at", "created_by",
        ]  # fmt: skip
        read_only_fields = fields

    def get_has_auth_header(self, obj: PullSource) -> bool:
        return obj.has_auth_header


class PullSourceCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500, help_text="https URL answering GET ?cursor=… with native events.")
    interval_minutes = serializers.IntegerField(min_value=1, max_value=1440, default=5,
                                                help_text="How often to fetch (1–1440 minutes).")  # fmt: skip
    auth_header = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", write_only=True,
        help_text="Sent as the Authorization header, e.g. 'Bearer …'. Write-only: never returned.",
    )  # fmt: skip

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return _refuse_unknown(self, data, SOURCE_NOT_WRITABLE)


class PullSourceUpdateInput(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    interval_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    enabled = serializers.BooleanField(required=False, help_text="false pauses fetching; true resumes it now.")
    auth_header = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True,
                                        help_text="Replaces the header; empty removes it. Write-only.")  # fmt: skip

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return _refuse_unknown(self, data, SOURCE_NOT_WRITABLE)


# --- Alerts ------------------------------------------------------------------------------------


class AlertOutput(serializers.ModelSerializer):
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id", "kind", "severity", "key", "title", "detail", "day", "created_at", "is_open", "resolved_at",
            "resolved_by",
        ]  # fmt: skip
        read_only_fields = fields


class AlertFilterInput(serializers.Serializer):
    """Query parameters of the alert list."""

    open = serializers.BooleanField(required=False, allow_null=True, default=None,
                                    help_text="true: open alerts only; false: resolved ones only.")  # fmt: skip
    kind = serializers.ChoiceField(choices=Alert.Kind.choices, required=False)
