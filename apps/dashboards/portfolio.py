"""The portfolio (leadership) dashboard: spend, value and ROI of the workloads the filters select,
month-end forecast, stages, budget burn, cost by model and provider, the value/cost quadrant,
risk × compliance and the top movers.

Money is summed in US dollars (each scorecard converted at the rate it was scored with; see
``_in_usd``). Everything comes from scorecards, the monthly model rollups and governance's
compliance counts, in a fixed number of queries whatever the number of workloads or days.

Team members see the totals and the time series of everything the filters select; broken down
by workload or team, their own team's workloads are named and the rest is one "Other teams"
line (``rules.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, DateField, F, Func, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import TruncMonth, TruncWeek
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.governance.services import stored_compliance_scores
from apps.registry.models import LifecycleStage, RiskTier, Workload
from apps.telemetry.models import MonthlyModelRollup, Scorecard, WeeklyMoney

from . import charts
from .base import (
    OTHER_TEAMS,
    REPORTING_CURRENCY,
    Chart,
    Dashboard,
    Kpi,
    Table,
    money,
    own_team_ids,
    percent,
    sees_everything,
    slug_url,
)
from .filters import Filters

ZERO = Decimal(0)
TOP_MOVERS = 8
COMPLIANCE_BANDS = [
    ("full", "Fully compliant"),
    ("most", "≥ 75 % compliant"),
    ("some", "< 75 % compliant"),
    ("none", "No control applies"),
]


@dataclass
class Line:
    """A workload's (or a group's) figures over the period, in dollars."""

    label: str
    url: str = ""
    team: str = ""
    workloads: int = 1
    requests: int = 0
    errors: int = 0
    cost: Decimal = ZERO
    value: Decimal = ZERO
    previous_cost: Decimal = ZERO
    budget_burn: float | None = None
    target_roi: float | None = None
    stage: str = ""
    risk: str = ""
    members: list[int] = field(default_factory=list)

    @property
    def roi(self) -> float | None:
        return float((self.value - self.cost) / self.cost) if self.cost else None


class _Truncate(Func):
    """A date truncated to its week or month, as a date. On PostgreSQL through ``timestamp``: Django's
    ``TruncWeek`` on a date field makes it a ``timestamptz`` first, a time-zone conversion per row."""

    output_field = DateField()

    def __init__(self, expression: Any, kind: str) -> None:
        self.kind = kind
        super().__init__(expression)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        trunc = TruncWeek if self.kind == "week" else TruncMonth
        return trunc(*self.get_source_expressions(), output_field=DateField()).as_sql(compiler, connection)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"DATE_TRUNC('{self.kind}', ({sql})::timestamp)::date", params


def _in_usd(amount: Decimal | None, rate: Decimal | None) -> Decimal:
    if amount is None:
        return ZERO
    return amount / rate if rate else amount


@dataclass(frozen=True)
class _Source:
    """Where money is summed from: the daily scorecards, or the weekly summary of whole weeks
    (``telemetry.WeeklyMoney``); ``day`` is the date column, ``unconverted`` counts each row's days no
    rate converted."""

    model: Any
    day: str
    unconverted: Any


DAILY = _Source(Scorecard, "day", Case(When(Q(usd_rate__isnull=True) & ~Q(currency=REPORTING_CURRENCY), then=1),
                                       default=0))  # fmt: skip
WEEKLY = _Source(WeeklyMoney, "week", F("unconverted"))

Sums = dict[int, dict[str, Any]]  # per workload: cost and value in dollars, requests, errors, unconverted days
Series = list[dict[str, Any]]  # per step, in order: cost and value in dollars, requests


def _sums(rows: Any, source: _Source = DAILY) -> Sums:
    """Per workload over ``rows``: spend and value in dollars, requests, errors, and the days no rate
    converted. Summed per exchange rate by the database and divided here: a division per group, not
    per row."""
    # Only columns the covering indexes hold: PostgreSQL answers from the index alone.
    found = rows.values_list("workload_id", "usd_rate").annotate(
        cost=Sum("cost"), value=Sum("value"), requests=Sum("requests"), errors=Sum("errors"),
        unconverted=Sum(source.unconverted),
    )  # fmt: skip
    sums: Sums = {}
    for workload_id, rate, cost, value, requests, errors, unconverted in found:
        _add(_sums_row(sums, workload_id), rate, cost, value, requests, errors, unconverted)
    return sums


def _sums_row(sums: Sums, workload_id: int) -> dict[str, Any]:
    row = sums.get(workload_id)
    if row is None:
        row = sums[workload_id] = {"cost": ZERO, "value": ZERO, "requests": 0, "errors": 0, "unconverted": 0}
    return row


def _series_row(series: dict[date, dict[str, Any]], step: date) -> dict[str, Any]:
    row = series.get(step)
    if row is None:
        row = series[step] = {"step": step, "cost": ZERO, "value": ZERO, "requests": 0}
    return row


def _add(row: dict[str, Any], rate: Decimal | None, cost: Decimal | None, value: Decimal | None,
         requests: int | None, errors: int | None = None, unconverted: int | None = None) -> None:  # fmt: skip
    row["cost"] += _in_usd(cost, rate)
    row["value"] += _in_usd(value, rate)
    row["requests"] += requests or 0
    if "errors" in row:
        row["errors"] += errors or 0
        row["unconverted"] += unconverted or 0


def _step(source: _Source, bucket: str) -> Any:
    return F(source.day) if bucket == "day" else _Truncate(source.day, bucket)


def _series(rows: Any, bucket: str, source: _Source = DAILY) -> Series:
    found = (
        rows.annotate(step=_step(source, bucket))
        .values_list("step", "usd_rate")
        .annotate(cost=Sum("cost"), value=Sum("value"), requests=Sum("requests"))
        .order_by("step")
    )
    series: dict[date, dict[str, Any]] = {}
    for when, rate, cost, value, requests in found:
        _add(_series_row(series, when), rate, cost, value, requests)
    return [series[when] for when in sorted(series)]


def _summary_weeks(start: date, end: date, bucket: str) -> list[tuple[date, date]]:
    """The runs of whole weeks (Monday to Sunday) inside [start, end] that the weekly summary can give,
    as (first Monday, day after the last Sunday): each week inside one step of ``bucket`` (none for
    days; for months, not a week across two). The days around them come from the scorecards."""
    if bucket == "day":
        return []
    runs: list[tuple[date, date]] = []
    monday = start + timedelta(days=-start.weekday() % 7)
    while monday + timedelta(days=6) <= end:
        after = monday + timedelta(days=7)
        if bucket == "week" or monday.month == (after - timedelta(days=1)).month:
            if runs and runs[-1][1] == monday:
                runs[-1] = (runs[-1][0], after)
            else:
                runs.append((monday, after))
        monday = after
    return runs


def _covering(runs: list[tuple[date, date]], field: str) -> Q:
    """Rows whose ``field`` falls in one of the runs (at least one)."""
    found = Q()
    for first, after in runs:
        found |= Q(**{f"{field}__gte": first, f"{field}__lt": after})
    return found


def _money(filters: Filters, in_scope: dict[str, Any]) -> tuple[Sums, Sums, Series]:
    """Per workload the period's sums (``_sums``) and the previous period's (as long, just before), and
    the period's time series (``_series``): the weeks wholly inside either period from the weekly
    summary, the other days from the scorecards. A year is ~52 summary rows a workload and a dozen
    days at its ends, not 365 scorecards."""
    previous_start, previous_end = filters.start - timedelta(days=filters.days), filters.start - timedelta(days=1)
    weeks = []  # periods of up to three months (a series per day): one pass over their scorecards costs less
    if filters.bucket != "day":
        weeks = _summary_weeks(previous_start, previous_end, "week") + _summary_weeks(
            filters.start, filters.end, filters.bucket
        )
    daily = Scorecard.objects.filter(day__gte=previous_start, day__lte=filters.end, **in_scope)
    weekly = None
    if weeks:
        daily = daily.exclude(_covering(weeks, "day"))
        weekly = WeeklyMoney.objects.filter(_covering(weeks, "week"), **in_scope)
    parts = []
    for source, rows in ((DAILY, daily), (WEEKLY, weekly)):
        if rows is None:
            continue
        if connection.vendor == "postgresql":
            parts.append(_money_in_one_pass(rows, filters.start, filters.bucket, source))
        else:
            field = source.day
            period = rows.filter(**{f"{field}__gte": filters.start})
            previous = rows.filter(**{f"{field}__lt": filters.start})
            parts.append((_sums(period, source), _sums(previous, source), _series(period, filters.bucket, source)))
    return _merged(parts)


def _merged(parts: list[tuple[Sums, Sums, Series]]) -> tuple[Sums, Sums, Series]:
    if len(parts) == 1:
        return parts[0]
    sums: Sums = {}
    before: Sums = {}
    series: dict[date, dict[str, Any]] = {}
    for part_sums, part_before, part_series in parts:
        for into, part in ((sums, part_sums), (before, part_before)):
            for workload_id, found in part.items():
                row = _sums_row(into, workload_id)
                for key, amount in found.items():
                    row[key] += amount
        for found in part_series:
            row = _series_row(series, found["step"])
            for key in ("cost", "value", "requests"):
                row[key] += found[key]
    return sums, before, [series[when] for when in sorted(series)]


# Both periods' sums per workload and the series per step, each per exchange rate, from one scan (of
# a covering index): GROUPING SETS aggregate the same rows two ways. Rows before the period have no step.
MONEY_SQL = """
SELECT GROUPING(step), workload_id, in_period, step, usd_rate, SUM(cost), SUM(value), SUM(requests), SUM(errors),
    SUM(days_unconverted)
