"""A Celery worker SIGKILLed in the middle of a rollup. The rollup commits one workload at a time, so
the kill comes after the first workload's windows are committed and while the second's are being
written. The task is acknowledged late: it is run again, once, and the redo finishes the second
workload without counting the first one twice. The rollups then equal a clean run over the raw events.

- ``pool-process``: the pool process running the task dies (the OOM killer's usual victim); the worker
  sees it lost and puts the message back at once (``reject_on_worker_lost``).
- ``whole-worker``: the worker and its pool die together (a machine or container lost); the message
  stays unacknowledged in Redis and the next worker to start takes it back after the visibility timeout.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from .conftest import Stack
from .servers import wait_for
from .telemetry import Sender, client, hour_start, native_batch

VISIBILITY_TIMEOUT = 5
SIZE = 100


def _count(log: str, task_id: str, state: str) -> int:
    return len(re.findall(rf"\[{re.escape(task_id)}\] {state}", log))


@pytest.mark.parametrize("kill", ["pool-process", "whole-worker"])
def test_a_worker_killed_mid_rollup_redoes_it_once_without_double_counting(stack: Stack, kill: str) -> None:
    first_wl, second_wl = sorted(stack.seed(2), key=lambda w: w["id"])  # rolled up in this order
    port = stack.web(TELEMETRY_RATE_LIMIT_PER_MINUTE="0")
    start = hour_start(5)
    for n, workload in enumerate((first_wl, second_wl)):
        batches = [native_batch(n * 100 + b, SIZE, start=start, span_minutes=300) for b in range(20)]
        sender = Sender(port=port, key=workload["key"], batches=batches).start()
        sender.join(60)
        assert sender.done, stack.logs()
    assert stack.sql("SELECT count(*) FROM telemetry_event")[0][0] == 2 * 20 * SIZE

    # The hook: a lock on the second workload's row (FOR UPDATE), which the rollup of that workload waits
    # on (its own row lock, or its inserts' foreign-key check); the first workload's windows commit before.
    holder = stack.postgres.connect(stack.db)
    holder.autocommit = False
    holder.cursor().execute("SELECT 1 FROM registry_workload WHERE id = %s FOR UPDATE", [second_wl["id"]])
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    try:
        worker = stack.worker(name="first", **env)
        task_id = client(stack.redis.url).send_task("apps.telemetry.tasks.rollup_task", queue="ingest").id
        wait_for(lambda: _count(worker.log(), task_id, "received"), 60, "the task to be received", stack.logs)
        waiting = wait_for(
            lambda: stack.sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                              "AND wait_event_type = 'Lock' AND state = 'active'"),
            60, "the rollup to wait on the lock", stack.logs,
        )  # fmt: skip
        killed_at = time.monotonic()
        # Midway: the first workload rolled up and unmarked, the second still marked, nothing of it written.
        assert not stack.sql("SELECT 1 FROM telemetry_rolluppending WHERE workload_id = %s", [first_wl["id"]])
        assert stack.sql("SELECT 1 FROM telemetry_rolluppending WHERE workload_id = %s", [second_wl["id"]])
        assert not stack.sql("SELECT 1 FROM telemetry_hourlyrollup WHERE workload_id = %s", [second_wl["id"]])
        first_rows = stack.sql("SELECT * FROM telemetry_hourlyrollup WHERE workload_id = %s ORDER BY id",
                               [first_wl["id"]])  # fmt: skip
        assert first_rows

        if kill == "pool-process":
            (child,) = worker.children()
            os.kill(child, signal.SIGKILL)
            wait_for(lambda: "WorkerLostError" in worker.log() or "exited with" in worker.log(), 30,
                     "the worker to see its pool process lost", stack.logs)  # fmt: skip
        else:
            worker.kill()
        holder.rollback()  # the dead process's backend gets the lock, finds its client gone, rolls back
        wait_for(lambda: not stack.sql("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [[p for (p,) in waiting]]),
                 30, "the dead rollup's connection to end", stack.logs)  # fmt: skip

        if kill == "whole-worker":
            time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
            worker = stack.worker(name="second", **env)
        wait_for(lambda: _count(worker.log(), task_id, "succeeded"), 60, "the task to be redone", stack.logs)
        redone_in = time.monotonic() - killed_at
    finally:
        holder.close()

    # Redone once, and only once.
    time.sleep(1)
    logs = [process.log() for process in stack.processes if process.name in ("first", "second")]
    assert sum(_count(log, task_id, "succeeded") for log in logs) == 1
    assert sum(_count(log, task_id, "received") for log in logs) == 2
    # Nothing left to do; no double counting: the rollups are what a clean run gives, and the first
    # workload's rows are the ones committed before the kill (the redo did not touch them).
    assert not stack.sql("SELECT 1 FROM telemetry_rolluppending")
    assert stack.rollups() == stack.clean_rollups()
    assert stack.sql("SELECT sum(requests) FROM telemetry_hourlyrollup")[0][0] == 2 * 20 * SIZE
    assert (
        stack.sql("SELECT * FROM telemetry_hourlyrollup WHERE workload_id = %s ORDER BY id", [first_wl["id"]])
        == first_rows
    )
    print(f"kill={kill} redone_in={redone_in:.1f}s")
