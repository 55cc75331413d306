"""A workload's operations dashboard (its team's view of one workload): requests, errors, latency
against the objective, tokens, cost, quality, safety flags, drift and anomalies over the period,
every promotion and rollback drawn on the time axis, two releases side by side, and its alerts.

What it reads, in six queries whatever the number of days, releases or events:
- the period's daily scorecards: the time series (per day, or per week or month for long periods)
  and the period's figures (sums, and request-weighted means of the days' percentiles and rates);
- the two compared releases' rollups in the period, grouped by release in SQL (latency histograms
  merged bucket by bucket in the database, so none crosses the wire): monthly rows for whole
  months, daily rows for the other days scored complete, hourly rows for the rest;
- the workload's releases and release events (markers, and the default pair to compare);
- its alerts: the open ones and how many, then the period's.

``?release_a=&release_b=`` pick the releases to compare (by version); by default the live release
(B) against the one it replaced (A).
"""

from __future__ import annotations

import calendar
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Q, Value, When
from django.urls import reverse

from apps.accounts.models import User
from apps.registry.models import Release, ReleaseEvent, Workload
from apps.telemetry import stats
from apps.telemetry.models import (
    LATENCY_BUCKETS,
    Alert,
    DailyModelRollup,
    HourlyRollup,
    MonthlyModelRollup,
    Scorecard,
)

from . import charts
from .base import Chart, Dashboard, Kpi, Table, money, percent
from .filters import Filters

ZERO = Decimal(0)
ALERT_LIMIT = 50
PSI_MODERATE, PSI_SIGNIFICANT = stats.PSI_MODERATE, stats.PSI_SIGNIFICANT
SAME_WITHIN = 0.05  # two releases' figures this close (relative) are "about the same"
PROMOTION_COLOUR = "#8250df"
HALF_STEP = {"day": timedelta(hours=12), "week": timedelta(days=3, hours=12), "month": timedelta(days=15)}
MEANS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "quality_score", "safety_flag_rate")


# --- The series: scorecards per day (or week, month) ------------------------------------------------


@dataclass
class Step:
    """The scorecards of a day, or of a week or month summed: counts and money added, percentiles
    and rates the request-weighted mean of the days' (one day: its own figure)."""

    start: date
    days: int = 0
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = ZERO
    budget_pace: Decimal = ZERO
    drift: float | None = None
    objective_met: int = 0  # days whose p95 met the objective
    objective_judged: int = 0
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def add(self, card: dict[str, Any], budget: Decimal | None) -> None:
        self.days += 1
        self.requests += card["requests"]
        self.errors += card["errors"]
        self.input_tokens += card["input_tokens"]
        self.output_tokens += card["output_tokens"]
        self.cost += card["cost"]
        if budget:
            self.budget_pace += budget / calendar.monthrange(card["day"].year, card["day"].month)[1]
        if card["drift_score"] is not None:
            self.drift = max(self.drift or 0.0, card["drift_score"])
        if card["latency_objective_met"] is not None:
            self.objective_judged += 1
            self.objective_met += card["latency_objective_met"]
        self.anomalies += [{**a, "day": card["day"]} for a in card["anomalies"] or []]
        for name in MEANS:
            if card[name] is not None:
                self.values.setdefault(name, []).append((card[name], card["requests"]))

    def mean(self, name: str) -> float | None:
        values = self.values.get(name, [])
        if len(values) == 1:
            return values[0][0]
        weight = sum(w for _, w in values)
        if not weight:
            return sum(v for v, _ in values) / len(values) if values else None
        return sum(v * w for v, w in values) / weight

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


def _step_of(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _series(cards: list[dict[str, Any]], bucket: str, budget: Decimal | None) -> tuple[list[Step], Step]:
    """The steps of the series, oldest first, and the whole period as one step."""
    steps: dict[date, Step] = {}
    total = Step(start=cards[0]["day"] if cards else date.min)
    for card in cards:
        key = _step_of(card["day"], bucket)
        steps.setdefault(key, Step(start=key)).add(card, budget)
        total.add(card, budget)
    return list(steps.values()), total


# --- Per release: hourly rollups grouped in SQL -----------------------------------------------------


@dataclass
class ReleaseSums:
    """A release's hourly rollups over the period, summed (histogram merged)."""

    version: str
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = ZERO  # US dollars (rollups are)
    quality_sum: float = 0.0
    quality_count: int = 0
    flagged: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def safety_flag_rate(self) -> float | None:
        return self.flagged / self.requests if self.requests else None

    @property
    def quality(self) -> float | None:
        return self.quality_sum / self.quality_count if self.quality_count else None

    @property
    def cost_per_request(self) -> Decimal | None:
        return self.cost / self.requests if self.requests else None

    def p(self, q: float) -> float | None:
        return stats.percentile(self.latency, q)


def _bucket_sum(index: int) -> str:
    if connection.vendor == "postgresql":
        return f"sum((latency_hist ->> {index})::bigint)"
    return f"sum(json_extract(latency_hist, '$[{index}]'))"


def _whole_months(start: datetime, end: datetime) -> tuple[date, date]:
    """The first day of the first whole month in [start, end) and of the month after the last one
    (equal when the period holds no whole month)."""
    first = start.date() if start.day == 1 and start.time() == time.min else _next_month(start.date())
    last = end.date().replace(day=1)
    return (first, last) if first < last else (first, first)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass
class _Sources:
    """Where each part of a period is read from: whole months from the monthly rollups, the days
    around them scored complete from the daily rollups, the rest (today, days not yet scored) hour
    by hour."""

    months: tuple[date, date]  # [first, last)
    days: list[date] = field(default_factory=list)
    hours: list[tuple[datetime, datetime]] = field(default_factory=list)  # [start, end) runs


def _sources(start: datetime, end: datetime, summed: set[date]) -> _Sources:
    first, last = _whole_months(start, end)
    sources = _Sources(months=(first, last))
    day = start.date()
    while datetime.combine(day, time.min, tzinfo=UTC) < end:
        if not first <= day < last:
            if day in summed:
                sources.days.append(day)
            else:
                day_start = max(start, datetime.combine(day, time.min, tzinfo=UTC))
                day_end = min(end, datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC))
                if sources.hours and sources.hours[-1][1] == day_start:
                    sources.hours[-1] = (sources.hours[-1][0], day_end)
                else:
                    sources.hours.append((day_start, day_end))
        day += timedelta(days=1)
    return sources


