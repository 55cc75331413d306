"""A table's rows are written in Python (``_Rows.body_html``) rather than by template loops: the
same HTML as the loop gave, for every kind of value a dashboard puts in a cell."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.safestring import SafeString

from apps.dashboards.base import PAGE_ROWS, Table

# What templates/dashboards/_table.html rendered before: one cell at a time.
LOOP = Template(
    "{% for link, row in part.rows_with_links %}"
    '<tr>{% for cell in row %}{% if forloop.first %}<th scope="row">{% if link %}<a href="{{ link }}">{{ cell }}'
    "</a>{% else %}{{ cell }}{% endif %}</th>{% else %}<td>{% if cell is None %}—{% else %}{{ cell }}{% endif %}"
    "</td>{% endif %}{% endfor %}</tr>{% if not forloop.last %}\n{% endif %}{% endfor %}"
)

VALUES = [
    "plain",
    '<script>alert("x")</script> & "quotes"',
    '=HYPERLINK("http://evil")',
    Decimal("1234.50"),
    Decimal("-0.000001"),
    Decimal("1E+3"),
    Decimal("0"),
    1.5,
    1e-7,
    123456789.125,
    Decimal("1E-250"),
    float("inf"),
    -2.25e21,
    float("nan"),
    0,
    -12345678,
    12345678901234567890,
    SafeString("<b>marked safe</b>"),
    True,
    False,
    None,
    date(2026, 11, 24),
    datetime(2026, 11, 24, 13, 5),
]


def _table(rows: list[list], links: list[str]) -> Table:
    return Table("t", "T", [f"c{i}" for i in range(len(rows[0]))], rows, links=links)


@pytest.mark.parametrize("grouped", [False, True], ids=["plain", "thousand-separators"])
@pytest.mark.parametrize("language", ["en-gb", "de", "de-ch"])
def test_rows_are_the_html_the_template_loop_gave(language: str, grouped: bool, settings) -> None:  # type: ignore[no-untyped-def]
    settings.USE_THOUSAND_SEPARATOR = grouped
    rows = [[first, *VALUES] for first in VALUES]
    links = ["/dashboards/workloads/a/?x=1&y=<2>", "", 'javascript:"alert(1)"'] * len(rows)
    table = _table(rows, links[: len(rows)])
    with translation.override(language):
        assert str(table.body_html) == LOOP.render(Context({"part": table}))


def test_only_the_first_page_of_rows_is_written() -> None:
    table = _table([[f"w{i}", i] for i in range(PAGE_ROWS + 7)], [])
    html = str(table.body_html)
    assert html.count("<tr>") == PAGE_ROWS
    assert f"w{PAGE_ROWS - 1}<" in html
    assert f"w{PAGE_ROWS}<" not in html
    assert table.rows_left_out == 7
