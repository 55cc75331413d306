"""The model comparison dashboard: each catalogue model's cost per request, latency, error rate,
quality and safety flags, across the organisation's own telemetry and per use-case category — the
evidence for "model choice and refinement" (DESIGN.md).

It reads monthly rollups only, so the period is taken in whole calendar months: every month the
period overlaps. Telemetry is grouped by catalogue model (names the catalogue does not know make
one "unpriced" group) and by the workload's use-case category; latency histograms are merged
bucket by bucket, so percentiles come out as scoring computes them from merged hours.

- Organisation-wide (no team, risk tier or stage chosen; the model filter may be): one query over
  ``telemetry.MonthlyCategoryRollup``, the rows per month, model and category across workloads
  (a few hundred a year whatever the number of workloads), rebuilt every quarter hour; the page
  says when.
- Narrowed to a team, risk tier or stage: two queries over the monthly rows of those workloads
  (``telemetry.MonthlyModelRollup``), the sums per model and category and the number of
  workloads behind them.

Everyone signed in sees it all: it shows figures per model and category, never a team's or a
workload's (``rules.py``). The ``model`` filter keeps that model's telemetry (in the workloads the
other filters select) rather than every model of the workloads that declare it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.registry.models import AIModel, UseCaseCategory
from apps.telemetry import stats
from apps.telemetry.models import LATENCY_BUCKETS, MonthlyCategoryRollup, MonthlyModelRollup

from . import charts
from .base import REPORTING_CURRENCY, Chart, Dashboard, Kpi, Table, percent
from .filters import Filters

UNKNOWN = "Unpriced / not in catalogue"
APPROVED = {AIModel.ApprovalStatus.APPROVED, AIModel.ApprovalStatus.CONDITIONAL}
PER = 1000  # cost is shown per this many requests: a single request costs fractions of a cent
COST = f"Cost per 1,000 requests ({REPORTING_CURRENCY})"
CATEGORIES = dict(UseCaseCategory.choices)


@dataclass
class Figures:
    """One model's (or one model × category cell's) telemetry, summed over the months read."""

    workloads: int = 0
    requests: int = 0
    errors: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    quality_sum: float = 0.0
    quality_count: int = 0
    flagged: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)

    def add(self, other: Figures) -> None:
        self.workloads += other.workloads  # a workload has one category: cells never share one
        self.requests += other.requests
        self.errors += other.errors
        self.cost += other.cost
        self.unpriced += other.unpriced
        self.quality_sum += other.quality_sum
        self.quality_count += other.quality_count
        self.flagged += other.flagged
        self.latency = [a + b for a, b in zip(self.latency, other.latency, strict=True)]

    @property
    def cost_per_1k(self) -> Decimal | None:
        """Over priced requests only: an unpriced request has no cost, not a zero one."""
        priced = self.requests - self.unpriced
        return (self.cost * PER / priced).quantize(Decimal("0.0001")) if priced > 0 else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def flag_rate(self) -> float | None:
        return self.flagged / self.requests if self.requests else None

    @property
    def quality(self) -> float | None:
        return round(self.quality_sum / self.quality_count, 3) if self.quality_count else None

    def p(self, q: float) -> float | None:
        value = stats.percentile(self.latency, q)
        return None if value is None else round(value, 1)


@dataclass
class Model:
    """A catalogue model, or the group of names the catalogue does not know (``pk`` None)."""

    pk: int | None
    label: str
    provider: str = ""
    approval: str = ""  # the catalogue's approval status label
    approved: bool = False
    prohibited: bool = False
    url: str = ""
    total: Figures = field(default_factory=Figures)
    cells: dict[str, Figures] = field(default_factory=dict)  # use-case category → figures


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _per_1k(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.{2 if value >= 1 else 4}f} {REPORTING_CURRENCY}"


def months_read(filters: Filters) -> tuple[date, date]:
    """The first days of the first and last calendar months the period overlaps."""
    return filters.start.replace(day=1), filters.end.replace(day=1)


def organisation_wide(filters: Filters) -> bool:
    """No team, risk tier or stage chosen: every workload's telemetry, which the rows per month,
    model and category answer (the model filter too: they are per model)."""
    return not (filters.team or filters.risk_tier or filters.stage)


def _rollups(filters: Filters) -> Any:
    first, last = months_read(filters)
    workloads = dataclasses.replace(filters, model=None).workloads().values("pk")
    rows = MonthlyModelRollup.objects.filter(workload__in=workloads, month__gte=first, month__lte=last)
    if filters.model:
        rows = rows.filter(ai_model=filters.model)
    return rows


# The latency histograms are merged by the database, bucket by bucket (a JSON array index on both
# PostgreSQL and SQLite): one row per model and category comes back instead of one per workload,
# month and model, each a JSON array to parse.
_BUCKET_SUMS = {
    f"b{index}": Sum(Cast(KeyTextTransform(str(index), "latency_hist"), BigIntegerField()))
    for index in range(LATENCY_BUCKETS)
}
_MODEL = ("ai_model_id", "ai_model__display_name", "ai_model__provider", "ai_model__slug", "ai_model__approval_status")


@dataclass
class _Cells:
    """Each (model, category) cell's figures and the model's catalogue entry; the workloads behind
    them all (``None``: count them with another query)."""

    models: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    figures: dict[tuple[int | None, str], Figures] = field(default_factory=dict)
    workloads: set[int] | None = None
    refreshed_at: Any = None


def _cells_per_workload(filters: Filters) -> _Cells:
    """From the monthly rows of the workloads the filters select: one aggregate per model and
    category (a few thousand rows a year at 200 workloads)."""
    sums = (
        _rollups(filters)
        .values(*_MODEL, "workload__use_case_category")
        .annotate(n_workloads=Count("workload_id", distinct=True), n_requests=Sum("requests"),
                  n_errors=Sum("errors"), total_cost=Sum("cost"), n_unpriced=Sum("unpriced_requests"),
                  total_quality=Sum("quality_sum"), n_quality=Sum("quality_count"), n_flagged=Sum("safety_flagged"),
                  **_BUCKET_SUMS)
        .order_by()
    )  # fmt: skip
    cells = _Cells()
    for row in sums:
        cells.models.setdefault(row["ai_model_id"], row)
        cells.figures[row["ai_model_id"], row["workload__use_case_category"]] = Figures(
            workloads=row["n_workloads"], requests=row["n_requests"] or 0, errors=row["n_errors"] or 0,
            cost=row["total_cost"] or Decimal(0), unpriced=row["n_unpriced"] or 0,
            quality_sum=row["total_quality"] or 0.0, quality_count=row["n_quality"] or 0,
            flagged=row["n_flagged"] or 0, latency=[int(row[f"b{i}"] or 0) for i in range(LATENCY_BUCKETS)],
        )  # fmt: skip
    return cells


def _cells_organisation_wide(filters: Filters) -> _Cells:
    """From the rows per month, model and category (``telemetry.MonthlyCategoryRollup``): a few
    hundred a year whatever the number of workloads, summed here across the months."""
    first, last = months_read(filters)
    rows = MonthlyCategoryRollup.objects.filter(month__gte=first, month__lte=last)
    if filters.model:
        rows = rows.filter(ai_model=filters.model)
    cells = _Cells(workloads=set())
    behind: dict[tuple[int | None, str], set[int]] = {}
    for row in rows.values(*_MODEL, "use_case_category", "workload_ids", "requests", "errors", "cost",
                           "unpriced_requests", "latency_hist", "quality_sum", "quality_count", "safety_flagged",
                           "refreshed_at").order_by():  # fmt: skip
        key = (row["ai_model_id"], row["use_case_category"])
        cells.models.setdefault(row["ai_model_id"], row)
        cell = cells.figures.get(key)
        if cell is None:
            cell = cells.figures[key] = Figures()
            behind[key] = set()
        behind[key].update(row["workload_ids"])
        cell.requests += row["requests"]
        cell.errors += row["errors"]
        cell.cost += row["cost"]
        cell.unpriced += row["unpriced_requests"]
        cell.quality_sum += row["quality_sum"]
        cell.quality_count += row["quality_count"]
        cell.flagged += row["safety_flagged"]
        latency = cell.latency
        for index, count in enumerate(row["latency_hist"][:LATENCY_BUCKETS]):
            if count:
                latency[index] += count
        if cells.refreshed_at is None or row["refreshed_at"] < cells.refreshed_at:
            cells.refreshed_at = row["refreshed_at"]
    for key, ids in behind.items():
        cells.figures[key].workloads = len(ids)
        cells.workloads.update(ids)
    return cells


def _models(filters: Filters) -> tuple[list[Model], int, Any]:
    """Every model with telemetry in the months read, busiest first, each with its figures per
    use-case category; how many workloads sent that telemetry; and, read from the rows across
    workloads, when they were rebuilt (None otherwise)."""
    cells = _cells_organisation_wide(filters) if organisation_wide(filters) else _cells_per_workload(filters)
    models: dict[int | None, Model] = {}
    for (pk, category), figures in cells.figures.items():
        model = models.get(pk)
        if model is None:
            row = cells.models[pk]
            status = row["ai_model__approval_status"] or ""
            model = models[pk] = Model(
                pk=pk, label=row["ai_model__display_name"] or UNKNOWN, provider=row["ai_model__provider"] or "",
                approval=str(AIModel.ApprovalStatus(status).label) if status else "Not in the catalogue",
                approved=status in APPROVED, prohibited=status == AIModel.ApprovalStatus.PROHIBITED,
                url=reverse("registry:model-detail", args=[row["ai_model__slug"]]) if pk else "",
            )  # fmt: skip
        model.cells[category] = figures
    if cells.workloads is not None:
        workloads = len(cells.workloads)
    else:
        workloads = _rollups(filters).aggregate(n=Count("workload_id", distinct=True))["n"] if models else 0
    for model in models.values():
        for cell in model.cells.values():
            model.total.add(cell)
    labels = [m.label for m in models.values()]
    for model in models.values():
        if model.provider and labels.count(model.label) > 1:
            model.label = f"{model.label} ({model.provider})"
    busiest = sorted(models.values(), key=lambda m: (m.pk is None, -m.total.requests, m.label))
    return [m for m in busiest if m.total.requests], workloads, cells.refreshed_at


def build(*, user: User, filters: Filters, query: Any = None, **_: Any) -> Dashboard:
    models, workloads, refreshed_at = _models(filters)
    first, last = months_read(filters)
    months = f"{first:%B %Y}" if first == last else f"{first:%B %Y} to {last:%B %Y}"
    dashboard = Dashboard(
        name="models",
        title="Model comparison",
        lead="Each model's cost per request, latency, error rate and quality across the organisation's own "
        "telemetry, per use-case category: the evidence for choosing and refining models.",
        filters=filters,
        numbers={
            "currency": REPORTING_CURRENCY,
            "months": {"first": first, "last": last},
            "organisation_wide_as_of": refreshed_at,
        },
    )
    dashboard.notes = [
        f"Read in whole calendar months: {months}, the months the period overlaps.",
        "Figures are organisation-wide, per model and use-case category; no team's own figures are shown. "
        f"Cost per request counts priced requests only, in {REPORTING_CURRENCY}."
        + (" The model filter keeps that model's telemetry in the workloads the other filters select."
           if filters.model else ""),
    ]  # fmt: skip
    if refreshed_at is not None:
        dashboard.notes.append(
            f"Organisation-wide figures as of {timezone.localtime(refreshed_at):%-d %b %Y %H:%M}: rebuilt from the "
            "workloads' monthly rollups every quarter hour."
        )
    dashboard.kpis = _kpis(models, workloads, filters)
    dashboard.charts = [
        _bar(models, "cost", "Cost per request by model", COST, lambda f: f.cost_per_1k,
             "token cost per 1,000 priced requests", "%{y:,.4f} " + REPORTING_CURRENCY),
        _bar(models, "latency", "p95 latency by model", "p95 latency (ms)", lambda f: f.p(0.95),
             "95th percentile of response time, from the merged latency histograms", "%{y:,.0f} ms"),
        _bar(models, "errors", "Error rate by model", "Error rate (%)", lambda f: _pct(f.error_rate),
             "share of requests that failed", "%{y:.2f} %"),
        _bar(models, "quality", "Quality by model", "Quality score (0–1)", lambda f: f.quality,
             "mean quality score of the scored requests", "%{y:.3f}"),
        _heatmap(models),
        _scatter(models),
    ]  # fmt: skip
    dashboard.tables = [_table(models)]
    return dashboard


def _kpis(models: list[Model], workloads: int, filters: Filters) -> list[Kpi]:
    total = Figures()
    for model in models:
        total.add(model.total)
    known = [m for m in models if m.pk is not None]
    unknown = sum(m.total.requests for m in models if m.pk is None)
    approved = sum(m.total.requests for m in models if m.approved)
    prohibited = sum(m.total.requests for m in models if m.prohibited)
    share = approved / total.requests if total.requests else None
    url = filters.registry_url()
    return [
        Kpi("models", "Models in use", str(len(known)), len(known),
            f"and {unknown:,} requests on names not in the catalogue" if unknown else "from the catalogue", url),
        Kpi("requests", "Requests", f"{total.requests:,}", total.requests,
            f"from {workloads:,} workload{'' if workloads == 1 else 's'}", url),
        Kpi("cost-per-1k", "Cost per 1,000 requests", _per_1k(total.cost_per_1k), total.cost_per_1k,
            f"{total.cost:,.2f} {REPORTING_CURRENCY} of token cost in all", url),
        Kpi("approved-share", "Requests on approved models", percent(share), None if share is None else round(share, 4),
            f"{prohibited:,} on prohibited models" if prohibited else "approved, or approved with conditions", url,
            "bad" if prohibited else "good" if share == 1 else ""),
    ]  # fmt: skip


def _bar(models: list[Model], key: str, title: str, y_title: str, value: Any, description: str, hover: str) -> Chart:
    shown = [(m, value(m.total)) for m in models]
    shown = [(m, v) for m, v in shown if v is not None]
    figure = charts.figure(
        [charts.trace("bar", x=[m.label for m, _ in shown], y=[float(v) for _, v in shown], name=y_title,
                marker={"color": [_colour(models, m) for m, _ in shown]}, hovertemplate=hover + "<extra>%{x}</extra>")],
        charts.layout(y_title=y_title, height=300),
    )  # fmt: skip
    return Chart(
        key, title, figure, ["Model", "Requests", y_title], [[m.label, m.total.requests, v] for m, v in shown],
        description=f"{description}, per model, busiest first", links=[m.url for m, _ in shown],
        empty="No model has this figure for the period.",
    )  # fmt: skip


def _colour(models: list[Model], model: Model) -> str:
    """The model's colour, the same in every chart."""
    if model.pk is None:
        return charts.MUTED
    return charts.SERIES[models.index(model) % len(charts.SERIES)]


