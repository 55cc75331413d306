"""What every dashboard is made of, so one page template, one CSV export and one API shape serve
them all: KPIs (each linking to the workloads behind it), charts (a Plotly figure and the data
behind it, shown as a table on demand and exported as CSV) and tables.

A dashboard module (``portfolio``, ``operations``, ``compliance``, ``adoption``,
``model_comparison``) has ``build(*, user, filters, **kwargs) -> Dashboard``; it reads scorecards,
rollups and other apps' selectors, never raw telemetry events (DESIGN.md).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import numberformat
from django.utils.formats import get_format, localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from apps.accounts.models import User
from apps.core.csv_export import FORMULA_STARTS, csv_cell, csv_response  # noqa: F401 — moved to core, still importable here
from apps.registry.models import BASE_CURRENCY

from .filters import Filters

REPORTING_CURRENCY = BASE_CURRENCY  # portfolio sums are in dollars; each workload's own view in its currency
OTHER_TEAMS = "Other teams"


PAGE_ROWS = 50  # rows of a table (or of a chart's data) shown on the page; the CSV and the API have them all


class _Rows:
    """What a chart's data table and a table show on the page: the first ``PAGE_ROWS`` rows."""

    rows: list[list[Any]]
    links: list[str]

    @property
    def rows_with_links(self) -> list[tuple[str, list[Any]]]:
        """The rows shown on the page, each with its link (or "")."""
        links = self.links
        return [(links[i] if i < len(links) else "", row) for i, row in enumerate(self.rows[:PAGE_ROWS])]

    @property
    def rows_left_out(self) -> int:
        return max(0, len(self.rows) - PAGE_ROWS)

    @property
    def body_html(self) -> SafeString:
        """The shown rows as ``<tr>`` elements: the first cell a row header (linked where the row has a
        link), empty cells a dash; each value localized and escaped as ``{{ cell }}`` would be. Written
        here rather than as template loops, which cost more than the rest of the page's rendering."""
        html_of = _cell_html()
        rows = []
        for link, row in self.rows_with_links:
            first, *rest = row
            head = html_of(first)
            if link:
                head = f'<a href="{conditional_escape(link)}">{head}</a>'
            cells = "".join("<td>—</td>" if c is None else f"<td>{html_of(c)}</td>" for c in rest)
            rows.append(f'<tr><th scope="row">{head}</th>{cells}</tr>')
        return mark_safe("\n".join(rows))  # noqa: S308 — every value above is escaped


