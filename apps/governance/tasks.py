from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def waivers_remind_task() -> None:
    """Daily (beat): remind teams a week before an approved waiver ends. Safe to run twice."""
    services.waivers_remind()


@shared_task(ignore_result=True)
def compliance_scores_refresh_task() -> None:
    """Every five minutes (beat): store every workload's compliance counts for the portfolio
    (``services.compliance_scores_refresh``). Safe to run twice: the later rebuild replaces the earlier."""
    services.compliance_scores_refresh()
