"""Telemetry: ingestion keys, raw events, hourly rollups, daily scorecards, alerts, pull sources.

Raw events are the one table that grows without bound: written in bulk, read by the rollup task
(and the panel's "latest events"), deleted by age. Everything people look at reads rollups and
scorecards, which grow with workloads × hours, not with traffic.
"""

from __future__ import annotations

import hashlib
import math

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core import crypto
from apps.registry.models import AIModel, Workload

# --- Histograms -------------------------------------------------------------------------------
# Latency: fixed log-spaced buckets, four per doubling (each ~19 % wide), so hours merge by adding
# counts and percentiles stay within ~10 % wherever they fall. Bucket 0 is < 1 ms; bucket i ≥ 1
# holds [2^((i-1)/4), 2^(i/4)) ms; the last bucket also takes everything above ~3.4 minutes.
LATENCY_BUCKETS = 72
QUALITY_BUCKETS = 10  # [0, 0.1), [0.1, 0.2) … [0.9, 1.0]


def latency_bucket(ms: float) -> int:
    if ms < 1:
        return 0
    return min(LATENCY_BUCKETS - 1, 1 + int(math.log2(ms) * 4))


def latency_bucket_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / 4), 2 ** (index / 4)


def quality_bucket(score: float) -> int:
    return min(QUALITY_BUCKETS - 1, int(score * QUALITY_BUCKETS))


def empty_latency_hist() -> list[int]:
    return [0] * LATENCY_BUCKETS


def empty_quality_hist() -> list[int]:
    return [0] * QUALITY_BUCKETS


# --- Keys ---------------------------------------------------------------------------------------


class IngestionKey(models.Model):
    """A workload's telemetry credential (``Authorization: Bearer coei_…``). Only its SHA-256
    digest is kept; the key carries 256 random bits and is shown once."""

    PREFIX = "coei_"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="ingestion_keys")
    name = models.CharField(max_length=100, help_text="Where it is used, e.g. 'prod collector'.")
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16, help_text="The first characters, to tell keys apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    events_accepted = models.BigIntegerField(default=0, help_text="Events stored through this key.")
    spans_dropped = models.BigIntegerField(default=0, help_text="OTLP spans that were not GenAI calls.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Raw events -----------------------------------------------------------------------------------


class Source(models.TextChoices):
    OTLP = "otlp", "OTLP"
    NATIVE = "native", "Native API"
    PULL = "pull", "Pull source"


class Event(models.Model):
    """One GenAI call as the workload reported it, priced at ingestion."""

    id = models.BigAutoField(primary_key=True)
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_key = models.CharField(max_length=128, help_text="Idempotency key: event_id or the OTLP span id.")
    timestamp = models.DateTimeField()
    hour = models.DateTimeField(help_text="The timestamp truncated to the hour: the rollup window.")
    received_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices)
    operation = models.CharField(max_length=40, blank=True)
    provider = models.CharField(max_length=60, blank=True)
    model_name = models.CharField(max_length=120, blank=True)
    ai_model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 db_index=False, db_constraint=False)  # fmt: skip
    release = models.CharField(max_length=40, blank=True)
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    latency_ms = models.FloatField(null=True, blank=True)
    latency_bucket = models.SmallIntegerField(null=True, blank=True)
    is_error = models.BooleanField(default=False)
    error_type = models.CharField(max_length=120, blank=True)
    cost = models.DecimalField(
        max_digits=18, decimal_places=8, null=True, blank=True,
        help_text="Priced at the catalogue's price in force at the timestamp; empty if unpriced.",
    )  # fmt: skip
    quality_score = models.FloatField(null=True, blank=True)
    quality_bucket = models.SmallIntegerField(null=True, blank=True)
    user_rating = models.SmallIntegerField(null=True, blank=True)
    safety_flags = models.JSONField(default=list, blank=True)
    safety_flagged = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workload", "event_key"], name="telemetry_event_unique_key"),
        ]
        indexes = [models.Index(fields=["workload", "hour"], name="telemetry_event_wl_hour")]

    def __str__(self) -> str:
        return f"{self.event_key} ({self.model_name})"


class RollupPending(models.Model):
    """A (workload, hour) whose events changed since it was last rolled up. Ingestion bumps
    ``version``; the rollup deletes the row only if the version is the one it rolled up."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    version = models.BigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workload", "hour"], name="telemetry_rolluppending_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.workload_id} {self.hour:%Y-%m-%d %H}h v{self.version}"


# --- Rollups and scorecards -----------------------------------------------------------------------


class HourlyRollup(models.Model):
    """Per workload, hour, model and release: counts, tokens, cost and mergeable histograms."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    model_name = models.CharField(max_length=120, blank=True)
    ai_model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    release = models.CharField(max_length=40, blank=True)
    requests = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    unpriced_requests = models.IntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0)
    latency_hist = models.JSONField(default=empty_latency_hist)
    quality_sum = models.FloatField(default=0)
    quality_count = models.IntegerField(default=0)
    quality_hist = models.JSONField(default=empty_quality_hist)
    ratings_up = models.IntegerField(default=0)
    ratings_down = models.IntegerField(default=0)
    ratings_count = models.IntegerField(default=0)
    safety_flagged = models.IntegerField(default=0)

    class Meta:
        ordering = ["workload", "hour", "model_name", "release"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "hour", "model_name", "release"],
                                    name="telemetry_rollup_unique"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.workload_id} {self.hour:%Y-%m-%d %H}h {self.model_name} {self.release}"