FROM ({rows}) AS s
GROUP BY GROUPING SETS ((workload_id, in_period, usd_rate), (step, usd_rate))
"""


def _money_in_one_pass(rows: Any, start: date, bucket: str, source: _Source = DAILY) -> tuple[Sums, Sums, Series]:
    """On PostgreSQL: ``rows`` span both periods; the sums of ``_sums`` and ``_series``, in one statement."""
    in_period = Q(**{f"{source.day}__gte": start})
    annotated = rows.annotate(
        in_period=Case(When(in_period, then=True), default=False),
        step=Case(When(in_period, then=_step(source, bucket)), default=None, output_field=DateField()),
        days_unconverted=source.unconverted,
    ).values("workload_id", "usd_rate", "cost", "value", "requests", "errors", "in_period", "step", "days_unconverted")
    sql, params = annotated.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(MONEY_SQL.format(rows=sql), params)
        found = cursor.fetchall()
    sums: Sums = {}
    before: Sums = {}
    series: dict[date, dict[str, Any]] = {}
    for by_workload, workload_id, in_period, when, rate, cost, value, requests, errors, unconverted in found:
        if by_workload:  # GROUPING(step) = 1: step is not in this row's grouping
            _add(_sums_row(sums if in_period else before, workload_id), rate, cost, value, requests, errors,
                 unconverted)  # fmt: skip
        elif when is not None:  # None: the rows before the period
            _add(_series_row(series, when), rate, cost, value, requests)
    return sums, before, [series[when] for when in sorted(series)]


def _month_end(scorecards_in_scope: Any, end: date) -> dict[int, dict[str, Any]]:
    """Each workload's latest scorecard in the month of ``end`` (up to ``end``): month-end forecast
    (in dollars) and budget burn."""
    month = scorecards_in_scope.filter(day__gte=end.replace(day=1), day__lte=end).order_by()
    if connection.features.can_distinct_on_fields:  # PostgreSQL: one sort of the month's rows
        latest = month.order_by("workload_id", "-day").distinct("workload_id")
    else:
        latest = month.filter(day=Subquery(
            Scorecard.objects.filter(workload_id=OuterRef("workload_id"), day__gte=end.replace(day=1), day__lte=end)
            .order_by("-day").values("day")[:1]
        ))  # fmt: skip
    rows = latest.values_list("workload_id", "budget_burn", "month_end_forecast", "usd_rate")
    return {
        workload_id: {"budget_burn": burn, "forecast": _in_usd(forecast, rate)}
        for workload_id, burn, forecast, rate in rows
    }


def _band(score: float | None) -> str:
    if score is None:
        return "none"
    if score >= 1:
        return "full"
    return "most" if score >= 0.75 else "some"


def build(*, user: User, filters: Filters, query: Any = None, **_: Any) -> Dashboard:
    everything = sees_everything(user)
    mine = own_team_ids(user)
    workloads = list(filters.workloads().select_related("team").order_by("team__name", "name"))
    # Every scorecard belongs to a workload: without a filter, no subquery to join.
    in_scope = {"workload__in": filters.workloads().values("pk")} if filters.narrowed else {}
    sums, before, series = _money(filters, in_scope)
    month_end = _month_end(Scorecard.objects.filter(**in_scope), filters.end)

    lines: dict[int, Line] = {}
    workload_url = _workload_urls(everything, mine)
    for w in workloads:
        row, old, last = sums.get(w.pk, {}), before.get(w.pk, {}), month_end.get(w.pk, {})
        lines[w.pk] = Line(
            label=w.name, url=workload_url(w), team=w.team.name,
            requests=row.get("requests") or 0, errors=row.get("errors") or 0,
            cost=_dec(row.get("cost")), value=_dec(row.get("value")), previous_cost=_dec(old.get("cost")),
            budget_burn=last.get("budget_burn"), target_roi=float(w.target_roi) if w.target_roi is not None else None,
            stage=w.get_lifecycle_stage_display(), risk=w.risk_tier, members=[w.pk],
        )  # fmt: skip
    total_cost = sum((line.cost for line in lines.values()), ZERO)
    total_value = sum((line.value for line in lines.values()), ZERO)
    forecast = sum((_dec(r.get("forecast")) for r in month_end.values()), ZERO)
    unconverted = sum(row.get("unconverted") or 0 for row in sums.values())
    roi = float((total_value - total_cost) / total_cost) if total_cost else None
    targets = [float(w.target_roi) for w in workloads if w.target_roi is not None and lines[w.pk].cost]
    target = sum(targets) / len(targets) if targets else None

    shown = _visible_lines(lines, workloads, everything, mine)
    dashboard = Dashboard(
        name="portfolio",
        title="Portfolio",
        lead="Spend, value and return of the GenAI portfolio: what it costs, what it brings, where the risk is.",
        filters=filters,
        numbers={"currency": REPORTING_CURRENCY, "sees_every_workload": everything},
    )
    if not everything:
        dashboard.notes.append(
            "Totals and trends cover every workload the filters select; broken down by workload or team, your "
            f"team's workloads are named and the others are summed as “{OTHER_TEAMS}”."
        )
    dashboard.notes.append(
        f"Money in {REPORTING_CURRENCY}, each day converted at the exchange rate it was scored with."
        + (f" {unconverted} workload-days had no rate and count one to one." if unconverted else "")
    )
    active = [w for w in workloads if w.lifecycle_stage != LifecycleStage.RETIRED]
    risk_compliance, compliance_as_of = _risk_compliance_chart(workloads, filters)
    if compliance_as_of is not None:
        dashboard.notes.append(
            f"Risk × compliance as of {timezone.localtime(compliance_as_of):%-d %b %Y %H:%M}: compliance is counted "
            "for every workload every five minutes."
        )
    dashboard.kpis = [
        Kpi("spend", "Spend", money(total_cost, short=True), total_cost, f"{filters.label}", filters.registry_url()),
        Kpi("value", "Value", money(total_value, short=True), total_value, "from successful requests and fixed value",
            filters.registry_url()),
        Kpi("roi", "ROI", percent(roi, 0), roi, f"target {percent(target, 0)} (average)" if target else "",
            filters.registry_url(), "" if roi is None or target is None else ("good" if roi >= target else "bad")),
        Kpi("forecast", "Month-end forecast", money(forecast, short=True), forecast,
            f"spend in {filters.end:%B %Y}, from each workload's run rate", filters.registry_url()),
        Kpi("active", "Active workloads", str(len(active)), len(active),
            " · ".join(f"{sum(1 for w in active if w.lifecycle_stage == s)} {label.lower()}"
                       for s, label in LifecycleStage.choices if s != LifecycleStage.RETIRED
                       and any(w.lifecycle_stage == s for w in active)),
            filters.registry_url()),
        Kpi("requests", "Requests", f"{sum(line.requests for line in lines.values()):,}",
            sum(line.requests for line in lines.values()), "", filters.registry_url()),
    ]  # fmt: skip
    dashboard.charts = [
        _spend_value_chart(series, filters),
        _roi_chart("roi-workload", "ROI by workload", shown, "workload"),
        _roi_chart("roi-team", "ROI by team", _by_team(lines, workloads, everything, mine), "team"),
        _model_chart(filters, in_scope),
        _burn_chart(shown),
        _quadrant_chart(shown),
        _stage_chart(active, filters),
        risk_compliance,
    ]
    dashboard.tables = [_movers_table(shown), _workloads_table(shown)]
    dashboard.numbers.update(
        spend=total_cost, value=total_value, roi=roi, target_roi=target, month_end_forecast=forecast,
        active_workloads=len(active), compliance_as_of=compliance_as_of,
    )  # fmt: skip
    return dashboard


def _dec(value: Any) -> Decimal:
    return Decimal(value) if value is not None else ZERO


def _workload_urls(everything: bool, mine: set[int]) -> Callable[[Workload], str]:
    """A workload's link: its operations page where the user may read it, else its registry entry."""
    operations, registry = slug_url("dashboards:operations"), slug_url("registry:workload-detail")
    return lambda w: operations(w.slug) if everything or w.team_id in mine else registry(w.slug)


