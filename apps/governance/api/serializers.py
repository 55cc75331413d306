from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.models import GuidanceArea
from apps.governance.models import (
    Attestation,
    CheckResult,
    Control,
    Metric,
    Operator,
    Policy,
    PolicyVersion,
    ReleaseApproval,
    ThresholdSource,
    Waiver,
)
from apps.governance.services import State
from apps.registry.models import DataClassification, LifecycleStage, RiskTier

# --- Policies ------------------------------------------------------------------------------


class PolicyVersionSummaryOutput(serializers.ModelSerializer):
    class Meta:
        model = PolicyVersion
        fields = ["number", "published_at", "effective_date", "changelog"]
        read_only_fields = fields


class PolicyOutput(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    current_version = serializers.SerializerMethodField(help_text="The published version teams must meet.")

    class Meta:
        model = Policy
        fields = ["slug", "title", "category", "summary", "tags", "owner", "current_version", "created_at",
                  "updated_at"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(PolicyVersionSummaryOutput(allow_null=True))
    def get_current_version(self, obj: Policy) -> dict[str, Any] | None:
        # the views prefetch it as ``current_versions``
        if hasattr(obj, "current_versions"):
            current = obj.current_versions[0] if obj.current_versions else None
        else:
            current = obj.versions.filter(is_current=True).first()
        return PolicyVersionSummaryOutput(current).data if current else None


class PolicyCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=160, help_text="The slug is made from it.")
    category = serializers.ChoiceField(choices=GuidanceArea.choices)
    summary = serializers.CharField(max_length=5_000)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=30, required=False,
                                 default=list)  # fmt: skip


class PolicyFilterInput(serializers.Serializer):
    """Query parameters of the policy list."""

    q = serializers.CharField(required=False, help_text="Search title, summary and the current version's body.")
    category = serializers.ChoiceField(choices=GuidanceArea.choices, required=False)


# --- Controls ------------------------------------------------------------------------------


class ControlOutput(serializers.ModelSerializer):
    check = serializers.CharField(source="describe_check", read_only=True,
                                  help_text="Automated checks: what is compared, in words.")  # fmt: skip

    class Meta:
        model = Control
        fields = [
            "key", "title", "statement", "rationale", "risk_tiers", "data_classifications", "lifecycle_stages",
            "kind", "attestation_valid_days", "metric", "operator", "threshold", "threshold_source", "window_days",
            "check",
        ]  # fmt: skip
        read_only_fields = fields


def _choices(choices: Any, help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=choices), max_length=20, help_text=help_text)


class ControlUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    statement = serializers.CharField(max_length=20_000, help_text="What must be true.")
    rationale = serializers.CharField(max_length=20_000, allow_blank=True)
    risk_tiers = _choices(RiskTier.choices, "Applies to these risk tiers (empty: every tier).")
    data_classifications = _choices(DataClassification.choices, "Applies to these data classes (empty: every class).")
    lifecycle_stages = _choices(LifecycleStage.choices, "Applies in these stages (empty: every stage).")
    kind = serializers.ChoiceField(choices=Control.Kind.choices)
    attestation_valid_days = serializers.IntegerField(
        min_value=1, max_value=3_650, allow_null=True,
        help_text="Attestation: how long an answer holds (null: until the control changes).",
    )  # fmt: skip
    metric = serializers.ChoiceField(choices=Metric.choices, allow_blank=True, help_text="Automated: what is read.")
    operator = serializers.ChoiceField(choices=Operator.choices, allow_blank=True)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True,
                                         help_text="Automated, fixed threshold source: the number.")  # fmt: skip
    threshold_source = serializers.ChoiceField(choices=ThresholdSource.choices)
    window_days = serializers.IntegerField(min_value=1, max_value=365, help_text="Automated: the period measured.")


