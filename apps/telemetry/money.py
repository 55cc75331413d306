"""The weekly money summary (``WeeklyMoney``): each workload's scorecards of a week summed per
exchange rate, refreshed whenever scoring writes a scorecard of that week, read by the portfolio."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from apps.registry.models import BASE_CURRENCY, Workload

from .models import Scorecard, WeeklyMoney


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def weekly_money_refresh(*, workload_id: int, days: Iterable[date]) -> int:
    """Recompute the weeks of ``days`` for a workload from its scorecards (idempotent: those weeks'
    rows are replaced). Returns the rows written. Refreshes of one workload take turns (its row
    locked, as ``monthly_refresh`` does), so two scoring runs cannot both insert a week."""
    weeks = sorted({week_of(day) for day in days})
    if not weeks:
        return 0
    with transaction.atomic():
        list(Workload.objects.select_for_update(no_key=True).filter(pk=workload_id).values_list("pk"))
        cards = Scorecard.objects.filter(
            workload_id=workload_id, day__gte=weeks[0], day__lt=weeks[-1] + timedelta(days=7)
        ).values_list("day", "currency", "usd_rate", "cost", "value", "requests", "errors")
        rows: dict[tuple[date, str, Decimal | None], WeeklyMoney] = {}
        wanted = set(weeks)
        for day, currency, rate, cost, value, requests, errors in cards:
            week = week_of(day)
            if week not in wanted:
                continue
            row = rows.get((week, currency, rate))
            if row is None:
                row = rows[week, currency, rate] = WeeklyMoney(
                    workload_id=workload_id, week=week, currency=currency, usd_rate=rate, cost=Decimal(0),
                    value=Decimal(0),
                )  # fmt: skip
            row.cost += cost
            row.value += value
            row.requests += requests
            row.errors += errors
            row.days += 1
            row.unconverted += rate is None and currency != BASE_CURRENCY
        WeeklyMoney.objects.filter(workload_id=workload_id, week__in=weeks).delete()
        WeeklyMoney.objects.bulk_create(rows.values())
    return len(rows)