def _visible_lines(lines: dict[int, Line], workloads: list[Workload], everything: bool, mine: set[int]) -> list[Line]:
    """Every workload by name, or the user's team's by name and the rest summed as one line."""
    if everything:
        return list(lines.values())
    shown, others = [], Line(label=OTHER_TEAMS, team=OTHER_TEAMS, workloads=0)
    for w in workloads:
        line = lines[w.pk]
        if w.team_id in mine:
            shown.append(line)
        else:
            _absorb(others, line)
    if others.workloads:
        shown.append(others)
    return shown


def _absorb(group: Line, line: Line) -> None:
    group.workloads += line.workloads
    group.requests += line.requests
    group.errors += line.errors
    group.cost += line.cost
    group.value += line.value
    group.previous_cost += line.previous_cost
    group.members += line.members
    group.stage = group.risk = ""
    group.budget_burn = None


def _by_team(lines: dict[int, Line], workloads: list[Workload], everything: bool, mine: set[int]) -> list[Line]:
    teams: dict[str, Line] = {}
    for w in workloads:
        name = w.team.name if everything or w.team_id in mine else OTHER_TEAMS
        if name not in teams:
            url = reverse("registry:workload-list") + f"?team={w.team.slug}" if name != OTHER_TEAMS else ""
            teams[name] = Line(label=name, url=url, team=name, workloads=0)
        _absorb(teams[name], lines[w.pk])
    return sorted(teams.values(), key=lambda line: (line.label == OTHER_TEAMS, line.label))


