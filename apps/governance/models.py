from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import GuidanceArea, Tag, TimeStampedModel, VersionBase
from apps.registry.models import DataClassification, LifecycleStage, Release, RiskTier, Workload


class Policy(TimeStampedModel):
    """A governance policy of the CoE, in versions (the same mechanism as library templates)."""

    title = models.CharField(max_length=160)
    slug = models.SlugField(max_length=160, unique=True)
    category = models.CharField(max_length=30, choices=GuidanceArea.choices, db_index=True)
    summary = models.TextField()
    tags = models.ManyToManyField(Tag, blank=True, related_name="policies")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_policies"
    )

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.title


class Framework(models.TextChoices):
    NIST_AI_RMF = "nist_ai_rmf", "NIST AI RMF"
    ISO_42001 = "iso_42001", "ISO/IEC 42001 Annex A"
    EU_AI_ACT = "eu_ai_act", "EU AI Act"
    OTHER = "other", "Other"


class PolicyVersion(VersionBase):
    DOCUMENT_FIELD = "policy"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    effective_date = models.DateField(null=True, blank=True, help_text="When teams must comply from.")
    framework_refs = models.JSONField(
        default=list, blank=True,
        help_text='References to external frameworks: [{"framework": "eu_ai_act", "reference": "Art. 14"}].',
    )  # fmt: skip

    class Meta(VersionBase.Meta):
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="policyversion_unique_number"),
            models.UniqueConstraint(fields=["policy"], condition=Q(is_current=True), name="policyversion_one_current"),
        ]


class Metric(models.TextChoices):
    """What telemetry's scoring computes and hands to automated controls."""

    SAFETY_FLAG_RATE = "safety_flag_rate", "Safety-flag rate"
    ERROR_RATE = "error_rate", "Error rate"
    P95_LATENCY_MS = "p95_latency_ms", "p95 latency (ms)"
    QUALITY_SCORE = "quality_score", "Quality score"
    MONTHLY_COST = "monthly_cost", "Monthly cost"
    ROI = "roi", "ROI"
    DRIFT_SCORE = "drift_score", "Drift score"


class Operator(models.TextChoices):
    LTE = "<=", "at most"
    LT = "<", "below"
    GTE = ">=", "at least"
    GT = ">", "above"


class ThresholdSource(models.TextChoices):
    """Where an automated check's threshold comes from: a number, or the workload's own figure."""

    FIXED = "fixed", "A fixed number"
    P95_OBJECTIVE = "objective_p95_latency_ms", "The workload's p95 latency objective"
    QUALITY_OBJECTIVE = "objective_min_quality", "The workload's minimum quality"
    ERROR_OBJECTIVE = "objective_max_error_rate", "The workload's maximum error rate"
    BUDGET = "monthly_budget", "The workload's monthly budget"
    TARGET_ROI = "target_roi", "The workload's target ROI"


