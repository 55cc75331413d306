"""Plotly figures for the dashboards, built in Python and handed to the page as JSON (drawn by
``static/dashboards/dashboards.js`` with the vendored strict bundle: no ``fig.to_html()``, whose
inline script the CSP refuses). One look for every chart: the portal's palette and font."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from apps.telemetry.charts import ACCENT, DANGER, FONT, GRID, MUTED, PRIMARY, SUCCESS

# Series colours in order (colour-blind safe enough beside the labels and the data tables).
SERIES = [PRIMARY, ACCENT, "#5b8db8", SUCCESS, "#8250df", "#bc4c00", MUTED, "#0a5a9c", DANGER, "#57ab5a"]
__all__ = ["ACCENT", "DANGER", "MUTED", "PRIMARY", "SERIES", "SUCCESS", "figure", "layout", "trace"]


def layout(*, y_title: str = "", x_title: str = "", dates: bool = False, height: int = 320, **extra: Any) -> dict:
    xaxis: dict[str, Any] = {"gridcolor": GRID, "showgrid": False, "automargin": True}
    if dates:
        xaxis.update(type="date", tickformat="%-d %b")
    if x_title:
        xaxis["title"] = {"text": x_title}
    base: dict[str, Any] = {
        "template": "none",
        "height": height,
        "margin": {"l": 64, "r": 16, "t": 16, "b": 76 if x_title else 56},  # room for the x-axis title
        "font": {"family": FONT, "size": 12, "color": "#1b1f24"},
        "hovermode": "x unified" if dates else "closest",
        "legend": {"orientation": "h", "x": 0, "y": -0.2},
        "xaxis": xaxis,
        "yaxis": {"title": {"text": y_title}, "gridcolor": GRID, "rangemode": "tozero", "zeroline": False,
                  "automargin": True},
    }  # fmt: skip
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def trace(kind: str, **attributes: Any) -> dict[str, Any]:
    """A trace as Plotly's JSON (``{"type": "bar", …}``): what ``go.Bar(...)`` would give, without
    validating every attribute on every request (~5 ms a figure; the page's time budget is 150 ms).
    Plotly's own names only — no ``marker_color`` shorthands."""
    return {"type": kind, **attributes}


def figure(traces: list[dict[str, Any] | go.BaseTraceType], figure_layout: dict[str, Any]) -> dict[str, Any]:
    """The figure as JSON for the page. Traces built with ``trace()`` go as they are; a
    ``plotly.graph_objects`` trace is turned into its JSON."""
    data = [t if isinstance(t, dict) else t.to_plotly_json() for t in traces]
    return {"data": data, "layout": figure_layout}