# --- Charts --------------------------------------------------------------------------------------


def _spend_value_chart(series: list[dict[str, Any]], filters: Filters) -> Chart:
    steps = [row["step"] if isinstance(row["step"], date) else row["step"].date() for row in series]
    x = [step.isoformat() for step in steps]
    cost = [float(row["cost"] or 0) for row in series]
    value = [float(row["value"] or 0) for row in series]
    unit = {"day": "day", "week": "week", "month": "month"}[filters.bucket]
    figure = charts.figure(
        [
            charts.trace("bar", name="Spend", x=x, y=cost, marker={"color": charts.PRIMARY},
                   hovertemplate="%{y:,.2f} " + REPORTING_CURRENCY + "<extra>Spend</extra>"),
            charts.trace("scatter", name="Value", x=x, y=value, mode="lines+markers",
                         line={"color": charts.SUCCESS, "width": 2},
                         hovertemplate="%{y:,.2f} " + REPORTING_CURRENCY + "<extra>Value</extra>"),
        ],
        charts.layout(y_title=REPORTING_CURRENCY, dates=True),
    )  # fmt: skip
    return Chart(
        "spend-value", f"Spend and value per {unit}", figure, [unit.title(), f"Spend ({REPORTING_CURRENCY})",
        f"Value ({REPORTING_CURRENCY})", "Requests"],
        [[s, round(c, 2), round(v, 2), row["requests"] or 0] for s, c, v, row in zip(steps, cost, value, series,
                                                                                     strict=True)],
        description=f"spend as bars and value as a line, per {unit}",
    )  # fmt: skip