def _by_release(
    workload: Workload, start: datetime, end: datetime, versions: list[str], summed: set[date]
) -> dict[str, ReleaseSums]:
    """The releases' telemetry of the period, summed (the 72 latency buckets merged) by the database
    in one statement: whole months from the monthly rollups, the days ``summed`` (scored complete,
    so their daily rows are written) from the daily ones, and only what is left (today, days not
    scored yet) from the hourly ones, so a month costs about 30 rows a model and a year about what
    two months do. Written as SQL: the ORM takes longer to compile 80 aggregates than the database
    takes to run them."""
    ops = connection.ops
    dt, day = ops.adapt_datetimefield_value, ops.adapt_datefield_value
    places = ", ".join(["%s"] * len(versions))
    columns = ", ".join(_bucket_sum(i) for i in range(LATENCY_BUCKETS))
    sums = (
        "requests, errors, input_tokens, output_tokens, cost, quality_sum, quality_count, safety_flagged, latency_hist"
    )
    sources = _sources(start, end, summed)
    parts, params = [], []
    if sources.hours:
        runs = " OR ".join(["(hour >= %s AND hour < %s)"] * len(sources.hours))
        parts.append(
            f"SELECT release, {sums} FROM {HourlyRollup._meta.db_table} WHERE workload_id = %s "  # noqa: S608
            f"AND ({runs}) AND release IN ({places})"
        )
        params += [workload.pk, *(dt(t) for run in sources.hours for t in run), *versions]
    if sources.days:
        days = ", ".join(["%s"] * len(sources.days))
        parts.append(
            f"SELECT release, {sums} FROM {DailyModelRollup._meta.db_table} WHERE workload_id = %s "  # noqa: S608
            f"AND day IN ({days}) AND release IN ({places})"
        )
        params += [workload.pk, *(day(d) for d in sources.days), *versions]
    first, last = sources.months
    if first < last:
        parts.append(
            f"SELECT release, {sums} FROM {MonthlyModelRollup._meta.db_table} WHERE workload_id = %s "  # noqa: S608
            f"AND month >= %s AND month < %s AND release IN ({places})"
        )
        params += [workload.pk, day(first), day(last), *versions]
    if not parts:
        return {}
    sql = (  # constants only are formatted in
        "SELECT release, sum(requests), sum(errors), sum(input_tokens), sum(output_tokens), sum(cost), "  # noqa: S608
        f"sum(quality_sum), sum(quality_count), sum(safety_flagged), {columns} FROM ("
        + " UNION ALL ".join(parts)
        + ") AS rows GROUP BY release"
    )
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            version, requests, errors, tokens_in, tokens_out, cost, quality_sum, quality_count, flagged, *hist = row
            found[version] = ReleaseSums(
                version=version, requests=int(requests or 0), errors=int(errors or 0),
                input_tokens=int(tokens_in or 0), output_tokens=int(tokens_out or 0),
                cost=Decimal(str(cost or 0)).quantize(Decimal("0.000001")), quality_sum=float(quality_sum or 0),
                quality_count=int(quality_count or 0), flagged=int(flagged or 0), latency=[int(c or 0) for c in hist],
            )  # fmt: skip
    return found


# --- Releases: markers and the pair to compare ---------------------------------------------------------


def _text(value: str) -> str:
    """People's words (versions, reasons) for Plotly, which reads a few HTML tags in labels: as text."""
    return html.escape(value, quote=False)


@dataclass
class Marker:
    at: datetime
    kind: str  # promoted, rolled_back
    version: str
    previous: str
    reason: str

    @property
    def is_rollback(self) -> bool:
        return self.kind == ReleaseEvent.Kind.ROLLED_BACK

    @property
    def label(self) -> str:
        return _text(f"↩ {self.version} (rollback)" if self.is_rollback else f"▲ {self.version}")

    @property
    def hover(self) -> str:
        when = f"{self.at:%-d %b %Y %H:%M} UTC"
        if self.is_rollback:
            text = f"Rolled back to {self.version}" + (f" from {self.previous}" if self.previous else "")
            return _text(f"{text}, {when}" + (f": {self.reason}" if self.reason else ""))
        return _text(f"Promoted {self.version}" + (f" (replacing {self.previous})" if self.previous else "")
                     + f", {when}")  # fmt: skip

    def as_api(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind, "version": self.version, "previous": self.previous or None,
                "reason": self.reason}  # fmt: skip


