"""A real Celery worker process on the broker in use (file-system transport, or Redis when
REDIS_URL is set), writing to the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.core.models import Heartbeat
from apps.core.tasks import heartbeat_record_task

pytestmark = [pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue() -> str:
    """Start a worker on a queue of its own (so no other worker takes the test's messages)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "coe_portal",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        sys.stdout.write(output[-4000:])


@pytest.mark.worker
def test_a_real_worker_runs_the_heartbeat_task(worker_queue: str) -> None:
    assert not Heartbeat.objects.exists()
    heartbeat_record_task.apply_async(queue=worker_queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not Heartbeat.objects.filter(name="worker").exists():
        time.sleep(0.25)
    heartbeat = Heartbeat.objects.get(name="worker")
    assert heartbeat.seen_at is not None
    expected_transport = "redis" if settings.REDIS_URL else "filesystem"
    assert settings.CELERY_BROKER_URL.split(":")[0] == expected_transport


def test_tasks_are_not_run_eagerly() -> None:
    from coe_portal.celery import app

    assert app.conf.task_always_eager is False
    assert [q.name for q in app.conf.task_queues] == list(settings.CELERY_QUEUES)


def test_every_beat_schedule_names_a_registered_task() -> None:
    from coe_portal.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"beat entry {name} names an unknown task {entry['task']}"
        assert entry.get("options", {}).get("queue", "default") in settings.CELERY_QUEUES
