"""CSV downloads that a spreadsheet opens safely: every app's export goes through here.

A cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading
apostrophe, so Excel or LibreOffice shows it as text instead of running it (OWASP "CSV injection").
``csv_response`` builds a small answer in memory; ``csv_stream_response`` streams one row at a time,
for exports of a whole table (the audit trail) that must not be held in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_cell(value: Any) -> str:
    """A cell that a spreadsheet shows as text, never runs: text starting like a formula gets a
    leading apostrophe; numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _attachment(response: HttpResponse | StreamingHttpResponse, filename: str) -> None:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'


def csv_response(*, filename: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPE)
    _attachment(response, filename)
    return response


class _Echo:
    """A file-like object whose ``write`` hands the line back, so ``csv.writer`` yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(c) for c in row])


def csv_stream_response(
    *, filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """Rows are read lazily (pass a generator over ``QuerySet.iterator()``): memory stays flat
    however many rows match."""
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type=CONTENT_TYPE)
    _attachment(response, filename)
    return response
