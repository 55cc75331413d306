"""The Telemetry tab's charts: Plotly figures built here from the last 30 days of scorecards, handed
to the page as JSON (``json_script``) and drawn by the vendored strict plotly.js
(``static/telemetry/telemetry.js``). No ``fig.to_html()``: its inline script breaks the CSP.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from apps.registry.models import Workload

from .models import Scorecard

# The portal's palette (static/css/portal.css).
PRIMARY = "#1f4e79"
ACCENT = "#f2b705"
DANGER = "#c21f2b"
SUCCESS = "#1a7f37"
MUTED = "#57606a"
GRID = "#d0d7de"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


def _layout(y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "template": "none",
        "height": 300,
        "margin": {"l": 64, "r": 16, "t": 16, "b": 48},
        "font": {"family": FONT, "size": 12, "color": "#1b1f24"},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "x": 0, "y": -0.18},
        "xaxis": {"type": "date", "tickformat": "%-d %b", "gridcolor": GRID, "showgrid": False},
        "yaxis": {"title": {"text": y_title}, "gridcolor": GRID, "rangemode": "tozero", "zeroline": False},
        "barmode": "stack",
        **extra,
    }


def _figure(traces: list[go.BaseTraceType], layout: dict[str, Any]) -> dict[str, Any]:
    return go.Figure(data=traces, layout=layout).to_plotly_json()


def _num(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def cost_figure(cards: Sequence[Scorecard], workload: Workload) -> dict[str, Any]:
    """Each day's cost against the budget's daily pace (the monthly budget spread over the month)."""
    days = [card.day.isoformat() for card in cards]
    traces: list[go.BaseTraceType] = [
        go.Bar(name="Cost", x=days, y=[_num(card.cost) for card in cards], marker={"color": PRIMARY},
               hovertemplate="%{y:.2f} " + workload.currency + "<extra>Cost</extra>"),
    ]  # fmt: skip
    if workload.monthly_budget:
        budget = workload.monthly_budget
        pace = [float(budget / calendar.monthrange(card.day.year, card.day.month)[1]) for card in cards]
        traces.append(
            go.Scatter(name="Budget pace", x=days, y=pace, mode="lines",
                       line={"color": ACCENT, "dash": "dash", "width": 2},
                       hovertemplate="%{y:.2f} " + workload.currency + "<extra>Budget pace</extra>")
        )  # fmt: skip
    return _figure(traces, _layout(f"Cost per day ({workload.currency})"))


def traffic_figure(cards: Sequence[Scorecard]) -> dict[str, Any]:
    """Requests per day, split into successes and errors."""
    days = [card.day.isoformat() for card in cards]
    traces = [
        go.Bar(name="Successful", x=days, y=[card.requests - card.errors for card in cards], marker={"color": PRIMARY}),
        go.Bar(name="Errors", x=days, y=[card.errors for card in cards], marker={"color": DANGER}),
    ]
    return _figure(traces, _layout("Requests per day"))


def latency_figure(cards: Sequence[Scorecard], workload: Workload) -> dict[str, Any]:
    """p50 and p95 per day against the workload's p95 objective."""
    days = [card.day.isoformat() for card in cards]
    traces: list[go.BaseTraceType] = [
        go.Scatter(name="p95", x=days, y=[card.latency_p95_ms for card in cards], mode="lines+markers",
                   line={"color": PRIMARY, "width": 2}, hovertemplate="%{y:,.0f} ms<extra>p95</extra>"),
        go.Scatter(name="p50", x=days, y=[card.latency_p50_ms for card in cards], mode="lines",
                   line={"color": MUTED, "width": 1}, hovertemplate="%{y:,.0f} ms<extra>p50</extra>"),
    ]  # fmt: skip
    if workload.objective_p95_latency_ms:
        objective = [workload.objective_p95_latency_ms] * len(days)
        traces.append(
            go.Scatter(name="p95 objective", x=days, y=objective, mode="lines",
                       line={"color": DANGER, "dash": "dash", "width": 2},
                       hovertemplate="%{y:,.0f} ms<extra>Objective</extra>")
        )  # fmt: skip
    return _figure(traces, _layout("Latency (ms)"))


def quality_figure(cards: Sequence[Scorecard], workload: Workload) -> dict[str, Any]:
    """Mean quality score (0–1) and the share of positive ratings, against the minimum quality."""
    days = [card.day.isoformat() for card in cards]
    traces: list[go.BaseTraceType] = [
        go.Scatter(name="Quality", x=days, y=[card.quality_score for card in cards], mode="lines+markers",
                   line={"color": PRIMARY, "width": 2}, hovertemplate="%{y:.2f}<extra>Quality</extra>"),
        go.Scatter(name="Positive ratings", x=days, y=[card.satisfaction for card in cards], mode="lines",
                   line={"color": SUCCESS, "width": 1}, hovertemplate="%{y:.0%}<extra>Positive ratings</extra>"),
    ]  # fmt: skip
    if workload.objective_min_quality is not None:
        floor = [float(workload.objective_min_quality)] * len(days)
        traces.append(
            go.Scatter(name="Minimum quality", x=days, y=floor, mode="lines",
                       line={"color": DANGER, "dash": "dash", "width": 2},
                       hovertemplate="%{y:.2f}<extra>Minimum</extra>")
        )  # fmt: skip
    layout = _layout("Score (0–1)")
    layout["yaxis"] = {**layout["yaxis"], "range": [0, 1.05], "rangemode": "normal"}
    return _figure(traces, layout)


def telemetry_charts(cards: Sequence[Scorecard], workload: Workload) -> dict[str, dict[str, Any]]:
    """Every chart of the tab by name, as the JSON the page hands to plotly.js."""
    return {
        "cost": cost_figure(cards, workload),
        "traffic": traffic_figure(cards),
        "latency": latency_figure(cards, workload),
        "quality": quality_figure(cards, workload),
    }