def _default_pair(releases: list[dict[str, Any]], events: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(A, B): the live release (B) and the one it replaced (A); without a live release, the two
    promoted last."""
    promoted = sorted((r for r in releases if r["promoted_at"]), key=lambda r: r["promoted_at"], reverse=True)
    live = next((r for r in releases if r["status"] == Release.Status.LIVE), None)
    if live is None:
        return (promoted[1]["version"] if len(promoted) > 1 else None), (promoted[0]["version"] if promoted else None)
    went_live = [e for e in events if e["release_id"] == live["id"]]
    before = went_live[-1]["previous__version"] if went_live else None
    if before is None:
        before = next((r["version"] for r in promoted if r["id"] != live["id"]), None)
    return before, live["version"]


def _pair(
    query: Any, workload: Workload, releases: list[dict[str, Any]], events: list[dict[str, Any]], dashboard: Dashboard
) -> tuple[str | None, str | None]:
    """The releases to compare: the ones asked for (kept in the page's links), else the defaults."""
    default_a, default_b = _default_pair(releases, events)
    known = {r["version"] for r in releases}
    chosen = []
    for name, default in (("release_a", default_a), ("release_b", default_b)):
        asked = ((query.get(name) if query is not None else None) or "").strip()[:40]
        if asked and asked not in known:
            dashboard.notes.append(
                f"“{asked}” is not a release of {workload.name}"
                + (f": comparing {default} instead." if default else ".")
            )
            asked = ""
        if asked:
            dashboard.params[name] = asked
        chosen.append(asked or default)
    return chosen[0], chosen[1]


# --- The dashboard ----------------------------------------------------------------------------------


def build(*, user: User, filters: Filters, query: Any = None, workload: Workload, **_: Any) -> Dashboard:
    start = datetime.combine(filters.start, time.min, tzinfo=UTC)
    end = datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=UTC)
    currency = workload.currency
    cards = list(
        Scorecard.objects.filter(workload=workload, day__gte=filters.start, day__lte=filters.end)
        .order_by("day")
        .values("day", "requests", "errors", "input_tokens", "output_tokens", "cost", "drift_score", "anomalies",
                "latency_objective_met", "complete", *MEANS)
    )  # fmt: skip
    steps, total = _series(cards, filters.bucket, workload.monthly_budget)
    releases = list(Release.objects.filter(workload=workload).values("id", "version", "status", "promoted_at"))
    went_live = [ReleaseEvent.Kind.PROMOTED, ReleaseEvent.Kind.ROLLED_BACK]
    events = list(
        ReleaseEvent.objects.filter(workload=workload, kind__in=went_live)
        .order_by("at", "id")
        .values("at", "kind", "reason", "release_id", "release__version", "previous__version")
    )  # fmt: skip
    markers = [
        Marker(at=e["at"], kind=e["kind"], version=e["release__version"], previous=e["previous__version"] or "",
               reason=e["reason"])
        for e in events if start <= e["at"] < end
    ]  # fmt: skip
    alerts = list(
        Alert.objects.filter(workload=workload)
        .filter(Q(resolved_at__isnull=True) | Q(day__gte=filters.start, day__lte=filters.end)
                | Q(day__isnull=True, created_at__gte=start, created_at__lt=end))
        .annotate(closed=Case(When(resolved_at__isnull=True, then=Value(0)), default=Value(1)))
        .order_by("closed", "-created_at", "-id")[:ALERT_LIMIT]
    )  # fmt: skip
    open_alerts = Alert.objects.filter(workload=workload, resolved_at__isnull=True).count()

    dashboard = Dashboard(
        name="operations",
        title=f"Operations: {workload.name}",
        lead="Traffic, latency against the objective, cost, quality and safety over time, with every release "
        "promoted or rolled back marked on the time axis.",
        filters=filters,
        numbers={"currency": currency},
    )
    notes = dashboard.notes
    release_a, release_b = _pair(query, workload, releases, events, dashboard)

    notes.append(
        f"Money in {currency}. The period's figures come from its daily scorecards: counts and cost summed, "
        "latency percentiles, quality and the safety-flag rate the request-weighted mean of the days'; the releases "
        "compared merge their rollups (whole months from the monthly ones)."
    )
    if filters.bucket != "day":
        notes.append(
            f"One point per {filters.bucket}: counts and cost summed, percentiles and rates the request-weighted "
            "mean of its days'."
        )

    dashboard.kpis = _kpis(workload, filters, total, open_alerts, cards)
    layout = _TimeLayout(filters, markers)
    dashboard.charts = [
        _traffic_chart(steps, workload, layout),
        _latency_chart(steps, workload, layout),
        _tokens_chart(steps, layout),
        _cost_chart(steps, workload, layout),
        _quality_chart(steps, workload, layout),
        _safety_chart(steps, layout),
        _drift_chart(steps, layout),
    ]
    versions = [v for v in (release_a, release_b) if v]
    summed = {card["day"] for card in cards if card["complete"]}  # their daily rollups are written
    per_release = _by_release(workload, start, end, versions, summed) if versions else {}
    sides = [(v, per_release.get(v) or ReleaseSums(version=v)) for v in versions]
    for version, sums in sides:
        if not sums.requests:
            notes.append(f"No telemetry labelled {version} in this period.")
    dashboard.charts.append(_comparison_chart(sides))
    dashboard.tables = [
        _comparison_table(sides),
        _releases_table(markers, workload, filters),
        _alerts_table(alerts, workload),
    ]
    dashboard.numbers.update(
        workload={"slug": workload.slug, "name": workload.name, "team": workload.team.slug},
        objective_p95_latency_ms=workload.objective_p95_latency_ms,
        releases=[m.as_api() for m in markers],
        comparison={
            "release_a": release_a, "release_b": release_b,
            "releases": {version: _release_numbers(sums) for version, sums in sides},
        },
    )  # fmt: skip
    return dashboard


def _kpis(
    workload: Workload, filters: Filters, total: Step, open_alerts: int, cards: list[dict[str, Any]]
) -> list[Kpi]:
    objective = workload.objective_p95_latency_ms
    p95 = total.mean("latency_p95_ms")
    quality = total.mean("quality_score")
    safety = total.mean("safety_flag_rate")
    met = f"met on {total.objective_met} of {total.objective_judged} days" if total.objective_judged else ""
    error_rate = total.error_rate
    max_errors = float(workload.objective_max_error_rate) if workload.objective_max_error_rate is not None else None
    min_quality = float(workload.objective_min_quality) if workload.objective_min_quality is not None else None
    latest_drift = next((c["drift_score"] for c in reversed(cards) if c["drift_score"] is not None), None)
    cost = total.cost.quantize(Decimal("0.01"))
    tokens = total.input_tokens + total.output_tokens
    alerts_url = reverse("telemetry:workload-telemetry", args=[workload.slug]) + "#telemetry-alerts"

    def state(value: float | None, limit: float | None, *, lower_is_better: bool = True) -> str:
        if value is None or limit is None:
            return ""
        return "good" if (value <= limit if lower_is_better else value >= limit) else "bad"

    budget = f"budget {money(workload.monthly_budget, workload.currency)} a month" if workload.monthly_budget else ""
    return [
        Kpi("requests", "Requests", _count(total.requests), total.requests,
            f"{total.requests / filters.days:,.0f} a day on average"),
        Kpi("error_rate", "Error rate", percent(error_rate, 2), _round(error_rate, 6),
            f"{total.errors:,} errors" + (f" · objective ≤ {percent(max_errors)}" if max_errors is not None else ""),
            state=state(error_rate, max_errors)),
        Kpi("latency_p95", "p95 latency", _ms(p95), _round(p95, 1),
            (f"objective ≤ {objective:,} ms" + (f", {met}" if met else "") if objective else "no objective set"),
            state=state(p95, objective)),
        Kpi("tokens", "Tokens", _count(tokens), tokens,
            f"{total.input_tokens:,} in · {total.output_tokens:,} out"),
        Kpi("cost", "Cost", money(cost, workload.currency, short=True), cost, budget),
        Kpi("quality", "Quality", "—" if quality is None else f"{quality:.2f}", _round(quality, 4),
            f"minimum {min_quality:.2f}" if min_quality is not None else "score 0–1",
            state=state(quality, min_quality, lower_is_better=False)),
        Kpi("safety_flag_rate", "Safety-flag rate", percent(safety, 2), _round(safety, 6),
            "share of requests flagged"),
        Kpi("drift", "Drift (latest PSI)", "—" if latest_drift is None else f"{latest_drift:.2f}", latest_drift,
            f"≥ {PSI_SIGNIFICANT} is significant",
            state="" if latest_drift is None else "bad" if latest_drift >= PSI_SIGNIFICANT else "good"),
        Kpi("open_alerts", "Open alerts", str(open_alerts), open_alerts, "on the Telemetry tab", alerts_url,
            "bad" if open_alerts else "good"),
    ]  # fmt: skip


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _count(n: int) -> str:
    """Short enough for a KPI card: 1,320 · 45.2 k · 1.45 M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:,.2f} M"
    if n >= 10_000:
        return f"{n / 1_000:.1f} k"
    return f"{n:,}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _pct(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value * 100, places)


def _num(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


# Figures as plain Plotly JSON: validating them through plotly.graph_objects costs ~5 ms a figure,
# most of this page's time; the browser tests check that plotly.js draws them without a complaint.
def bar(**attrs: Any) -> dict[str, Any]:
    return {"type": "bar", **attrs}


def scatter(**attrs: Any) -> dict[str, Any]:
    return {"type": "scatter", **attrs}


def _figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    # No template: plotly.js's own defaults are the plain look charts.layout's "none" asks for.
    return {"data": traces, "layout": {k: v for k, v in layout.items() if k != "template"}}


# --- Time charts ------------------------------------------------------------------------------------


class _TimeLayout:
    """One date axis for every time chart (the whole period shown) with the release markers: a
    vertical line and a label per promotion, dashed and red for a rollback."""

    def __init__(self, filters: Filters, markers: list[Marker]) -> None:
        half = HALF_STEP[filters.bucket]
        first = datetime.combine(_step_of(filters.start, filters.bucket), time.min)
        self.range = [(first - half).isoformat(), (datetime.combine(filters.end, time.min) + half).isoformat()]
        self.unit = filters.bucket
        self.shapes: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        for i, marker in enumerate(markers):
            colour = charts.DANGER if marker.is_rollback else PROMOTION_COLOUR
            x = marker.at.replace(tzinfo=None).isoformat()
            self.shapes.append({
                "type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                "line": {"color": colour, "width": 2, "dash": "dash" if marker.is_rollback else "solid"},
                "name": f"release-{marker.kind}-{marker.version}",
            })  # fmt: skip
            self.annotations.append({
                "x": x, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom", "yshift": 2 + 14 * (i % 2),
                "text": marker.label, "hovertext": marker.hover, "showarrow": False,
                "font": {"color": colour, "size": 11}, "bgcolor": "rgba(255,255,255,0.85)",
                "name": f"release-{marker.kind}-{marker.version}",
            })  # fmt: skip

    def __call__(self, y_title: str, **extra: Any) -> dict[str, Any]:
        margin = {"t": 44 if self.annotations else 16, **extra.pop("margin", {})}
        return charts.layout(
            y_title=y_title, dates=True, shapes=self.shapes, annotations=self.annotations, margin=margin,
            xaxis={"range": self.range}, **extra,
        )  # fmt: skip


def _x(steps: list[Step]) -> list[str]:
    return [s.start.isoformat() for s in steps]


def _anomalies(steps: list[Step], metric: str, y: Callable[[Step], float | None], yaxis: str = "y") -> list[Any]:
    """Red crosses on the days a metric was anomalous (scoring's robust z-score)."""
    xs, ys, texts = [], [], []
    for s in steps:
        found = [a for a in s.anomalies if a["metric"] == metric]
        if found and y(s) is not None:
            xs.append(s.start.isoformat())
            ys.append(y(s))
            texts.append("; ".join(f"{a['label']} {a['value']} against a usual {a['median']} (z {a['z']})"
                                   for a in found))  # fmt: skip
    if not xs:
        return []
    return [scatter(name="Anomaly", x=xs, y=ys, mode="markers", yaxis=yaxis, hovertext=texts,
                       marker={"symbol": "x", "size": 12, "color": charts.DANGER, "line": {"width": 1}},
                       hovertemplate="%{hovertext}<extra>Anomaly</extra>")]  # fmt: skip


def _first_column(layout: _TimeLayout) -> str:
    return {"day": "Day", "week": "Week of", "month": "Month"}[layout.unit]


def _traffic_chart(steps: list[Step], workload: Workload, layout: _TimeLayout) -> Chart:
    x = _x(steps)
    rates = [_pct(s.error_rate) for s in steps]
    traces: list[Any] = [
        bar(name="Successful", x=x, y=[s.requests - s.errors for s in steps], marker={"color": charts.PRIMARY}),
        bar(name="Errors", x=x, y=[s.errors for s in steps], marker={"color": charts.DANGER}),
        scatter(name="Error rate", x=x, y=rates, yaxis="y2", mode="lines", line={"color": charts.ACCENT, "width": 2},
                   hovertemplate="%{y:.2f} %<extra>Error rate</extra>"),
    ]  # fmt: skip
    if workload.objective_max_error_rate is not None and steps:
        limit = float(workload.objective_max_error_rate) * 100
        traces.append(scatter(name="Error-rate objective", x=x, y=[limit] * len(x), yaxis="y2", mode="lines",
                                 line={"color": charts.DANGER, "dash": "dot", "width": 1},
                                 hovertemplate="%{y:.2f} %<extra>Objective</extra>"))  # fmt: skip
    traces += _anomalies(steps, "requests", lambda s: s.requests)
    traces += _anomalies(steps, "error_rate", lambda s: _pct(s.error_rate), yaxis="y2")
    figure = _figure(traces, layout(
        "Requests", barmode="stack", margin={"r": 56},
        yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False, "zeroline": False,
                "tickmode": "auto", "ticksuffix": " %"},
    ))  # fmt: skip
    return Chart(
        "traffic", "Requests and errors", figure, [_first_column(layout), "Requests", "Errors", "Error rate (%)"],
        [[s.start, s.requests, s.errors, r] for s, r in zip(steps, rates, strict=True)],
        description="successful requests and errors as stacked bars, the error rate as a line; releases marked",
    )  # fmt: skip


def _latency_chart(steps: list[Step], workload: Workload, layout: _TimeLayout) -> Chart:
    x = _x(steps)
    lines = {q: [_round(s.mean(f"latency_{q}_ms"), 1) for s in steps] for q in ("p50", "p95", "p99")}
    look = {"p50": (charts.MUTED, 1), "p95": (charts.PRIMARY, 2), "p99": ("#5b8db8", 1)}
    traces: list[Any] = [
        scatter(name=q, x=x, y=ys, mode="lines+markers" if q == "p95" else "lines",
                   line={"color": look[q][0], "width": look[q][1]},
                   hovertemplate="%{y:,.0f} ms<extra>" + q + "</extra>")
        for q, ys in lines.items()
    ]  # fmt: skip
    objective = workload.objective_p95_latency_ms
    if objective and steps:
        traces.append(scatter(name="p95 objective", x=x, y=[objective] * len(x), mode="lines",
                                 line={"color": charts.DANGER, "dash": "dash", "width": 2},
                                 hovertemplate="%{y:,.0f} ms<extra>Objective</extra>"))  # fmt: skip
    traces += _anomalies(steps, "latency_p95_ms", lambda s: _round(s.mean("latency_p95_ms"), 1))
    return Chart(
        "latency", "Latency", _figure(traces, layout("Latency (ms)")),
        [_first_column(layout), "p50 (ms)", "p95 (ms)", "p99 (ms)", "p95 objective (ms)"],
        [[s.start, lines["p50"][i], lines["p95"][i], lines["p99"][i], objective] for i, s in enumerate(steps)],
        description="p50, p95 and p99 latency against the p95 objective; releases marked",
    )  # fmt: skip


def _tokens_chart(steps: list[Step], layout: _TimeLayout) -> Chart:
    x = _x(steps)
    traces = [
        bar(name="Input", x=x, y=[s.input_tokens for s in steps], marker={"color": charts.PRIMARY}),
        bar(name="Output", x=x, y=[s.output_tokens for s in steps], marker={"color": charts.ACCENT}),
    ]
    return Chart(
        "tokens", "Tokens", _figure(traces, layout("Tokens", barmode="stack")),
        [_first_column(layout), "Input tokens", "Output tokens"],
        [[s.start, s.input_tokens, s.output_tokens] for s in steps],
        description="input and output tokens as stacked bars; releases marked",
    )  # fmt: skip


def _cost_chart(steps: list[Step], workload: Workload, layout: _TimeLayout) -> Chart:
    x = _x(steps)
    currency = workload.currency
    traces: list[Any] = [
        bar(name="Cost", x=x, y=[float(s.cost) for s in steps], marker={"color": charts.PRIMARY},
               hovertemplate="%{y:,.2f} " + currency + "<extra>Cost</extra>"),
    ]  # fmt: skip
    columns = [_first_column(layout), f"Cost ({currency})"]
    rows = [[s.start, s.cost.quantize(Decimal("0.01"))] for s in steps]
    if workload.monthly_budget:
        traces.append(scatter(name="Budget pace", x=x, y=[float(s.budget_pace) for s in steps], mode="lines",
                                 line={"color": charts.ACCENT, "dash": "dash", "width": 2},
                                 hovertemplate="%{y:,.2f} " + currency + "<extra>Budget pace</extra>"))  # fmt: skip
        columns.append(f"Budget pace ({currency})")
        for row, s in zip(rows, steps, strict=True):
            row.append(s.budget_pace.quantize(Decimal("0.01")))
    traces += _anomalies(steps, "token_cost", lambda s: float(s.cost))
    return Chart(
        "cost", "Cost", _figure(traces, layout(f"Cost ({currency})")), columns, rows,
        description="cost (tokens and the fixed run cost) against the monthly budget's pace; releases marked",
    )  # fmt: skip


def _quality_chart(steps: list[Step], workload: Workload, layout: _TimeLayout) -> Chart:
    x = _x(steps)
    scores = [_round(s.mean("quality_score"), 4) for s in steps]
    traces: list[Any] = [
        scatter(name="Quality", x=x, y=scores, mode="lines+markers", line={"color": charts.PRIMARY, "width": 2},
                   hovertemplate="%{y:.2f}<extra>Quality</extra>"),
    ]  # fmt: skip
    floor = float(workload.objective_min_quality) if workload.objective_min_quality is not None else None
    if floor is not None and steps:
        traces.append(scatter(name="Minimum quality", x=x, y=[floor] * len(x), mode="lines",
                                 line={"color": charts.DANGER, "dash": "dash", "width": 2},
                                 hovertemplate="%{y:.2f}<extra>Minimum</extra>"))  # fmt: skip
    traces += _anomalies(steps, "quality_score", lambda s: _round(s.mean("quality_score"), 4))
    figure = _figure(traces, layout("Score (0–1)", yaxis={"range": [0, 1.05], "rangemode": "normal"}))
    return Chart(
        "quality", "Quality", figure, [_first_column(layout), "Quality (0–1)", "Minimum quality"],
        [[s.start, q, floor] for s, q in zip(steps, scores, strict=True)] if any(q is not None for q in scores) else [],
        description="mean quality score against the minimum; releases marked",
        empty="No quality scores in this period.",
    )  # fmt: skip


def _safety_chart(steps: list[Step], layout: _TimeLayout) -> Chart:
    x = _x(steps)
    rates = [_pct(s.mean("safety_flag_rate")) for s in steps]
    traces: list[Any] = [
        scatter(name="Safety-flag rate", x=x, y=rates, mode="lines+markers", line={"color": "#bc4c00", "width": 2},
                   hovertemplate="%{y:.2f} %<extra>Safety flags</extra>"),
    ]  # fmt: skip
    traces += _anomalies(steps, "safety_flag_rate", lambda s: _pct(s.mean("safety_flag_rate")))
    return Chart(
        "safety", "Safety-flag rate", _figure(traces, layout("Requests flagged (%)")),
        [_first_column(layout), "Safety-flag rate (%)"], [[s.start, r] for s, r in zip(steps, rates, strict=True)],
        description="share of requests with a safety flag; releases marked",
    )  # fmt: skip


def _drift_chart(steps: list[Step], layout: _TimeLayout) -> Chart:
    x = _x(steps)
    scores = [_round(s.drift, 4) for s in steps]
    counts = [len(s.anomalies) for s in steps]
    traces: list[Any] = [
        scatter(name="Drift (PSI)", x=x, y=scores, mode="lines+markers", line={"color": charts.PRIMARY, "width": 2},
                   hovertemplate="%{y:.3f}<extra>PSI</extra>"),
        scatter(name="Moderate (0.1)", x=x, y=[PSI_MODERATE] * len(x), mode="lines",
                   line={"color": charts.ACCENT, "dash": "dot", "width": 1}, hoverinfo="skip"),
        scatter(name="Significant (0.25)", x=x, y=[PSI_SIGNIFICANT] * len(x), mode="lines",
                   line={"color": charts.DANGER, "dash": "dash", "width": 1}, hoverinfo="skip"),
    ]  # fmt: skip
    flagged = [(s, n) for s, n in zip(steps, counts, strict=True) if n]
    if flagged:
        traces.append(scatter(
            name="Anomalies", x=[s.start.isoformat() for s, _ in flagged], y=[n for _, n in flagged], yaxis="y2",
            mode="markers", marker={"symbol": "x", "size": 12, "color": charts.DANGER},
            hovertext=["; ".join(a["label"] for a in s.anomalies) for s, _ in flagged],
            hovertemplate="%{y} · %{hovertext}<extra>Anomalies</extra>",
        ))  # fmt: skip
    figure = _figure(traces, layout(
        "PSI", margin={"r": 56},
        yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False, "zeroline": False,
                "tickmode": "linear", "tick0": 0, "dtick": 1},
    ))  # fmt: skip
    rows = [[s.start, d, n, ", ".join(a["label"] for a in s.anomalies)] for s, d, n in zip(steps, scores, counts,
                                                                                         strict=True)]  # fmt: skip
    return Chart(
        "drift", "Drift and anomalies", figure, [_first_column(layout), "Drift (PSI)", "Anomalies", "Anomalous"],
        rows if any(d is not None for d in scores) or any(counts) else [],
        description="population stability index of latency and quality against the live release's baseline "
        "(0.25 and above is significant), with the days' anomalies; releases marked",
        empty="No drift score or anomaly in this period: drift needs a live release with three days of baseline.",
    )  # fmt: skip


