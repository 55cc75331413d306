from importlib import import_module

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(ignore_result=True)
def heartbeat_record_task() -> None:
    """Scheduled by beat every 30 s: proves a worker is consuming the queue."""
    services.heartbeat_record(name="worker")


@shared_task(ignore_result=True)
def sessions_clear_task() -> None:
    """Nightly (beat): delete the rows of expired sessions, as ``manage.py clearsessions`` does. Nothing reads
    them again (an expired session is refused), but the table would grow by a row per sign-in for ever."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
