"""Exchange rates against the US dollar: the CoE sets them, scoring and pricing read the rate in
force on a day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.registry import selectors, services
from apps.registry.models import ExchangeRate

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_rate_in_force_is_the_latest_on_or_before_the_day(coe_staff) -> None:
    services.exchange_rate_add(actor=coe_staff, currency="eur", effective_from=date(2026, 1, 1), per_usd=Decimal("0.9"))
    services.exchange_rate_add(actor=coe_staff, currency="EUR", effective_from=date(2026, 7, 1), per_usd=Decimal("0.8"))
    rates = selectors.Rates()
    assert rates.per_usd("EUR", date(2025, 12, 31)) is None
    assert rates.per_usd("EUR", date(2026, 1, 1)) == Decimal("0.9")
    assert rates.per_usd("eur", date(2026, 6, 30)) == Decimal("0.9")
    assert rates.per_usd("EUR", date(2026, 7, 1)) == Decimal("0.8")
    assert rates.per_usd("USD", date(2000, 1, 1)) == 1
    assert rates.per_usd("GBP", date(2026, 7, 1)) is None
    # 10 EUR in July: 12.5 USD; and back.
    assert rates.convert(Decimal(10), source="EUR", target="USD", day=date(2026, 7, 2)) == Decimal("12.5")
    assert rates.convert(Decimal("12.5"), source="USD", target="EUR", day=date(2026, 7, 2)) == Decimal("10.0")
    assert rates.convert(Decimal(10), source="GBP", target="EUR", day=date(2026, 7, 2)) is None
    assert rates.convert(Decimal(10), source="GBP", target="GBP", day=date(2026, 7, 2)) == 10
    assert AuditEvent.objects.filter(action="exchange_rate.add").count() == 2


@pytest.mark.parametrize(
    ("currency", "per_usd", "field"),
    [("USD", "1", "currency"), ("EURO", "0.9", "currency"), ("E1R", "0.9", "currency"), ("EUR", "0", "per_usd"),
     ("EUR", "-1", "per_usd")],
)  # fmt: skip
def test_bad_rates_are_refused_naming_the_field(coe_staff, currency, per_usd, field) -> None:
    with pytest.raises(ApplicationError) as caught:
        services.exchange_rate_add(actor=coe_staff, currency=currency, effective_from=date(2026, 1, 1),
                                   per_usd=Decimal(per_usd))  # fmt: skip
    assert field in caught.value.field_errors
    assert not ExchangeRate.objects.exists()


def test_one_rate_per_currency_and_day(coe_staff) -> None:
    services.exchange_rate_add(actor=coe_staff, currency="GBP", effective_from=date(2026, 1, 1), per_usd=Decimal("0.8"))
    with pytest.raises(ApplicationError) as caught:
        services.exchange_rate_add(actor=coe_staff, currency="GBP", effective_from=date(2026, 1, 1),
                                   per_usd=Decimal("0.7"))  # fmt: skip
    assert "effective_from" in caught.value.field_errors
    assert ExchangeRate.objects.get().per_usd == Decimal("0.8")


def test_the_api_lists_and_the_coe_adds(coe_staff, team_member) -> None:
    response = api(coe_staff).post(
        "/api/v1/exchange-rates/", {"currency": "eur", "effective_from": "2026-03-01", "per_usd": "0.92"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {"currency": "EUR", "effective_from": "2026-03-01", "per_usd": "0.92000000", "note": ""}
    again = api(coe_staff).post(
        "/api/v1/exchange-rates/", {"currency": "EUR", "effective_from": "2026-03-01", "per_usd": "0.5"}, format="json"
    )
    assert again.status_code == 400
    assert "effective_from" in again.json()
    refused = api(team_member).post(
        "/api/v1/exchange-rates/", {"currency": "GBP", "effective_from": "2026-03-01", "per_usd": "0.8"}, format="json"
    )
    assert refused.status_code == 403
    listed = api(team_member).get("/api/v1/exchange-rates/", {"currency": "EUR"}).json()
    assert [row["per_usd"] for row in listed["results"]] == ["0.92000000"]
    assert ExchangeRate.objects.count() == 1
