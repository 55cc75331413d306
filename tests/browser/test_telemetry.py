"""Telemetry in the browser: a team opens its workload's Telemetry tab, sees its charts drawn,
creates an ingestion key (shown once) and sends telemetry with it, adds a pull source, resolves an
alert and revokes the key; who sees the tab at all.

Prerequisites (a scored history, an alert) go through the real write path and the services; what
each test is about goes through the pages. The page fixture fails a test on any console error,
CSP violation included.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.registry import services as registry
from apps.registry.models import AIModel, ModelPrice, Workload
from apps.telemetry.alerts import alert_raise
from apps.telemetry.ingest import EventIn, events_store
from apps.telemetry.models import Alert, IngestionKey, PullSource
from apps.telemetry.rollups import rollup_pending
from apps.telemetry.scoring import score_day
from tests.registry.factories import AIModelFactory

from .conftest import BrowserErrors, sign_in

CHARTS = ("cost", "traffic", "latency", "quality")


# --- Helpers ---------------------------------------------------------------------------------


def accept_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def open_workload(page: Page, live_server: LiveServer, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Registry", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/registry/")
    page.locator("#workload-table").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def workload_tabs(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Workload sections")


def expect_charts_drawn(page: Page) -> None:
    """Plotly drew an SVG into every chart (the strict bundle, under the CSP)."""
    for name in CHARTS:
        expect(page.locator(f"#chart-{name} svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-cost .legendtext").filter(has_text="Budget pace")).to_have_count(1)


def post_events(live_server: LiveServer, key: str, events: list[dict[str, object]]) -> tuple[int, dict]:
    """POST a native batch with the key and nothing else (no browser cookies), as a workload would."""
    request = urllib.request.Request(  # noqa: S310 (http on our live server)
        f"{live_server.url}/api/v1/telemetry/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def send_day(workload: Workload, day: date, *, n: int, seed: int) -> None:
    start = datetime.combine(day, time(9), tzinfo=UTC)
    events = [
        EventIn(
            event_key=f"b-{day}-{i}",
            timestamp=start + timedelta(seconds=40 * i),
            model_name="gpt-4o-mini",
            provider="openai",
            operation="chat",
            input_tokens=900 + seed,
            output_tokens=300,
            latency_ms=700 + 5 * i,
            is_error=i % 25 == 0,
            release="1.0.0",
            quality_score=0.8,
            user_rating=1,
        )
        for i in range(n)
    ]
    events_store(workload_id=workload.pk, events=events, source="native")


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def model(db: None) -> AIModel:
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    ModelPrice.objects.create(model=model, effective_from=timezone.now() - timedelta(days=400),
                              input_per_million=Decimal("0.15"), output_per_million=Decimal("0.60"))  # fmt: skip
    return model


@pytest.fixture
def workload(team: Team, team_member: User, model: AIModel) -> Workload:
    """Claims Assistant, with a budget and a p95 objective, and a week of scored telemetry."""
    workload = registry.workload_register(
        actor=team_member, team=team, name="Claims Assistant", ai_models=[model], risk_tier="limited",
        lifecycle_stage="production", objective_p95_latency_ms=2000, monthly_budget=Decimal("100"),
        value_per_request=Decimal("0.50"),
    )  # fmt: skip
    today = timezone.now().date()
    for n in range(7, 0, -1):
        send_day(workload, today - timedelta(days=n), n=60 + n, seed=n)
    rollup_pending()
    for n in range(7, 0, -1):
        score_day(workload=workload, day=today - timedelta(days=n), evaluate_controls=False)
    return workload


@pytest.fixture
def alert(workload: Workload) -> Alert:
    alert = alert_raise(
        workload=workload, kind=Alert.Kind.BUDGET, key="budget:browser:80", title="Claims Assistant has spent 85 %",
        detail="85.00 USD spent against a budget of 100.00.", notify=False,
    )  # fmt: skip
    assert alert is not None
    return alert


# --- The team's day ----------------------------------------------------------------------------


def test_the_team_wires_telemetry_and_follows_it(
    page: Page, live_server: LiveServer, team_member: User, workload: Workload, alert: Alert
) -> None:
    dialogs = accept_dialogs(page)
    sign_in(page, live_server, team_member)
    open_workload(page, live_server, workload.name)

    # The Telemetry tab, brought by htmx: the charts are drawn all the same.
    workload_tabs(page).get_by_role("link", name="Telemetry").click()
    expect(page).to_have_url(f"{live_server.url}/telemetry/w/{workload.slug}/")
    panel = page.locator("#tab-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Telemetry")
    expect(page.locator("#kpi-requests .kpi__label")).to_have_text("Requests")
    expect(page.locator("#kpi-latency")).to_contain_text("(met)")
    expect_charts_drawn(page)

    # A key, shown once, with the snippet to use it.
    keys = page.locator("#telemetry-keys")
    expect(keys).to_contain_text("No ingestion key yet.")
    keys.get_by_role("textbox", name="Name").fill("prod collector")
    keys.get_by_role("button", name="Create key").click()
    expect(keys.get_by_role("status").first).to_contain_text("Key “prod collector” created.")
    secret = page.get_by_test_id("new-key")
    expect(secret).to_have_value(re.compile(r"^coei_[\w-]{40,}$"))
    raw = secret.input_value()
    expect(keys.locator("#new-key-otlp")).to_contain_text(f'COE_INGESTION_KEY="{raw}"')
    expect(keys.get_by_role("button", name="Copy").first).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/telemetry/w/{workload.slug}/")
    expect(keys.get_by_role("textbox", name="Name")).to_have_value("")

    # The key works on the native API; after a reload it is not shown again, and its use is counted.
    now = timezone.now().replace(microsecond=0)
    status, body = post_events(live_server, raw, [
        {"event_id": "browser-1", "timestamp": now.isoformat(), "model": "gpt-4o-mini", "input_tokens": 10,
         "output_tokens": 5, "latency_ms": 321, "status": "ok", "release": "1.0.0"},
        {"event_id": "browser-2", "timestamp": now.isoformat(), "model": "brand-new-model", "input_tokens": 10,
         "output_tokens": 5, "latency_ms": 456, "status": "error", "error_type": "Timeout"},
    ])  # fmt: skip
    assert status == 202, body
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(raw)
    key_row = page.locator("#key-table tbody tr").filter(has_text="prod collector")
    expect(key_row).to_contain_text("Active")
    expect(key_row.get_by_role("cell").nth(3)).to_have_text("2")  # events accepted
    unpriced = page.locator("#event-table tbody tr").filter(has_text="brand-new-model")
    expect(unpriced).to_contain_text("Unpriced")
    expect(unpriced).to_contain_text("Timeout")
    priced = page.locator("#event-table tbody tr").filter(has_text="321 ms")
    expect(priced).to_contain_text("0.000005")
    expect_charts_drawn(page)  # a full page load draws them too

    # A pull source; its Authorization header is never shown back.
    sources = page.locator("#telemetry-sources")
    sources.get_by_role("textbox", name="Name").fill("gateway logs")
    sources.get_by_role("textbox", name="URL").fill("https://gateway.example.com/telemetry")
    sources.get_by_role("spinbutton", name="Every (minutes)").fill("10")
    sources.get_by_label("Authorization header").fill("Bearer s3cret-gateway-token")
    sources.get_by_role("button", name="Add pull source").click()
    expect(sources.get_by_role("status")).to_contain_text("Pull source “gateway logs” added")
    source_row = sources.locator("#source-table tbody tr").filter(has_text="gateway logs")
    expect(source_row).to_contain_text("Not fetched yet")
    expect(source_row).to_contain_text("every 10 min · sends an Authorization header")
    expect(page.locator("main")).not_to_contain_text("s3cret-gateway-token")
    source_row.get_by_role("button", name="Pause gateway logs").click()
    expect(sources.get_by_role("status")).to_contain_text("paused")
    expect(source_row).to_contain_text("Paused")
    assert not PullSource.objects.get(workload=workload).enabled

    # The alert is resolved in place and listed among the recent ones.
    alerts = page.locator("#telemetry-alerts")
    expect(alerts.locator("#open-alerts")).to_contain_text(alert.title)
    alerts.get_by_role("button", name=f"Resolve {alert.title}").click()
    expect(alerts.get_by_role("status")).to_contain_text(f"Alert resolved: {alert.title}.")
    expect(alerts).to_contain_text("No open alert.")
    alerts.get_by_text("Resolved in the last 30 days (1)").click()
    expect(alerts.locator("#resolved-alerts")).to_contain_text(f"by {team_member.display_name}")

    # Revoking asks first, then the key is refused.
    keys.get_by_role("button", name="Revoke prod collector").click()
    expect(keys.get_by_role("status")).to_contain_text("Key “prod collector” is revoked")
    expect(key_row).to_contain_text("Revoked")
    assert any("Revoke the key “prod collector”?" in message for message in dialogs)
    status, _ = post_events(live_server, raw, [{"event_id": "browser-3", "timestamp": now.isoformat()}])
    assert status == 401
    assert IngestionKey.objects.get(workload=workload).revoked_at is not None


def test_a_new_workload_is_told_how_to_start(
    page: Page, live_server: LiveServer, team: Team, team_member: User, model: AIModel
) -> None:
    fresh = registry.workload_register(actor=team_member, team=team, name="Fresh Bot", ai_models=[model])
    sign_in(page, live_server, team_member)
    page.goto(f"/telemetry/w/{fresh.slug}/")
    empty = page.locator("#telemetry-empty")
    expect(empty).to_contain_text("No telemetry from Fresh Bot yet.")
    expect(empty.locator("#start-otlp")).to_contain_text(f"{live_server.url}/v1/traces")
    expect(empty.get_by_role("button", name="Copy").first).to_be_visible()
    expect(page.locator("[data-chart]")).to_have_count(0)


def test_another_team_sees_no_tab_and_is_refused(
    page: Page, live_server: LiveServer, browser_errors: BrowserErrors, other_team_member: User, workload: Workload
) -> None:
    sign_in(page, live_server, other_team_member)
    page.goto(f"/registry/w/{workload.slug}/")
    expect(workload_tabs(page).get_by_role("link", name="Overview")).to_be_visible()
    expect(workload_tabs(page).get_by_role("link", name="Telemetry")).to_have_count(0)
    path = f"/telemetry/w/{workload.slug}/"
    browser_errors.allow_http(path, 403)
    response = page.goto(path)
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_leadership_reads_the_tab_without_buttons(
    page: Page, live_server: LiveServer, leader: User, workload: Workload, alert: Alert
) -> None:
    sign_in(page, live_server, leader)
    page.goto(f"/telemetry/w/{workload.slug}/")
    expect_charts_drawn(page)
    expect(page.locator("#open-alerts")).to_contain_text(alert.title)
    expect(page.locator("#tab-panel").get_by_role("button")).to_have_count(0)