# --- Release comparison -----------------------------------------------------------------------------

# (label, value of a release, harmful direction: +1 up, -1 down, 0 neither, how the change reads)
MEASURES: list[tuple[str, Callable[[ReleaseSums], Any], int, str]] = [
    ("Requests", lambda r: r.requests if r.requests else None, 0, "relative"),
    ("Error rate (%)", lambda r: _pct(r.error_rate), 1, "points"),
    ("p50 latency (ms)", lambda r: _round(r.p(0.5), 1), 1, "relative"),
    ("p95 latency (ms)", lambda r: _round(r.p(0.95), 1), 1, "relative"),
    ("Quality (0–1)", lambda r: _round(r.quality, 3), -1, "absolute"),
    ("Token cost per request (USD)",
     lambda r: None if r.cost_per_request is None else r.cost_per_request.quantize(Decimal("0.000001")), 1, "relative"),
    ("Safety-flag rate (%)", lambda r: _pct(r.safety_flag_rate), 1, "points"),
]  # fmt: skip


def _change(a: Any, b: Any, direction: int, reads: str) -> tuple[str, str]:
    """How B differs from A ("up 8.00 pts", "down 25.0 %": words, not signs, so a spreadsheet
    reads them as text), and whether that is worse, better or about the same."""
    if a is None or b is None:
        return "—", ""
    a, b = float(a), float(b)
    diff = b - a
    if reads == "points":
        amount = f"{abs(diff):.2f} pts"
    elif reads == "absolute":
        amount = f"{abs(diff):.3f}"
    else:
        amount = f"{abs(diff / a) * 100:.1f} %" if a else ""
    text = "no change" if diff == 0 else f"{'up' if diff > 0 else 'down'} {amount}".strip()
    scale = max(abs(a), abs(b))
    if direction == 0:
        return text, ""
    if not scale or abs(diff) <= SAME_WITHIN * scale:
        return text, "about the same"
    return text, "worse" if diff * direction > 0 else "better"


