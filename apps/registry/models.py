from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.accounts.models import Team
from apps.core.models import Tag, TimeStampedModel


class DataClassification(models.TextChoices):
    """Ordered from least to most sensitive: a model cleared for a level may see the levels below."""

    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"

    @classmethod
    def rank(cls, value: str) -> int:
        return list(cls.values).index(value)


class LifecycleStage(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    DEVELOPMENT = "development", "Development"
    PILOT = "pilot", "Pilot"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class RiskTier(models.TextChoices):
    MINIMAL = "minimal", "Minimal"
    LIMITED = "limited", "Limited"
    HIGH = "high", "High"
    # May be recorded (to document a refused idea) but never leaves "proposed".
    UNACCEPTABLE = "unacceptable", "Unacceptable"


class UseCaseCategory(models.TextChoices):
    CUSTOMER_SUPPORT = "customer_support", "Customer support"
    CONTENT_GENERATION = "content_generation", "Content generation"
    CODE_ASSISTANCE = "code_assistance", "Code assistance"
    DOCUMENT_PROCESSING = "document_processing", "Document processing"
    SEARCH_KNOWLEDGE = "search_knowledge", "Search and knowledge"
    ANALYTICS = "analytics", "Analytics and decision support"
    AGENTS = "agents", "Agents and automation"
    OTHER = "other", "Other"


class AIModel(TimeStampedModel):
    """An entry in the model catalogue, run by CoE staff."""

    class Modality(models.TextChoices):
        TEXT = "text", "Text"
        MULTIMODAL = "multimodal", "Multimodal (text and images)"
        EMBEDDING = "embedding", "Embedding"
        IMAGE = "image", "Image generation"
        AUDIO = "audio", "Audio"

    class ApprovalStatus(models.TextChoices):
        APPROVED = "approved", "Approved"
        CONDITIONAL = "approved_with_conditions", "Approved with conditions"
        UNDER_REVIEW = "under_review", "Under review"
        PROHIBITED = "prohibited", "Prohibited"

    slug = models.SlugField(max_length=140, unique=True)
    provider = models.CharField(max_length=60, help_text="As telemetry names it (gen_ai.provider.name), e.g. openai.")
    model_id = models.CharField(max_length=120, help_text="The provider's model id, e.g. gpt-4o-mini.")
    display_name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    aliases = models.JSONField(
        default=list, blank=True, help_text="Other names telemetry may use for this model, e.g. dated snapshots."
    )
    match_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text=r"A regular expression for telemetry model names, e.g. ^gpt-4o-mini(-\d{4}-\d{2}-\d{2})?$",
    )
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.TEXT)
    context_window = models.PositiveIntegerField(null=True, blank=True, help_text="In tokens.")
    approval_status = models.CharField(
        max_length=30, choices=ApprovalStatus.choices, default=ApprovalStatus.UNDER_REVIEW, db_index=True
    )
    conditions = models.TextField(blank=True, help_text="Required when approved with conditions.")
    max_data_classification = models.CharField(
        max_length=20,
        choices=DataClassification.choices,
        default=DataClassification.INTERNAL,
        help_text="The most sensitive data this model may see.",
    )

    class Meta:
        ordering = ["provider", "display_name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model_id"], name="aimodel_unique_provider_model_id"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        if self.match_pattern:
            try:
                re.compile(self.match_pattern)
            except re.error as exc:
                raise ValidationError({"match_pattern": f"Not a valid regular expression: {exc}."}) from exc
        if self.approval_status == self.ApprovalStatus.CONDITIONAL and not self.conditions.strip():
            raise ValidationError({"conditions": "Say what the conditions are."})

    def matches(self, name: str) -> bool:
        if name == self.model_id or name in (self.aliases or []):
            return True
        return bool(self.match_pattern) and re.fullmatch(self.match_pattern, name) is not None

    @property
    def is_usable(self) -> bool:
        return self.approval_status in {self.ApprovalStatus.APPROVED, self.ApprovalStatus.CONDITIONAL}

    def clears(self, classification: str) -> bool:
        return DataClassification.rank(self.max_data_classification) >= DataClassification.rank(classification)

    def price_at(self, at: datetime) -> ModelPrice | None:
        """The price in force at ``at``: the latest one that took effect at or before it."""
        return self.prices.filter(effective_from__lte=at).order_by("-effective_from").first()


BASE_CURRENCY = "USD"  # catalogue prices and stored event costs; exchange rates are quoted against it


class ExchangeRate(models.Model):
    """How many units of ``currency`` one US dollar buys, from ``effective_from`` until the next
    rate. Token costs are stored in US dollars; a workload's scorecards are in its own currency,
    converted at the rate in force on the day (telemetry's scoring)."""

    currency = models.CharField(max_length=3, help_text="Three letters, e.g. EUR.")
    effective_from = models.DateField()
    per_usd = models.DecimalField(
        max_digits=18, decimal_places=8, validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text="Units of this currency for one US dollar, e.g. 0.92 for EUR.",
    )  # fmt: skip
    note = models.CharField(max_length=200, blank=True, help_text="Where the rate comes from.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["currency", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "effective_from"], name="exchangerate_unique_currency_day"),
            models.CheckConstraint(condition=Q(per_usd__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {BASE_CURRENCY} = {self.per_usd.normalize()} {self.currency} from {self.effective_from:%Y-%m-%d}"

    def clean(self) -> None:
        self.currency = (self.currency or "").strip().upper()
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValidationError({"currency": "Give a three-letter currency code, e.g. EUR."})
        if self.currency == BASE_CURRENCY:
            raise ValidationError({"currency": f"Rates are quoted against {BASE_CURRENCY}; it needs none."})


class ModelPrice(models.Model):
    """A price per million tokens, in force from ``effective_from`` until the next one."""

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="prices")
    effective_from = models.DateTimeField()
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(0)])
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="USD")
    note = models.CharField(max_length=200, blank=True, help_text="e.g. 'List price, example only'.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["model", "effective_from"], name="modelprice_unique_model_effective_from"),
        ]

    def __str__(self) -> str:
        prices = f"{self.input_per_million}/{self.output_per_million} {self.currency}"
        return f"{self.model}: {prices} from {self.effective_from:%Y-%m-%d}"

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        million = Decimal(1_000_000)
        return (
            Decimal(input_tokens) * self.input_per_million + Decimal(output_tokens) * self.output_per_million
        ) / million


