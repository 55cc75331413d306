"""Daily scorecards: rollups in, a workload's day out (DESIGN.md "The telemetry path", step 5), then
its trailing-window metrics handed to governance's automated controls (step 6). What is worth a
person's attention becomes an alert (``alerts.py``)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.governance import services as governance
from apps.registry.models import ReleaseEvent, Workload

from . import alerts, stats
from .models import LATENCY_BUCKETS, QUALITY_BUCKETS, Alert, HourlyRollup, Scorecard

ANOMALY_HISTORY_DAYS = 14
ANOMALY_MIN_HISTORY = 7
RATE_MIN_REQUESTS = 50  # below this, a day's rates are too noisy to call anomalous
METRIC_WINDOW_DAYS = 7  # governance's controls see the trailing week
BASELINE_HOURS = 72  # a release's baseline: its first three days of traffic
DRIFT_MIN_REQUESTS = 200
REGRESSION_WINDOW_DAYS = 14
REGRESSION_LOOKBACK_DAYS = 7
REGRESSION_MIN_REQUESTS = 100
BUDGET_THRESHOLDS = (1.0, 0.8)

# metric → (harmful direction: +1 up, -1 down, 0 both; floor of the scale; only on complete days)
ANOMALY_METRICS: dict[str, tuple[int, float, bool]] = {
    "requests": (0, 5.0, True),
    "token_cost": (1, 0.01, True),
    "error_rate": (1, 0.005, False),
    "latency_p95_ms": (1, 5.0, False),
    "safety_flag_rate": (1, 0.002, False),
    "quality_score": (-1, 0.01, False),
}
ANOMALY_LABELS = {
    "requests": "Request volume", "token_cost": "Token cost", "error_rate": "Error rate",
    "latency_p95_ms": "p95 latency", "safety_flag_rate": "Safety-flag rate", "quality_score": "Quality score",
}  # fmt: skip


@dataclass
class Window:
    """Rollup rows summed over a period."""

    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    quality_sum: float = 0.0
    quality_count: int = 0
    ratings_up: int = 0
    ratings_count: int = 0
    flagged: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)
    quality: list[int] = field(default_factory=lambda: [0] * QUALITY_BUCKETS)

    def add(self, row: HourlyRollup) -> None:
        self.requests += row.requests
        self.errors += row.errors
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cost += row.cost
        self.unpriced += row.unpriced_requests
        self.quality_sum += row.quality_sum
        self.quality_count += row.quality_count
        self.ratings_up += row.ratings_up
        self.ratings_count += row.ratings_count
        self.flagged += row.safety_flagged
        for index, count in enumerate(row.latency_hist[:LATENCY_BUCKETS]):
            self.latency[index] += count
        for index, count in enumerate(row.quality_hist[:QUALITY_BUCKETS]):
            self.quality[index] += count

    @property
    def latency_count(self) -> int:
        return sum(self.latency)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def safety_flag_rate(self) -> float | None:
        return self.flagged / self.requests if self.requests else None

    @property
    def quality_score(self) -> float | None:
        return self.quality_sum / self.quality_count if self.quality_count else None

    @property
    def satisfaction(self) -> float | None:
        return self.ratings_up / self.ratings_count if self.ratings_count else None

    def p(self, q: float) -> float | None:
        return stats.percentile(self.latency, q)


def window(workload: Workload, start: datetime, end: datetime, *, release: str | None = None) -> Window:
    qs = HourlyRollup.objects.filter(workload=workload, hour__gte=start, hour__lt=end)
    if release is not None:
        qs = qs.filter(release=release)
    total = Window()
    for row in qs.only(
        "requests", "errors", "input_tokens", "output_tokens", "cost", "unpriced_requests", "quality_sum",
        "quality_count", "ratings_up", "ratings_count", "safety_flagged", "latency_hist", "quality_hist",
    ):  # fmt: skip
        total.add(row)
    return total


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


# --- The scorecard -------------------------------------------------------------------------------


def score_day(
    *, workload: Workload, day: date, evaluate_controls: bool = True, now: datetime | None = None
) -> Scorecard:
    """Compute (or recompute) a workload's scorecard for a day; idempotent. With
    ``evaluate_controls``, hand the trailing metrics to governance and raise alerts."""
    now = now or timezone.now()
    workload = Workload.objects.select_related("live_release", "team").get(pk=workload.pk)
    start, end = day_bounds(day)
    today = window(workload, start, end)
    complete = end <= now
    days_in_month = calendar.monthrange(day.year, day.month)[1]

    # Money (DESIGN.md "Value and ROI"): priced tokens + the fixed run cost, per day.
    fixed_cost = workload.fixed_monthly_run_cost / days_in_month
    cost = today.cost + fixed_cost
    per_request = workload.effective_value_per_request or Decimal(0)
    successes = today.requests - today.errors
    value = per_request * successes + workload.fixed_monthly_value / days_in_month
    roi = float((value - cost) / cost) if cost else None

    month_start = datetime(day.year, day.month, 1, tzinfo=UTC)
    to_date = _month_to_date(workload, month_start, end)
    elapsed_days = max((min(end, now) - month_start).total_seconds() / 86400, 1 / 24)
    mtd_cost = to_date["cost"] + workload.fixed_monthly_run_cost * day.day / days_in_month
    mtd_value = per_request * to_date["successes"] + workload.fixed_monthly_value * day.day / days_in_month
    forecast = to_date["cost"] / Decimal(str(elapsed_days)) * days_in_month + workload.fixed_monthly_run_cost
    burn = float(mtd_cost / workload.monthly_budget) if workload.monthly_budget else None

    p50, p95, p99 = today.p(0.5), today.p(0.95), today.p(0.99)
    objective = workload.objective_p95_latency_ms
    card_values: dict[str, Any] = {
        "complete": complete, "requests": today.requests, "errors": today.errors,
        "input_tokens": today.input_tokens, "output_tokens": today.output_tokens, "unpriced_requests": today.unpriced,
        "token_cost": today.cost, "fixed_cost": fixed_cost, "cost": cost, "value": value, "roi": _round(roi),
        "month_to_date_cost": mtd_cost, "month_to_date_value": mtd_value, "month_end_forecast": forecast,
        "budget_burn": _round(burn), "latency_p50_ms": _round(p50, 1), "latency_p95_ms": _round(p95, 1),
        "latency_p99_ms": _round(p99, 1),
        "latency_objective_met": None if objective is None or p95 is None else p95 <= objective,
        "error_rate": _round(today.error_rate), "safety_flag_rate": _round(today.safety_flag_rate),
        "quality_score": _round(today.quality_score), "satisfaction": _round(today.satisfaction),
    }  # fmt: skip
    card_values["anomalies"] = anomalies(workload=workload, day=day, values=card_values, complete=complete)
    card_values["drift"] = drift(workload=workload, day=day, today_start=start, today_end=end)
    card_values["drift_score"] = card_values["drift"].get("score")
    card_values["regression"] = regression(workload=workload, now=min(end, now))
    card_values["metrics"] = trailing_metrics(
        workload=workload, end=end, monthly_cost=forecast, roi=_mtd_roi(mtd_value, mtd_cost),
        drift_score=card_values["drift_score"],
    )  # fmt: skip
    card_values["computed_at"] = now
    with transaction.atomic():
        card, _ = Scorecard.objects.update_or_create(workload=workload, day=day, defaults=card_values)
        if evaluate_controls:
            results = governance.check_record(workload=workload, metrics=card.metrics)
            alerts.from_controls(workload=workload, results=results, day=day)
        alerts.from_scorecard(workload=workload, card=card)
    return card


def _mtd_roi(value: Decimal, cost: Decimal) -> float | None:
    return round(float((value - cost) / cost), 4) if cost else None


def _month_to_date(workload: Workload, month_start: datetime, end: datetime) -> dict[str, Any]:
    totals = HourlyRollup.objects.filter(workload=workload, hour__gte=month_start, hour__lt=end).aggregate(
        cost=Sum("cost"), requests=Sum("requests"), errors=Sum("errors")
    )
    return {
        "cost": totals["cost"] or Decimal(0),
        "successes": (totals["requests"] or 0) - (totals["errors"] or 0),
    }


def trailing_metrics(
    *, workload: Workload, end: datetime, monthly_cost: Decimal, roi: float | None, drift_score: float | None
) -> dict[str, Any]:
    """The mapping governance evaluates (``governance.models.Metric``): rates, latency and quality
    over the trailing week; cost as the month-end forecast; ROI month to date; drift as scored."""
    week = window(workload, end - timedelta(days=METRIC_WINDOW_DAYS), end)
    return {
        "window_days": METRIC_WINDOW_DAYS,
        "requests": week.requests,
        "error_rate": _round(week.error_rate),
        "safety_flag_rate": _round(week.safety_flag_rate),
        "p95_latency_ms": _round(week.p(0.95), 1),
        "quality_score": _round(week.quality_score),
        "monthly_cost": str(monthly_cost.quantize(Decimal("0.01"))),
        "roi": roi,
        "drift_score": drift_score,
    }


# --- Anomalies, drift, regression ------------------------------------------------------------------


def anomalies(*, workload: Workload, day: date, values: dict[str, Any], complete: bool) -> list[dict[str, Any]]:
    history = list(
        Scorecard.objects.filter(
            workload=workload, day__gte=day - timedelta(days=ANOMALY_HISTORY_DAYS), day__lt=day, complete=True,
            requests__gt=0,
        ).values(*ANOMALY_METRICS)
    )  # fmt: skip
    if len(history) < ANOMALY_MIN_HISTORY:
        return []
    found = []
    for metric, (direction, floor, complete_only) in ANOMALY_METRICS.items():
        if complete_only and not complete:
            continue
        if metric not in ("requests", "token_cost") and values["requests"] < RATE_MIN_REQUESTS:
            continue
        value = values[metric]
        past = [float(row[metric]) for row in history if row[metric] is not None]
        if value is None or len(past) < ANOMALY_MIN_HISTORY:
            continue
        z, centre, _ = stats.robust_z(float(value), past, floor=floor)
        if abs(z) >= stats.Z_THRESHOLD and (direction == 0 or z * direction > 0):
            found.append({
                "metric": metric, "label": ANOMALY_LABELS[metric], "value": round(float(value), 4),
                "median": round(centre, 4), "z": round(z, 2), "direction": "up" if z > 0 else "down",
            })  # fmt: skip
    return found


def _went_live(workload: Workload) -> ReleaseEvent | None:
    if workload.live_release_id is None:
        return None
    return (
        ReleaseEvent.objects.filter(
            release_id=workload.live_release_id, kind__in=[ReleaseEvent.Kind.PROMOTED, ReleaseEvent.Kind.ROLLED_BACK]
        )
        .select_related("previous")
        .order_by("-at", "-id")
        .first()
    )


def drift(*, workload: Workload, day: date, today_start: datetime, today_end: datetime) -> dict[str, Any]:
    """PSI of today's latency and quality distributions against the live release's baseline: its
    first three days of traffic (by the release label telemetry carries)."""
    release = workload.live_release
    if release is None:
        return {"reason": "No live release to compare against."}
    first = (
        HourlyRollup.objects.filter(workload=workload, release=release.version)
        .order_by("hour")
        .values_list("hour", flat=True)
        .first()
    )
    if first is None:
        return {"release": release.version, "reason": f"No telemetry labelled {release.version} yet."}
    baseline_end = first + timedelta(hours=BASELINE_HOURS)
    result: dict[str, Any] = {
        "release": release.version, "baseline_start": first.isoformat(), "baseline_end": baseline_end.isoformat(),
    }  # fmt: skip
    if today_start < baseline_end:
        result["reason"] = "Still inside the release's baseline window."
        return result
    baseline = window(workload, first, baseline_end, release=release.version)
    current = window(workload, today_start, today_end, release=release.version)
    if baseline.latency_count < DRIFT_MIN_REQUESTS or current.latency_count < DRIFT_MIN_REQUESTS:
        result["reason"] = f"Fewer than {DRIFT_MIN_REQUESTS} timed requests in the baseline or today."
        return result
    latency_psi = stats.psi(stats.coarsen(current.latency, 4), stats.coarsen(baseline.latency, 4))
    quality_psi = None
    if baseline.quality_count >= DRIFT_MIN_REQUESTS and current.quality_count >= DRIFT_MIN_REQUESTS:
        quality_psi = stats.psi(current.quality, baseline.quality)
    scores = [s for s in (latency_psi, quality_psi) if s is not None]
    result.update(
        latency_psi=_round(latency_psi), quality_psi=_round(quality_psi), score=_round(max(scores)) if scores else None,
        baseline_p95_ms=_round(baseline.p(0.95), 1), current_p95_ms=_round(current.p(0.95), 1),
        baseline_quality=_round(baseline.quality_score), current_quality=_round(current.quality_score),
    )  # fmt: skip
    return result


def regression(*, workload: Workload, now: datetime) -> dict[str, Any]:
    """Within two weeks of a release going live: is it clearly worse than the one it replaced (the
    week before)? Clearly: error rate doubled and up 2 points, p95 up 50 %, or quality down 0.1."""
    event = _went_live(workload)
    if event is None or event.previous is None:
        return {}
    release, previous, since = workload.live_release, event.previous, event.at
    if now - since > timedelta(days=REGRESSION_WINDOW_DAYS):
        return {}
    result: dict[str, Any] = {"release": release.version, "previous": previous.version, "previous_id": previous.pk,
                              "since": since.isoformat(), "findings": [], "recommend_rollback": False}  # fmt: skip
    new = window(workload, since.replace(minute=0, second=0, microsecond=0), now + timedelta(hours=1),
                 release=release.version)  # fmt: skip
    old = window(workload, since - timedelta(days=REGRESSION_LOOKBACK_DAYS), since, release=previous.version)
    if new.requests < REGRESSION_MIN_REQUESTS or old.requests < REGRESSION_MIN_REQUESTS:
        result["reason"] = f"Fewer than {REGRESSION_MIN_REQUESTS} requests on one side so far."
        return result
    findings = []
    if (new.error_rate or 0) > max(2 * (old.error_rate or 0), (old.error_rate or 0) + 0.02):
        findings.append(f"error rate {new.error_rate:.1%} against {old.error_rate:.1%}")
    new_p95, old_p95 = new.p(0.95), old.p(0.95)
    if new_p95 and old_p95 and new_p95 > 1.5 * old_p95:
        findings.append(f"p95 latency {new_p95:.0f} ms against {old_p95:.0f} ms")
    if new.quality_score is not None and old.quality_score is not None and new.quality_score < old.quality_score - 0.1:
        findings.append(f"quality {new.quality_score:.2f} against {old.quality_score:.2f}")
    result.update(findings=findings, recommend_rollback=bool(findings),
                  new_requests=new.requests, previous_requests=old.requests)  # fmt: skip
    return result


# --- Which workloads and days ---------------------------------------------------------------------------


def workloads_with_telemetry(*, start: datetime, end: datetime) -> list[int]:
    return list(
        HourlyRollup.objects.filter(hour__gte=start, hour__lt=end).values_list("workload_id", flat=True).distinct()
    )


def open_alert_counts(workload_ids: list[int]) -> dict[int, int]:
    rows = (
        Alert.objects.filter(workload_id__in=workload_ids, resolved_at__isnull=True)
        .values("workload_id")
        .annotate(n=Count("id"))
    )
    return {row["workload_id"]: row["n"] for row in rows}
