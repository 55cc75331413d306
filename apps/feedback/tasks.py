from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import digest


@shared_task(
    queue="default", acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True,
    max_retries=5, ignore_result=True,
)  # fmt: skip
def digests_send_task() -> int:
    """Beat, hourly: send the digests whose period has ended. A period goes out once per person."""
    return digest.digests_send_due()
