"""PostgreSQL restarted while telemetry is being sent: gunicorn keeps serving, every batch is acknowledged
in the end, each acknowledged event is stored exactly once, and while the database is away the
endpoints answer with a status an OpenTelemetry exporter retries (not a 500, which it drops)."""

from __future__ import annotations

import time

import pytest

from .conftest import Stack
from .servers import wait_for
from .telemetry import NATIVE_PATH, RETRYABLE, Sender, hour_start, native_batch, otlp_batch

BATCHES = 120
SIZE = 50


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_postgres_restart_mid_ingestion_loses_and_duplicates_nothing(stack: Stack, mode: str) -> None:
    """``fast``: a clean restart (sessions ended, checkpoint); ``immediate``: as a crash, the WAL replayed."""
    workload = stack.seed()[0]
    port = stack.web(TELEMETRY_RATE_LIMIT_PER_MINUTE="100000")
    start = hour_start(3)
    batches = [(native_batch if n % 2 else otlp_batch)(n, SIZE, start=start) for n in range(BATCHES)]
    sender = Sender(port=port, key=workload["key"], batches=batches).start()

    # Restart once a third of the batches are in: the sender is mid-run, requests in flight.
    wait_for(lambda: len(sender.acknowledged) >= BATCHES // 3, 60, "a third of the batches", stack.logs)
    before = len(sender.acknowledged)
    began = time.monotonic()
    stack.postgres.stop(mode)
    time.sleep(2)  # down long enough for the sender to hit the outage
    stack.postgres.start()
    outage = time.monotonic() - began

    sender.join(90)
    assert sender.done, f"{len(sender.acknowledged)}/{BATCHES} acknowledged; {sender.failures}\n{stack.logs()}"
    assert before < BATCHES, "the restart came after the run"
    assert sender.failures, "the sender never saw the outage"
    # What the sender saw while the database was away: its own connection kept (gunicorn stayed up)
    # and a status it retries; never a 500 or a 4xx, after which an exporter would drop the batch.
    statuses = {status for status in sender.failures if isinstance(status, int)}
    assert statuses <= RETRYABLE, f"outage answered with {sender.failures}"

    # Exactly once: every id of every acknowledged batch stored, nothing twice.
    rows = stack.sql("SELECT event_key, count(*) FROM telemetry_event WHERE workload_id = %s GROUP BY event_key",
                     [workload["id"]])  # fmt: skip
    stored = dict(rows)
    assert [key for key, n in stored.items() if n > 1] == []
    sent = {event_id for batch in batches for event_id in batch.ids}
    assert set(stored) == sent
    assert len(stored) == BATCHES * SIZE
    # Each (workload, hour) with events is marked for the rollup (the mark is in the batch's transaction).
    marked = {row[0] for row in stack.sql("SELECT hour FROM telemetry_rolluppending WHERE workload_id = %s",
                                          [workload["id"]])}  # fmt: skip
    hours = {row[0] for row in stack.sql("SELECT DISTINCT hour FROM telemetry_event WHERE workload_id = %s",
                                         [workload["id"]])}  # fmt: skip
    assert marked == hours
    # A batch acknowledged after a retry whose first try had committed answers with duplicates: the
    # retry stored nothing again. The native answers add up to what was stored from native batches.
    native = sum(1 for batch in batches if batch.path == NATIVE_PATH)
    assert sum(a["accepted"] + a["duplicates"] for a in sender.answers) == native * SIZE
    assert sum(a["accepted"] for a in sender.answers) <= native * SIZE
    print(f"mode={mode} outage={outage:.1f}s attempts={sender.attempts} failures={dict(sender.failures)} "
          f"duplicates_answered={sum(a['duplicates'] for a in sender.answers)}")  # fmt: skip