MONEY = {"max_digits": 14, "decimal_places": 2, "validators": [MinValueValidator(0)]}


class Workload(TimeStampedModel):
    """A GenAI workload: what a team runs, on which models, with which data, for what value."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, help_text="What it does and for whom. Markdown.")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="workloads")
    business_owner = models.CharField(max_length=120, blank=True, help_text="Who answers for the value it creates.")
    business_owner_email = models.EmailField(blank=True)
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.PROPOSED, db_index=True
    )
    risk_tier = models.CharField(max_length=20, choices=RiskTier.choices, default=RiskTier.MINIMAL, db_index=True)
    data_classification = models.CharField(
        max_length=20, choices=DataClassification.choices, default=DataClassification.INTERNAL, db_index=True
    )
    use_case_category = models.CharField(
        max_length=30, choices=UseCaseCategory.choices, default=UseCaseCategory.OTHER, db_index=True
    )
    ai_models = models.ManyToManyField(AIModel, blank=True, related_name="workloads", verbose_name="models")
    tags = models.ManyToManyField(Tag, blank=True, related_name="workloads")  # core.Tag
    repository_url = models.URLField(blank=True)
    runbook_url = models.URLField(blank=True)
    dashboard_url = models.URLField(blank=True)

    # Value model (DESIGN.md "Value and ROI").
    currency = models.CharField(max_length=3, default="USD")
    value_per_request = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Value of one successful request. Or give minutes saved and rate."
    )
    minutes_saved_per_request = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    loaded_hourly_rate = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Cost of an hour of the work saved."
    )
    fixed_monthly_value = models.DecimalField(**MONEY, default=Decimal(0))
    fixed_monthly_run_cost = models.DecimalField(**MONEY, default=Decimal(0), help_text="Hosting, licences, support.")
    monthly_budget = models.DecimalField(**MONEY, null=True, blank=True)
    target_roi = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="(value − cost) / cost, e.g. 1.5 for 150 %."
    )

    # Objectives, which automated controls and scoring check against.
    objective_p95_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name="p95 latency objective (ms)"
    )
    objective_min_quality = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        verbose_name="minimum quality score (0–1)",
    )
    objective_max_error_rate = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        verbose_name="maximum error rate (0–1)",
    )

    live_release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(risk_tier="unacceptable") | Q(lifecycle_stage="proposed"),
                name="workload_unacceptable_stays_proposed",
                violation_error_message="A workload of unacceptable risk cannot leave the proposed stage.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_value_per_request(self) -> Decimal | None:
        if self.value_per_request is not None:
            return self.value_per_request
        if self.minutes_saved_per_request is not None and self.loaded_hourly_rate is not None:
            return (self.minutes_saved_per_request / Decimal(60) * self.loaded_hourly_rate).quantize(Decimal("0.0001"))
        return None

    @property
    def is_retired(self) -> bool:
        return self.lifecycle_stage == LifecycleStage.RETIRED


class Release(models.Model):
    """What makes a workload behave as it does: a version of its models, config and templates."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        SUPERSEDED = "superseded", "Superseded"
        ROLLED_BACK = "rolled_back", "Rolled back"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=40, help_text="A label such as 1.4.0.")
    changelog = models.TextField(blank=True, help_text="What changed and why. Markdown.")
    ai_models = models.ManyToManyField(AIModel, related_name="releases", verbose_name="models")
    template_versions = models.ManyToManyField(
        "library.TemplateVersion", blank=True, related_name="releases",
        help_text="The library templates (published versions) this release is built on.",
    )  # fmt: skip
    config = models.JSONField(
        default=dict, blank=True, help_text="Parameters, prompts settings, feature flags (JSON object)."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workload", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "version"], name="release_unique_workload_version"),
            models.UniqueConstraint(
                fields=["workload"], condition=Q(status="live"), name="release_one_live_per_workload"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload} {self.version}"

    @property
    def has_been_live(self) -> bool:
        return self.promoted_at is not None


class ReleaseEvent(models.Model):
    """The workload's release timeline: created, promoted, rolled back."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        PROMOTED = "promoted", "Promoted"
        ROLLED_BACK = "rolled_back", "Rolled back"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="release_events")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="events")
    previous = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.release} {self.kind}"


class Adoption(models.Model):
    """A workload's explicit use of a library template version (runbooks, blueprints, rubrics…).

    Templates built into a release (prompts) are adopted through the live release instead.
    """

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="adoptions")
    template = models.ForeignKey("library.Template", on_delete=models.CASCADE, related_name="adoptions")
    version = models.ForeignKey("library.TemplateVersion", on_delete=models.PROTECT, related_name="adoptions")
    note = models.CharField(max_length=300, blank=True, help_text="How the workload uses it.")
    adopted_at = models.DateTimeField(auto_now=True)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["workload__name"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "template"], name="adoption_unique_workload_template")
        ]

    def __str__(self) -> str:
        return f"{self.workload} uses {self.version}"