def _roi_chart(key: str, title: str, lines: list[Line], kind: str) -> Chart:
    rows = sorted((line for line in lines if line.cost), key=lambda line: line.roi or 0, reverse=True)
    labels = [line.label for line in rows]
    figure = charts.figure(
        [charts.trace("bar", x=[round((line.roi or 0) * 100, 1) for line in rows], y=labels, orientation="h",
                marker={"color": [charts.SUCCESS if (line.roi or 0) >= (line.target_roi or 0) else charts.DANGER
                                  for line in rows]},
                hovertemplate="%{x:.0f} %<extra>%{y}</extra>", name="ROI")]
        + ([charts.trace("scatter", x=[line.target_roi * 100 for line in rows if line.target_roi is not None],
                       y=[line.label for line in rows if line.target_roi is not None], mode="markers", name="Target",
                       marker={"symbol": "line-ns-open", "size": 14, "color": charts.MUTED, "line": {"width": 2}},
                       hovertemplate="target %{x:.0f} %<extra>%{y}</extra>")] if kind == "workload" else []),
        charts.layout(x_title="ROI (%)", height=max(260, 28 * len(rows) + 90), yaxis={"autorange": "reversed"},
                      showlegend=kind == "workload"),
    )  # fmt: skip
    columns = [kind.title(), "Workloads", f"Spend ({REPORTING_CURRENCY})", f"Value ({REPORTING_CURRENCY})", "ROI",
               "Target ROI"]  # fmt: skip
    table = [[line.label, line.workloads, round(line.cost, 2), round(line.value, 2), _ratio(line.roi),
              _ratio(line.target_roi)] for line in rows]  # fmt: skip
    return Chart(key, title, figure, columns, table, description="return on cost, highest first; red below target",
                 links=[line.url for line in rows], empty="No spend in this period.")  # fmt: skip


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _model_chart(filters: Filters, in_scope: dict[str, Any]) -> Chart:
    first = filters.start.replace(day=1)
    rows = list(
        MonthlyModelRollup.objects.filter(month__gte=first, month__lte=filters.end, **in_scope)
        .values("ai_model__display_name", "ai_model__provider", "ai_model__slug", "model_name")
        .annotate(cost=Sum("cost"), requests=Sum("requests"))
        .order_by("-cost")
    )
    providers: dict[str, list[tuple[str, float]]] = defaultdict(list)
    table, links = [], []
    model_url = slug_url("registry:model-detail")
    for row in rows:
        provider = row["ai_model__provider"] or "not in the catalogue"
        model = row["ai_model__display_name"] or row["model_name"] or "(no model name)"
        providers[provider].append((model, float(row["cost"] or 0)))
        table.append([model, provider, row["requests"] or 0, round(row["cost"] or ZERO, 2)])
        links.append(model_url(row["ai_model__slug"]) if row["ai_model__slug"] else "")
    traces = [
        charts.trace("bar", name=provider, x=[m for m, _ in items], y=[c for _, c in items],
                     marker={"color": charts.SERIES[i % 10]},
                     hovertemplate="%{y:,.2f} " + REPORTING_CURRENCY + "<extra>%{x}</extra>")
        for i, (provider, items) in enumerate(providers.items())
    ]  # fmt: skip
    figure = charts.figure(traces, charts.layout(y_title=f"Token cost ({REPORTING_CURRENCY})", barmode="stack"))
    return Chart(
        "cost-by-model", "Cost by model and provider", figure,
        ["Model", "Provider", "Requests", f"Token cost ({REPORTING_CURRENCY})"], table,
        description=f"token cost per model, coloured by provider, in whole months from {first:%B %Y}",
        links=links, empty="No priced requests in this period.",
    )  # fmt: skip


