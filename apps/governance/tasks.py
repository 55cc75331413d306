from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def waivers_remind_task() -> None:
    """Daily (beat): remind teams a week before an approved waiver ends. Safe to run twice."""
    services.waivers_remind()