class Control(models.Model):
    """One requirement inside a policy version, and how a workload satisfies it."""

    class Kind(models.TextChoices):
        ATTESTATION = "attestation", "Attestation"
        AUTOMATED = "automated", "Automated check"

    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="controls")
    key = models.SlugField(max_length=80, help_text="Stable across versions, e.g. human-review.")
    title = models.CharField(max_length=200)
    statement = models.TextField(help_text="What must be true.")
    rationale = models.TextField(blank=True)
    # Applicability: an empty list means every value.
    risk_tiers = models.JSONField(default=list, blank=True)
    data_classifications = models.JSONField(default=list, blank=True)
    lifecycle_stages = models.JSONField(default=list, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    attestation_valid_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Attestation: how long an answer holds (empty: until the control changes)."
    )
    metric = models.CharField(max_length=30, choices=Metric.choices, blank=True)
    operator = models.CharField(max_length=2, choices=Operator.choices, blank=True)
    threshold = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    threshold_source = models.CharField(max_length=30, choices=ThresholdSource.choices, default=ThresholdSource.FIXED)
    window_days = models.PositiveIntegerField(default=7, help_text="Automated: the period the metric covers.")

    class Meta:
        ordering = ["policy_version", "key"]
        constraints = [models.UniqueConstraint(fields=["policy_version", "key"], name="control_unique_key")]

    def __str__(self) -> str:
        return f"{self.policy_version.policy.title}: {self.title}"

    CONTENT_FIELDS = (
        "title", "statement", "risk_tiers", "data_classifications", "lifecycle_stages", "kind",
        "attestation_valid_days", "metric", "operator", "threshold", "threshold_source", "window_days",
    )  # fmt: skip

    @property
    def content_hash(self) -> str:
        """Changes when the requirement changes (rationale and wording of the why do not count):
        an attestation holds across policy versions only while this stays the same."""
        content = {name: getattr(self, name) for name in self.CONTENT_FIELDS}
        content["threshold"] = str(self.threshold) if self.threshold is not None else None
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    def applies_to(self, workload: Workload) -> bool:
        return (
            (not self.risk_tiers or workload.risk_tier in self.risk_tiers)
            and (not self.data_classifications or workload.data_classification in self.data_classifications)
            and (not self.lifecycle_stages or workload.lifecycle_stage in self.lifecycle_stages)
        )

    def describe_check(self) -> str:
        if self.kind != self.Kind.AUTOMATED:
            return ""
        target = (
            format(Decimal(self.threshold).normalize(), "f")
            if self.threshold_source == ThresholdSource.FIXED
            else ThresholdSource(self.threshold_source).label.lower()
        )
        return f"{self.metric} {self.operator} {target} over {self.window_days} days"


CHOICE_SETS = {
    "risk_tiers": set(RiskTier.values),
    "data_classifications": set(DataClassification.values),
    "lifecycle_stages": set(LifecycleStage.values),
}


class Attestation(models.Model):
    """A team's answer to an attestation control, pinned to that control (a policy version)."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="attestations")
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="attestations")
    answer = models.TextField(help_text="How the workload meets the control.")
    evidence_url = models.URLField(blank=True)
    attested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    attested_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, help_text="The control's content when attested.")

    class Meta:
        ordering = ["-attested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.workload} attests {self.control}"


class CheckResult(models.Model):
    """One evaluation of an automated control for a workload, with the values it saw."""

    class State(models.TextChoices):
        PASSING = "passing", "Passing"
        FAILING = "failing", "Failing"
        NOT_EVALUATED = "not_evaluated", "Not yet evaluated"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="check_results")
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="results")
    state = models.CharField(max_length=20, choices=State.choices)
    observed = models.JSONField(default=dict, help_text="The metric value and threshold used, as evidence.")
    detail = models.CharField(max_length=300, blank=True)
    evaluated_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["workload", "control", "-evaluated_at"])]

    def __str__(self) -> str:
        return f"{self.workload} {self.control.key}: {self.state}"


class Waiver(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="waivers")
    # A waiver covers a control by its policy and key, so it survives a new policy version.
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="waivers")
    control_key = models.SlugField(max_length=80)
    justification = models.TextField()
    compensating_controls = models.TextField(blank=True)
    ends_on = models.DateField(help_text="The last day the waiver holds.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Waiver of {self.control_key} for {self.workload}"


class ReleaseApproval(models.Model):
    """CoE staff's approval of one release of a high-risk workload."""

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="governance_approval")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Approval of {self.release}"


class ComplianceScore(models.Model):
    """A workload's compliance counted, as ``services.compliance_scores`` counts it: how many of the controls
    that apply are compliant (passing, attested or waived) and how many apply, at ``refreshed_at``. Rebuilt
    for every workload every five minutes (``services.compliance_scores_refresh``, beat) for views that only
    count across the portfolio; the compliance pages and the API of a workload read compliance live."""

    workload = models.OneToOneField(Workload, on_delete=models.CASCADE, primary_key=True, related_name="+")
    compliant = models.PositiveIntegerField()
    applicable = models.PositiveIntegerField()
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.workload_id}: {self.compliant} of {self.applicable} compliant"
