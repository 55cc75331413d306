"""``manage.py bench_ingest``: the telemetry benchmarks that need a real server and PostgreSQL.

1. Ingestion under load. A dedicated database (``coe_bench``, created and migrated here, dropped
   afterwards), gunicorn started as the Dockerfile starts it (sync workers, DEBUG off, behind a
   TLS proxy, rate limit raised out of the way), and concurrent senders posting pre-built batches:
   OTLP protobuf to ``/v1/traces`` and native JSON to ``/api/v1/telemetry/events``. Throughput is
   the rows PostgreSQL holds afterwards (every answer comes after its commit), not the answers.
2. The same OTLP load sent to a peer, Arize Phoenix, in its own virtualenv (``PHOENIX_VENV``),
   storing to PostgreSQL. Phoenix answers before it stores, so its rate is the time until its
   spans table holds every span.
3. Rollup and scoring: a million events over 50 workloads bulk-loaded, then the rollup of every
   marked hour and the scorecard of every workload and day, timed.

The figures go to docs/benchmarks.md between the telemetry markers; what follows them is kept.
Every loop is bounded in count and time and talks only to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from apps.telemetry import loadgen

BENCH_DB = "coe_bench"
PEER_DB = "phoenix_bench"
DEFAULT_PEER_VENV = "/work/peer/phoenix-venv"
START = "<!-- bench_ingest:start -->"
END = "<!-- bench_ingest:end -->"
PEER_INSTALL = (
    "python3 -m venv /work/peer/phoenix-venv && /work/peer/phoenix-venv/bin/pip install arize-phoenix asyncpg"
)
TARGET_RATE = 20_000
AIM_RATE = 25_000
TARGET_RSS_MIB = 250
TARGET_RATIO = 100
TARGET_ROLLUP_S = 15


# --- /proc -------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    if int(_stat(int(entry.name))[1]) == pid:
                        found.append(int(entry.name))
        return found


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from the state on (the command name may hold spaces)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat(pid)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _status_kib(pid: int, name: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return None


def _system_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / ticks, idle / ticks


class _PostgresCpu(threading.Thread):
    """CPU seconds used by PostgreSQL for the bench database while it runs: its backends and the
    server's own processes (writer, checkpointer, autovacuum), not other databases' backends.
    Backends come and go (CONN_MAX_AGE recycles them), so each is sampled twice a second and
    counted from when it was first seen (or from zero if it started during the run)."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started_at: set[int] = set()
        self.done = threading.Event()
        self.sample(initial=True)

    def _ours(self, pid: int) -> bool:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        client = "(" in title or "[local]" in title  # "postgres: 15/main: user db 127.0.0.1(5432) idle"
        return not client or f" {self.database} " in title

    def sample(self, initial: bool = False) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres" or not self._ours(pid):
                    continue
                used = _cpu_seconds([pid])
                if pid not in self.first:
                    self.first[pid] = used if initial else 0.0
                self.last[pid] = used

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str]) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def _stop(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the process we started (gunicorn's master stops its own workers), then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# --- Results -----------------------------------------------------------------------------------------


@dataclass
class LoadRun:
    label: str
    path: str
    batches: int
    batch_size: int
    concurrency: int
    committed: int
    expected: int
    seconds: float
    p50_ms: float | None
    p95_ms: float | None
    statuses: dict[int, int]
    failures: list[str]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.committed / self.seconds if self.seconds else 0.0


@dataclass
class PeerRun:
    status: str  # "ok", or why not
    version: str = ""
    spans: int = 0
    stored: int = 0
    answered_s: float = 0.0
    stored_s: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    rss_mib: float | None = None

    @property
    def rate(self) -> float:
        return self.stored / self.stored_s if self.stored_s else 0.0


class Command(BaseCommand):
    help = "Ingestion throughput under gunicorn, the Phoenix peer, rollup and scoring; figures to docs/benchmarks.md."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batches", type=int, default=1000, help="Timed batches per format (default 1000).")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--concurrency", type=int, default=4, help="Concurrent senders (default 4).")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3, see notes).")
        parser.add_argument("--formats", default="otlp,native", help="otlp, native or both (default).")
        parser.add_argument("--warmup", type=int, default=16, help="Untimed batches per format first.")
        parser.add_argument("--deadline", type=float, default=240, help="Seconds at most per timed run.")
        parser.add_argument("--peer-batches", type=int, default=40, help="Batches sent to the peer (default 40).")
        parser.add_argument("--peer-timeout", type=float, default=420, help="Seconds to wait for the peer to store.")
        parser.add_argument("--no-peer", action="store_true")
        parser.add_argument("--no-ingest", action="store_true")
        parser.add_argument("--no-rollup", action="store_true")
        parser.add_argument("--rollup-events", type=int, default=1_000_000)
        parser.add_argument("--rollup-workloads", type=int, default=50)
        parser.add_argument("--rollup-days", type=int, default=7)
        parser.add_argument("--rollup-processes", type=int, default=2,
                            help="Worker processes scoring the workloads (the scoring queue's workers).")  # fmt: skip
        parser.add_argument("--keep-db", action="store_true", help=f"Keep {BENCH_DB} afterwards.")
        parser.add_argument("--db-name", default=BENCH_DB, help=f"The database to create (default {BENCH_DB}).")
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "benchmarks.md"))
        parser.add_argument("--no-write", action="store_true", help="Print the section; leave the docs alone.")

    def handle(self, *args: Any, **opts: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write(self.style.WARNING(
                "bench_ingest skipped: it measures PostgreSQL's write path and needs DATABASE_URL=postgres://… "
                f"(this run uses {connection.vendor}). Example: DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
                "coe_portal make bench"
            ))  # fmt: skip
            return
        from google.protobuf.internal import api_implementation

        self.backend = api_implementation.Type()
        if self.backend != "upb":
            self.stdout.write(self.style.WARNING(f"protobuf backend is {self.backend}, not upb: parsing is slower."))
        self.opts = opts
        self.base_settings = dict(connection.settings_dict)
        runs: list[LoadRun] = []
        rss: list[float] = []
        peer = PeerRun(status="not run (--no-peer)")
        rollup = None
        self.db_name = opts["db_name"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = self.db_name
        self.stdout.write(f"Creating and migrating {self.db_name}…")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            self.machine = self._machine()
            if not opts["no_ingest"]:
                runs, rss = self._ingest()
            if not opts["no_peer"]:
                peer = self._peer()
            if not opts["no_rollup"]:
                rollup = self._rollup()
        finally:
            if not opts["keep_db"]:
                connection.creation.destroy_test_db(old_name, verbosity=0)
        section = self._section(runs, rss, peer, rollup)
        self.stdout.write(section)
        if not opts["no_write"]:
            self._write(Path(opts["output"]), section)

    # --- Machine ------------------------------------------------------------------------------------

    def _machine(self) -> dict[str, str]:
        uname = platform.uname()
        cpu = ""
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        memory = ""
        with contextlib.suppress(OSError):
            kib = int(Path("/proc/meminfo").read_text().split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = cursor.fetchone()[0]
        return {
            "os": f"{uname.system} {uname.release} {uname.machine}",
            "cpus": str(os.cpu_count()),
            "cpu": cpu,
            "memory": memory,
            "python": platform.python_version(),
            "postgresql": pg,
            "redis": "yes" if settings.REDIS_URL else "no (local-memory cache)",
        }

    def _url(self, name: str) -> str:
        s = self.base_settings
        auth = quote(s.get("USER") or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"

    # --- 1. Ingestion under gunicorn ------------------------------------------------------------------

    def _ingest(self) -> tuple[list[LoadRun], list[float]]:
        from apps.telemetry import benchmarks

        opts = self.opts
        size, count, warm = opts["batch_size"], opts["batches"], opts["warmup"]
        formats = [f.strip() for f in opts["formats"].split(",") if f.strip()]
        benchmarks.bench_catalogue()
        workloads = benchmarks.bench_workloads(2 * len(formats), label="ingest")
        plan = []
        started = time.perf_counter()
        for n, fmt in enumerate(formats):
            warm_wl, timed_wl = workloads[2 * n], workloads[2 * n + 1]
            if fmt == "otlp":
                build = lambda c, first: loadgen.otlp_batches(c, size, first_id=first)  # noqa: E731
                path, content_type = "/v1/traces", loadgen.PROTOBUF
            elif fmt == "native":
                build = lambda c, first: loadgen.native_batches(c, size, prefix=f"n{first}")  # noqa: E731
                path, content_type = "/api/v1/telemetry/events", loadgen.JSON
            else:
                raise CommandError(f"Unknown format {fmt!r}: otlp or native.")
            plan.append((fmt, path, content_type, warm_wl, benchmarks.bench_key(warm_wl), build(warm, 1),
                         timed_wl, benchmarks.bench_key(timed_wl), build(count, 1)))  # fmt: skip
        self.stdout.write(f"Built {len(formats) * (count + warm)} batches in {time.perf_counter() - started:.1f} s.")

        port = _free_port()
        workers = opts["workers"]
        logdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "BEHIND_TLS_PROXY": "1",  # as behind the TLS proxy production has; senders say X-Forwarded-Proto
            "DATABASE_URL": self._url(self.db_name),
            "TELEMETRY_RATE_LIMIT_PER_MINUTE": "100000000",  # the check still runs; it never refuses
            "PYTHONUNBUFFERED": "1",
        }
        self.gunicorn_cmd = [
            "gunicorn", "coe_portal.wsgi:application", "--config", "coe_portal/gunicorn.py",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--timeout", "60", "--worker-tmp-dir", "/dev/shm",  # noqa: S108 (as the Dockerfile)
            "--access-logfile", "-", "--error-logfile", "-",  # to a file here, as production logs to stdout
        ]  # fmt: skip
        command = [sys.executable, "-m", *self.gunicorn_cmd]
        log = (logdir / "gunicorn.log").open("wb")
        server = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log,  # noqa: S603 (our own list)
                                  stderr=subprocess.STDOUT)  # fmt: skip
        headers = {"X-Forwarded-Proto": "https"}
        runs: list[LoadRun] = []
        try:
            deadline = time.monotonic() + 60
            while _get(port, "/healthz?only=database", headers) != 200:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise CommandError(f"gunicorn did not start; see {logdir / 'gunicorn.log'}")
                time.sleep(0.3)
            while len(_children(server.pid)) < workers and time.monotonic() < deadline:
                time.sleep(0.2)
            pids = _children(server.pid)
            self.stdout.write(f"gunicorn up on :{port}, master {server.pid}, workers {pids}")
            for fmt, path, content_type, _warm_wl, warm_key, warm_bodies, wl, key, bodies in plan:
                send = {"host": "127.0.0.1", "port": port, "path": path, "content_type": content_type,
                        "concurrency": opts["concurrency"]}  # fmt: skip
                loadgen.send(bodies=warm_bodies, headers={**headers, "Authorization": f"Bearer {warm_key}"}, **send)
                before = self._count(wl.pk)
                postgres = _PostgresCpu(self.db_name)
                postgres.start()
                cpu_before = self._cpu(pids)
                result = loadgen.send(bodies=bodies, headers={**headers, "Authorization": f"Bearer {key}"},
                                      deadline_s=opts["deadline"], **send)  # fmt: skip
                cpu_after = self._cpu(pids)
                cpu_after["postgresql"] = cpu_before["postgresql"] + postgres.stop()
                committed = self._count(wl.pk) - before
                run = LoadRun(
                    label=fmt, path=path, batches=result.sent, batch_size=size, concurrency=opts["concurrency"],
                    committed=committed, expected=result.sent * size, seconds=result.seconds,
                    p50_ms=loadgen.percentile(result.latencies_ms, 50),
                    p95_ms=loadgen.percentile(result.latencies_ms, 95), statuses=dict(result.statuses),
                    failures=result.failures[:5], cpu={k: cpu_after[k] - cpu_before[k] for k in cpu_after},
                )  # fmt: skip
                busy = run.cpu.pop("busy")
                idle = run.cpu.pop("idle")
                run.cpu["other processes"] = busy - sum(run.cpu.values())
                run.cpu["idle"] = idle
                runs.append(run)
                self.stdout.write(
                    f"{fmt}: {committed:,} events committed in {run.seconds:.1f} s = {run.rate:,.0f}/s; "
                    f"p50 {run.p50_ms or 0:.0f} ms, p95 {run.p95_ms or 0:.0f} ms; {run.statuses} {run.failures}; "
                    "CPU µs/event "
                    + ", ".join(f"{k} {v / max(committed, 1) * 1e6:.1f}" for k, v in run.cpu.items() if k != "idle")
                    + f"; machine idle {run.cpu['idle'] / (run.seconds * (os.cpu_count() or 1)):.0%}"
                )
            rss = [(_status_kib(pid, "VmHWM") or 0) / 1024 for pid in _children(server.pid)]
        finally:
            _stop(server)
            log.close()
        if any(r.failures for r in runs):
            self.stdout.write(f"Failures; the server's log is {logdir / 'gunicorn.log'}")
        else:
            shutil.rmtree(logdir, ignore_errors=True)
        return runs, rss

    def _count(self, workload_id: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM telemetry_event WHERE workload_id = %s", [workload_id])
            return cursor.fetchone()[0]

    def _cpu(self, workers: list[int]) -> dict[str, float]:
        """CPU seconds so far by group; PostgreSQL's is filled in by _PostgresCpu over the run."""
        own = os.times()
        busy, idle = _system_cpu()
        return {
            "web workers": _cpu_seconds(workers),
            "postgresql": 0.0,
            "senders (this process)": own.user + own.system,
            "busy": busy,
            "idle": idle,
        }

    # --- 2. The peer: Arize Phoenix -------------------------------------------------------------------------

    def _peer(self) -> PeerRun:
        venv = Path(os.environ.get("PHOENIX_VENV", DEFAULT_PEER_VENV))
        phoenix = venv / "bin" / "phoenix"
        if not phoenix.exists():
            return PeerRun(status=f"peer not installed (no {phoenix}); install it with `{PEER_INSTALL}` "
                                  "or point PHOENIX_VENV at a virtualenv that has it")  # fmt: skip
        version = subprocess.run(  # noqa: S603 (our own argument list)
            [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('arize-phoenix'))"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        backend = subprocess.run(  # noqa: S603
            [str(venv / "bin" / "python"), "-c",
             "from google.protobuf.internal import api_implementation as a; print(a.Type())"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        opts = self.opts
        size, count = opts["batch_size"], opts["peer_batches"]
        warm = loadgen.otlp_batches(2, size, first_id=1)
        bodies = loadgen.otlp_batches(count, size, first_id=1 + 2 * size)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {PEER_DB}")
            cursor.execute(f"CREATE DATABASE {PEER_DB}")
        port, grpc_port = _free_port(), _free_port()
        workdir = Path(tempfile.mkdtemp(prefix="bench-phoenix-"))
        env = {
            **os.environ,
            "PHOENIX_SQL_DATABASE_URL": self._url(PEER_DB).replace("postgres://", "postgresql://", 1),
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        log = (workdir / "phoenix.log").open("wb")
        server = subprocess.Popen([str(phoenix), "serve"], cwd=workdir, env=env, stdout=log,  # noqa: S603
                                  stderr=subprocess.STDOUT)  # fmt: skip
        peer_conn = None
        try:
            deadline = time.monotonic() + 120
            while _get(port, "/healthz", {}) != 200:
                if server.poll() is not None or time.monotonic() > deadline:
                    return PeerRun(status=f"Phoenix {version} did not start; see {workdir / 'phoenix.log'}")
                time.sleep(0.5)
            import psycopg2

            s = self.base_settings
            peer_conn = psycopg2.connect(dbname=PEER_DB, user=s.get("USER"), password=s.get("PASSWORD") or None,
                                         host=s.get("HOST") or "127.0.0.1", port=s.get("PORT") or 5432)  # fmt: skip
            peer_conn.autocommit = True

            def stored() -> int:
                with peer_conn.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM spans")
                    return cursor.fetchone()[0]

            send = {"host": "127.0.0.1", "port": port, "path": "/v1/traces", "content_type": loadgen.PROTOBUF,
                    "concurrency": opts["concurrency"]}  # fmt: skip
            self.stdout.write(f"Phoenix {version} up on :{port}; warming up…")
            loadgen.send(bodies=warm, **send)
            wait_until = time.monotonic() + 120
            while stored() < len(warm) * size and time.monotonic() < wait_until:
                time.sleep(0.25)
            before = stored()
            started = time.perf_counter()
            result = loadgen.send(bodies=bodies, deadline_s=opts["deadline"], **send)
            expected = result.statuses.get(200, 0) * size
            wait_until = time.monotonic() + opts["peer_timeout"]
            now_stored = stored() - before
            while now_stored < expected and time.monotonic() < wait_until:
                time.sleep(0.25)
                now_stored = stored() - before
            stored_s = time.perf_counter() - started
            run = PeerRun(
                status="ok" if now_stored >= expected else f"stored {now_stored:,} of {expected:,} in the time allowed",
                version=f"{version} (protobuf backend {backend or '?'})", spans=len(bodies) * size, stored=now_stored,
                answered_s=result.seconds, stored_s=stored_s, p50_ms=loadgen.percentile(result.latencies_ms, 50),
                p95_ms=loadgen.percentile(result.latencies_ms, 95), statuses=dict(result.statuses),
                rss_mib=(_status_kib(server.pid, "VmHWM") or 0) / 1024,
            )  # fmt: skip
            self.stdout.write(
                f"Phoenix: {run.stored:,} spans stored in {stored_s:.1f} s = {run.rate:,.0f}/s "
                f"(answered in {result.seconds:.1f} s; {run.statuses})"
            )
            return run
        finally:
            if peer_conn is not None:
                peer_conn.close()
            _stop(server)
            log.close()
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {PEER_DB}")
            shutil.rmtree(workdir, ignore_errors=True)

    # --- 3. Rollup and scoring ---------------------------------------------------------------------------

    def _rollup(self):  # type: ignore[no-untyped-def]
        from apps.telemetry import benchmarks

        opts = self.opts
        self.stdout.write(f"Loading {opts['rollup_events']:,} events over {opts['rollup_workloads']} workloads…")
        timing = benchmarks.rollup_benchmark(
            events=opts["rollup_events"], workloads=opts["rollup_workloads"], days=opts["rollup_days"],
            processes=opts["rollup_processes"],
        )  # fmt: skip
        self.stdout.write(
            f"Rollup: {timing.windows:,} hours in {timing.rollup_s:.1f} s; scoring {timing.scorecards} days in "
            f"{timing.score_s:.1f} s; total {timing.total_s:.1f} s (load {timing.load_s:.1f} s)"
        )
        return timing

    # --- The docs ---------------------------------------------------------------------------------------

    def _section(self, runs: list[LoadRun], rss: list[float], peer: PeerRun, rollup: Any) -> str:
        opts, m = self.opts, self.machine
        mark = lambda ok: "✅" if ok else "❌"  # noqa: E731
        lines = [
            START,
            "## Telemetry: ingestion, the peer, rollup and scoring",
            "",
            "Written by `python manage.py bench_ingest` (run by `make bench` when DATABASE_URL is PostgreSQL). "
            "The text between the markers is regenerated; the notes after them are kept.",
            "",
            f"- When: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- Machine: {m['os']}, {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, "
            f"PostgreSQL {m['postgresql']}, Redis cache: {m['redis']}. Senders, server and database share the CPUs.",
            f"- Command: `DATABASE_URL={self._url('…')} python manage.py bench_ingest "
            f"--batches {opts['batches']} --workers {opts['workers']} --concurrency {opts['concurrency']}`",
            f"- protobuf backend: `{self.backend}` (google.protobuf.internal.api_implementation.Type())",
        ]
        if runs:
            bind = self.gunicorn_cmd[self.gunicorn_cmd.index("--bind") + 1]
            lines += [
                f"- Server: `{' '.join(self.gunicorn_cmd).replace(bind, '127.0.0.1:PORT')}` with "
                "DEBUG=0, BEHIND_TLS_PROXY=1 (senders send X-Forwarded-Proto: https), "
                "TELEMETRY_RATE_LIMIT_PER_MINUTE=100000000 (the check runs, never refuses), "
                f"database `{self.db_name}` created and migrated by the command.",
                f"- Load: batches of {opts['batch_size']} GenAI spans/events (each batch built and serialized before "
                f"the clock starts, unique ids), {opts['concurrency']} sender threads, one http.client connection "
                f"each; {opts['warmup']} untimed batches first. Committed = rows counted in telemetry_event "
                "afterwards.",
                "",
                "| format | endpoint | batches | committed events | s | committed events/s | p50 ms | p95 ms "
                "| answers |",
                "|---|---|---:|---:|---:|---:|---:|---:|---|",
            ]
            for r in runs:
                answers = ", ".join(f"{k}×{v}" for k, v in sorted(r.statuses.items()))
                lines.append(
                    f"| {'OTLP protobuf' if r.label == 'otlp' else 'native JSON'} | `POST {r.path}` | {r.batches:,} | "
                    f"{r.committed:,} | {r.seconds:.1f} | **{r.rate:,.0f}** | {r.p50_ms:.0f} | {r.p95_ms:.0f} | "
                    f"{answers} |"
                )
            groups = [name for name in runs[0].cpu if name != "idle"]
            lines += [
                "",
                "CPU time per committed event (µs), by process group, and the machine's idle share during the run "
                "(other processes: everything else on the machine, which should be near zero):",
                "",
                "| format | " + " | ".join(groups) + " | idle |",
                "|---|" + "---:|" * (len(groups) + 1),
            ]
            for r in runs:
                cells = [f"{r.cpu[name] / max(r.committed, 1) * 1e6:.1f}" for name in groups]
                share = r.cpu["idle"] / (r.seconds * (os.cpu_count() or 1))
                lines.append(f"| {r.label} | " + " | ".join(cells) + f" | {share:.0%} |")
            worst = min(r.rate for r in runs)
            top = max(rss) if rss else 0
            lines += [
                "",
                f"- Peak RSS per web worker (VmHWM): {', '.join(f'{v:.0f}' for v in rss)} MiB "
                f"{mark(top <= TARGET_RSS_MIB)} target ≤ {TARGET_RSS_MIB} MiB",
                f"- Throughput {mark(worst >= TARGET_RATE)} target ≥ {TARGET_RATE:,} committed events/s "
                f"(aim {AIM_RATE:,}): lowest {worst:,.0f}/s",
            ]
            if any(r.failures for r in runs):
                lines.append(f"- Failures: {'; '.join(f for r in runs for f in r.failures)}")
        lines += ["", "### The peer: Arize Phoenix, same OTLP batches, stored to PostgreSQL", ""]
        if peer.status == "ok" or peer.stored:
            otlp = next((r for r in runs if r.label == "otlp"), None)
            ratio = otlp.rate / peer.rate if otlp and peer.rate else None
            lines += [
                f"Phoenix {peer.version}, `phoenix serve` from its own virtualenv (PHOENIX_VENV, default "
                f"{DEFAULT_PEER_VENV}), PHOENIX_SQL_DATABASE_URL on database `{PEER_DB}` of the same server. It "
                "answers before it stores, so the clock runs until its spans table holds every span (counted). "
                f"{peer.spans:,} spans in batches of {opts['batch_size']}, {opts['concurrency']} senders, after a "
                "stored warm-up of two batches.",
                "",
                "| | spans stored | answered in s | all stored in s | stored spans/s | p50 ms | p95 ms | answers |"
                " peak RSS MiB |",
                "|---|---:|---:|---:|---:|---:|---:|---|---:|",
                f"| Phoenix | {peer.stored:,} | {peer.answered_s:.1f} | {peer.stored_s:.1f} | {peer.rate:,.0f} | "
                f"{peer.p50_ms or 0:.0f} | {peer.p95_ms or 0:.0f} | "
                f"{', '.join(f'{k}×{v}' for k, v in sorted(peer.statuses.items()))} | {peer.rss_mib or 0:.0f} |",
            ]
            if otlp:
                lines.append(
                    f"| CoE Portal (OTLP above) | {otlp.committed:,} | {otlp.seconds:.1f} | {otlp.seconds:.1f} | "
                    f"{otlp.rate:,.0f} | {otlp.p50_ms:.0f} | {otlp.p95_ms:.0f} | "
                    f"{', '.join(f'{k}×{v}' for k, v in sorted(otlp.statuses.items()))} | {max(rss or [0]):.0f} |"
                )
            if peer.status != "ok":
                lines.append(f"\nPhoenix {peer.status}.")
            if ratio:
                lines += ["", f"- Ratio of stored rates: **{ratio:,.0f}×** {mark(ratio >= TARGET_RATIO)} target ≥ "
                              f"{TARGET_RATIO}×"]  # fmt: skip
        else:
            lines.append(f"Not measured: {peer.status}.")
        lines += ["", "### Rollup and scoring", ""]
        if rollup is not None:
            scorers = "in one process"
            if opts["rollup_processes"] > 1:
                scorers = (
                    f"the workloads shared among {opts['rollup_processes']} worker processes (forked, each with its "
                    "own database connection), as that many Celery workers on the `scoring` queue share them"
                )
            lines += [
                f"{rollup.events:,} events over {rollup.workloads} workloads and the last {opts['rollup_days']} days "
                f"(bulk-loaded by SQL in {rollup.load_s:.1f} s, untimed), each workload with release 1.0.0 live for "
                "three days after 0.9.0. Timed: `rollup_pending()` until nothing is marked, in one process (as the "
                "beat's rollup task runs); then each workload's days scored oldest first in one pass "
                "(`scoring.score_days`, what the `score_workload_days_task` Celery task runs), controls evaluated on "
                f"complete days, {scorers}.",
                "",
                "| events | workloads | hours rolled up | rollup rows | rollup s | scorecards | scoring s | total s |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|",
                f"| {rollup.events:,} | {rollup.workloads} | {rollup.windows:,} | {rollup.rollup_rows:,} | "
                f"{rollup.rollup_s:.1f} | {rollup.scorecards:,} | {rollup.score_s:.1f} | **{rollup.total_s:.1f}** |",
                "",
                f"- {mark(rollup.total_s < TARGET_ROLLUP_S)} target under {TARGET_ROLLUP_S} s (aim 10 s)",
            ]
        else:
            lines.append("Not measured (--no-rollup).")
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
        self.stdout.write(self.style.SUCCESS(f"Wrote the telemetry section of {path}"))