def _burn_chart(lines: list[Line]) -> Chart:
    rows = sorted((line for line in lines if line.budget_burn is not None), key=lambda line: -(line.budget_burn or 0))
    figure = charts.figure(
        [charts.trace("bar", x=[line.label for line in rows],
                      y=[round((line.budget_burn or 0) * 100, 1) for line in rows],
                marker={"color": [charts.DANGER if (line.budget_burn or 0) >= 1 else charts.ACCENT
                                  if (line.budget_burn or 0) >= 0.8 else charts.PRIMARY for line in rows]},
                hovertemplate="%{y:.0f} % of the budget<extra>%{x}</extra>", name="Budget burn")],
        charts.layout(y_title="% of the monthly budget", shapes=[
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
             "line": {"color": colour, "dash": "dash", "width": 1}}
            for y, colour in ((80, charts.ACCENT), (100, charts.DANGER))]),
    )  # fmt: skip
    return Chart(
        "budget-burn", "Budget burn, month to date", figure, ["Workload", "Team", "Budget burn"],
        [[line.label, line.team, _ratio(line.budget_burn)] for line in rows],
        description="month-to-date spend as a share of each workload's monthly budget; lines at 80 % and 100 %",
        links=[line.url for line in rows], empty="No workload with a budget has scorecards this month.",
    )  # fmt: skip