def _heatmap(models: list[Model]) -> Chart:
    priced = [m for m in models if m.total.cost_per_1k is not None]
    categories = [c for c in CATEGORIES if any(c in m.cells for m in priced)]
    z = [[_float(m.cells[c].cost_per_1k) if c in m.cells else None for c in categories] for m in priced]
    figure = charts.figure(
        [charts.trace("heatmap", z=z, x=[CATEGORIES[c] for c in categories], y=[m.label for m in priced],
                    colorscale=[[0, "#eaf1f8"], [1, charts.PRIMARY]], texttemplate="%{z:.4f}", hoverongaps=False,
                    hovertemplate="%{y}, %{x}: %{z:.4f} " + REPORTING_CURRENCY + " per 1,000 requests<extra></extra>",
                    colorbar={"title": {"text": REPORTING_CURRENCY}})],
        charts.layout(height=max(240, 48 * len(priced) + 120), yaxis={"autorange": "reversed", "title": {"text": ""}},
                      xaxis={"side": "top"}, margin={"t": 64}),
    )  # fmt: skip
    rows, links = [], []
    for model in priced:
        for category in categories:
            if category in model.cells:
                cell = model.cells[category]
                rows.append([model.label, CATEGORIES[category], cell.workloads, cell.requests, cell.cost_per_1k])
                links.append(model.url)
    return Chart(
        "by-category", "Cost per request by model and use-case category", figure,
        ["Model", "Use-case category", "Workloads", "Requests", COST], rows,
        description="token cost per 1,000 priced requests of each model in each use-case category; blank where "
        "the model is not used for it", links=links, empty="No priced requests in this period.",
    )  # fmt: skip


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _scatter(models: list[Model]) -> Chart:
    shown = [m for m in models if m.total.cost_per_1k is not None and m.total.quality is not None]
    biggest = max([m.total.requests for m in shown], default=1)
    traces = [
        charts.trace("scatter", name=m.label, x=[float(m.total.cost_per_1k or 0)], y=[m.total.quality], mode="markers",
                   customdata=[m.total.requests],
                   marker={"size": [m.total.requests], "sizemode": "area", "sizeref": 2 * biggest / 50**2,
                           "sizemin": 6, "color": _colour(models, m), "line": {"width": 1, "color": "#fff"}},
                   hovertemplate="%{x:,.4f} " + REPORTING_CURRENCY + " per 1,000, quality %{y:.3f}, "
                   "%{customdata:,} requests<extra>" + m.label + "</extra>")
        for m in shown
    ]  # fmt: skip
    figure = charts.figure(traces, charts.layout(x_title=COST, y_title="Quality score (0–1)", height=360))
    return Chart(
        "cost-quality", "Cost against quality", figure, ["Model", "Requests", COST, "Quality score (0–1)"],
        [[m.label, m.total.requests, m.total.cost_per_1k, m.total.quality] for m in shown],
        description="each model's cost per 1,000 requests against its quality; the bigger the bubble, the more "
        "requests; cheaper and better is up and to the left", links=[m.url for m in shown],
        empty="No model has both a price and quality scores for the period.",
    )  # fmt: skip


def _table(models: list[Model]) -> Table:
    rows, links = [], []
    for model in models:
        cells = sorted(model.cells.items(), key=lambda item: (-item[1].requests, CATEGORIES.get(item[0], item[0])))
        for category, cell in cells:
            rows.append([
                model.label, model.approval, CATEGORIES.get(category, category), cell.workloads, cell.requests,
                cell.cost_per_1k, cell.p(0.5), cell.p(0.95), _pct(cell.error_rate), cell.quality,
                _pct(cell.flag_rate),
            ])  # fmt: skip
            links.append(model.url)
    return Table(
        "models", "Models by use-case category",
        ["Model", "Approval", "Use-case category", "Workloads", "Requests", COST, "p50 latency (ms)",
         "p95 latency (ms)", "Error rate (%)", "Quality score (0–1)", "Safety-flag rate (%)"],
        rows, links=links,
        description="Each model in each use-case category it serves, busiest model first; the model links to its "
        "catalogue entry.", empty="No telemetry from the workloads the filters select in these months.",
    )  # fmt: skip
