"""The operations dashboard in the browser, as the issue's team member uses it: from the Telemetry
tab to the workload's operations page, where release 2.0.0 is marked on the time axis and the
regression after it shows, on the charts and in the two releases side by side; then another
period, swapped in by htmx with the URL following.

The history goes through the real write path (events stored, rolled up, scored) and the registry's
services (releases created, promoted); what the test is about goes through the page. The page
fixture fails the test on any console error, CSP violations included.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.registry import services as registry
from apps.registry.models import AIModel, ModelPrice, Release, ReleaseEvent, Workload
from apps.telemetry.ingest import EventIn, events_store
from apps.telemetry.rollups import rollup_pending
from apps.telemetry.scoring import score_day
from tests.registry.factories import AIModelFactory

from .conftest import sign_in

pytestmark = pytest.mark.browser

TIME_CHARTS = ("traffic", "latency", "tokens", "cost", "quality", "safety", "drift")
PROMOTED_DAYS_AGO = 5  # 2.0.0 went live five days ago, 1.0.0 twelve


def ago(days: int) -> date:
    return timezone.now().date() - timedelta(days=days)


def send_day(workload: Workload, day: date, *, release: str, latency: float, error_every: int, quality: float) -> None:
    start = datetime.combine(day, time(9), tzinfo=UTC)
    events = [
        EventIn(
            event_key=f"ops-{day}-{i}", timestamp=start + timedelta(seconds=30 * i), model_name="gpt-4o-mini",
            provider="openai", operation="chat", input_tokens=800, output_tokens=300,
            latency_ms=latency + 3 * i, is_error=i % error_every == 0, release=release, quality_score=quality,
            user_rating=1,
        )
        for i in range(120)
    ]  # fmt: skip
    events_store(workload_id=workload.pk, events=events, source="native")


def promote(workload: Workload, actor: User, version: str, days_ago: int, model: AIModel) -> Release:
    release = registry.release_create(actor=actor, workload=workload, version=version, ai_models=[model])
    release = registry.release_promote(actor=actor, release=release)
    when = datetime.combine(ago(days_ago), time(8), tzinfo=UTC)
    ReleaseEvent.objects.filter(release=release).update(at=when)  # as if promoted then
    Release.objects.filter(pk=release.pk).update(promoted_at=when)
    return release


@pytest.fixture
def workload(team: Team, team_member: User) -> Workload:
    """Claims Assistant: 1.0.0 steady for a week, then 2.0.0, slower and failing more, for five days."""
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    ModelPrice.objects.create(model=model, effective_from=timezone.now() - timedelta(days=400),
                              input_per_million=Decimal("0.15"), output_per_million=Decimal("0.60"))  # fmt: skip
    workload = registry.workload_register(
        actor=team_member, team=team, name="Claims Assistant", ai_models=[model], risk_tier="limited",
        lifecycle_stage="production", objective_p95_latency_ms=2000, monthly_budget=Decimal("100"),
        value_per_request=Decimal("0.50"),
    )  # fmt: skip
    promote(workload, team_member, "1.0.0", 12, model)
    for n in range(11, PROMOTED_DAYS_AGO, -1):
        send_day(workload, ago(n), release="1.0.0", latency=700, error_every=50, quality=0.85)
    promote(workload, team_member, "2.0.0", PROMOTED_DAYS_AGO, model)
    for n in range(PROMOTED_DAYS_AGO, 0, -1):
        send_day(workload, ago(n), release="2.0.0", latency=2600, error_every=5, quality=0.6)
    rollup_pending()
    for n in range(11, 0, -1):
        score_day(workload=workload, day=ago(n), evaluate_controls=False)
    return workload


def figure(page: Page, key: str) -> dict:
    return json.loads(page.locator(f"#chart-{key}-figure").text_content() or "{}")


def expect_drawn(page: Page, keys: tuple[str, ...]) -> None:
    for key in keys:
        expect(page.locator(f"#chart-{key}")).to_have_attribute("data-drawn", "yes")
        expect(page.locator(f"#chart-{key} svg.main-svg").first).to_be_visible()


def comparison(page: Page) -> dict[str, list[str]]:
    """The comparison table's rows by measure: [A, B, change, verdict]."""
    rows = {}
    for row in page.locator("#table-release-comparison tbody tr").all():
        cells = [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        rows[cells[0]] = cells[1:]
    return rows


def test_a_team_member_sees_the_release_marker_and_the_regression_after_it(
    page: Page, live_server: LiveServer, team_member: User, workload: Workload
) -> None:
    sign_in(page, live_server, team_member)

    # From the Telemetry tab to the operations dashboard.
    page.goto(f"/telemetry/w/{workload.slug}/")
    page.get_by_role("link", name="Operations dashboard").click()
    url = f"{live_server.url}/dashboards/workloads/{workload.slug}/"
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Operations: Claims Assistant")
    expect_drawn(page, (*TIME_CHARTS, "release-chart"))

    # Release 2.0.0 is marked on every time chart, on the day it was promoted: in the figure and drawn.
    promoted = ago(PROMOTED_DAYS_AGO).isoformat()
    for key in TIME_CHARTS:
        layout = figure(page, key)["layout"]
        marks = {a["text"]: a["x"] for a in layout["annotations"]}
        assert marks["▲ 2.0.0"].startswith(f"{promoted}T08:00"), key
        expect(page.locator(f"#chart-{key} .annotation-text").filter(has_text="2.0.0")).to_have_count(1)

    # The regression after it: every day's p95 since the promotion above the objective, none before.
    latency = next(t for t in figure(page, "latency")["data"] if t["name"] == "p95")
    before = [y for x, y in zip(latency["x"], latency["y"], strict=True) if x < promoted]
    after = [y for x, y in zip(latency["x"], latency["y"], strict=True) if x > promoted]
    assert before
    assert after
    assert max(before) < 2000 < min(after)
    expect(page.locator("#kpi-latency_p95")).to_contain_text("met on 6 of 11 days")

    # The two releases side by side: 2.0.0 (B, live) against 1.0.0 (A, the one it replaced).
    table = page.locator("#table-release-comparison")
    expect(table.locator("thead")).to_contain_text("1.0.0 (A)")
    expect(table.locator("thead")).to_contain_text("2.0.0 (B)")
    rows = comparison(page)
    for measure in ("Error rate (%)", "p95 latency (ms)", "Quality (0–1)"):
        assert rows[measure][3] == "worse", (measure, rows[measure])
    assert float(rows["Error rate (%)"][1]) > 4 * float(rows["Error rate (%)"][0])  # 20 % against 2 %
    assert float(rows["p95 latency (ms)"][1].replace(",", "")) > 2000 > float(rows["p95 latency (ms)"][0])

    # Following a release compares it with the one it replaced; the choice stays in the URL.
    page.locator("#table-releases").get_by_role("link", name="2.0.0").click()
    expect(page).to_have_url(f"{url}?period=30d&release_a=1.0.0&release_b=2.0.0")
    expect(table.locator("thead")).to_contain_text("2.0.0 (B)")
    expect_drawn(page, (*TIME_CHARTS, "release-chart"))

    # Another period: htmx swaps the body, the URL follows and keeps the releases compared.
    label = page.locator("#dashboard-period").inner_text()
    page.get_by_role("search", name="Period and filters").get_by_label("Period").select_option(label="Last 90 days")
    expect(page).to_have_url(re.compile(re.escape(f"{url}?period=90d&") + r".*release_a=1\.0\.0&release_b=2\.0\.0$"))
    expect(page.locator("#dashboard-period")).not_to_have_text(label)
    expect(page.locator("#dashboard-body")).to_have_count(1)
    expect_drawn(page, (*TIME_CHARTS, "release-chart"))
    marks = [a["text"] for a in figure(page, "latency")["layout"]["annotations"]]
    assert marks == ["▲ 1.0.0", "▲ 2.0.0"]
    csv_link = page.locator("#section-release-comparison").get_by_role("link", name="CSV")
    expect(csv_link).to_have_attribute("href", "?period=90d&release_a=1.0.0&release_b=2.0.0&export=release-comparison")
