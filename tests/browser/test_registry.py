"""The workload registry in the browser: registering, releases, who may change what, filters."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.registry import services
from apps.registry.models import AIModel, Release, ReleaseEvent, Workload
from tests.registry.factories import AIModelFactory, WorkloadFactory

from .conftest import BrowserErrors, sign_in


@pytest.fixture
def approved_model(db: None) -> AIModel:
    return AIModelFactory(
        provider="openai",
        model_id="gpt-4o-mini",
        display_name="GPT-4o mini",
        approval_status=AIModel.ApprovalStatus.APPROVED,
        max_data_classification="confidential",
    )


@pytest.fixture
def prohibited_model(db: None) -> AIModel:
    return AIModelFactory(
        provider="deepthink",
        model_id="dt-1",
        display_name="DeepThink One",
        approval_status=AIModel.ApprovalStatus.PROHIBITED,
        max_data_classification="restricted",
    )


@pytest.fixture
def workload(team: Team, approved_model: AIModel) -> Workload:
    """Claims Summariser, with its money filled in, and no releases yet."""
    return WorkloadFactory(
        name="Claims Summariser",
        team=team,
        lifecycle_stage="pilot",
        # Limited: a high-risk release also needs governance's approval (tests/governance).
        risk_tier="limited",
        data_classification="confidential",
        value_per_request=Decimal("0.25"),
        fixed_monthly_run_cost=Decimal("120.00"),
        monthly_budget=Decimal("1500.00"),
        ai_models=[approved_model],
    )


@pytest.fixture
def live_and_draft(workload: Workload, approved_model: AIModel) -> tuple[Release, Release]:
    """Release 1.0.0 live, 1.1.0 a draft."""
    live = services.release_create(actor=None, workload=workload, version="1.0.0", ai_models=[approved_model])
    services.release_promote(actor=None, release=live)
    draft = services.release_create(actor=None, workload=workload, version="1.1.0", ai_models=[approved_model])
    return live, draft


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def open_registry(page: Page, live_server: LiveServer) -> None:
    main_nav(page).get_by_role("link", name="Registry", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/registry/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workload registry")


def messages(page: Page) -> Locator:
    return page.locator("#messages")


def release_row(page: Page, version: str) -> Locator:
    return page.locator("table.releases tbody tr").filter(has=page.get_by_role("rowheader", name=version, exact=True))


def accept_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def expect_friendly_403(page: Page, browser_errors: BrowserErrors, path: str) -> None:
    browser_errors.allow_http(path, 403)
    response = page.goto(path)
    assert response is not None
    assert response.status == 403
    expect(page).to_have_title("Not allowed · CoE Portal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("You do not have permission to do this.")
    expect(main_nav(page)).to_be_visible()
    expect(page.locator("form.form")).to_have_count(0)


# --- Registering -----------------------------------------------------------------------------


def test_registering_with_prohibited_model_is_refused_keeping_input_then_registers_with_approved_model(
    page: Page,
    live_server: LiveServer,
    team_member: User,
    team: Team,
    approved_model: AIModel,
    prohibited_model: AIModel,
) -> None:
    sign_in(page, live_server, team_member)
    open_registry(page, live_server)
    page.locator(".page-header").get_by_role("link", name="Register a workload").click()
    expect(page).to_have_url(f"{live_server.url}/registry/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a workload")

    # Her only team is chosen for her.
    team_select = page.get_by_role("combobox", name="Team", exact=True)
    expect(team_select).to_have_value(str(team.pk))
    expect(team_select.locator("option")).to_have_text(["Claims Automation"])
    page.get_by_role("textbox", name="Name", exact=True).fill("Claims Summariser")
    page.get_by_role("combobox", name="Lifecycle stage", exact=True).select_option(label="Pilot")
    page.get_by_role("combobox", name="Risk tier", exact=True).select_option(label="High")
    page.get_by_role("combobox", name="Data classification", exact=True).select_option("confidential")
    page.get_by_role("combobox", name="Use case category", exact=True).select_option(label="Document processing")
    models = page.get_by_role("group", name="Models", exact=True)
    prohibited = models.get_by_role("checkbox", name=re.compile(r"^DeepThink One \(deepthink\) — Prohibited"))
    approved = models.get_by_role("checkbox", name=re.compile(r"^GPT-4o mini \(openai\) — Approved"))
    prohibited.check()
    approved.check()
    page.get_by_role("button", name="Register workload").click()

    # Refused, saying which model and why, beside the models and in the summary on top.
    refusal = "DeepThink One is prohibited by the CoE and may not be used."
    expect(page.locator("#form-errors")).to_contain_text("Please correct the fields below.")
    expect(page.locator("#form-errors")).to_contain_text(refusal)
    expect(models.get_by_role("alert")).to_have_text(refusal)
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a workload")
    # Everything typed is still there.
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Claims Summariser")
    expect(page.get_by_role("combobox", name="Data classification", exact=True)).to_have_value("confidential")
    expect(page.get_by_role("combobox", name="Lifecycle stage", exact=True)).to_have_value("pilot")
    expect(page.get_by_role("combobox", name="Risk tier", exact=True)).to_have_value("high")
    expect(page.get_by_role("combobox", name="Use case category", exact=True)).to_have_value("document_processing")
    expect(team_select).to_have_value(str(team.pk))
    expect(prohibited).to_be_checked()
    expect(approved).to_be_checked()
    assert not Workload.objects.exists()

    prohibited.uncheck()
    page.get_by_role("button", name="Register workload").click()

    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/")
    expect(messages(page)).to_contain_text("“Claims Summariser” is registered.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Summariser")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Pilot")
    expect(facts).to_contain_text("High")
    expect(facts).to_contain_text("Confidential")
    used = page.get_by_role("region", name="Models").get_by_role("listitem")
    expect(used).to_have_count(1)
    expect(used).to_contain_text("GPT-4o mini")

    workload = Workload.objects.get()
    assert workload.name == "Claims Summariser"
    assert workload.team == team
    assert workload.created_by == team_member
    assert (workload.lifecycle_stage, workload.risk_tier) == ("pilot", "high")
    assert workload.data_classification == "confidential"
    assert workload.use_case_category == "document_processing"
    assert list(workload.ai_models.all()) == [approved_model]


# --- Releases --------------------------------------------------------------------------------


def create_release(page: Page, version: str, config: str) -> None:
    page.locator(".workload-actions").get_by_role("link", name="New release").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New release of Claims Summariser")
    page.get_by_role("textbox", name="Version", exact=True).fill(version)
    page.get_by_role("textbox", name="Changelog", exact=True).fill(f"Release {version}: better summaries.")
    page.get_by_role("group", name="Models").get_by_role("checkbox", name=re.compile(r"^GPT-4o mini")).check()
    page.get_by_role("textbox", name="Config", exact=True).fill(config)
    page.get_by_role("button", name="Create draft release").click()


def test_releases_are_created_promoted_and_rolled_back_with_reason_on_the_timeline(
    page: Page, live_server: LiveServer, team_member: User, workload: Workload, approved_model: AIModel
) -> None:
    dialogs = accept_dialogs(page)
    sign_in(page, live_server, team_member)
    open_registry(page, live_server)
    page.locator("#workload-table").get_by_role("link", name="Claims Summariser").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/")

    # Invalid JSON first: the error, and the text kept to correct it.
    create_release(page, "1.0.0", '{"temperature": 0.2,}')
    config = page.get_by_role("textbox", name="Config", exact=True)
    expect(page.locator(".field--error").filter(has=config).get_by_role("alert")).to_have_text(
        re.compile(r"^This is not valid JSON: .+ at line 1, column \d+\.$")
    )
    expect(config).to_have_value('{"temperature": 0.2,}')
    expect(page.get_by_role("textbox", name="Version", exact=True)).to_have_value("1.0.0")
    expect(page.get_by_role("textbox", name="Changelog", exact=True)).to_have_value("Release 1.0.0: better summaries.")
    assert not Release.objects.exists()

    config.fill('{"temperature": 0.2, "prompt": "v1"}')
    page.get_by_role("button", name="Create draft release").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/releases/")
    expect(messages(page)).to_contain_text("Release 1.0.0 is created as a draft. Promote it when it is ready.")
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Draft")

    create_release(page, "1.1.0", '{"temperature": 0.1, "prompt": "v2"}')
    expect(messages(page)).to_contain_text("Release 1.1.0 is created as a draft.")
    expect(release_row(page, "1.1.0").locator(".status")).to_have_text("Draft")
    expect(page.locator("table.releases tbody tr")).to_have_count(2)
    # The config is shown as it was given, pretty-printed.
    release_row(page, "1.1.0").get_by_text("Config", exact=True).click()
    expect(release_row(page, "1.1.0").locator("pre.config")).to_contain_text('"temperature": 0.1')

    release_row(page, "1.0.0").get_by_role("button", name="Promote 1.0.0").click()
    expect(messages(page)).to_contain_text("Release 1.0.0 is live.")
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Live")
    expect(release_row(page, "1.1.0").locator(".status")).to_have_text("Draft")
    expect(page.locator("dl.facts")).to_contain_text("1.0.0")

    release_row(page, "1.1.0").get_by_role("button", name="Promote 1.1.0").click()
    expect(messages(page)).to_contain_text("Release 1.1.0 is live.")
    expect(release_row(page, "1.1.0").locator(".status")).to_have_text("Live")
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Superseded")

    row = release_row(page, "1.0.0")
    row.get_by_label("Reason for rolling back to 1.0.0").fill("p95 latency doubled")
    row.get_by_role("button", name="Roll back to this").click()
    expect(messages(page)).to_contain_text("Rolled back: release 1.0.0 is live again.")
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Live")
    expect(release_row(page, "1.1.0").locator(".status")).to_have_text("Rolled back")
    assert dialogs == [
        "Make release 1.0.0 live?",
        "Make release 1.1.0 live?",
        "Roll back to release 1.0.0? It becomes live again.",
    ]

    # Leave the tab and come back to it (htmx tab swap): the timeline tells the story, newest first.
    tabs = page.get_by_role("navigation", name="Workload sections")
    tabs.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Timeline")).to_have_count(0)
    tabs.get_by_role("link", name="Releases").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/releases/")
    timeline = page.get_by_role("list", name="Timeline").get_by_role("listitem")
    expect(timeline).to_have_count(5)
    expect(timeline.nth(0)).to_contain_text("Rolled back: back to 1.0.0 from 1.1.0")
    expect(timeline.nth(0)).to_contain_text("by Tina Member")
    expect(timeline.nth(0).locator(".timeline__reason")).to_have_text("Reason: p95 latency doubled")
    expect(timeline.nth(1)).to_contain_text("Promoted: 1.0.0 → 1.1.0 went live")
    expect(timeline.nth(2)).to_contain_text("Promoted: 1.0.0 went live")
    expect(timeline.nth(4)).to_contain_text("Created: release 1.0.0 created as a draft")

    workload.refresh_from_db()
    assert workload.live_release is not None
    assert workload.live_release.version == "1.0.0"
    statuses = dict(workload.releases.values_list("version", "status"))
    assert statuses == {"1.0.0": Release.Status.LIVE, "1.1.0": Release.Status.ROLLED_BACK}
    first = workload.releases.get(version="1.0.0")
    assert first.config == {"temperature": 0.2, "prompt": "v1"}
    assert list(first.ai_models.all()) == [approved_model]
    rollback = workload.release_events.get(kind=ReleaseEvent.Kind.ROLLED_BACK)
    assert (rollback.release, rollback.previous.version, rollback.reason) == (first, "1.1.0", "p95 latency doubled")
    assert rollback.actor == team_member


# --- Who may change what ---------------------------------------------------------------------

CHANGE_CONTROLS = ("Register a workload", "Edit", "Retire…", "New release")


def test_leadership_reads_workload_with_figures_but_every_change_is_refused(
    page: Page,
    live_server: LiveServer,
    leader: User,
    workload: Workload,
    live_and_draft: tuple[Release, Release],
    browser_errors: BrowserErrors,
) -> None:
    before = Workload.objects.values().get(pk=workload.pk)
    sign_in(page, live_server, leader)
    open_registry(page, live_server)
    expect(page.locator("#workload-table").get_by_role("row")).to_have_count(2)
    expect(page.get_by_role("link", name="Register a workload")).to_have_count(0)

    page.locator("#workload-table").get_by_role("link", name="Claims Summariser").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Summariser")
    value = page.get_by_role("region", name="Value and cost")
    expect(value).to_contain_text(re.compile(r"Value per request\s*0\.2500 USD"))
    expect(value).to_contain_text(re.compile(r"Fixed monthly run cost\s*120 USD"))
    expect(value).to_contain_text(re.compile(r"Monthly budget\s*1500 USD"))
    for name in CHANGE_CONTROLS:
        expect(page.locator("main").get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.locator("main").get_by_text("Retire…")).to_have_count(0)
    expect(page.locator("main").get_by_role("button")).to_have_count(0)

    page.get_by_role("navigation", name="Workload sections").get_by_role("link", name="Releases").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/releases/")
    # Leadership sees drafts too, but can neither promote nor roll back.
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Live")
    expect(release_row(page, "1.1.0").locator(".status")).to_have_text("Draft")
    expect(page.get_by_role("columnheader", name="Actions")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"^Promote"))).to_have_count(0)
    expect(page.get_by_role("button", name="Roll back to this")).to_have_count(0)
    expect(page.get_by_role("link", name="New release")).to_have_count(0)

    for path in (
        "/registry/new/",
        "/registry/w/claims-summariser/edit/",
        "/registry/w/claims-summariser/releases/new/",
    ):
        expect_friendly_403(page, browser_errors, path)

    assert Workload.objects.values().get(pk=workload.pk) == before
    assert Workload.objects.count() == 1
    assert dict(workload.releases.values_list("version", "status")) == {
        "1.0.0": Release.Status.LIVE,
        "1.1.0": Release.Status.DRAFT,
    }


def test_other_teams_member_sees_workload_without_drafts_or_figures_and_cannot_edit(
    page: Page,
    live_server: LiveServer,
    other_team_member: User,
    workload: Workload,
    live_and_draft: tuple[Release, Release],
    browser_errors: BrowserErrors,
) -> None:
    sign_in(page, live_server, other_team_member)
    open_registry(page, live_server)
    page.locator("#workload-table").get_by_role("link", name="Claims Summariser").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Summariser")

    value = page.get_by_role("region", name="Value and cost")
    expect(value).to_contain_text("Value and cost figures are shown to the workload's team, the CoE and leadership.")
    for hidden in ("Value per request", "Monthly budget", "0.25", "1500", "120"):
        expect(value).not_to_contain_text(hidden)
    for name in ("Edit", "New release"):
        expect(page.locator("main").get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.locator("main").get_by_text("Retire…")).to_have_count(0)
    tabs = page.get_by_role("navigation", name="Workload sections")
    expect(tabs.get_by_role("link", name="History")).to_have_count(0)

    tabs.get_by_role("link", name="Releases").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/releases/")
    expect(page.locator("table.releases tbody tr")).to_have_count(1)
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Live")
    expect(release_row(page, "1.1.0")).to_have_count(0)
    expect(page.locator("#tab-panel")).not_to_contain_text("1.1.0")
    expect(page.get_by_role("button", name=re.compile(r"^Promote"))).to_have_count(0)
    expect(page.get_by_role("button", name="Roll back to this")).to_have_count(0)

    expect_friendly_403(page, browser_errors, "/registry/w/claims-summariser/edit/")
    workload.refresh_from_db()
    assert workload.name == "Claims Summariser"


# --- The list's filters ----------------------------------------------------------------------


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_registry_filters_update_table_in_place_push_url_and_csv_link_and_back_restores_full_page(
    page: Page, live_server: LiveServer, team_member: User, team: Team, other_team: Team
) -> None:
    WorkloadFactory(name="Claims Summariser", team=team, risk_tier="high")
    WorkloadFactory(name="Claims Triage", team=team, risk_tier="limited")
    WorkloadFactory(name="Customer Chat", team=other_team, risk_tier="high")
    everyone = ["Claims Summariser", "Claims Triage", "Customer Chat"]

    sign_in(page, live_server, team_member)
    open_registry(page, live_server)
    table = page.locator("#workload-table")
    names = table.locator("tbody tr td:first-child")
    expect(names).to_have_text(everyone)
    expect(table.get_by_role("status")).to_have_text("3 workloads")

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("combobox", name="Risk tier", exact=True).select_option(label="High")
    expect(names).to_have_text(["Claims Summariser", "Customer Chat"])
    expect(table.get_by_role("status")).to_have_text("2 workloads match the filters")
    expect(page).to_have_url(re.compile(r"/registry/\?.*\brisk_tier=high\b"))

    page.get_by_role("searchbox", name="Search").press_sequentially("claims")
    expect(names).to_have_text(["Claims Summariser"])
    expect(table.get_by_role("status")).to_have_text("1 workload matches the filters")
    expect(page).to_have_url(re.compile(r"/registry/\?.*\bq=claims\b"))
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded, not updated"
    filters = query(page.url)
    assert filters["q"] == ["claims"]
    assert filters["risk_tier"] == ["high"]

    # The CSV link carries the same filters, and downloads the same rows.
    csv_link = table.get_by_role("link", name="Download CSV")
    href = csv_link.get_attribute("href")
    assert href is not None
    assert urlsplit(href).path == "/registry/export.csv"
    assert query(href) == filters
    csv = page.request.get(href)
    assert csv.ok
    body = csv.text()
    assert "Claims Summariser" in body
    assert "Claims Triage" not in body
    assert "Customer Chat" not in body

    # Back, twice (search, then risk tier): the whole page again, unfiltered.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/registry/\?.*\brisk_tier=high\b"))
    expect(names).to_have_text(["Claims Summariser", "Customer Chat"])
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/registry/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workload registry")
    expect(main_nav(page).get_by_role("link", name="Registry", exact=True)).to_be_visible()
    expect(page.get_by_role("search", name="Filter workloads")).to_be_visible()
    expect(names).to_have_text(everyone)
    expect(table.get_by_role("status")).to_have_text("3 workloads")
    expect(page.get_by_role("combobox", name="Risk tier", exact=True)).to_have_value("")
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("")
    expect(table.get_by_role("link", name="Download CSV")).to_have_attribute("href", "/registry/export.csv")
