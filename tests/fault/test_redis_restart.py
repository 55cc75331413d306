"""Redis crashes and comes back empty while the web, a worker and beat run. Redis keeps nothing on disk,
so the tasks it held (queued, or delivered and not yet acknowledged) are gone for good; what must not
be lost is the work they stood for. The portal keeps that in PostgreSQL: ingestion marks each
(workload, hour) it wrote in the batch's own transaction (``RollupPending``), and beat's next tick rolls
up whatever is marked. So after Redis returns: the worker and beat reconnect by themselves, every mark
is rolled up, the rollups equal a clean run over the raw events, and today's scorecard counts them all."""

from __future__ import annotations

import time

from .conftest import Stack
from .servers import wait_for
from .telemetry import RETRYABLE, Batch, Sender, client, native_batch, today_window

SIZE = 50
EVERY_SECONDS = 2  # beat's ticks for the test; 60 s (rollup) and 15 min (today's scores) when deployed


def _beat_every(stack: Stack, names: list[str], seconds: int) -> None:
    """Reschedule beat's entries as an operator does in the admin: a new interval, and the change
    flagged so the running beat reloads its schedule."""
    wait_for(lambda: len(stack.sql("SELECT 1 FROM django_celery_beat_periodictask WHERE name = ANY(%s)", [names]))
             == len(names), 60, "beat to write its schedule", stack.logs)  # fmt: skip
    (interval,) = stack.sql(
        "INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (%s, 'seconds') RETURNING id", [seconds]
    )[0]
    stack.sql("UPDATE django_celery_beat_periodictask SET interval_id = %s, crontab_id = NULL, last_run_at = NULL "
              "WHERE name = ANY(%s)", [interval, names])  # fmt: skip
    stack.sql("UPDATE django_celery_beat_periodictasks SET last_update = now()")


def _caught_up(stack: Stack) -> bool:
    return not stack.sql("SELECT 1 FROM telemetry_rolluppending LIMIT 1") and stack.rollups() == stack.clean_rollups()


def _difference(stack: Stack) -> str:
    stored, clean = set(stack.rollups()), set(stack.clean_rollups())
    pending = stack.sql("SELECT workload_id, hour, version FROM telemetry_rolluppending")
    return f"pending {pending}\nonly stored {sorted(stored - clean)}\nonly clean {sorted(clean - stored)}"


def test_a_redis_crash_loses_no_work_the_database_knows_of(stack: Stack) -> None:
    workload = stack.seed()[0]
    port = stack.web()  # the default rate limit: each batch counts in Redis
    worker = stack.worker(concurrency=2)
    beat = stack.beat()
    _beat_every(stack, ["telemetry-rollup", "telemetry-score-today"], EVERY_SECONDS)
    start, span = today_window()

    def batch(n: int) -> Batch:
        return native_batch(n, SIZE, start=start, span_minutes=span)

    # 1. All running: what is sent is rolled up by beat's ticks.
    first = Sender(port=port, key=workload["key"], batches=[batch(n) for n in range(20)]).start()
    first.join(60)
    assert first.done, stack.logs()
    wait_for(lambda: _caught_up(stack), 60, "the first rollups", lambda: _difference(stack) + stack.logs())

    # 2. More telemetry, then Redis crashes mid-run and stays away a few seconds: the sender's batches
    #    fail (the rate limit cannot be counted) and are sent again. Tasks beat had queued are lost.
    second = Sender(port=port, key=workload["key"], batches=[batch(n) for n in range(20, 60)]).start()
    wait_for(lambda: len(second.acknowledged) >= 10, 60, "the second run to be under way", stack.logs)
    client(stack.redis.url).send_task("apps.telemetry.tasks.rollup_task", queue="ingest")  # queued as Redis dies
    stack.redis.kill()
    down_at = time.monotonic()
    time.sleep(4)
    marked_during_outage = stack.sql("SELECT count(*) FROM telemetry_rolluppending")[0][0]
    stack.redis.start()
    outage = time.monotonic() - down_at
    assert stack.redis.client().llen("ingest") == 0 or stack.redis.starts == 2  # came back empty: nothing on disk

    second.join(90)
    assert second.done, f"{len(second.acknowledged)}/40 acknowledged; {second.failures}\n{stack.logs()}"
    assert second.failures, "the sender never saw the outage"
    assert {s for s in second.failures if isinstance(s, int)} <= RETRYABLE, second.failures

    # 3. Nobody restarted anything: the worker and beat reconnect, beat's next ticks roll up every mark.
    began = time.monotonic()
    wait_for(lambda: _caught_up(stack), 60, "the rollups to catch up after Redis returned",
             lambda: _difference(stack) + stack.logs())  # fmt: skip
    catch_up = time.monotonic() - began
    assert worker.alive(), stack.logs()
    assert beat.alive(), stack.logs()
    assert stack.rollups() == stack.clean_rollups()
    total = stack.sql("SELECT count(*), count(DISTINCT event_key) FROM telemetry_event")[0]
    assert total == (60 * SIZE, 60 * SIZE)

    # Today's scorecard (beat's score-today tick) counts every event, those sent around the outage too.
    wait_for(lambda: stack.sql("SELECT requests FROM telemetry_scorecard WHERE workload_id = %s AND day = %s",
                               [workload["id"], start.date()]) == [(60 * SIZE,)],
             60, "today's scorecard to count every event", stack.logs)  # fmt: skip
    log = worker.log()
    assert "Connection to broker lost" in log or "Cannot connect" in log, log[-3000:]
    # Two rollups at once (rollup_task and score_today_task ticked together, two pool processes) take
    # turns on the workload's row instead of colliding on the rollup's unique key.
    assert "IntegrityError" not in log, log[-3000:]
    print(f"outage={outage:.1f}s marked_during_outage={marked_during_outage} catch_up={catch_up:.1f}s "
          f"sender_failures={dict(second.failures)}")  # fmt: skip