def _cell_html() -> Callable[[Any], str]:
    """A cell's HTML as ``{{ value }}`` gives it (``localize``, then ``conditional_escape``), with the
    number formats looked up once per table, not per cell, and the common cells on short paths: text
    escaped as Django escapes it (``html.escape``); without thousand separators, an integer as ``str``
    and a float or decimal as ``numberformat.format`` writes it (``str`` or ``{:f}``, the locale's
    decimal separator), escaped only if a separator needs it. Anything else, and every number with
    thousand separators, goes the long way. ``tests/dashboards/test_tables.py`` holds it to the loop."""
    lang = get_language()
    formats = [get_format(name, lang) for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")]
    decimal_sep, grouping, thousand_sep = formats
    plain = not (settings.USE_THOUSAND_SEPARATOR and grouping != 0)
    point = decimal_sep != "."
    unsafe = any(c in decimal_sep for c in "&<>\"'")

    def slow(value: Any) -> str:
        if isinstance(value, (Decimal, float, int)) and not isinstance(value, bool):
            value = numberformat.format(value, decimal_sep, None, grouping, thousand_sep, use_l10n=True)
        return conditional_escape(localize(value))

    def html_of(value: Any) -> str:
        kind = type(value)
        if kind is str:
            return html.escape(value)
        if not plain:
            return slow(value)
        if kind is int:
            return str(value)
        if kind is float:
            text = str(value)
            if "e" in text:  # numberformat writes these through Decimal
                return slow(value)
        elif kind is Decimal and value.is_finite():
            _, digits, exponent = value.as_tuple()
            if abs(exponent) + len(digits) > 200:  # numberformat's cut-off for scientific notation
                return slow(value)
            text = f"{value:f}"
        else:
            return slow(value)
        if point:
            text = text.replace(".", decimal_sep)
        return html.escape(text) if unsafe else text

    return html_of


@dataclass
class Kpi:
    key: str
    label: str
    value: str  # formatted for the page
    raw: Any = None  # the number, for the API
    detail: str = ""
    url: str = ""  # the workloads behind it
    state: str = ""  # "good", "bad" or "" (colours the card)


@dataclass
class Chart(_Rows):
    """A figure and the rows it was drawn from (``columns`` × ``rows``; ``links``: a URL per row,
    or empty). ``description`` says what it shows, for screen readers and the data table's caption."""

    key: str
    title: str
    figure: dict[str, Any]
    columns: list[str]
    rows: list[list[Any]]
    description: str = ""
    links: list[str] = field(default_factory=list)
    empty: str = "No data for this period."

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def figure_id(self) -> str:
        return f"chart-{self.key}-figure"


@dataclass
class Table(_Rows):
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    links: list[str] = field(default_factory=list)  # the first cell's link, per row
    description: str = ""
    empty: str = "Nothing to show for this period."


@dataclass
class Dashboard:
    name: str  # portfolio, operations, compliance, adoption, models
    title: str
    lead: str
    filters: Filters
    kpis: list[Kpi] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown above the charts (e.g. what is aggregated)
    numbers: dict[str, Any] = field(default_factory=dict)  # extra figures for the API
    params: dict[str, str] = field(default_factory=dict)  # its own query parameters, kept by its links and form

    @property
    def query(self) -> str:
        """The page's query string: the filters and the dashboard's own parameters."""
        return self.filters.query(**self.params)

    def part(self, key: str) -> Chart | Table | None:
        for part in [*self.charts, *self.tables]:
            if part.key == key:
                return part
        return None

    def as_api(self) -> dict[str, Any]:
        return {
            "dashboard": self.name,
            "filters": self.filters.as_dict(),
            "currency": self.numbers.get("currency", REPORTING_CURRENCY),
            "kpis": [{"key": k.key, "label": k.label, "value": _plain(k.raw), "detail": k.detail} for k in self.kpis],
            "charts": {c.key: {"title": c.title, "columns": c.columns, "rows": _plain(c.rows)} for c in self.charts},
            "tables": {t.key: {"title": t.title, "columns": t.columns, "rows": _plain(t.rows)} for t in self.tables},
            "notes": self.notes,
            **{k: _plain(v) for k, v in self.numbers.items() if k != "currency"},
        }


def _plain(value: Any) -> Any:
    """JSON-safe: decimals as strings (money keeps its digits), dates as ISO text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# --- Shared reading helpers -------------------------------------------------------------------


def slug_url(name: str) -> Callable[[str], str]:
    """``reverse(name, args=[slug])`` for many slugs: the URL is resolved once and each slug put in
    its place (slugs are URL-safe as they are). A table of 200 workloads links 200 rows."""
    marker = "slug-url-marker"
    head, tail = reverse(name, args=[marker]).split(marker)
    return lambda slug: f"{head}{slug}{tail}"


def sees_everything(user: User) -> bool:
    return user.has_perm("dashboards.view_portfolio_detail")


def own_team_ids(user: User) -> set[int]:
    return set(user.team_ids) if user.is_authenticated else set()


def money(value: Decimal | float | None, currency: str = REPORTING_CURRENCY, *, short: bool = False) -> str:
    """``1,234.50 USD``; ``short`` (for a KPI card): no cents from 10,000 on, then ``1.23 M USD``."""
    if value is None:
        return "—"
    amount = Decimal(value)
    if short and abs(amount) >= 1_000_000:
        return f"{amount / 1_000_000:,.2f} M {currency}"
    if short and abs(amount) >= 10_000:
        return f"{amount:,.0f} {currency}"
    return f"{amount:,.2f} {currency}"


def percent(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{places}f} %"
