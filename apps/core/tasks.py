from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def heartbeat_record_task() -> None:
    """Scheduled by beat every 30 s: proves a worker is consuming the queue."""
    services.heartbeat_record(name="worker")