def _comparison_table(sides: list[tuple[str, ReleaseSums]]) -> Table:
    description = ("Each release's hourly rollups in the period, side by side; “worse” or “better” when more than "
                   f"{SAME_WITHIN:.0%} apart. Pick others with ?release_a=&release_b= (versions), or follow a "
                   "release below.")  # fmt: skip
    if len(sides) < 2:
        return Table("release-comparison", "Releases side by side", ["Measure", *(v for v, _ in sides)],
                     [], description=description,
                     empty="Two releases that have been live are needed to compare.")  # fmt: skip
    (a_version, a), (b_version, b) = sides
    rows = []
    for label, value, direction, reads in MEASURES:
        va, vb = value(a), value(b)
        rows.append([label, va, vb, *_change(va, vb, direction, reads)])
    return Table(
        "release-comparison", f"Releases side by side: {a_version} (A) and {b_version} (B)",
        ["Measure", f"{a_version} (A)", f"{b_version} (B)", "Change (B − A)", "B against A"],
        rows if a.requests or b.requests else [], description=description,
        empty=f"No telemetry labelled {a_version} or {b_version} in this period.",
    )  # fmt: skip


def _comparison_chart(sides: list[tuple[str, ReleaseSums]]) -> Chart:
    panels = [("Error rate (%)", lambda r: _pct(r.error_rate)), ("p95 latency (ms)", lambda r: _round(r.p(0.95), 1)),
              ("Quality (0–1)", lambda r: _round(r.quality, 3)),
              ("Token cost / request (USD)", lambda r: _num(r.cost_per_request))]  # fmt: skip
    colours = [charts.MUTED, charts.ACCENT]  # A grey, B amber
    with_data = [(v, r, colours[i]) for i, (v, r) in enumerate(sides) if r.requests]
    # Small multiples, two by two: one measure a panel, a bar a release.
    gap, width, height = 0.14, 0.43, 0.36
    base = charts.layout(height=380)
    layout: dict[str, Any] = {"height": 380, "font": base["font"], "hovermode": "closest", "showlegend": False,
                              "margin": {"l": 56, "r": 16, "t": 28, "b": 32}, "annotations": []}  # fmt: skip
    traces = []
    for i, (title, value) in enumerate(panels):
        n = "" if i == 0 else str(i + 1)
        left = (i % 2) * (width + gap)
        bottom = 1 - height if i < 2 else 0.0
        layout[f"xaxis{n}"] = {"domain": [left, left + width], "anchor": f"y{n}", "type": "category"}
        layout[f"yaxis{n}"] = {**base["yaxis"], "domain": [bottom, bottom + height], "anchor": f"x{n}",
                               "title": {"text": ""}}  # fmt: skip
        layout["annotations"].append({"text": title, "x": left + width / 2, "xref": "paper", "y": bottom + height,
                                      "yref": "paper", "yanchor": "bottom", "showarrow": False,
                                      "font": {"size": 12}})  # fmt: skip
        traces.append(bar(
            x=[_text(v) for v, _, _ in with_data], y=[value(r) for _, r, _ in with_data], name=title, xaxis=f"x{n}",
            yaxis=f"y{n}", marker={"color": [c for _, _, c in with_data]},
            hovertemplate="%{x}: %{y}<extra>" + title + "</extra>",
        ))  # fmt: skip
    rows = [[v, _pct(r.error_rate), _round(r.p(0.95), 1), _round(r.quality, 3),
             None if r.cost_per_request is None else r.cost_per_request.quantize(Decimal("0.000001")), r.requests]
            for v, r, _ in with_data]  # fmt: skip
    label = " and ".join(v for v, _ in sides) or "the releases"
    return Chart(
        "release-chart", "Releases compared", {"data": traces, "layout": layout},
        ["Release", "Error rate (%)", "p95 latency (ms)", "Quality (0–1)", "Token cost per request (USD)", "Requests"],
        rows, description=f"error rate, p95 latency, quality and token cost per request of {label}, side by side",
        empty="No telemetry of the releases compared in this period.",
    )  # fmt: skip


