"""Fixtures of the fault tests: one throwaway PostgreSQL cluster for the session (migrated once into a
template database, copied for each test), and for each test its own database, its own Redis and the
portal's processes on them. Skipped unless the PostgreSQL+Redis pass is running (REDIS_URL set) and
the server binaries are here."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import servers

TEMPLATE = "portal_template"
ROLLUPS = """
SELECT workload_id, hour, model_name, release, requests, errors, input_tokens, output_tokens, cost, unpriced_requests,
       round(latency_sum_ms::numeric, 2), (SELECT sum(n::int) FROM jsonb_array_elements_text(latency_hist::jsonb) AS n),
       safety_flagged, ratings_count
FROM telemetry_hourlyrollup ORDER BY 1, 2, 3, 4
"""
CLEAN_ROLLUPS = """
SELECT workload_id, hour, model_name, release, count(*), count(*) FILTER (WHERE is_error), sum(input_tokens),
       sum(output_tokens), round(coalesce(sum(cost), 0), 6), count(*) FILTER (WHERE cost IS NULL),
       round(coalesce(sum(latency_ms), 0)::numeric, 2), count(latency_bucket), count(*) FILTER (WHERE safety_flagged),
       count(user_rating)
FROM telemetry_event GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""


def _skip_reason() -> str | None:
    if not os.environ.get("REDIS_URL"):
        return "fault tests run in the PostgreSQL+Redis pass (REDIS_URL set)"
    return servers.missing()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = _skip_reason()
    for item in items:
        # Only the tests on throwaway servers: the others here run in both passes.
        if Path(str(item.fspath)).parent == here and "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.fault)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def cluster() -> Iterator[servers.Postgres]:
    postgres = servers.Postgres()
    try:
        postgres.start()
        postgres.execute("postgres", f"CREATE DATABASE {TEMPLATE}")
        env = servers.portal_env(database_url=postgres.url(TEMPLATE), redis_url="redis://127.0.0.1:1/0")
        servers.manage(env, "migrate", "--noinput")
        yield postgres
    finally:
        postgres.destroy()


@dataclass
class Stack:
    """A test's database, Redis and processes."""

    postgres: servers.Postgres
    redis: servers.Redis
    db: str
    log_dir: Path
    processes: list[servers.Process] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return servers.portal_env(database_url=self.postgres.url(self.db), redis_url=self.redis.url, **extra)

    def sql(self, query: str, params: list | tuple = ()) -> list[tuple]:
        return self.postgres.execute(self.db, query, params)

    def seed(self, workloads: int = 1) -> list[dict]:
        out = servers.manage_module(self.env(), "tests.fault.seed", str(workloads))
        return json.loads(out.strip().splitlines()[-1])["workloads"]

    def web(self, **env: str) -> int:
        process, port = servers.gunicorn(self.env(**env), self.log_dir)
        self.processes.append(process)
        return port

    def worker(self, name: str = "worker", pool: str = "prefork", concurrency: int = 1, **env: str) -> servers.Process:
        process = servers.celery_worker(self.env(**env), self.log_dir, name=name, pool=pool, concurrency=concurrency)
        self.processes.append(process)
        return process

    def beat(self, **env: str) -> servers.Process:
        process = servers.celery_beat(self.env(**env), self.log_dir)
        self.processes.append(process)
        return process

    def rollups(self) -> list[tuple]:
        """The stored hourly rollups, in the shape of ``clean_rollups``."""
        return self.sql(ROLLUPS)

    def clean_rollups(self) -> list[tuple]:
        """What a clean run gives: the same numbers aggregated straight from the raw events."""
        return self.sql(CLEAN_ROLLUPS)

    def logs(self) -> str:
        parts = [f"--- {p.name} ---\n{p.log()[-3000:]}" for p in self.processes]
        parts.append(f"--- postgres ---\n{self.postgres.log()[-2000:]}")
        parts.append(f"--- redis ---\n{self.redis.log()[-1500:]}")
        return "\n".join(parts)


@pytest.fixture
def stack(cluster: servers.Postgres) -> Iterator[Stack]:
    if not cluster.is_up():  # a test that failed half-way through a restart
        cluster.start()
    db = f"fault_{uuid.uuid4().hex[:10]}"
    cluster.execute("postgres", f"CREATE DATABASE {db} TEMPLATE {TEMPLATE}")
    redis = servers.Redis()
    redis.start()
    log_dir = Path(tempfile.mkdtemp(prefix="coe-fault-logs-"))
    stack = Stack(postgres=cluster, redis=redis, db=db, log_dir=log_dir)
    try:
        yield stack
    finally:
        for process in reversed(stack.processes):
            process.stop()
        sys.stdout.write(stack.logs())
        redis.destroy()
        shutil.rmtree(log_dir, ignore_errors=True)
        if cluster.is_up():
            cluster.execute("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