def _quadrant_chart(lines: list[Line]) -> Chart:
    rows = [line for line in lines if line.cost or line.value]
    top = max([float(line.cost) for line in rows] + [float(line.value) for line in rows] + [1])
    teams = sorted({line.team for line in rows})
    traces = [
        charts.trace("scatter", name=team, mode="markers", x=[float(line.cost) for line in rows if line.team == team],
                   y=[float(line.value) for line in rows if line.team == team],
                   text=[line.label for line in rows if line.team == team],
                   marker={"size": 11, "color": charts.SERIES[i % 10], "line": {"width": 1, "color": "#fff"}},
                   hovertemplate="%{text}<br>spend %{x:,.2f}, value %{y:,.2f}<extra></extra>")
        for i, team in enumerate(teams)
    ]  # fmt: skip
    traces.append(charts.trace("scatter", name="Break-even", x=[0, top], y=[0, top], mode="lines", hoverinfo="skip",
                             line={"color": charts.MUTED, "dash": "dot", "width": 1}))  # fmt: skip
    figure = charts.figure(
        traces, charts.layout(x_title=f"Spend ({REPORTING_CURRENCY})", y_title=f"Value ({REPORTING_CURRENCY})",
                              height=360)
    )  # fmt: skip
    return Chart(
        "quadrant", "Value against cost", figure,
        ["Workload", "Team", f"Spend ({REPORTING_CURRENCY})", f"Value ({REPORTING_CURRENCY})", "ROI"],
        [[line.label, line.team, round(line.cost, 2), round(line.value, 2), _ratio(line.roi)] for line in rows],
        description="each workload's spend against its value; above the dotted line it pays for itself",
        links=[line.url for line in rows], empty="No spend or value in this period.",
    )  # fmt: skip


def _stage_chart(active: list[Workload], filters: Filters) -> Chart:
    stages = [(s, label) for s, label in LifecycleStage.choices if s != LifecycleStage.RETIRED]
    counts = [sum(1 for w in active if w.lifecycle_stage == s) for s, _ in stages]
    figure = charts.figure(
        [charts.trace("bar", x=[label for _, label in stages], y=counts, marker={"color": charts.PRIMARY},
                hovertemplate="%{y} workloads<extra>%{x}</extra>", name="Workloads")],
        charts.layout(y_title="Workloads", height=260),
    )  # fmt: skip
    return Chart(
        "stages", "Active workloads by stage", figure, ["Stage", "Workloads"],
        [[label, n] for (_, label), n in zip(stages, counts, strict=True)],
        description="workloads not retired, per lifecycle stage",
        links=[filters.registry_url(lifecycle_stage=s) for s, _ in stages], empty="No workloads.",
    )  # fmt: skip