def _release_numbers(sums: ReleaseSums) -> dict[str, Any]:
    return {
        "requests": sums.requests, "errors": sums.errors, "error_rate": _round(sums.error_rate, 6),
        "latency_p50_ms": _round(sums.p(0.5), 1), "latency_p95_ms": _round(sums.p(0.95), 1),
        "latency_p99_ms": _round(sums.p(0.99), 1), "quality_score": _round(sums.quality, 4),
        "cost_usd": sums.cost, "cost_per_request_usd": sums.cost_per_request,
        "safety_flag_rate": _round(sums.safety_flag_rate, 6),
    }  # fmt: skip


# --- Tables -------------------------------------------------------------------------------------------


def _releases_table(markers: list[Marker], workload: Workload, filters: Filters) -> Table:
    here = reverse("dashboards:operations", args=[workload.slug])
    rows, links = [], []
    for m in reversed(markers):
        rows.append([m.version, "Rolled back to" if m.is_rollback else "Promoted", f"{m.at:%Y-%m-%d %H:%M}",
                     m.previous or None, m.reason or None])  # fmt: skip
        links.append(f"{here}?{filters.query(release_a=m.previous, release_b=m.version)}" if m.previous else "")
    return Table(
        "releases", "Releases promoted and rolled back", ["Release", "Event", "When (UTC)", "Replacing", "Reason"],
        rows, links=links, description="Marked on every chart above (a rollback dashed, in red). Follow a release "
        "to compare it with the one it replaced.", empty="No release was promoted or rolled back in this period.",
    )  # fmt: skip


def _alerts_table(alerts: list[Alert], workload: Workload) -> Table:
    url = reverse("telemetry:workload-telemetry", args=[workload.slug]) + "#telemetry-alerts"
    rows = [
        [a.title, a.get_kind_display(), a.get_severity_display(), a.day,
         "open" if a.is_open else f"resolved {a.resolved_at:%Y-%m-%d}"]
        for a in alerts
    ]  # fmt: skip
    return Table(
        "alerts", "Alerts", ["Alert", "Kind", "Severity", "Day", "State"], rows,
        links=[url if a.is_open else "" for a in alerts],
        description=f"Open alerts first, then the period's (at most {ALERT_LIMIT}); resolve them on the Telemetry tab.",
        empty="No alert open or raised in this period.",
    )  # fmt: skip
