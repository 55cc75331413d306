"""``make bench``: time the pages and API lists that must stay fast, on a throwaway database.

Each benchmark seeds its data into a fresh test database (SQLite by default, PostgreSQL when
``DATABASE_URL`` is set), requests its URLs through Django's test client, and reports the median
and p95 time and the SQL queries per request. Results are written to docs/benchmarks.md.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment


@dataclass
class Case:
    """One URL to time, with the user (if any) who asks for it."""

    label: str
    url: str
    user: Any = None


@dataclass
class Benchmark:
    name: str
    seed: Callable[[int], list[Case]]  # rows -> cases
    sizes: tuple[int, ...]


def _benchmarks() -> list[Benchmark]:
    """Every app's ``benchmarks.BENCHMARKS``, lower apps first."""
    from django.apps import apps

    found: list[Benchmark] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            module = import_module(f"{config.name}.benchmarks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.benchmarks":
                raise
            continue
        found.extend(module.BENCHMARKS)
    return found


def _time(client: Client, url: str, repeat: int) -> tuple[list[float], int, int]:
    client.get(url)  # warm caches and connections
    timings = []
    queries = 0
    status = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
        status = response.status_code
    return timings, queries, status


class Command(BaseCommand):
    help = "Run the benchmarks on a throwaway database and write docs/benchmarks.md."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "benchmarks.md"))

    def handle(self, *args: Any, repeat: int, output: str, **options: Any) -> None:
        setup_test_environment()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        rows: list[str] = []
        try:
            for bench in _benchmarks():
                for size in bench.sizes:
                    cases = bench.seed(size)
                    if connection.vendor == "postgresql":
                        with connection.cursor() as cursor:  # fresh statistics after a bulk load
                            cursor.execute("ANALYZE")
                    for case in cases:
                        client = Client()
                        if case.user is not None:
                            client.force_login(case.user)
                        timings, queries, status = _time(client, case.url, repeat)
                        median = statistics.median(timings)
                        p95 = statistics.quantiles(timings, n=20)[-1]
                        cells = [bench.name, case.label, f"{size:,}", status, f"{median:.1f}", f"{p95:.1f}", queries]
                        line = "| " + " | ".join(str(c) for c in cells) + " |"
                        rows.append(line)
                        self.stdout.write(line)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()
        self._write(Path(output), rows, repeat)

    def _write(self, path: Path, rows: list[str], repeat: int) -> None:
        uname = platform.uname()
        import os

        cpus = os.cpu_count()
        text = "\n".join(
            [
                "# Benchmarks",
                "",
                "Written by `make bench` (`python manage.py bench`). The table is regenerated on every run; "
                "what stands under “## Notes” is kept.",
                "Each URL is requested once to warm up, then timed "
                f"{repeat} times through Django's test client (no network, no web server): the time is the "
                "view, templates and database. Targets: query count independent of the number of rows; "
                "p95 under 100 ms.",
                "",
                f"- When: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                f"- Machine: {uname.system} {uname.release} {uname.machine}, {cpus} CPUs, "
                f"Python {platform.python_version()}",
                f"- Database: {connection.vendor} ({connection.settings_dict['NAME']})",
                f"- Command: `make bench`{' with DATABASE_URL set' if settings.DATABASE_URL else ''}",
                "",
                "| benchmark | request | rows | status | median ms | p95 ms | SQL queries |",
                "|---|---|---:|---:|---:|---:|---:|",
                *rows,
                "",
            ]
        )
        notes = ""
        if path.exists() and "\n## Notes" in path.read_text():
            notes = "\n## Notes" + path.read_text().split("\n## Notes", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + notes)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}"))