def _risk_compliance_chart(workloads: list[Workload], filters: Filters) -> tuple[Chart, datetime | None]:
    """The heat map, and when the oldest stored compliance count it read was made (None: all counted live)."""
    live = [w for w in workloads if w.lifecycle_stage != LifecycleStage.RETIRED]
    scores, as_of = stored_compliance_scores(workloads=live)
    tiers = [(t, label) for t, label in RiskTier.choices if t != RiskTier.UNACCEPTABLE or any(
        w.risk_tier == t for w in live)]  # fmt: skip
    grid = {(t, b): 0 for t, _ in tiers for b, _ in COMPLIANCE_BANDS}
    for w in live:
        compliant, applicable = scores[w.pk]
        grid[(w.risk_tier, _band(compliant / applicable if applicable else None))] += 1
    z = [[grid[(t, b)] for b, _ in COMPLIANCE_BANDS] for t, _ in tiers]
    figure = charts.figure(
        [charts.trace("heatmap", z=z, x=[label for _, label in COMPLIANCE_BANDS], y=[label for _, label in tiers],
                    colorscale=[[0, "#ffffff"], [1, charts.PRIMARY]], text=z, texttemplate="%{text}",
                    hovertemplate="%{y} risk, %{x}: %{z} workloads<extra></extra>", showscale=False)],
        charts.layout(height=300, yaxis={"autorange": "reversed", "title": {"text": "Risk tier"}},
                      xaxis={"side": "top"}),
    )  # fmt: skip
    rows = [[label, *[grid[(t, b)] for b, _ in COMPLIANCE_BANDS]] for t, label in tiers]
    chart = Chart(
        "risk-compliance", "Risk × compliance", figure, ["Risk tier", *[label for _, label in COMPLIANCE_BANDS]],
        rows, description="workloads per risk tier and share of their applicable controls compliant",
        links=[filters.registry_url(risk_tier=t) for t, _ in tiers], empty="No workloads.",
    )  # fmt: skip
    return chart, as_of


# --- Tables --------------------------------------------------------------------------------------


def _movers_table(lines: list[Line]) -> Table:
    moved = sorted(
        (line for line in lines if line.cost != line.previous_cost and line.label != OTHER_TEAMS),
        key=lambda line: abs(line.cost - line.previous_cost), reverse=True,
    )[:TOP_MOVERS]  # fmt: skip
    rows = [
        [line.label, line.team, round(line.previous_cost, 2), round(line.cost, 2),
         round(line.cost - line.previous_cost, 2),
         _ratio(float((line.cost - line.previous_cost) / line.previous_cost)) if line.previous_cost else None]
        for line in moved
    ]  # fmt: skip
    return Table(
        "movers", "Top movers", ["Workload", "Team", f"Spend before ({REPORTING_CURRENCY})",
        f"Spend now ({REPORTING_CURRENCY})", f"Change ({REPORTING_CURRENCY})", "Change"], rows,
        links=[line.url for line in moved],
        description="The largest changes in spend against the period of the same length just before.",
        empty="No change in spend against the period before.",
    )  # fmt: skip


def _group_label(line: Line) -> str:
    if line.label != OTHER_TEAMS:
        return line.label
    return f"{line.label} ({line.workloads} workload{'' if line.workloads == 1 else 's'})"


def _workloads_table(lines: list[Line]) -> Table:
    rows = sorted(lines, key=lambda line: (line.label == OTHER_TEAMS, -line.cost, line.label))
    return Table(
        "workloads", "Workloads", ["Workload", "Team", "Stage", "Risk", "Requests", f"Spend ({REPORTING_CURRENCY})",
        f"Value ({REPORTING_CURRENCY})", "ROI", "Target ROI", "Budget burn"],
        [[_group_label(line), line.team, line.stage,
          line.risk, line.requests, round(line.cost, 2), round(line.value, 2), _ratio(line.roi),
          _ratio(line.target_roi), _ratio(line.budget_burn)] for line in rows],
        links=[line.url for line in rows], empty="No workloads match the filters.",
    )  # fmt: skip
