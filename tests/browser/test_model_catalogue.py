"""The model catalogue in the browser: CoE staff add models and prices, and change approvals."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.core.models import Notification
from apps.registry import selectors
from apps.registry.models import AIModel
from tests.registry.factories import AIModelFactory, WorkloadFactory

from .conftest import sign_in


def open_catalogue(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Registry", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Workload registry")
    page.get_by_role("link", name="Model catalogue").click()
    expect(page).to_have_url(f"{live_server.url}/registry/models/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Model catalogue")


def messages(page: Page) -> Locator:
    return page.locator("#messages")


def add_price(page: Page, effective_from: str, input_per_million: str, output_per_million: str) -> None:
    form = page.get_by_role("form", name="Add a price")
    form.get_by_label("Effective from").fill(effective_from)
    form.get_by_label("Input per million tokens").fill(input_per_million)
    form.get_by_label("Output per million tokens").fill(output_per_million)
    form.get_by_role("button", name="Add price").click()


def ask_price_at(page: Page, at: str) -> Locator:
    form = page.get_by_role("form", name="Price at a moment")
    form.get_by_label("Price at").fill(at)
    form.get_by_role("button", name="Show the price").click()
    return page.locator("#price-at")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A moment in the portal's time zone, as a datetime-local input means it."""
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def test_coe_staff_add_model_and_two_prices_and_price_at_answers_the_price_in_force_then(
    page: Page, live_server: LiveServer, coe_staff: User
) -> None:
    sign_in(page, live_server, coe_staff)
    open_catalogue(page, live_server)
    page.locator(".page-header").get_by_role("link", name="Add a model").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a model to the catalogue")

    page.get_by_role("textbox", name="Provider", exact=True).fill("mistral")
    page.get_by_role("textbox", name="Model id", exact=True).fill("mistral-large-2411")
    page.get_by_role("textbox", name="Display name", exact=True).fill("Mistral Large")
    page.get_by_role("combobox", name="Approval status", exact=True).select_option(label="Approved")
    page.get_by_role("combobox", name="Max data classification", exact=True).select_option(label="Confidential")
    page.get_by_role("button", name="Add model").click()

    expect(page).to_have_url(f"{live_server.url}/registry/models/mistral-mistral-large-2411/")
    expect(messages(page)).to_contain_text("Mistral Large is in the catalogue. Add its price below.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mistral Large")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(re.compile(r"Approval\s*Approved"))
    expect(facts).to_contain_text("Confidential data at most")
    expect(facts).to_contain_text("no price yet")
    model = AIModel.objects.get(provider="mistral", model_id="mistral-large-2411")
    assert model.display_name == "Mistral Large"
    assert model.approval_status == AIModel.ApprovalStatus.APPROVED
    assert model.max_data_classification == "confidential"

    add_price(page, "2026-01-01T00:00", "5", "15")
    expect(messages(page)).to_contain_text("New price for Mistral Large from 01 Jan 2026 00:00 added.")
    add_price(page, "2026-06-01T00:00", "2.5", "10")
    expect(messages(page)).to_contain_text("New price for Mistral Large from 01 Jun 2026 00:00 added.")

    history = page.get_by_role("region", name="Prices").locator("table tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0).get_by_role("cell")).to_have_text(
        [re.compile(r"^1 Jun 2026 00:00"), "2.5000", "10.0000", "USD", ""]
    )
    expect(history.nth(1).get_by_role("cell")).to_have_text(
        [re.compile(r"^1 Jan 2026 00:00"), "5.0000", "15.0000", "USD", ""]
    )
    prices = list(
        model.prices.order_by("effective_from").values_list("effective_from", "input_per_million", "output_per_million")
    )
    assert prices == [
        (local(2026, 1, 1, 0, 0), Decimal("5"), Decimal("15")),
        (local(2026, 6, 1, 0, 0), Decimal("2.5"), Decimal("10")),
    ]

    # "Price at…" answers in place (htmx) and keeps the moment in the URL.
    page.evaluate("window.__sameDocument = true")
    answer = ask_price_at(page, "2026-05-31T23:00")
    expect(answer).to_contain_text("On 31 May 2026 23:00:")
    expect(answer.locator("strong")).to_have_text(["5.0000", "15.0000"])
    expect(answer).to_contain_text("in force from 1 Jan 2026 00:00")
    expect(page).to_have_url(re.compile(r"\?at=2026-05-31T23%3A00$"))

    answer = ask_price_at(page, "2026-06-01T01:00")
    expect(answer).to_contain_text("On 1 Jun 2026 01:00:")
    expect(answer.locator("strong")).to_have_text(["2.5000", "10.0000"])
    expect(answer).to_contain_text("in force from 1 Jun 2026 00:00")
    expect(page).to_have_url(re.compile(r"\?at=2026-06-01T01%3A00$"))
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded, not updated"

    old = selectors.model_price_at(model=model, at=local(2026, 5, 31, 23, 0))
    new = selectors.model_price_at(model=model, at=local(2026, 6, 1, 1, 0))
    assert old is not None
    assert new is not None
    assert (old.input_per_million, old.output_per_million) == (Decimal("5"), Decimal("15"))
    assert (new.input_per_million, new.output_per_million) == (Decimal("2.5"), Decimal("10"))


def test_prohibiting_a_model_notifies_the_team_whose_workload_uses_it(
    page: Page, live_server: LiveServer, coe_staff: User, team_member: User, other_team_member: User, team: Team
) -> None:
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    WorkloadFactory(name="Claims Summariser", team=team, ai_models=[model])

    sign_in(page, live_server, coe_staff)
    open_catalogue(page, live_server)
    page.locator("#model-table").get_by_role("link", name="GPT-4o mini", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("GPT-4o mini")
    page.locator(".page-header").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit GPT-4o mini")
    page.get_by_role("combobox", name="Approval status", exact=True).select_option(label="Prohibited")
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(f"{live_server.url}/registry/models/openai-gpt-4o-mini/")
    expect(messages(page)).to_contain_text("Changes to GPT-4o mini saved.")
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"Approval\s*Prohibited"))
    expect(page.locator("main")).to_contain_text("Prohibited. The CoE does not allow this model")
    model.refresh_from_db()
    assert model.approval_status == AIModel.ApprovalStatus.PROHIBITED

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    sign_in(page, live_server, team_member)

    bell = page.get_by_role("link", name="Notifications")
    expect(bell.locator("[data-unread]")).to_have_attribute("data-unread", "1")
    expect(bell.locator("[data-unread]")).to_have_text("1 unread")
    bell.click()
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    items = page.locator("#notification-table li.notification")
    expect(items).to_have_count(1)
    expect(items.get_by_role("link", name="GPT-4o mini is now prohibited")).to_be_visible()
    expect(items).to_contain_text("The CoE changed GPT-4o mini in the model catalogue: it is now prohibited")
    expect(items).to_contain_text("Workloads using it must move to another model")
    expect(items).to_contain_text("Claims Summariser (Claims Automation)")
    items.get_by_role("link", name="GPT-4o mini is now prohibited").click()
    expect(page).to_have_url(f"{live_server.url}/registry/models/openai-gpt-4o-mini/")

    assert list(Notification.objects.values_list("recipient__username", "title")) == [
        ("tina", "GPT-4o mini is now prohibited")
    ]
    assert not Notification.objects.filter(recipient=other_team_member).exists()
