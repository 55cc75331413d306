"""Daily scorecards: rollups in, a workload's day out (DESIGN.md "The telemetry path", step 5), then
its trailing-window metrics handed to governance's automated controls (step 6). What is worth a
person's attention becomes an alert (``alerts.py``)."""

from __future__ import annotations

import calendar
import functools
import json
from bisect import bisect_left
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.governance import services as governance
from apps.governance.models import CheckResult
from apps.registry.models import ReleaseEvent, Workload
from apps.registry.selectors import Rates

from . import alerts, stats
from .models import LATENCY_BUCKETS, QUALITY_BUCKETS, Alert, HourlyRollup, Scorecard
from .money import weekly_money_refresh
from .rollups import daily_refresh, monthly_refresh

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
        self.latency = _add(self.latency, row.latency_hist)
        self.quality = _add(self.quality, row.quality_hist)

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


def _add(total: list[int], hist: list[int]) -> list[int]:
    """``total`` plus the first ``len(total)`` counts of ``hist``, element by element."""
    if type(hist) is list and len(hist) >= len(total):
        return [a + b for a, b in zip(total, hist, strict=False)]
    for index, count in enumerate(hist[: len(total)]):
        total[index] += count
    return total


def window(workload: Workload, start: datetime, end: datetime, *, release: str | None = None) -> Window:
    shared = _SHARED.get()
    if shared is not None and shared.workload_id == workload.pk:
        return shared.window(start, end, release)
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


# A scorecard reads overlapping windows of one workload's rollups: the day, the trailing week, the
# live release's baseline and today, the releases before and after going live, the month to date.
# On PostgreSQL score_day reads each hour's rollups once (_SharedRollups) and sums every window from
# them: the same sums as Window.add over the rows window() selects. Counts, tokens, costs (decimals)
# and histograms are exact whatever the grouping, so the database sums them per hour and release
# and a window is the difference of two running totals; quality_sum, a float, is added row by row in
# the order of the model (hour, model, release). score_days keeps one for a workload's whole pass.
_EXACT = ("requests", "errors", "input_tokens", "output_tokens", "cost", "unpriced", "quality_count", "ratings_up",
          "ratings_count", "flagged")  # fmt: skip