class ControlCreateInput(ControlUpdateInput):
    key = serializers.SlugField(
        max_length=80, required=False, allow_blank=True,
        help_text="Stable across versions, e.g. human-review; from the title if not given.",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in {"title", "statement", "kind"}:
                field.required = False


# --- Versions ------------------------------------------------------------------------------


class FrameworkRefSerializer(serializers.Serializer):
    framework = serializers.CharField(help_text="nist_ai_rmf, iso_42001, eu_ai_act or other.")
    reference = serializers.CharField(help_text="E.g. Art. 14.")


class PolicyVersionOutput(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    framework_refs = FrameworkRefSerializer(many=True, read_only=True)
    controls = ControlOutput(many=True, read_only=True)

    class Meta:
        model = PolicyVersion
        fields = [
            "number", "state", "is_current", "body", "changelog", "effective_date", "framework_refs", "controls",
            "created_at", "published_at", "published_by", "deprecated_at",
        ]  # fmt: skip
        read_only_fields = fields


class PolicyVersionCreateInput(serializers.Serializer):
    number = serializers.CharField(max_length=20, help_text="Semantic version above every earlier one, e.g. 1.1.0.")
    body = serializers.CharField(allow_blank=True, max_length=200_000, required=False, default="",
                                 help_text="Markdown.")  # fmt: skip
    changelog = serializers.CharField(allow_blank=True, max_length=20_000, required=False, default="")
    effective_date = serializers.DateField(required=False, allow_null=True, default=None,
                                           help_text="When teams must comply from.")  # fmt: skip
    framework_refs = serializers.ListField(child=serializers.DictField(), max_length=50, required=False,
                                           default=list, help_text='[{"framework": "eu_ai_act", '
                                           '"reference": "Art. 14"}]')  # fmt: skip
    copy_controls = serializers.BooleanField(required=False, default=False,
                                             help_text="Start with the current version's controls.")  # fmt: skip


# --- Compliance and attestations -------------------------------------------------------------


class AttestationOutput(serializers.ModelSerializer):
    workload = serializers.CharField(source="workload.slug", read_only=True)
    policy = serializers.CharField(source="control.policy_version.policy.slug", read_only=True)
    version = serializers.CharField(source="control.policy_version.number", read_only=True)
    control = serializers.CharField(source="control.key", read_only=True)
    attested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Attestation
        fields = ["id", "workload", "policy", "version", "control", "answer", "evidence_url", "attested_by",
                  "attested_at", "expires_at"]  # fmt: skip
        read_only_fields = fields


class AttestationCreateInput(serializers.Serializer):
    policy = serializers.SlugField(max_length=160, help_text="Policy slug.")
    control = serializers.SlugField(max_length=80, help_text="Control key in the policy's current version.")
    answer = serializers.CharField(max_length=20_000, help_text="How the workload meets the control.")
    evidence_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=200)


class WaiverOutput(serializers.ModelSerializer):
    workload = serializers.CharField(source="workload.slug", read_only=True)
    policy = serializers.CharField(source="policy.slug", read_only=True)
    control = serializers.CharField(source="control_key", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Waiver
        fields = [
            "id", "workload", "policy", "control", "justification", "compensating_controls", "ends_on", "status",
            "requested_by", "requested_at", "decided_by", "decided_at", "decision_comment",
        ]  # fmt: skip
        read_only_fields = fields


class CheckResultOutput(serializers.ModelSerializer):
    class Meta:
        model = CheckResult
        fields = ["state", "observed", "evaluated_at"]
        read_only_fields = fields


class ControlStatusOutput(serializers.Serializer):
    """One applicable control and its state for the workload (``services.ControlStatus``)."""

    policy = serializers.CharField(source="control.policy_version.policy.slug")
    version = serializers.CharField(source="control.policy_version.number")
    key = serializers.CharField(source="control.key")
    title = serializers.CharField(source="control.title")
    kind = serializers.ChoiceField(source="control.kind", choices=Control.Kind.choices)
    state = serializers.ChoiceField(
        choices=list(State.LABELS), help_text="Passing, attested and waived count as compliant."
    )
    detail = serializers.CharField()
    real_state = serializers.CharField(help_text="Waived controls: the state the waiver covers; otherwise empty.")
    attestation = AttestationOutput(allow_null=True, help_text="Attestation controls: the latest answer.")
    waiver = WaiverOutput(allow_null=True, help_text="The approved waiver in force.")
    result = CheckResultOutput(allow_null=True, help_text="Automated controls: the latest evaluation.")


class ComplianceCountsOutput(serializers.Serializer):
    passing = serializers.IntegerField()
    failing = serializers.IntegerField()
    attested = serializers.IntegerField()
    attestation_due = serializers.IntegerField()
    waived = serializers.IntegerField()
    not_evaluated = serializers.IntegerField()


class ComplianceOutput(serializers.Serializer):
    workload = serializers.CharField(source="workload.slug", help_text="Workload slug.")
    score = serializers.FloatField(allow_null=True, help_text="Share of controls passing, attested or waived "
                                   "(null: no control applies).")  # fmt: skip
    counts = ComplianceCountsOutput(help_text="Controls per state.")
    controls = ControlStatusOutput(source="statuses", many=True)


# --- Waivers ------------------------------------------------------------------------------


class WaiverRequestInput(serializers.Serializer):
    workload = serializers.SlugField(max_length=120, help_text="Slug of one of your team's workloads.")
    policy = serializers.SlugField(max_length=160, help_text="Policy slug.")
    control = serializers.SlugField(max_length=80, help_text="Control key in the policy's current version.")
    justification = serializers.CharField(max_length=20_000, help_text="Why the control cannot be met for now.")
    compensating_controls = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    ends_on = serializers.DateField(help_text="The last day the waiver holds (a year at most).")


class WaiverFilterInput(serializers.Serializer):
    """Query parameters of the waiver list."""

    status = serializers.ChoiceField(choices=Waiver.Status.choices, required=False)
    workload = serializers.SlugField(required=False, help_text="Workload slug.")


class WaiverDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    comment = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="",
                                    help_text="Required to reject.")  # fmt: skip

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Only the decision and its comment are writable: any other field is named as an error."""
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors: dict[str, Any] = {name: ["Not writable: a waiver changes only by its decision."] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors.update(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
        if errors:
            raise serializers.ValidationError(errors)
        return value


# --- Release approval ---------------------------------------------------------------------


class ReleaseApproveInput(serializers.Serializer):
    comment = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")


class ReleaseApprovalOutput(serializers.ModelSerializer):
    release = serializers.IntegerField(source="release_id", read_only=True, help_text="Release id.")
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ReleaseApproval
        fields = ["release", "approved_by", "approved_at", "comment"]
        read_only_fields = fields