class ModelRollup(models.Model):
    """A workload's hourly rollups of a longer period summed per model and release (histograms
    merged): the columns the monthly and daily rollups share."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+", db_index=False)
    model_name = models.CharField(max_length=120, blank=True)
    ai_model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    release = models.CharField(max_length=40, blank=True)
    requests = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=6, default=0, help_text="US dollars.")
    unpriced_requests = models.IntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0)
    latency_hist = models.JSONField(default=empty_latency_hist)
    quality_sum = models.FloatField(default=0)
    quality_count = models.IntegerField(default=0)
    safety_flagged = models.IntegerField(default=0)

    class Meta:
        abstract = True


class MonthlyModelRollup(ModelRollup):
    """Per workload, month, model and release: the hourly rollups of the month summed (histograms
    merged), so views across the organisation and a year (dashboards' cost by model, model
    comparison, a workload's releases compared over months) read a few thousand rows, not
    millions. Refreshed by scoring for the month it scores."""

    month = models.DateField(help_text="The month's first day.")

    class Meta:
        ordering = ["workload", "month", "model_name", "release"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "month", "model_name", "release"], name="telemetry_monthly_release_unique"
            ),
        ]
        indexes = [models.Index(fields=["month"], name="telemetry_monthly_month")]

    def __str__(self) -> str:
        return f"{self.workload_id} {self.month:%Y-%m} {self.model_name} {self.release}"


class DailyModelRollup(ModelRollup):
    """Per workload, day, model and release: the day's hourly rollups summed, as the monthly rows
    are, so a workload's releases compared over weeks (the operations dashboard) read a row per
    day instead of 24. Refreshed by scoring with the day's scorecard, in its transaction: a day
    with a complete scorecard has its daily rows."""

    day = models.DateField()

    class Meta:
        ordering = ["workload", "day", "model_name", "release"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "day", "model_name", "release"], name="telemetry_daily_release_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload_id} {self.day} {self.model_name} {self.release}"


class MonthlyCategoryRollup(models.Model):
    """Per month, catalogue model and use-case category, across every workload: the monthly model
    rollups summed (histograms merged) with the workloads behind them, so the organisation-wide
    model comparison reads a few hundred rows whatever the number of workloads. Rebuilt from the
    monthly rows by ``rollups.category_refresh``: the current and previous months every quarter
    hour, every month nightly (beat), and after the demo data or a benchmark is seeded. Filtered
    views (a team, a risk tier, a stage) read the monthly rows themselves."""

    month = models.DateField(help_text="The month's first day.")
    ai_model = models.ForeignKey(
        AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty: names the catalogue does not know.",
    )  # fmt: skip
    use_case_category = models.CharField(max_length=30)
    workload_ids = models.JSONField(default=list, help_text="The workloads behind the row, by id.")
    requests = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=6, default=0, help_text="US dollars.")
    unpriced_requests = models.BigIntegerField(default=0)
    latency_hist = models.JSONField(default=empty_latency_hist)
    quality_sum = models.FloatField(default=0)
    quality_count = models.BigIntegerField(default=0)
    safety_flagged = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["month", "ai_model", "use_case_category"]
        indexes = [models.Index(fields=["month"], name="telemetry_category_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.ai_model_id or '-'} {self.use_case_category}"


class Scorecard(models.Model):
    """A workload's day: cost and value, latency against the objective, rates, anomalies, drift
    and the post-release regression check. ``metrics`` is what governance evaluated."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="scorecards")
    day = models.DateField()
    complete = models.BooleanField(default=False, help_text="False while the day is still running.")
    requests = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    unpriced_requests = models.IntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD", help_text="The workload's: every money field is in it.")
    usd_rate = models.DecimalField(
        max_digits=18, decimal_places=8, null=True, blank=True,
        help_text="Units of the currency per US dollar used for token costs; empty when no rate was in force "
        "(token costs then counted in dollars as they are).",
    )  # fmt: skip
    token_cost = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    fixed_cost = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    cost = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    value = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    roi = models.FloatField(null=True, blank=True)
    month_to_date_cost = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    month_to_date_value = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    month_end_forecast = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    budget_burn = models.FloatField(null=True, blank=True, help_text="Month-to-date cost ÷ monthly budget.")
    latency_p50_ms = models.FloatField(null=True, blank=True)
    latency_p95_ms = models.FloatField(null=True, blank=True)
    latency_p99_ms = models.FloatField(null=True, blank=True)
    latency_objective_met = models.BooleanField(null=True, blank=True)
    error_rate = models.FloatField(null=True, blank=True)
    safety_flag_rate = models.FloatField(null=True, blank=True)
    quality_score = models.FloatField(null=True, blank=True)
    satisfaction = models.FloatField(null=True, blank=True, help_text="Share of ratings that were positive.")
    anomalies = models.JSONField(default=list, blank=True)
    drift = models.JSONField(default=dict, blank=True)
    drift_score = models.FloatField(null=True, blank=True, help_text="The larger PSI of latency and quality.")
    regression = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Trailing-window metrics handed to governance.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["workload", "-day"]
        constraints = [models.UniqueConstraint(fields=["workload", "day"], name="telemetry_scorecard_unique")]
        indexes = [
            # The portfolio sums a period's money per workload and per step, and reads each workload's
            # latest budget burn and forecast of the month: on PostgreSQL, from this index alone (the
            # rows are wide with their JSON), not from the table.
            models.Index(
                fields=["day", "workload"], name="telemetry_scorecard_day_money",
                include=["usd_rate", "currency", "cost", "value", "requests", "errors", "budget_burn",
                         "month_end_forecast"],
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.workload} {self.day}"


class WeeklyMoney(models.Model):
    """A workload's scorecards of one week (Monday to Sunday) summed per exchange rate: the money the
    portfolio adds up, so that a year is some fifty rows a workload rather than 365 (the weeks wholly
    inside a period come from here, the days at its ends from the scorecards). Sums in the workload's
    currency, as the scorecards hold them; converted per rate when read, as the scorecards are.
    Refreshed with the scorecards it sums (``rollups.weekly_money_refresh``)."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+", db_index=False)
    week = models.DateField(help_text="The week's Monday.")
    currency = models.CharField(max_length=3)
    usd_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    cost = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    value = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    requests = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    days = models.SmallIntegerField(default=0, help_text="Scorecards summed.")
    unconverted = models.SmallIntegerField(default=0, help_text="Of them, days no rate converted (not dollars).")

    class Meta:
        ordering = ["workload", "week"]
        indexes = [
            models.Index(fields=["workload", "week"], name="telemetry_weekly_money_wl"),
            # What the portfolio reads, from the index alone on PostgreSQL.
            models.Index(
                fields=["week", "workload"], name="telemetry_weekly_money_week",
                include=["usd_rate", "currency", "cost", "value", "requests", "errors", "unconverted"],
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.workload_id} week of {self.week} at {self.usd_rate}"


class Alert(models.Model):
    """Something the owning team and the CoE should look at. ``key`` deduplicates: one open alert
    per key and workload."""

    class Kind(models.TextChoices):
        CONTROL = "control", "Failing control"
        ANOMALY = "anomaly", "Anomaly"
        BUDGET = "budget", "Budget"
        DRIFT = "drift", "Drift"
        ROLLBACK = "rollback", "Rollback recommended"
        SOURCE = "source", "Pull source failing"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="telemetry_alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "key"], condition=Q(resolved_at__isnull=True),
                                    name="telemetry_alert_one_open_per_key"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


# --- Pull sources ------------------------------------------------------------------------------


AUTH_HEADER_PURPOSE = "apps.telemetry.pull-source.auth-header"  # its encryption key's (apps.core.crypto)


class PullSource(models.Model):
    """An HTTP endpoint of the workload's that serves its events in the native shape with a cursor
    (``GET url?cursor=…`` → ``{"events": […], "next_cursor": "…"}``), fetched by Celery beat."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="pull_sources")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="http(s) URL answering GET ?cursor=… with native events.")
    auth_header_encrypted = models.TextField(
        blank=True, editable=False,
        help_text="The Authorization header sent, e.g. 'Bearer …', encrypted (auth_header_set); empty: none.",
    )  # fmt: skip
    interval_minutes = models.PositiveIntegerField(default=5, help_text="How often to fetch (1–1440 minutes).")
    enabled = models.BooleanField(default=True)
    cursor = models.CharField(max_length=500, blank=True, help_text="Where the next fetch resumes.")
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    events_pulled = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workload", "name"], name="telemetry_pullsource_unique_name")]

    def __str__(self) -> str:
        return f"{self.workload}: {self.name}"

    @property
    def is_healthy(self) -> bool:
        return self.consecutive_failures == 0

    @property
    def has_auth_header(self) -> bool:
        return bool(self.auth_header_encrypted)

    def auth_header_set(self, header: str) -> None:
        """Keep ``header`` (encrypted at rest, ``apps.core.crypto``); empty: send none."""
        self.auth_header_encrypted = crypto.encrypt(header, purpose=AUTH_HEADER_PURPOSE) if header else ""

    def auth_header(self) -> str | None:
        """The header to send: "" when none is set, None when it can no longer be read (SECRET_KEY replaced
        without keeping the old one in SECRET_KEY_FALLBACKS)."""
        if not self.auth_header_encrypted:
            return ""
        return crypto.decrypt(self.auth_header_encrypted, purpose=AUTH_HEADER_PURPOSE)
