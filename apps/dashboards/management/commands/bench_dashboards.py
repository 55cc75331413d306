"""``manage.py bench_dashboards``: the dashboards' server time at 10,000 and at 10,000,000 events.

Each size gets a database of its own (``coe_bench_dashboards_<events>``, created and migrated here
on the server ``DATABASE_URL`` names, dropped afterwards unless ``--keep-db``; the developer's
database is never touched), seeded with 200 workloads, 12 teams and a year of telemetry as the
workers leave it (``apps.dashboards.benchmarks.seed``). Then one new process per size (as a web
worker, which never held what seeding left in memory) requests every dashboard page and its API,
for the last 30 days and the last 12 months, signed in as a leader, through Django's test client:
a few untimed requests, then ``--repeat`` timed ones, each counting its SQL queries. The sizes take
turns in blocks of ``--block`` requests (10k, 10M, 10M, 10k, …), so whatever else slows the machine
for a while slows both sizes alike and their ratio holds still. The figures go to docs/benchmarks.md between
the dashboards' markers; the notes after them are kept. Each size's figures are also kept in
var/bench/ so a later run of one size can still write the comparison.

Targets (issue 8): p95 under 150 ms at 10M events; 10M/10k time ratio under 1.5; the same number
of queries at both sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.governance.services import compliance_scores_refresh
from apps.telemetry.management.commands.bench_ingest import _PostgresCpu, _system_cpu

BENCH_DB = "coe_bench_dashboards"
START = "<!-- bench_dashboards:start -->"
END = "<!-- bench_dashboards:end -->"
SMALL, LARGE = 10_000, 10_000_000
TARGET_P95_MS = 150
TARGET_RATIO = 1.5
PERIODS = (("30d", "last 30 days"), ("12m", "last 12 months"))
ORDER = ("portfolio", "operations", "models", "compliance", "adoption")


@dataclass
class Case:
    dashboard: str
    kind: str  # page, API
    period: str
    url: str

    @property
    def key(self) -> str:
        return f"{self.dashboard}|{self.kind}|{self.period}"


@dataclass
class Timing:
    dashboard: str
    kind: str
    period: str
    url: str
    status: int | str
    median_ms: float | None = None
    p95_ms: float | None = None
    queries: list[int] = field(default_factory=list)  # distinct counts seen over the timed requests
    # How many timed requests made each count ({count: requests}): the session's last-seen time is
    # written at most once a minute (apps/accounts/middleware.py), three more queries on that request.
    query_counts: dict[str, int] = field(default_factory=dict)
    size_kib: float = 0.0
    sql_ms: float | None = None  # median over the timed requests of the time its queries took
    # CPU time per request of this thread and of its PostgreSQL backend: what the request costs the
    # machine, which other processes' load does not inflate (parallel query workers not counted).
    cpu_median_ms: float | None = None
    cpu_p95_ms: float | None = None
    slowest: list[tuple[float, str]] = field(default_factory=list)  # (ms, SQL) of the slowest queries, one request
    error: str = ""

    @property
    def key(self) -> str:
        return f"{self.dashboard}|{self.kind}|{self.period}"


def _available() -> tuple[list[str], list[str]]:
    """Dashboards whose module exists (from the generic view's table), and the missing ones."""
    from apps.dashboards.views import DASHBOARDS

    modules = {name: module for name, (_, module, _) in DASHBOARDS.items()}
    modules["operations"] = "apps.dashboards.operations"
    here, missing = [], []
    for name in ORDER:
        if name not in modules:
            continue
        with contextlib.suppress(ModuleNotFoundError):
            if importlib.util.find_spec(modules[name]) is not None:
                here.append(name)
                continue
        missing.append(name)
    return here, missing


def cases(dashboards: list[str], workload_slug: str) -> list[Case]:
    found = []
    for name in dashboards:
        for period, _ in PERIODS:
            if name == "operations":
                page = reverse("dashboards:operations", kwargs={"slug": workload_slug})
                api = reverse("api:dashboards-operations", kwargs={"slug": workload_slug})
            else:
                page = reverse("dashboards:dashboard", kwargs={"name": name})
                api = reverse(f"api:dashboards-{name}")
            found.append(Case(name, "page", period, f"{page}?period={period}"))
            found.append(Case(name, "API", period, f"{api}?period={period}"))
    return found


class Sampler:
    """One URL's requests in a timing process: untimed ones to warm up, then timed ones one at a time
    (the sizes take turns), summed up as a ``Timing`` at the end."""

    def __init__(self, client: Client, case: Case) -> None:
        self.client, self.case = client, case
        self.timing = Timing(case.dashboard, case.kind, case.period, case.url, status=0)
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.sql: list[float] = []
        self.counts: list[int] = []
        self.slowest: list[dict[str, Any]] = []

    def warm(self, n: int) -> None:
        with self._guard():
            for _ in range(n):
                self.client.get(self.case.url)

    def sample(self) -> None:
        if self.timing.status == "error":
            return
        with self._guard():
            backend = _backend_pid()
            with CaptureQueriesContext(connection) as ctx:
                cpu_before = time.thread_time_ns() + _on_cpu_ns(backend)
                started = time.perf_counter()
                response = self.client.get(self.case.url)
                self.times.append((time.perf_counter() - started) * 1000)
                self.cpu.append((time.thread_time_ns() + _on_cpu_ns(backend) - cpu_before) / 1e6)
            self.counts.append(len(ctx.captured_queries))
            self.sql.append(sum(float(q["time"] or 0) for q in ctx.captured_queries) * 1000)
            self.timing.status = response.status_code
            self.timing.size_kib = len(response.content) / 1024
            self.slowest = ctx.captured_queries

    @contextlib.contextmanager
    def _guard(self) -> Any:
        try:
            yield
        except Exception as exc:  # a broken dashboard is reported in the table, not a crashed run
            self.timing.status = "error"
            self.timing.error = f"{type(exc).__name__}: {exc}"[:300]

    def result(self) -> Timing:
        timing = self.timing
        if timing.status == "error" or not self.times:
            return timing
        timing.median_ms = statistics.median(self.times)
        timing.p95_ms = statistics.quantiles(self.times, n=20)[-1] if len(self.times) > 1 else self.times[0]
        timing.queries = sorted(set(self.counts))
        timing.query_counts = {str(n): self.counts.count(n) for n in timing.queries}
        timing.sql_ms = statistics.median(self.sql)
        timing.cpu_median_ms = statistics.median(self.cpu)
        timing.cpu_p95_ms = statistics.quantiles(self.cpu, n=20)[-1] if len(self.cpu) > 1 else self.cpu[0]
        ranked = sorted(self.slowest, key=lambda q: float(q["time"] or 0), reverse=True)[:3]
        timing.slowest = [(float(q["time"] or 0) * 1000, q["sql"]) for q in ranked]
        return timing


class _Timer:
    """The parent's handle on one size's timing process (``--serve``): a line asked, a line answered."""

    def __init__(self, command: list[str], env: dict[str, str], answer: Path, size: int) -> None:
        self.size, self.answer = size, answer
        self.process = subprocess.Popen(  # noqa: S603 (this command, this interpreter)
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        ready = self._read()
        if not ready.startswith("ready "):
            raise CommandError(f"The {size:,}-event timing process did not start: {ready!r}")
        self.cases = int(ready.split()[1])

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise CommandError(f"The {self.size:,}-event timing process stopped (exit {self.process.returncode}).")
        return line.strip()

    def ask(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if answer != "ok":
            raise CommandError(f"The {self.size:,}-event timing process answered {answer!r} to {command!r}.")

    def finish(self) -> dict[str, Any]:
        self.ask("done")
        if self.process.wait(timeout=60):
            raise CommandError(f"The {self.size:,}-event timing process failed (exit {self.process.returncode}).")
        return json.loads(self.answer.read_text())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _calibrate() -> float:
    """Milliseconds a fixed pure-Python loop takes: how fast the machine ran at that moment (a shared
    virtual machine's speed wanders), to read beside the timings."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i
    return (time.perf_counter() - started) * 1000


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _on_cpu_ns(pid: int) -> int:
    """Nanoseconds the process has run on a CPU (/proc/<pid>/schedstat), 0 if unreadable."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":  # a server elsewhere: not ours to read
            return 0
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def _db(size: int) -> str:
    return f"{BENCH_DB}_{size}"


class Command(BaseCommand):
    help = "Seed a year of telemetry at 10k and 10M events and time every dashboard; figures to docs/benchmarks.md."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--sizes", default=f"{SMALL},{LARGE}", help="Events to seed, comma-separated.")
        parser.add_argument("--repeat", type=int, default=30, help="Timed requests per URL and size (default 30).")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed requests per URL first (default 3).")
        parser.add_argument(
            "--block",
            type=int,
            default=5,
            help="Timed requests a size makes before the other size's turn (default 5): the sizes take turns in "
            "blocks, in alternating order (A B B A …).",
        )
        parser.add_argument("--workloads", type=int, default=200)
        parser.add_argument("--teams", type=int, default=12)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=8, help="Random seed: the same data for the same seed.")
        parser.add_argument(
            "--keep-db", action="store_true", help=f"Keep the databases ({BENCH_DB}_<events>) afterwards."
        )
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Reuse a size's database if it holds that size (seeded today) instead of seeding it again; implies "
            "--keep-db.",
        )
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "benchmarks.md"))
        parser.add_argument("--no-write", action="store_true", help="Print the section; leave the docs alone.")
        parser.add_argument("--serve", default="", help=argparse.SUPPRESS)  # a timing process: its answer file
        parser.add_argument(
            "--only",
            default="",
            help="Time only these dashboards, comma-separated (e.g. compliance,adoption), in databases a kept run "
            "seeded: prints their figures and keeps neither var/bench/ nor the docs.",
        )
        parser.add_argument(
            "--report-only",
            action="store_true",
            help="Measure nothing: write the section from the figures in var/bench/.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write(
                self.style.WARNING(
                    "bench_dashboards skipped: it seeds ten million events' rollups with COPY and needs "
                    f"DATABASE_URL=postgres://… (this run uses {connection.vendor}). Example: "
                    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/coe_portal make bench"
                )
            )
            return
        self.opts = opts
        self.results_dir = Path(settings.VAR_DIR) / "bench"
        if opts["serve"]:
            self._serve()
            return
        if opts["report_only"]:
            section = self._section()
            self.stdout.write(section)
            if not opts["no_write"]:
                self._write(Path(opts["output"]), section)
            return
        sizes = [int(s.replace("_", "")) for s in opts["sizes"].split(",") if s.strip()]
        if not sizes:
            raise CommandError("Give at least one size.")
        self.base_settings = dict(connection.settings_dict)
        if self.base_settings["NAME"].startswith(BENCH_DB):
            raise CommandError(f"DATABASE_URL names a {BENCH_DB} database: name the server's usual database instead.")
        keep = bool(opts["keep_db"] or opts["reuse"] or opts["only"])  # a partial run never drops them
        self.results_dir.mkdir(parents=True, exist_ok=True)
        here, missing = _available()
        only = [name.strip() for name in opts["only"].split(",") if name.strip()]
        if only:
            unknown = set(only) - set(here)
            if unknown:
                raise CommandError(f"No such dashboard: {', '.join(sorted(unknown))}.")
            here = [name for name in here if name in only]
        self.stdout.write(f"Dashboards: {', '.join(here) or 'none'}; missing: {', '.join(missing) or 'none'}.")
        # The test client asks for "testserver"; the test environment's instrumented template
        # rendering is left out on purpose (it copies every context: not what a server does).
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        debug, settings.DEBUG = settings.DEBUG, False
        try:
            seeds = {size: self._prepare(size, keep) for size in sizes}
            self.machine = self._machine()  # connected to a benchmark database: DATABASE_URL's may not exist
            self._settle()
            timed = self._time_interleaved(sizes, here)
            for size in sizes:
                result = self._result(size, seeds[size], timed[size], here, missing)
                if not only:
                    (self.results_dir / f"dashboards-{size}.json").write_text(json.dumps(result, indent=1, default=str))
        finally:
            settings.DEBUG = debug
            self._use(None)
            for size in sizes:
                if keep:
                    self.stdout.write(f"Kept {_db(size)}.")
                else:
                    self._drop(size)
        if only:
            return
        section = self._section()
        self.stdout.write(section)
        if not opts["no_write"]:
            self._write(Path(opts["output"]), section)

    # --- The databases ----------------------------------------------------------------------------

    def _use(self, size: int | None, *, create: bool = False, keepdb: bool = True) -> None:
        """Connect to a size's database (creating and migrating it with ``create``), or, with None,
        back to the one DATABASE_URL names."""
        connection.close()
        connection.settings_dict["NAME"] = self.base_settings["NAME"]
        if size is None:
            return
        if create:
            connection.settings_dict.setdefault("TEST", {})["NAME"] = _db(size)
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=keepdb)
        else:
            connection.settings_dict["NAME"] = _db(size)

    def _drop(self, size: int) -> None:
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{_db(size)}"')

    def _holds(self, size: int, *, fresh_only: bool = True) -> dict[str, Any] | None:
        """The seed report if the connected database holds this size, seeded today (unless not
        ``fresh_only``), else None."""
        from apps.telemetry.models import HourlyRollup

        stored = self.results_dir / f"dashboards-{size}.json"
        if not stored.exists():
            return None
        report = json.loads(stored.read_text()).get("seed") or {}
        try:
            events = HourlyRollup.objects.aggregate(n=Sum("requests"))["n"]
        except DatabaseError:  # not migrated this far
            return None
        fresh = report.get("now", "")[:10] == datetime.now(UTC).date().isoformat()
        return report if events == size and (fresh or not fresh_only) else None

    def _prepare(self, size: int, keep: bool) -> dict[str, Any]:
        """The size's database, created and migrated, seeded unless a kept one can be reused: its seed report."""
        from apps.dashboards import benchmarks

        opts = self.opts
        self.stdout.write(f"{size:,} events: creating and migrating {_db(size)}…")
        self._use(size, create=True, keepdb=keep)
        report = self._holds(size) if opts["reuse"] else None
        if opts["only"] and report is None:
            report = self._holds(size, fresh_only=False)
            if report is None:  # a partial run never seeds: it times what another run seeded
                raise CommandError(f"--only times a {_db(size)} that already holds {size:,} events; it does not.")
        if report is not None:
            self.stdout.write(f"{size:,} events: reusing {_db(size)} (seeded {report['now'][:16]}).")
            return report
        if connection.settings_dict["NAME"] != _db(size):  # never empty any other database
            raise CommandError(f"Connected to {connection.settings_dict['NAME']}, not {_db(size)}: stopping.")
        self.stdout.write(f"{size:,} events: emptying {_db(size)} and seeding…")
        call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        seeded = benchmarks.seed(
            events=size, workloads=opts["workloads"], teams=opts["teams"], days=opts["days"], seed=opts["seed"],
            say=self.stdout.write,
        )  # fmt: skip
        report = {**asdict(seeded), "wall_s": time.perf_counter() - started, "tables": self._tables()}
        self.stdout.write(
            f"Seeded {size:,} events in {report['wall_s']:.1f} s: {report['hourly_rows']:,} hourly "
            f"rows, {report['scorecards']:,} scorecards, {report['check_results']:,} check results."
        )
        return report

    def _settle(self) -> None:
        """Let the bulk loads' writes reach the disk before timing: a CHECKPOINT (PostgreSQL writes its
        dirty buffers) and a sync (the kernel writes its dirty pages). Timed straight after seeding
        10M, the requests shared the machine with writing ~2 GB back, and even the dashboards that
        read the same rows at both sizes came out 1.3–1.6 times slower."""
        started = time.perf_counter()
        # Not a superuser (or pg_checkpoint, PostgreSQL 15+): no checkpoint, the sync still helps.
        with connection.cursor() as cursor, contextlib.suppress(DatabaseError):
            cursor.execute("CHECKPOINT")
        os.sync()
        self.stdout.write(f"  checkpoint and sync: {time.perf_counter() - started:.1f} s")

    # --- Timing -----------------------------------------------------------------------------------

    def _time_interleaved(self, sizes: list[int], here: list[str]) -> dict[int, dict[str, Any]]:
        """Every URL timed in one new process per size (``--serve``), the sizes taking turns in blocks of
        ``--block`` requests, in alternating order (A B B A …): per size, the operations workload, the
        timings and the CPU. A block, not a single request: a worker serving a run of requests keeps
        its caches warm, and alternating every request made both sizes pay for the other's."""
        opts = self.opts
        labels = cases(here, "-")
        with tempfile.TemporaryDirectory() as folder:
            timers: list[_Timer] = []
            try:
                for size in sizes:
                    answer = Path(folder) / f"timings-{size}.json"
                    command = [
                        sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench_dashboards",
                        "--serve", str(answer), "--only", ",".join(here), "--sizes", str(size),
                        "--repeat", str(opts["repeat"]), "--warmup", str(opts["warmup"]),
                    ]  # fmt: skip
                    self.stdout.flush()
                    timers.append(_Timer(command, {**os.environ, "DATABASE_URL": self._url(size)}, answer, size))
                self.stdout.write(
                    f"Timing {len(labels)} URLs × {opts['repeat']} requests in {len(timers)} processes, the sizes "
                    "taking turns…"
                )
                speed = [_calibrate()]
                for index, label in enumerate(labels):
                    speed.append(_calibrate())
                    started = time.perf_counter()
                    for timer in timers:
                        timer.ask(f"warm {index}")
                    block = max(1, opts["block"])
                    for turn, first in enumerate(range(0, opts["repeat"], block)):
                        for timer in timers if turn % 2 == 0 else timers[::-1]:
                            for _ in range(min(block, opts["repeat"] - first)):
                                timer.ask(f"time {index}")
                    self.stdout.write(
                        f"  {label.dashboard:<11} {label.kind:<4} {label.period:<3} "
                        f"{time.perf_counter() - started:5.1f} s"
                    )
                speed.append(_calibrate())
                self.stdout.write(
                    f"Calibration loop: median {statistics.median(speed):.0f} ms ({min(speed):.0f}–{max(speed):.0f})."
                )
                answers = {timer.size: {**timer.finish(), "calibration_ms": speed} for timer in timers}
            finally:
                for timer in timers:
                    timer.kill()
        return answers

    def _url(self, size: int) -> str:
        """DATABASE_URL for a timing process: the same server, the size's database."""
        s = self.base_settings
        auth = quote(s.get("USER") or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{_db(size)}"

    def _serve(self) -> None:
        """A timing process: DATABASE_URL names a seeded size's database. Answers the parent line by
        line on stdout (nothing else may be printed there): ``ready <n>``, then ``ok`` to each ``warm
        <i>`` or ``time <i>``; at ``done``, writes its figures to the answer file and exits."""
        from apps.dashboards import benchmarks

        size = int(self.opts["sizes"])
        if connection.settings_dict["NAME"] != _db(size):
            raise CommandError(f"--serve times {_db(size)} only.")
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.DEBUG = False
        here = [name for name in self.opts["only"].split(",") if name]
        workload = benchmarks.busiest_workload()
        compliance_scores_refresh()  # fresh, as the beat task keeps them (a reused database's may be old)
        client = Client()
        client.force_login(benchmarks.leader())
        samplers = [Sampler(client, case) for case in cases(here, workload.slug)]
        reply = sys.stdout
        postgres = _PostgresCpu(_db(size))
        postgres.start()
        own_before, (busy_before, _) = os.times(), _system_cpu()
        # As a web worker does once it has loaded the application (coe_portal/gunicorn.py): what lives
        # now is frozen, so the collector's full passes skip it.
        gc.collect()
        gc.freeze()
        clock = time.perf_counter()
        reply.write(f"ready {len(samplers)}\n")
        reply.flush()
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "done":
                break
            if command == "warm":
                samplers[int(argument)].warm(self.opts["warmup"])
            elif command == "time":
                samplers[int(argument)].sample()
            reply.write("ok\n")
            reply.flush()
        elapsed = time.perf_counter() - clock
        gc.unfreeze()
        own_after, (busy_after, _) = os.times(), _system_cpu()
        own = own_after.user + own_after.system - own_before.user - own_before.system
        database = postgres.stop()
        cpu = {
            "seconds": elapsed, "this process": own, "postgresql": database,
            "other processes": max(0.0, busy_after - busy_before - own - database),
        }  # fmt: skip
        timings = [asdict(sampler.result()) for sampler in samplers]
        Path(self.opts["serve"]).write_text(
            json.dumps({"workload": workload.slug, "timings": timings, "cpu": cpu}, default=str)
        )
        reply.write("ok\n")
        reply.flush()

    def _result(
        self, size: int, seed: dict[str, Any], timed: dict[str, Any], here: list[str], missing: list[str]
    ) -> dict[str, Any]:
        """A size's figures as kept in var/bench/; for 10M, EXPLAIN ANALYZE of each slow request's
        slowest query."""
        timings = [Timing(**t) for t in timed["timings"]]
        self.stdout.write(f"{size:,} events:")
        for timing in timings:
            if timing.status == "error":
                self.stdout.write(
                    self.style.ERROR(f"  {timing.dashboard} {timing.kind} {timing.period}: {timing.error}")
                )
                continue
            self.stdout.write(
                f"  {timing.dashboard:<11} {timing.kind:<4} {timing.period:<3} {timing.status} median "
                f"{timing.median_ms:7.1f} ms  p95 {timing.p95_ms:7.1f} ms  CPU {timing.cpu_median_ms:7.1f} / "
                f"{timing.cpu_p95_ms:7.1f} ms  queries {timing.queries}  {timing.size_kib:,.0f} KiB"
            )
        plans = {}
        if size >= LARGE and not self.opts["only"]:
            self._use(size)
            for timing in timings:
                if timing.p95_ms is not None and timing.p95_ms >= TARGET_P95_MS and timing.slowest:
                    ms, sql = timing.slowest[0]
                    if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                        plans[timing.key] = {"ms": ms, "sql": sql, "plan": explain(sql)}
            if plans:
                path = self.results_dir / f"dashboards-{size}-explain.txt"
                path.write_text(
                    "\n\n".join(f"== {k} ({v['ms']:.1f} ms)\n{v['sql']}\n\n{v['plan']}" for k, v in plans.items())
                )
                self.stdout.write(f"EXPLAIN ANALYZE of the slowest query of each slow request: {path}")
        return {
            "size": size,
            "measured_at": datetime.now(UTC).isoformat(),
            "seed": seed,
            "workload": timed["workload"],
            "repeat": self.opts["repeat"],
            "warmup": self.opts["warmup"],
            "dashboards": here,
            "missing": missing,
            "timings": [asdict(t) for t in timings],
            "explain": plans,
            "machine": self.machine,
            "cpu": timed["cpu"],
            "calibration_ms": timed.get("calibration_ms", []),
            "block": self.opts["block"],
            "interleaved": True,
        }

    def _tables(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
                "('telemetry_hourlyrollup', 'telemetry_dailymodelrollup', 'telemetry_monthlymodelrollup', "
                "'telemetry_scorecard', 'governance_checkresult')"
            )
            return dict(cursor.fetchall())

    # --- Machine --------------------------------------------------------------------------------

    def _machine(self) -> dict[str, str]:
        uname = platform.uname()
        cpu, memory = "", ""
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with contextlib.suppress(OSError, ValueError, IndexError):
            memory = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.1f} GiB"
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            buffers = cursor.fetchone()[0]
        return {
            "os": f"{uname.system} {uname.release} {uname.machine}",
            "cpus": str(os.cpu_count()),
            "cpu": cpu,
            "memory": memory,
            "python": platform.python_version(),
            "postgresql": pg,
            "shared_buffers": buffers,
            "cache": "Redis" if settings.REDIS_URL else "local memory",
            "command": self._command(),
        }

    def _command(self) -> str:
        s = self.base_settings
        auth = quote(s.get("USER") or "", safe="")
        url = f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/…"
        extra = "" if self.opts["sizes"] == f"{SMALL},{LARGE}" else f" --sizes {self.opts['sizes']}"
        if self.opts["repeat"] != 30:
            extra += f" --repeat {self.opts['repeat']}"
        return f"DATABASE_URL={url} python manage.py bench_dashboards{extra}"

    # --- The docs -------------------------------------------------------------------------------

    def _load(self, size: int) -> dict[str, Any] | None:
        path = self.results_dir / f"dashboards-{size}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _section(self) -> str:
        small, large = self._load(SMALL), self._load(LARGE)
        latest = large or small
        lines = [
            START,
            "## Dashboards",
            "",
            "Written by `python manage.py bench_dashboards` (run by `make bench`; needs DATABASE_URL=postgres://…). "
            "The text between the markers is regenerated; the notes after them are kept.",
            "",
        ]
        if latest is None:
            return "\n".join([*lines, "Not measured yet.", END, ""])
        m = latest["machine"]
        lines += [
            f"- When: 10M {large['measured_at'][:16].replace('T', ' ') if large else '—'} UTC, "
            f"10k {small['measured_at'][:16].replace('T', ' ') if small else '—'} UTC",
            f"- Machine: {m['os']}, {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, "
            f"PostgreSQL {m['postgresql']} (shared_buffers {m['shared_buffers']}), cache: {m['cache']}. "
            "Client, server and database share the CPUs.",
            f"- Command: `{m['command']}`",
            f"- Databases: `{BENCH_DB}_10000` and `{BENCH_DB}_10000000`, created and migrated by the command on the "
            "server DATABASE_URL names, seeded, and dropped afterwards.",
            f"- Method: signed in as a leader (every workload by name), each URL requested {latest['warmup']} times "
            f"untimed, then {latest['repeat']} times timed through Django's test client, in one new process per "
            "size started once both are seeded (a web worker never holds what seeding left in memory)"
            + (
                f", the two sizes taking turns in blocks of {latest.get('block', 1)} requests (10k, 10M, 10M, 10k, …), "
                "so that whatever else slows the machine for a while slows both alike"
                if latest.get("interleaved")
                else ""
            )
            + " (no network, no web server, DEBUG off, no test-environment template instrumentation; the heap "
            "frozen before timing with `gc.freeze()`, as each gunicorn worker does after start-up, see "
            "`coe_portal/gunicorn.py`): the time is "
            "middleware, view, queries and template or JSON rendering. Queries counted per request "
            "(CaptureQueriesContext). Operations: the busiest workload.",
            "",
            "### Seeded",
            "",
            "| events | workloads | teams | days | hourly rollups | daily rollups | monthly rollups | scorecards | "
            "check results | releases | open + closed alerts | seeding s | hourly rollups on disk |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for result in (small, large):
            if result is None:
                continue
            s = result["seed"]
            disk = (s.get("tables") or {}).get("telemetry_hourlyrollup", 0) / 1024**2
            lines.append(
                f"| {s['events']:,} | {s['workloads']} | {s['teams']} | {s['days']} | {s['hourly_rows']:,} | "
                f"{s.get('daily_rows', 0):,} | {s['monthly_rows']:,} | {s['scorecards']:,} | {s['check_results']:,} | "
                f"{s['releases']:,} | "
                f"{s['alerts']:,} | {s.get('wall_s', 0):.0f} | {disk:,.0f} MiB |"
            )
        lines += [
            "",
            "### Server time per request",
            "",
            f"Targets: p95 under {TARGET_P95_MS} ms at 10M events; 10M/10k ratio of the medians under {TARGET_RATIO}; "
            "the same query count at both sizes. Times are wall-clock (what the user waits); CPU is the request's "
            "own CPU time, this process's thread plus its PostgreSQL backend (/proc/…/schedstat), which other "
            "processes on the machine do not inflate; SQL is the time its queries took (median). Queries: what the "
            "requests made, and in brackets what the few made that also wrote the session's last-seen time (at most "
            "once a minute, three more queries).",
            "",
            "| dashboard | request | period | 10k median ms | 10k p95 ms | 10M median ms | 10M p95 ms | 10M/10k | "
            "10M CPU median ms | 10M CPU p95 ms | 10M SQL ms | queries 10k | queries 10M | KiB 10M | |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        by_small = {t_key(t): t for t in (small or {}).get("timings", [])}
        by_large = {t_key(t): t for t in (large or {}).get("timings", [])}
        keys = list(dict.fromkeys([*by_large, *by_small]))
        misses = []
        for key in keys:
            a, b = by_small.get(key), by_large.get(key)
            ref = b or a
            label = dict(PERIODS)[ref["period"]]
            ratio = b["median_ms"] / a["median_ms"] if a and b and a["median_ms"] and b["median_ms"] else None
            checks = []
            if b and b["p95_ms"] is not None:
                checks.append(b["p95_ms"] < TARGET_P95_MS)
            if ratio is not None:
                checks.append(ratio < TARGET_RATIO)
            if a and b and a["queries"] and b["queries"]:
                checks.append(_usual(a) == _usual(b))
            ok = "✅" if checks and all(checks) else "❌" if checks else ""
            if checks and not all(checks):
                misses.append(f"{ref['dashboard']} {ref['kind']} ({label})")
            size = f"{b['size_kib']:,.0f}" if b and b["status"] != "error" else "—"
            lines.append(
                f"| {ref['dashboard']} | {ref['kind']} | {label} | {_ms(a, 'median_ms')} | {_ms(a, 'p95_ms')} | "
                f"{_ms(b, 'median_ms')} | {_ms(b, 'p95_ms')} | {f'{ratio:.2f}' if ratio else '—'} | "
                f"{_ms(b, 'cpu_median_ms')} | {_ms(b, 'cpu_p95_ms')} | {_ms(b, 'sql_ms')} | {_q(a)} | {_q(b)} | {size} "
                f"| {ok} |"
            )
        missing = (large or small)["missing"]
        errors = [t for t in [*by_small.values(), *by_large.values()] if t["status"] not in (200,)]
        lines.append("")
        for name, result in (("10k", small), ("10M", large)):
            cpu = (result or {}).get("cpu")
            if cpu:
                capacity = cpu["seconds"] * int(m["cpus"])
                lines.append(
                    f"- CPU while the {name} requests were timed ({cpu['seconds']:.0f} s): this process "
                    f"{cpu['this process'] / capacity:.0%} of the machine, PostgreSQL "
                    f"{cpu['postgresql'] / capacity:.0%}, other processes {cpu['other processes'] / capacity:.0%}."
                )
        speed = (large or small or {}).get("calibration_ms") or []
        if speed:
            lines.append(
                f"- Machine speed while timing: a fixed pure-Python loop (`_calibrate`, run before each URL) took "
                f"{min(speed):.0f}–{max(speed):.0f} ms (median {statistics.median(speed):.0f}); the lower, the "
                "faster. This shared virtual machine's speed wanders: compare runs by it."
            )
        if missing:
            lines.append(f"- Not measured (module missing when the benchmark ran): {', '.join(missing)}.")
        for t in errors:
            lines.append(f"- {t['dashboard']} {t['kind']} {t['period']}: answered {t['status']} {t['error']}".rstrip())
        if misses:
            lines.append(f"- Targets missed: {', '.join(misses)}.")
        elif small and large:
            lines.append("- Every measured request met the targets.")
        else:
            lines.append("- Targets not judged: they need both sizes measured.")
        lines += [END, ""]
        return "\n".join(lines)

    def _write(self, path: Path, section: str) -> None:
        text = path.read_text() if path.exists() else "# Benchmarks\n\n## Notes\n"
        if START in text and END in text:
            before, rest = text.split(START, 1)
            after = rest.split(END, 1)[1].lstrip("\n")
            text = before + section + ("\n" + after if after else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        path.write_text(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote the dashboards section of {path}"))


def t_key(timing: dict[str, Any]) -> str:
    return f"{timing['dashboard']}|{timing['kind']}|{timing['period']}"


def _ms(timing: dict[str, Any] | None, name: str) -> str:
    if timing is None or timing.get(name) is None:
        return "—"
    return f"{timing[name]:.1f}"


def _usual(timing: dict[str, Any]) -> int:
    """The query count most of the timed requests made (the others wrote the session's last-seen time)."""
    counts = timing.get("query_counts") or {str(n): 1 for n in timing["queries"]}
    return int(max(counts, key=lambda n: (counts[n], -int(n))))


def _q(timing: dict[str, Any] | None) -> str:
    if timing is None or not timing.get("queries"):
        return "—"
    usual = _usual(timing)
    others = [n for n in timing["queries"] if n != usual]
    counts = timing.get("query_counts") or {}
    return f"{usual}" + "".join(f" ({n} ×{counts.get(str(n), 1)})" for n in others)