class _SharedRollups:
    def __init__(self, workload_id: int) -> None:
        self.workload_id = workload_id
        self.read: list[tuple[datetime, datetime]] = []  # the spans of hours read so far
        self.sums: dict[tuple[datetime, str], Window] = {}  # (hour, release): its rows summed, but quality_sum
        self.quality: dict[datetime, list[tuple[str, float]]] = {}  # hour: (release, quality_sum) in row order
        self._hours: list[datetime] = []  # the hours with rows, sorted
        self._totals: dict[str | None, list[tuple]] = {}  # release (None: all): running totals over _hours

    def window(self, start: datetime, end: datetime, release: str | None) -> Window:
        unread = self._unread(start, end)
        for span in unread:
            self._read(*span)
        if unread or not self._totals:
            self._index()
        total = Window()
        first, last = bisect_left(self._hours, start), bisect_left(self._hours, end)
        quality_sum = 0.0
        for hour in self._hours[first:last]:
            for row_release, value in self.quality.get(hour, ()):
                if release is None or row_release == release:
                    quality_sum += value
        total.quality_sum = quality_sum
        totals = self._totals.get(release)
        if totals is None or first >= last:
            return total
        after, before = totals[last], totals[first]
        for index, name in enumerate(_EXACT):
            setattr(total, name, getattr(total, name) + (after[index] - before[index]))
        size = len(_EXACT)
        total.latency = [a - b for a, b in zip(after[size], before[size], strict=True)]
        total.quality = [a - b for a, b in zip(after[size + 1], before[size + 1], strict=True)]
        return total

    def prefetch(self, start: datetime, end: datetime) -> None:
        """Read these hours now, in one go, rather than window by window."""
        for span in self._unread(start, end):
            self._read(*span)
        self._totals = {}

    def _index(self) -> None:
        """Running totals per release and for all releases: entry i sums the hours before _hours[i]."""
        self._hours = sorted({hour for hour, _ in self.sums} | set(self.quality))
        by_hour: dict[datetime, list[tuple[str, Window]]] = {}
        for (hour, release), sums in self.sums.items():
            by_hour.setdefault(hour, []).append((release, sums))
        releases = {release for _, release in self.sums}
        zero = (*(0 if name != "cost" else Decimal(0) for name in _EXACT), [0] * LATENCY_BUCKETS,
                [0] * QUALITY_BUCKETS)  # fmt: skip
        self._totals = {release: [zero] for release in (None, *releases)}
        for hour in self._hours:
            added = dict.fromkeys(self._totals, ())
            for release, sums in by_hour.get(hour, ()):
                added[release] = (*added[release], sums)
                added[None] = (*added[None], sums)
            for release, totals in self._totals.items():
                totals.append(_plus(totals[-1], added[release]))

    def _unread(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        spans = [(start, end)] if start < end else []
        for read_start, read_end in self.read:
            rest = []
            for a, b in spans:
                if read_end <= a or read_start >= b:
                    rest.append((a, b))
                    continue
                if a < read_start:
                    rest.append((a, read_start))
                if read_end < b:
                    rest.append((read_end, b))
            spans = rest
        return spans

    def _read(self, start: datetime, end: datetime) -> None:
        span = "FROM telemetry_hourlyrollup WHERE workload_id = %s AND hour >= %s AND hour < %s"
        params = [self.workload_id, start, end]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT hour, release, quality_sum {span} ORDER BY hour, model_name, release", params)
            for hour, release, value in cursor.fetchall():
                self.quality.setdefault(hour, []).append((release, value))
            cursor.execute(
                "SELECT hour, release, sum(requests), sum(errors), sum(input_tokens), sum(output_tokens), sum(cost), "
                "sum(unpriced_requests), sum(quality_count), sum(ratings_up), sum(ratings_count), "
                "sum(safety_flagged), '[' || string_agg(latency_hist::text, ',') || ']', "
                f"'[' || string_agg(quality_hist::text, ',') || ']' {span} GROUP BY hour, release",
                params,
            )
            for (hour, release, requests, errors, tokens_in, tokens_out, cost, unpriced, quality_count, ratings_up,
                 ratings_count, flagged, latency_hists, quality_hists) in cursor.fetchall():  # fmt: skip
                sums = Window(
                    requests=int(requests), errors=int(errors), input_tokens=int(tokens_in),
                    output_tokens=int(tokens_out), cost=Decimal(0) + cost, unpriced=int(unpriced),
                    quality_count=int(quality_count), ratings_up=int(ratings_up), ratings_count=int(ratings_count),
                    flagged=int(flagged),
                )  # fmt: skip
                sums.latency = _column_sums(sums.latency, json.loads(latency_hists))
                sums.quality = _column_sums(sums.quality, json.loads(quality_hists))
                self.sums[hour, release] = sums
        self.read.append((start, end))


def _plus(totals: tuple, rows: tuple[Window, ...]) -> tuple:
    """``totals`` (the _EXACT values, then the two histograms) plus these per-hour sums."""
    if not rows:
        return totals
    values = list(totals)
    latency, quality = values[-2], values[-1]
    for sums in rows:
        for index, name in enumerate(_EXACT):
            values[index] += getattr(sums, name)
        latency = [a + b for a, b in zip(latency, sums.latency, strict=True)]
        quality = [a + b for a, b in zip(quality, sums.quality, strict=True)]
    values[-2], values[-1] = latency, quality
    return tuple(values)


def _column_sums(total: list[int], hists: list[list[int]]) -> list[int]:
    """What Window.add does to ``total`` with each histogram; all at once when each is long enough."""
    size = len(total)
    if hists and all(type(hist) is list and len(hist) >= size for hist in hists):
        return [a + sum(column) for a, column in zip(total, zip(*hists, strict=False), strict=False)]
    for hist in hists:
        total = _add(total, hist)
    return total


_SHARED: ContextVar[_SharedRollups | None] = ContextVar("scoring_shared_rollups", default=None)


def _sharing_rollups(score: Callable[..., Scorecard]) -> Callable[..., Scorecard]:
    @functools.wraps(score)
    def wrapper(*, workload: Workload, **kwargs: Any) -> Scorecard:
        shared = _SHARED.get()
        if connection.vendor != "postgresql" or (shared is not None and shared.workload_id == workload.pk):
            return score(workload=workload, **kwargs)
        token = _SHARED.set(_SharedRollups(workload.pk))
        try:
            return score(workload=workload, **kwargs)
        finally:
            _SHARED.reset(token)

    return wrapper


# score_days: a workload's days in one pass. What does not change while its days are scored is read
# once (the workload, how its live release went live, that release's first hour of telemetry, the
# exchange rates, on PostgreSQL the rollups); each month the days fall in is refreshed once, at the
# end, instead of once per day (the monthly rows depend on the hourly rollups only), and so is each
# week's money summary.
@dataclass
class _Pass:
    workload: Workload
    rates: Rates = field(default_factory=Rates)
    months: set[date] = field(default_factory=set)
    went_live: dict[int, ReleaseEvent | None] = field(default_factory=dict)
    first_hour: dict[str, datetime | None] = field(default_factory=dict)
    recorder: Callable[[dict[str, Any]], list[CheckResult]] | None = None

    def check_record(self, metrics: dict[str, Any]) -> list[CheckResult]:
        """governance.check_record, with the controls and their latest states read once a pass."""
        if self.recorder is None:
            self.recorder = governance.check_recorder(workload=self.workload)
        return self.recorder(metrics)


_PASS: ContextVar[_Pass | None] = ContextVar("scoring_pass", default=None)


def _current_pass(workload: Workload) -> _Pass | None:
    current = _PASS.get()
    return current if current is not None and current.workload.pk == workload.pk else None


def score_days(
    *, workload: Workload, days: Iterable[date], evaluate_controls: bool = True, now: datetime | None = None
) -> list[Scorecard]:
    """Score a workload's days, oldest first, in one pass: the scorecards, checks and alerts of
    ``score_day`` for each day in turn, governance's controls evaluated on the complete days (with
    ``evaluate_controls``; a day still running is scored without them, as the quarter-hourly task
    does), each month, day and week they fall in refreshed once at the end; all in one transaction."""
    now = now or timezone.now()
    workload = Workload.objects.select_related("live_release", "team").get(pk=workload.pk)
    state = _Pass(workload=workload)
    token = _PASS.set(state)
    days = sorted(days)
    rollups = _SharedRollups(workload.pk) if connection.vendor == "postgresql" and days else None
    if rollups is not None:  # the trailing week and month to date of the first day, up to the last day's end
        first = day_bounds(days[0])[0]
        rollups.prefetch(min(first - timedelta(days=METRIC_WINDOW_DAYS), first.replace(day=1)),
                         day_bounds(days[-1])[1] + timedelta(hours=1))  # fmt: skip
    shared = _SHARED.set(rollups)
    try:
        with transaction.atomic():  # one commit for the pass, not one per day
            cards = []
            for day in days:
                complete = day_bounds(day)[1] <= now
                cards.append(score_day(workload=workload, day=day, evaluate_controls=evaluate_controls and complete,
                                       now=now))  # fmt: skip
            for month in sorted(state.months):
                monthly_refresh(workload_id=workload.pk, month=month)
            daily_refresh(workload_id=workload.pk, days=days)
            weekly_money_refresh(workload_id=workload.pk, days=days)
    finally:
        _SHARED.reset(shared)
        _PASS.reset(token)
    return cards


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


# --- The scorecard -------------------------------------------------------------------------------


@_sharing_rollups
def score_day(
    *, workload: Workload, day: date, evaluate_controls: bool = True, now: datetime | None = None
) -> Scorecard:
    """Compute (or recompute) a workload's scorecard for a day; idempotent. With
    ``evaluate_controls``, hand the trailing metrics to governance and raise alerts."""
    now = now or timezone.now()
    current = _current_pass(workload)
    if current is not None:
        workload = current.workload
    else:
        workload = Workload.objects.select_related("live_release", "team").get(pk=workload.pk)
    start, end = day_bounds(day)
    today = window(workload, start, end)
    complete = end <= now
    days_in_month = calendar.monthrange(day.year, day.month)[1]

    # Money (DESIGN.md "Value and ROI"): priced tokens + the fixed run cost, per day, in the
    # workload's currency. Token costs are stored in dollars and converted at the day's rate (the
    # month to date too); without a rate they count as they are, and the scorecard says so.
    usd_rate = (current.rates if current is not None else Rates()).per_usd(workload.currency, day)
    fx = usd_rate if usd_rate is not None else Decimal(1)
    token_cost = today.cost * fx
    fixed_cost = workload.fixed_monthly_run_cost / days_in_month
    cost = token_cost + fixed_cost
    per_request = workload.effective_value_per_request or Decimal(0)
    successes = today.requests - today.errors
    value = per_request * successes + workload.fixed_monthly_value / days_in_month
    roi = float((value - cost) / cost) if cost else None

    month_start = datetime(day.year, day.month, 1, tzinfo=UTC)
    to_date = _month_to_date(workload, month_start, end)
    elapsed_days = max((min(end, now) - month_start).total_seconds() / 86400, 1 / 24)
    mtd_token_cost = to_date["cost"] * fx
    mtd_cost = mtd_token_cost + workload.fixed_monthly_run_cost * day.day / days_in_month
    mtd_value = per_request * to_date["successes"] + workload.fixed_monthly_value * day.day / days_in_month
    forecast = mtd_token_cost / Decimal(str(elapsed_days)) * days_in_month + workload.fixed_monthly_run_cost
    burn = float(mtd_cost / workload.monthly_budget) if workload.monthly_budget else None

    p50, p95, p99 = today.p(0.5), today.p(0.95), today.p(0.99)
    objective = workload.objective_p95_latency_ms
    card_values: dict[str, Any] = {
        "complete": complete, "requests": today.requests, "errors": today.errors,
        "input_tokens": today.input_tokens, "output_tokens": today.output_tokens, "unpriced_requests": today.unpriced,
        "currency": workload.currency, "usd_rate": usd_rate,
        "token_cost": token_cost, "fixed_cost": fixed_cost, "cost": cost, "value": value, "roi": _round(roi),
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
    with transaction.atomic(savepoint=current is None):  # in a pass, the pass's transaction
        card = _scorecard_save(workload=workload, day=day, values=card_values)
        if evaluate_controls:
            if current is not None:
                results = current.check_record(card.metrics)
            else:
                results = governance.check_record(workload=workload, metrics=card.metrics)
            alerts.from_controls(workload=workload, results=results, day=day)
        alerts.from_scorecard(workload=workload, card=card)
        if current is None:  # with the card they sum; a pass refreshes its days and weeks at its end
            daily_refresh(workload_id=workload.pk, days=[day])
            weekly_money_refresh(workload_id=workload.pk, days=[day])
    if current is not None:
        current.months.add(day.replace(day=1))
    else:
        monthly_refresh(workload_id=workload.pk, month=day)
    return card


def _scorecard_save(*, workload: Workload, day: date, values: dict[str, Any]) -> Scorecard:
    """``update_or_create`` of the day's scorecard in one statement (INSERT … ON CONFLICT DO
    UPDATE) instead of a savepoint, a locking read and a write: the same row either way."""
    card = Scorecard(workload=workload, day=day, **values)
    Scorecard.objects.bulk_create(
        [card], update_conflicts=True, unique_fields=["workload", "day"], update_fields=list(values)
    )
    return card


def _mtd_roi(value: Decimal, cost: Decimal) -> float | None:
    return round(float((value - cost) / cost), 4) if cost else None


def _month_to_date(workload: Workload, month_start: datetime, end: datetime) -> dict[str, Any]:
    shared = _SHARED.get()
    if shared is not None and shared.workload_id == workload.pk:  # the same exact sums
        month = shared.window(month_start, end, None)
        return {"cost": month.cost, "successes": month.requests - month.errors}
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
    current = _current_pass(workload)
    if current is None:
        return _went_live_query(workload)
    if workload.live_release_id not in current.went_live:
        current.went_live[workload.live_release_id] = _went_live_query(workload)
    return current.went_live[workload.live_release_id]


def _went_live_query(workload: Workload) -> ReleaseEvent | None:
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
    current = _current_pass(workload)
    if current is not None and release.version in current.first_hour:
        first = current.first_hour[release.version]
    else:
        first = (
            HourlyRollup.objects.filter(workload=workload, release=release.version)
            .order_by("hour")
            .values_list("hour", flat=True)
            .first()
        )
        if current is not None:
            current.first_hour[release.version] = first
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
    # A day scored again after the fact may lie before the live release went live: nothing to check.
    if now < since or now - since > timedelta(days=REGRESSION_WINDOW_DAYS):
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


# The daily task finalises yesterday at 00:20 UTC (settings.CELERY_BEAT_SCHEDULE); from this time on,
# a yesterday still without its final card lost that run (the broker down, its tasks gone).
FINAL_CATCH_UP_AFTER = time(0, 50)


def unfinished_yesterday(*, now: datetime) -> list[int]:
    """The workloads with telemetry yesterday whose scorecard of yesterday is not final (missing, or
    scored while the day still ran), once the daily run has had its chance: scored again with
    controls, they get the final card the lost run would have written. Empty before then."""
    if now.time() < FINAL_CATCH_UP_AFTER:
        return []
    yesterday = now.date() - timedelta(days=1)
    start, end = day_bounds(yesterday)
    final = set(Scorecard.objects.filter(day=yesterday, complete=True).values_list("workload_id", flat=True))
    return [pk for pk in workloads_with_telemetry(start=start, end=end) if pk not in final]


def open_alert_counts(workload_ids: list[int]) -> dict[int, int]:
    rows = (
        Alert.objects.filter(workload_id__in=workload_ids, resolved_at__isnull=True)
        .values("workload_id")
        .annotate(n=Count("id"))
    )
    return {row["workload_id"]: row["n"] for row in rows}
