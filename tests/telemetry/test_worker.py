"""The telemetry tasks on real Celery worker processes, on the broker in use (the file-system
transport, or Redis when REDIS_URL is set), writing to the test database: a rollup, a pull, and a
worker killed mid-task whose task is redone once by the next worker. Also how the tasks are declared
(queues, late acknowledgement, which errors are retried)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Sum
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.telemetry import rollups, tasks
from apps.telemetry.ingest import events_store, native_parse
from apps.telemetry.models import Event, HourlyRollup, PullSource, RollupPending, Source
from tests.telemetry.test_pull import Feed, event, page

pytestmark = [pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


# --- Worker processes ------------------------------------------------------------------------------


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition: Callable[[], Any], timeout: float, what: str, log: Callable[[], str] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    tail = ("\n--- worker log ---\n" + log()[-4000:]) if log else ""
    raise AssertionError(f"Timed out after {timeout:g}s waiting for {what}.{tail}")


class Worker:
    """``celery worker`` on one queue, in a session of its own so the whole process group (the
    main process and its pool's children) can be killed at once; its log goes to a file."""

    def __init__(self, queue: str, log_path: Path, env: dict[str, str], pool: str) -> None:
        self.log_path = log_path
        command = [
            sys.executable, "-m", "celery", "-A", "coe_portal", "worker", "-Q", queue,
            "-n", f"{log_path.stem}-{queue}@%h", "--pool", pool, "--concurrency", "1", "--loglevel", "INFO",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def count(self, task_id: str, state: str) -> int:
        """How many times the log says the task was received / succeeded."""
        return len(re.findall(rf"\[{re.escape(task_id)}\] {state}", self.log()))

    def kill(self) -> None:
        """SIGKILL, the whole group: no warm shutdown, nothing acknowledged, nothing put back."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        sys.stdout.write(f"--- {self.log_path.name} ---\n{self.log()[-3000:]}\n")


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of the test's own, so no other worker (a developer's, another test run's) takes its
    messages; on Redis its keys are removed afterwards."""
    name = f"test-telemetry-{uuid.uuid4().hex[:8]}"
    yield name
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=f"*{name}*"):
            client.delete(key)


@pytest.fixture
def start_worker(transactional_db, queue: str, tmp_path: Path) -> Iterator[Callable[..., Worker]]:  # type: ignore[no-untyped-def]
    """Start workers on ``queue`` that write to the test database (committed data only: the test
    is transactional); every one is stopped before the database is flushed. The solo pool runs
    tasks in the worker's main process; prefork, as deployed, in a child."""
    workers: list[Worker] = []
    base_env = {
        **os.environ, "DATABASE_URL": _test_database_url(),
        "TELEMETRY_PULL_ALLOW_HTTP": "true", "TELEMETRY_PULL_ALLOW_PRIVATE": "true",
    }  # fmt: skip

    def start(pool: str = "solo", **env: str) -> Worker:
        worker = Worker(queue, tmp_path / f"worker-{len(workers) + 1}.log", {**base_env, **env}, pool)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


# --- Telemetry to roll up -----------------------------------------------------------------------------


def ingest(workload, count: int = 60) -> int:  # type: ignore[no-untyped-def]
    """``count`` events over three hours, two models and two releases, some failed or rated."""
    now = timezone.now()
    raw = [
        {
            "event_id": f"kill-{n}",
            "timestamp": (now - timedelta(minutes=7 * n % 180 + 1)).isoformat(),
            "provider": "openai",
            "model": "gpt-4o-mini" if n % 3 else "home-grown-llm",
            "release": "1.0.0" if n % 2 else "1.1.0",
            "input_tokens": 100 + n,
            "output_tokens": 10 + n % 7,
            "latency_ms": 50.0 * (n % 11 + 1),
            "status": "error" if n % 10 == 0 else "ok",
            "quality_score": (n % 10) / 10,
            "user_rating": (n % 3) - 1,
        }
        for n in range(count)
    ]
    return events_store(workload_id=workload.pk, events=native_parse({"events": raw}), source=Source.NATIVE).accepted


FIELDS = [f.name for f in HourlyRollup._meta.fields if f.name != "id"]


def rollup_rows(workload) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = HourlyRollup.objects.filter(workload=workload).order_by("hour", "model_name", "release")
    return [{f: row[f] for f in FIELDS if f != "workload"} for row in rows.values(*FIELDS)]


def assert_rolled_up_once(workload, events: int) -> None:  # type: ignore[no-untyped-def]
    """Every event counted once, nothing left pending, and the rows exactly what a direct rollup
    of the raw events computes."""
    assert not RollupPending.objects.exists()
    assert Event.objects.filter(workload=workload).count() == events
    totals = HourlyRollup.objects.filter(workload=workload).aggregate(
        requests=Sum("requests"), tokens=Sum("input_tokens")
    )
    assert totals["requests"] == events
    assert totals["tokens"] == Event.objects.filter(workload=workload).aggregate(t=Sum("input_tokens"))["t"]
    rows = rollup_rows(workload)
    keys = [(r["hour"], r["model_name"], r["release"]) for r in rows]
    assert keys
    assert len(keys) == len(set(keys))
    hours = sorted(set(Event.objects.filter(workload=workload).values_list("hour", flat=True)))
    assert hours == sorted({r["hour"] for r in rows})
    rollups.rollup_hours(workload_id=workload.pk, hours=hours)
    assert rollup_rows(workload) == rows


# --- A worker at work ------------------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_rolls_up_what_was_ingested(workload, start_worker, queue):
    events = ingest(workload)
    assert events == 60
    assert RollupPending.objects.exists()
    worker = start_worker()

    result = tasks.rollup_task.apply_async(queue=queue)

    wait_for(lambda: worker.count(result.id, "succeeded"), 120, "the rollup task", worker.log)
    assert_rolled_up_once(workload, events)
    assert len({(r["hour"], r["model_name"], r["release"]) for r in rollup_rows(workload)}) > 4
    expected = "redis" if settings.REDIS_URL else "filesystem"
    assert settings.CELERY_BROKER_URL.split(":")[0] == expected


@pytest.mark.worker
def test_a_real_worker_pulls_a_source_then_rolls_it_up(workload, start_worker, queue):
    with Feed() as feed:
        feed.pages[""] = page([event(n) for n in range(5)], "c1")
        feed.pages["c1"] = page([event(n) for n in range(5, 8)], "c2")
        feed.pages["c2"] = page([])
        source = PullSource(workload=workload, name="feed", url=feed.url, next_run_at=timezone.now())
        source.auth_header_set("Bearer xyz")
        source.save()
        worker = start_worker()

        fetched = tasks.source_fetch_task.apply_async(args=[source.pk], queue=queue)
        wait_for(lambda: worker.count(fetched.id, "succeeded"), 120, "the fetch task", worker.log)

    source.refresh_from_db()
    assert (source.cursor, source.events_pulled, source.consecutive_failures) == ("c2", 8, 0)
    assert source.last_success_at is not None
    assert feed.cursors == ["", "c1", "c2"]
    assert {r["headers"]["Authorization"] for r in feed.requests} == {"Bearer xyz"}
    assert Event.objects.filter(workload=workload, source=Source.PULL).count() == 8

    rolled = tasks.rollup_task.apply_async(queue=queue)
    wait_for(lambda: worker.count(rolled.id, "succeeded"), 120, "the rollup task", worker.log)
    assert_rolled_up_once(workload, 8)


# --- A worker killed mid-task -------------------------------------------------------------------------


class RollupBlocker:
    """Holds a lock, from a connection of its own, that stops the rollup inside its transaction:
    on PostgreSQL an ACCESS EXCLUSIVE lock on the rollup table (the worker reads the events, then
    waits to replace the rows); on SQLite the write lock (the worker waits to begin its transaction)."""

    def __init__(self) -> None:
        db = connection.settings_dict
        self.vendor = connection.vendor
        if self.vendor == "postgresql":
            import psycopg2

            self.conn = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
                                         host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)  # fmt: skip
            self.conn.cursor().execute("LOCK TABLE telemetry_hourlyrollup IN ACCESS EXCLUSIVE MODE")
        else:
            self.conn = sqlite3.connect(db["NAME"], isolation_level=None, timeout=5)
            self.conn.execute("BEGIN IMMEDIATE")

    def count(self, table: str) -> int:
        """Read through the lock holder (the test's own connection would wait on the lock too)."""
        cursor = self.conn.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (a constant)
        return cursor.fetchone()[0]

    def waiting_backend(self) -> int | None:
        """PostgreSQL: the pid of the worker's connection waiting on the lock, once it waits. Asked
        on the test's own connection: inside the lock holder's transaction the statistics would be
        a snapshot taken at its first read."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query ILIKE %s",
                ["%telemetry_hourlyrollup%"],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def release(self) -> None:
        self.conn.rollback() if self.vendor == "postgresql" else self.conn.execute("ROLLBACK")
        self.conn.close()


def backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def unacked_on_redis(task_id: str) -> bool:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return any(task_id.encode() in value for value in client.hvals("unacked"))


VISIBILITY_TIMEOUT = 5


@pytest.mark.worker
def test_a_worker_killed_mid_task_is_redone_once_with_nothing_lost_or_doubled(workload, start_worker, queue):
    if not settings.REDIS_URL:
        pytest.skip(
            "Needs Redis (REDIS_URL): only a real broker hands a dead worker's unacknowledged task to the "
            "next worker; the embedded file-system transport deletes a message's file as it delivers it."
        )
    events = ingest(workload)
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    blocker = RollupBlocker()
    released = False
    try:
        # 1. The first worker takes the task and is stopped by the lock in the middle of it. Prefork,
        #    as deployed: the main process's event loop goes on while a child runs the task, so a task
        #    acknowledged early would be acknowledged by now (the solo pool would hide that).
        first = start_worker(pool="prefork", **env)
        result = tasks.rollup_task.apply_async(queue=queue)
        wait_for(lambda: first.count(result.id, "received"), 120, "the first worker to take the task", first.log)
        received_at = time.monotonic()
        if blocker.vendor == "postgresql":
            backend = wait_for(blocker.waiting_backend, 30, "the worker to wait on the lock", first.log)
        else:
            time.sleep(1)  # the worker is waiting for SQLite's write lock (its timeout is 20 s)
        assert first.process.poll() is None
        assert first.count(result.id, "succeeded") == 0
        assert unacked_on_redis(result.id)  # delivered, not acknowledged: acks_late

        # 2. Killed: no warm shutdown, nothing acknowledged, and its transaction never commits.
        first.kill()
        assert blocker.count("telemetry_hourlyrollup") == 0
        assert blocker.count("telemetry_rolluppending") > 0
        blocker.release()
        released = True
        if blocker.vendor == "postgresql":  # the dead worker's backend gets the lock, finds no client, rolls back
            wait_for(lambda: not backend_alive(backend), 30, "the dead worker's connection to end")
        assert not HourlyRollup.objects.exists()
        assert RollupPending.objects.exists()
        assert unacked_on_redis(result.id)

        # 3. Past the visibility timeout, the next worker puts the task back on its queue as it
        #    starts (kombu's restore of unacknowledged messages) and runs it.
        time.sleep(max(0.0, received_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
        second = start_worker(pool="prefork", **env)
        wait_for(lambda: second.count(result.id, "succeeded"), 120, "the next worker to redo the task", second.log)
    finally:
        if not released:
            blocker.release()

    # Redone once: received and finished by the second worker alone, and nothing left to redeliver.
    time.sleep(1)
    assert (first.count(result.id, "received"), first.count(result.id, "succeeded")) == (1, 0)
    assert (second.count(result.id, "received"), second.count(result.id, "succeeded")) == (1, 1)
    assert not unacked_on_redis(result.id)
    assert_rolled_up_once(workload, events)


# --- How the tasks are declared ------------------------------------------------------------------------

EXPECTED_QUEUES = {
    "apps.telemetry.tasks.rollup_task": "ingest",
    "apps.telemetry.tasks.pull_sources_dispatch_task": "ingest",
    "apps.telemetry.tasks.source_fetch_task": "ingest",
    "apps.telemetry.tasks.score_workload_day_task": "scoring",
    "apps.telemetry.tasks.score_workload_days_task": "scoring",
    "apps.telemetry.tasks.score_today_task": "scoring",
    "apps.telemetry.tasks.score_daily_task": "scoring",
    "apps.telemetry.tasks.score_now_task": "scoring",
    "apps.telemetry.tasks.category_refresh_task": "scoring",
    "apps.telemetry.tasks.retention_task": "default",
}


def test_every_telemetry_task_is_routed_to_its_queue_and_acknowledged_late() -> None:
    from coe_portal.celery import app

    app.loader.import_default_modules()
    declared = {name for name in app.tasks if name.startswith("apps.telemetry.")}
    assert declared == set(EXPECTED_QUEUES)
    for name, queue in EXPECTED_QUEUES.items():
        assert app.amqp.router.route({}, name)["queue"].name == queue, name
        assert queue in settings.CELERY_QUEUES
        task = app.tasks[name]
        assert task.acks_late, name
        assert task.reject_on_worker_lost, name
        assert task.ignore_result, name
        assert set(task.autoretry_for) == {OperationalError, InterfaceError, ConnectionError, TimeoutError}, name
        assert task.max_retries == 5, name


def test_a_transient_database_error_is_retried_and_a_bug_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[type[Exception]] = []

    def failing(error: Exception) -> Callable[..., int]:
        def run(**kwargs: Any) -> int:
            calls.append(type(error))
            raise error

        return run

    # Run in process (retries run at once there); on a worker each retry is a new message, backed off.
    monkeypatch.setattr(rollups, "rollup_pending", failing(OperationalError("server closed the connection")))
    assert tasks.rollup_task.apply().state == "FAILURE"
    assert len(calls) == 1 + tasks.rollup_task.max_retries

    for error in (ValueError("a bug"), ApplicationError("refused")):
        calls.clear()
        monkeypatch.setattr(rollups, "rollup_pending", failing(error))
        assert tasks.rollup_task.apply().state == "FAILURE"
        assert calls == [type(error)]
