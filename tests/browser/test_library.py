"""The template library in the browser: writing and publishing versions, adopters upgrading,
who sees drafts, trying a prompt, harmless markdown, searching."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.core.models import Notification, VersionState
from apps.library import services as library
from apps.library.models import Template, TemplateVersion
from apps.registry import services as registry
from apps.registry.adoption import adoption_set
from apps.registry.models import AIModel, Release, Workload
from tests.registry.factories import AIModelFactory, WorkloadFactory

from .conftest import BrowserErrors, sign_in

RUNBOOK_V1 = "# Provider outage\n\n- Check the provider's status page\n- Switch to the fallback model\n"
RUNBOOK_V2 = (
    "# Provider outage\n\n- Check the provider's status page\n- Switch to the fallback model within 5 minutes\n"
    "- Tell the on-call channel\n"
)
CHANGELOG_V2 = "Switch **within 5 minutes**, and tell the on-call channel."


# --- Helpers ---------------------------------------------------------------------------------


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def page_heading(page: Page) -> Locator:
    """The page's own h1 (a rendered body may hold h1s of its own)."""
    return page.locator(".page-header h1")


def messages(page: Page) -> Locator:
    return page.locator("#messages")


def version_rows(page: Page) -> Locator:
    return page.locator("table.library-versions tbody tr")


def version_row(page: Page, number: str) -> Locator:
    return version_rows(page).filter(has=page.get_by_role("rowheader", name=number, exact=True))


def release_row(page: Page, version: str) -> Locator:
    return page.locator("table.releases tbody tr").filter(has=page.get_by_role("rowheader", name=version, exact=True))


def accept_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def refuse_dialogs(page: Page) -> list[str]:
    """Dismiss any dialog and remember it: the test asserts none opened."""
    seen: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", dismiss)
    return seen


def publish(template: Template, number: str, body: str, *, actor: User, changelog: str = "",
            variables: list[str] | None = None) -> TemplateVersion:  # fmt: skip
    version = library.version_create(
        actor=actor, template=template, number=number, body=body, changelog=changelog, variables=variables
    )
    return library.version_publish(actor=actor, version=version)


def make_template(actor: User, title: str, *, kind: str = Template.Kind.RUNBOOK, summary: str = "") -> Template:
    return library.template_create(
        actor=actor, title=title, kind=kind, category="monitoring", summary=summary or f"All about {title.lower()}."
    )


@pytest.fixture
def approved_model(db: None) -> AIModel:
    return AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team: Team, approved_model: AIModel) -> Workload:
    return WorkloadFactory(
        name="Claims Summariser",
        team=team,
        data_classification="confidential",
        monthly_budget=Decimal("1500.00"),
        ai_models=[approved_model],
    )


@pytest.fixture
def runbook(coe_staff: User) -> Template:
    """Provider outage runbook, v1.0.0 published."""
    template = make_template(coe_staff, "Provider outage runbook")
    publish(template, "1.0.0", RUNBOOK_V1, actor=coe_staff)
    return template


# --- 1. Writing, previewing and publishing -----------------------------------------------------


def test_coe_staff_write_preview_and_publish_a_template_then_a_new_version_keeping_the_old_readable(
    page: Page, live_server: LiveServer, coe_staff: User, browser_errors: BrowserErrors
) -> None:
    dialogs = accept_dialogs(page)
    sign_in(page, live_server, coe_staff)
    main_nav(page).get_by_role("link", name="Templates", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/library/")
    expect(page_heading(page)).to_have_text("Template library")

    page.locator(".page-header").get_by_role("link", name="New template").click()
    expect(page).to_have_url(f"{live_server.url}/library/new/")
    expect(page_heading(page)).to_have_text("New template")
    page.get_by_role("textbox", name="Title", exact=True).fill("Provider outage runbook")
    page.get_by_role("combobox", name="Kind", exact=True).select_option(label="Runbook")
    page.get_by_role("combobox", name="Category", exact=True).select_option(label="Monitoring and optimisation")
    page.get_by_role("textbox", name="Summary", exact=True).fill("What to do when the model provider is down.")
    page.get_by_role("textbox", name="Tags", exact=True).fill("outage, provider")
    page.get_by_role("button", name="Create and write version 1.0.0").click()

    # The version form, for 1.0.0.
    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/versions/new/")
    expect(messages(page)).to_contain_text("“Provider outage runbook” is created. Now write its first version.")
    expect(page_heading(page)).to_have_text("New version of Provider outage runbook")
    expect(page.get_by_role("textbox", name="Number", exact=True)).to_have_value("1.0.0")
    preview = page.locator("#preview")
    expect(preview).to_have_text("Nothing to preview.")

    # Typing: after the debounce, htmx renders the markdown beside the text, without a reload.
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("textbox", name="Body", exact=True).press_sequentially(RUNBOOK_V1)
    expect(preview.get_by_role("heading", level=1)).to_have_text("Provider outage")
    expect(preview.get_by_role("listitem")).to_have_text(
        ["Check the provider's status page", "Switch to the fallback model"]
    )
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/v/1.0.0/")
    expect(messages(page)).to_contain_text("Draft 1.0.0 is saved. Send it for review, or publish it.")
    expect(page.locator(".page-header .version-state")).to_have_text("Draft")
    page.get_by_role("button", name="Send for review 1.0.0").click()

    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/")
    expect(messages(page)).to_contain_text("Version 1.0.0 is sent for review.")
    expect(version_row(page, "1.0.0").locator(".version-state")).to_have_text("In review")
    version_row(page, "1.0.0").get_by_role("button", name="Publish 1.0.0").click()

    expect(messages(page)).to_contain_text("Version 1.0.0 is published and current.")
    current = page.get_by_role("region", name=re.compile(r"^Version 1\.0\.0"))
    expect(current.get_by_role("heading", level=2)).to_have_text("Version 1.0.0 Current")
    body = page.locator(".library-body")
    expect(body.get_by_role("heading", level=1)).to_have_text("Provider outage")
    expect(body.get_by_role("listitem")).to_have_count(2)
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"Current version\s*1\.0\.0"))
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"Tags\s*outage\s*provider"))

    # A new version starts from the current text.
    page.locator(".page-header").get_by_role("link", name="New version").click()
    expect(page_heading(page)).to_have_text("New version of Provider outage runbook")
    expect(page.get_by_role("textbox", name="Number", exact=True)).to_have_value("1.1.0")
    body_box = page.get_by_role("textbox", name="Body", exact=True)
    expect(body_box).to_have_value(RUNBOOK_V1)
    page.get_by_role("textbox", name="Changelog", exact=True).fill(CHANGELOG_V2)
    body_box.fill(RUNBOOK_V2)
    body_box.press("End")  # a key: the live preview follows
    expect(preview.get_by_role("listitem")).to_have_count(3)
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/v/1.1.0/")
    expect(page.locator("main")).to_contain_text("only CoE staff see it until it is published")
    page.locator(".page-header").get_by_role("button", name="Publish 1.1.0").click()

    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/")
    expect(messages(page)).to_contain_text("Version 1.1.0 is published and current.")
    expect(page.locator("#current-h")).to_have_text("Version 1.1.0 Current")
    expect(page.locator(".library-changelog strong")).to_have_text("within 5 minutes")
    expect(body.get_by_role("listitem")).to_have_text(
        [
            "Check the provider's status page",
            "Switch to the fallback model within 5 minutes",
            "Tell the on-call channel",
        ]
    )
    expect(version_rows(page).get_by_role("rowheader")).to_have_text(["1.1.0", "1.0.0"])
    expect(version_row(page, "1.1.0").locator(".version-state")).to_have_text(["Published", "Current"])
    expect(version_row(page, "1.0.0").locator(".version-state")).to_have_text(["Published"])

    # The old version stays readable.
    version_row(page, "1.0.0").get_by_role("link", name="1.0.0", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/v/1.0.0/")
    expect(page_heading(page)).to_have_text("Provider outage runbook version 1.0.0")
    expect(page.locator("main")).to_contain_text("A newer version is current: version 1.1.0.")
    expect(page.locator(".library-body").get_by_role("listitem")).to_have_text(
        ["Check the provider's status page", "Switch to the fallback model"]
    )
    assert dialogs == [
        "Publish version 1.0.0 of “Provider outage runbook”? It becomes the current version, "
        "and teams that adopted the template are told.",
        "Publish version 1.1.0 of “Provider outage runbook”? It becomes the current version, "
        "and teams that adopted the template are told.",
    ]

    template = Template.objects.get()
    assert (template.slug, template.kind, template.category) == ("provider-outage-runbook", "runbook", "monitoring")
    assert template.owner == coe_staff
    assert sorted(template.tags.values_list("name", flat=True)) == ["outage", "provider"]
    versions = {v.number: v for v in template.versions.all()}
    assert set(versions) == {"1.0.0", "1.1.0"}
    assert versions["1.0.0"].state == VersionState.PUBLISHED
    assert not versions["1.0.0"].is_current
    # A textarea posts CRLF line ends; the versioning stores plain ones.
    assert versions["1.0.0"].body == RUNBOOK_V1
    assert versions["1.1.0"].state == VersionState.PUBLISHED
    assert versions["1.1.0"].is_current
    assert versions["1.1.0"].body == RUNBOOK_V2
    assert versions["1.1.0"].changelog == CHANGELOG_V2
    assert versions["1.1.0"].published_by == coe_staff


# --- 2. An explicit adopter is told, reads the diff and upgrades ------------------------------


def test_team_member_on_v1_is_notified_reads_changelog_and_diff_and_upgrades_explicit_adoption(
    page: Page, live_server: LiveServer, team_member: User, coe_staff: User, runbook: Template, workload: Workload
) -> None:
    adoption = adoption_set(actor=team_member, workload=workload, version=runbook.versions.get(number="1.0.0"))
    publish(runbook, "1.1.0", RUNBOOK_V2, actor=coe_staff, changelog=CHANGELOG_V2)

    sign_in(page, live_server, team_member)
    bell = page.get_by_role("link", name="Notifications")
    expect(bell.locator("[data-unread]")).to_have_attribute("data-unread", "1")
    bell.click()
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    notice = page.locator("#notification-table li")
    expect(notice).to_have_count(1)
    expect(notice.locator(".notification__head")).to_contain_text("Provider outage runbook v1.1.0 is published")
    expect(notice.locator(".prose")).to_contain_text("Claims Summariser uses v1.0.0.")
    expect(notice.locator(".prose")).to_contain_text("Switch within 5 minutes, and tell the on-call channel.")
    expect(notice.locator(".prose strong", has_text="within 5 minutes")).to_be_visible()

    notice.get_by_role("link", name="Provider outage runbook v1.1.0 is published").click()
    upgrade_url = f"{live_server.url}/registry/w/claims-summariser/templates/provider-outage-runbook/upgrade/"
    expect(page).to_have_url(upgrade_url)
    expect(page_heading(page)).to_have_text("Upgrade Provider outage runbook in Claims Summariser")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(re.compile(r"Uses now\s*v1\.0\.0 adopted explicitly"))
    expect(facts).to_contain_text(re.compile(r"Current version\s*v1\.1\.0"))
    changes = page.get_by_role("region", name="What changed since v1.0.0")
    expect(changes.get_by_role("heading", level=3)).to_contain_text(["v1.1.0 (current)"])
    expect(changes.locator(".prose")).to_have_text("Switch within 5 minutes, and tell the on-call channel.")
    expect(page.get_by_role("region", name="What will happen")).to_contain_text(
        "The workload's explicit adoption moves from v1.0.0 to v1.1.0."
    )

    changes.get_by_role("link", name="Compare v1.0.0 with v1.1.0").click()
    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/diff/?from=1.0.0&to=1.1.0")
    expect(page_heading(page)).to_have_text("Compare versions of Provider outage runbook")
    expect(page.locator(".page-header .lead")).to_have_text("From 1.0.0 (published) to 1.1.0 (published).")
    diff = page.locator("table.diff")
    expect(diff.locator("thead")).to_contain_text("1.0.0")
    expect(diff.locator("thead")).to_contain_text("1.1.0")
    # The unchanged heading on both sides; the changed line removed on the left, added on the right.
    expect(diff.locator("tr.diff__row--equal").first.locator(".diff__old")).to_have_text("# Provider outage")
    expect(diff.locator(".diff__old del")).to_have_text(["- Switch to the fallback model"])
    expect(diff.locator(".diff__new ins")).to_have_text(
        ["- Switch to the fallback model within 5 minutes", "- Tell the on-call channel"]
    )
    changed = diff.locator("tr").filter(has=page.locator("del"))
    expect(changed.locator(".diff__marker").first).to_contain_text("Removed")
    expect(changed.locator(".diff__marker").nth(1)).to_contain_text("Added")
    expect(page.locator(".section-head").get_by_role("status")).to_have_text("2 changed lines")

    page.go_back()
    expect(page).to_have_url(upgrade_url)
    page.get_by_role("button", name="Upgrade", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/templates/")
    expect(messages(page)).to_contain_text("“Claims Summariser” now uses Provider outage runbook v1.1.0.")
    tabs = page.get_by_role("navigation", name="Workload sections")
    expect(tabs.get_by_role("link", name="Templates")).to_have_attribute("aria-current", "page")
    row = page.locator("#template-provider-outage-runbook")
    expect(row.get_by_role("link", name="v1.1.0")).to_be_visible()
    expect(row).to_contain_text("Adopted explicitly")
    expect(row.locator(".status")).to_have_text("Current")
    expect(row).not_to_contain_text("Behind")
    expect(row.get_by_role("link", name=re.compile(r"^Upgrade"))).to_have_count(0)

    adoption.refresh_from_db()
    assert adoption.version.number == "1.1.0"
    assert adoption.adopted_by == team_member
    assert workload.adoptions.count() == 1


# --- 3. Through a release -------------------------------------------------------------------


def test_team_member_upgrades_prompt_used_by_live_release_from_adopters_panel_into_a_new_draft_release(
    page: Page,
    live_server: LiveServer,
    team_member: User,
    coe_staff: User,
    workload: Workload,
    approved_model: AIModel,
) -> None:
    prompt = make_template(coe_staff, "Claim summary prompt", kind=Template.Kind.PROMPT)
    v1 = publish(prompt, "1.0.0", "Summarise this claim:\n\n{{ claim }}", actor=coe_staff, variables=["claim"])
    live = registry.release_create(
        actor=team_member, workload=workload, version="1.0.0", ai_models=[approved_model], template_versions=[v1],
        config={"temperature": 0.2},
    )  # fmt: skip
    registry.release_promote(actor=team_member, release=live)
    v2 = publish(
        prompt, "1.1.0", "Summarise this claim in three bullet points:\n\n{{ claim }}", actor=coe_staff,
        variables=["claim"], changelog="Three bullet points, easier to scan.",
    )  # fmt: skip

    sign_in(page, live_server, team_member)
    page.goto("/library/t/claim-summary-prompt/")
    expect(page_heading(page)).to_have_text("Claim summary prompt")
    # The registry's panel, loaded by htmx in place of the placeholder link.
    panel = page.locator("#adopters-panel")
    expect(panel).to_contain_text("1 of 1 adopter is behind the current version (v1.1.0).")
    expect(panel.get_by_role("link", name="See which workloads use this template, and which version")).to_have_count(0)
    expect(panel.get_by_role("heading", level=3)).to_contain_text(["v1.0.0"])
    adopter = panel.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Claims Summariser"))
    expect(adopter).to_contain_text("Claims Automation")
    expect(adopter).to_contain_text("Through its live release")
    expect(adopter.locator(".status")).to_have_text("Behind the current version (v1.1.0)")
    adopter.get_by_role("link", name="Upgrade Claims Summariser").click()

    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/templates/claim-summary-prompt/upgrade/")
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"Uses now\s*v1\.0\.0 through live release 1\.0\.0"))
    expect(page.get_by_role("region", name="What changed since v1.0.0")).to_contain_text(
        "Three bullet points, easier to scan."
    )
    expect(page.get_by_role("region", name="What will happen")).to_contain_text("A new draft release is created")
    page.get_by_role("button", name="Upgrade", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-summariser/releases/")
    expect(messages(page)).to_contain_text(
        "Draft release 1.0.1 is created with Claim summary prompt v1.1.0. "
        "Promote it from the Releases tab when it is ready."
    )
    tabs = page.get_by_role("navigation", name="Workload sections")
    expect(tabs.get_by_role("link", name="Releases")).to_have_attribute("aria-current", "page")
    expect(page.locator("table.releases tbody tr")).to_have_count(2)
    draft = release_row(page, "1.0.1")
    expect(draft.locator(".status")).to_have_text("Draft")
    expect(draft.get_by_role("link", name="Claim summary prompt v1.1.0")).to_be_visible()
    expect(draft).to_contain_text("GPT-4o mini")
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Live")
    expect(release_row(page, "1.0.0").get_by_role("link", name="Claim summary prompt v1.0.0")).to_be_visible()

    workload.refresh_from_db()
    assert workload.live_release == live
    new = workload.releases.get(version="1.0.1")
    assert new.status == Release.Status.DRAFT
    assert list(new.template_versions.all()) == [v2]
    assert list(new.ai_models.all()) == [approved_model]
    assert new.config == {"temperature": 0.2}
    assert new.created_by == team_member
    assert list(live.template_versions.all()) == [v1]
    assert not workload.adoptions.exists()


# --- 4. Drafts and publishing are the CoE's ---------------------------------------------------


def test_team_member_sees_only_published_versions_no_write_controls_and_draft_is_404_new_version_403(
    page: Page,
    live_server: LiveServer,
    team_member: User,
    coe_staff: User,
    runbook: Template,
    browser_errors: BrowserErrors,
) -> None:
    library.version_create(actor=coe_staff, template=runbook, number="1.1.0", body="A draft: not for teams yet.")
    before = list(runbook.versions.order_by("pk").values())

    sign_in(page, live_server, team_member)
    main_nav(page).get_by_role("link", name="Templates", exact=True).click()
    expect(page.locator(".page-header").get_by_role("link", name="New template")).to_have_count(0)
    page.locator(".library-card").get_by_role("link", name="Provider outage runbook").click()
    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/")
    expect(page.locator("#current-h")).to_have_text("Version 1.0.0 Current")
    expect(version_rows(page).get_by_role("rowheader")).to_have_text(["1.0.0"])
    main = page.locator("main")
    expect(main).not_to_contain_text("1.1.0")
    expect(main).not_to_contain_text("A draft: not for teams yet.")
    for name in ("New version", "Edit details", "Edit"):
        expect(main.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Actions")).to_have_count(0)
    expect(main.get_by_role("button")).to_have_count(0)  # no publish, send for review, deprecate
    expect(page.get_by_role("heading", name="Compare versions")).to_have_count(0)
    expect(page.locator("#adopters-panel")).to_contain_text("No workload uses Provider outage runbook yet.")

    draft = "/library/t/provider-outage-runbook/v/1.1.0/"
    browser_errors.allow_http(draft, 404)
    response = page.goto(draft)
    assert response is not None
    assert response.status == 404
    expect(page).to_have_title("Page not found · CoE Portal")
    expect(page.get_by_role("heading", level=1, name="Page not found")).to_be_visible()
    expect(main).not_to_contain_text("A draft: not for teams yet.")

    new_version = "/library/t/provider-outage-runbook/versions/new/"
    browser_errors.allow_http(new_version, 403)
    response = page.goto(new_version)
    assert response is not None
    assert response.status == 403
    expect(page).to_have_title("Not allowed · CoE Portal")
    expect(page.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()
    expect(main).to_contain_text("You do not have permission to do this.")
    expect(page.locator("form.form")).to_have_count(0)

    assert list(runbook.versions.order_by("pk").values()) == before
    assert Template.objects.count() == 1


# --- 5. Try it ---------------------------------------------------------------------------------


def test_try_it_reports_missing_variable_then_fills_prompt_showing_markup_as_text_without_any_dialog(
    page: Page, live_server: LiveServer, team_member: User, coe_staff: User
) -> None:
    dialogs = refuse_dialogs(page)
    prompt = make_template(coe_staff, "Claim summary prompt", kind=Template.Kind.PROMPT)
    version = publish(
        prompt, "1.0.0", "Summarise this claim for {{ audience }}:\n\n{{ claim }}", actor=coe_staff,
        variables=["claim", "audience"],
    )  # fmt: skip

    sign_in(page, live_server, team_member)
    page.goto("/library/t/claim-summary-prompt/")
    try_it = page.get_by_role("region", name="Try it")
    result = page.locator("#try-result")
    claim = try_it.get_by_role("textbox", name="claim", exact=True)
    audience = try_it.get_by_role("textbox", name="audience", exact=True)
    page.evaluate("window.__sameDocument = true")

    claim.fill("Water damage in the kitchen.")
    try_it.get_by_role("button", name="Fill in the prompt").click()
    expect(result.locator(".message--warning")).to_have_text("No value for: audience.")
    expect(result.get_by_role("heading", level=2)).to_have_text("The prompt so far")
    so_far = "Summarise this claim for {{ audience }}:\n\nWater damage in the kitchen."
    expect(result.locator("pre")).to_have_text(so_far)

    audience.fill("underwriters")
    try_it.get_by_role("button", name="Fill in the prompt").click()
    expect(result.get_by_role("heading", level=2)).to_have_text("The prompt")
    expect(result.locator(".message--warning")).to_have_count(0)
    expect(result.locator("pre")).to_have_text("Summarise this claim for underwriters:\n\nWater damage in the kitchen.")
    expect(result).to_contain_text("No model was called.")

    claim.fill("<script>alert(1)</script>")
    try_it.get_by_role("button", name="Fill in the prompt").click()
    expect(result.locator("pre")).to_have_text("Summarise this claim for underwriters:\n\n<script>alert(1)</script>")
    expect(result.locator("script")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True, "the result should come in place (htmx)"
    page.wait_for_timeout(300)  # give a would-be script its chance to open a dialog
    assert dialogs == []

    version.refresh_from_db()
    assert version.body == "Summarise this claim for {{ audience }}:\n\n{{ claim }}"
    assert prompt.versions.count() == 1
    assert not Notification.objects.exists()


# --- 6. Markdown cannot run anything ------------------------------------------------------------

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<svg onload=alert(1)>",
)

DANGER = """() => {
  const all = [...document.querySelectorAll('*')];
  return {
    onAttributes: all.flatMap(el => [...el.attributes].filter(a => a.name.toLowerCase().startsWith('on'))
      .map(a => `${el.tagName.toLowerCase()} ${a.name}`)),
    javascriptLinks: all.filter(el => (el.getAttribute('href') || '').trim().toLowerCase().startsWith('javascript:'))
      .map(el => el.outerHTML),
    scriptsInContent: [...document.querySelectorAll('main script, .prose script')].map(el => el.outerHTML),
    imagesAndSvgInContent: [...document.querySelectorAll('main img, main svg, .prose img, .prose svg')]
      .map(el => el.outerHTML),
  };
}"""


def expect_harmless(page: Page) -> None:
    found = page.evaluate(DANGER)
    assert found == {"onAttributes": [], "javascriptLinks": [], "scriptsInContent": [], "imagesAndSvgInContent": []}


def test_markdown_with_script_payloads_is_shown_as_text_on_template_version_and_diff_pages(
    page: Page, live_server: LiveServer, team_member: User, coe_staff: User, runbook: Template
) -> None:
    dialogs = refuse_dialogs(page)
    hostile = "\n\n".join(PAYLOADS)
    publish(runbook, "1.1.0", f"# Provider outage\n\n{hostile}\n", actor=coe_staff, changelog=hostile)

    sign_in(page, live_server, team_member)
    page.goto("/library/t/provider-outage-runbook/")
    expect(page.locator("#current-h")).to_have_text("Version 1.1.0 Current")
    body = page.locator(".library-body .prose")
    expect(body.get_by_role("heading", level=1)).to_have_text("Provider outage")
    for payload in PAYLOADS:
        expect(body).to_contain_text(payload)
        expect(page.locator(".library-changelog").first).to_contain_text(payload)
    expect(body.locator("script")).to_have_count(0)
    expect(page.locator("#adopters-panel")).to_contain_text("No workload uses")
    expect_harmless(page)

    page.get_by_role("link", name="Version page").click()
    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/v/1.1.0/")
    body = page.locator(".library-body .prose")
    for payload in PAYLOADS:
        expect(body).to_contain_text(payload)
        expect(page.get_by_role("region", name="What changed")).to_contain_text(payload)
    expect(body.locator("script")).to_have_count(0)
    expect_harmless(page)

    page.get_by_role("link", name="Compare with the previous version (1.0.0)").click()
    expect(page).to_have_url(f"{live_server.url}/library/t/provider-outage-runbook/diff/?from=1.0.0&to=1.1.0")
    added = page.locator("table.diff .diff__new ins")
    for payload in PAYLOADS:
        expect(added.filter(has_text=payload)).to_have_count(1)
        expect(page.get_by_role("region", name="Changelog of 1.1.0")).to_contain_text(payload)
    expect(page.locator("table.diff script")).to_have_count(0)
    expect_harmless(page)

    page.wait_for_timeout(300)  # a would-be onerror/onload has had its chance
    assert dialogs == []
    current = runbook.versions.get(is_current=True)
    assert current.number == "1.1.0"
    assert all(payload in current.body and payload in current.changelog for payload in PAYLOADS)


# --- 7. The library home --------------------------------------------------------------------


def test_library_search_matches_current_body_only_in_place_with_q_in_url_then_filter_by_kind(
    page: Page, live_server: LiveServer, team_member: User, coe_staff: User
) -> None:
    outage = make_template(coe_staff, "Provider outage runbook")
    publish(outage, "1.0.0", "Fail over to the standby region: use the **quiesce** switch.", actor=coe_staff)
    cost = make_template(coe_staff, "Cost review checklist", kind=Template.Kind.CHECKLIST)
    publish(cost, "1.0.0", "- Check the monthly budget\n- Quiesce idle workloads", actor=coe_staff)
    publish(cost, "1.1.0", "- Check the monthly budget\n- Pause idle workloads", actor=coe_staff, changelog="Wording.")
    prompt = make_template(coe_staff, "Claim summary prompt", kind=Template.Kind.PROMPT)
    publish(prompt, "1.0.0", "Summarise: {{ claim }}", actor=coe_staff, variables=["claim"])
    hidden = make_template(coe_staff, "Unpublished rubric", kind=Template.Kind.RUBRIC)
    library.version_create(actor=coe_staff, template=hidden, number="1.0.0", body="quiesce everything")
    everyone = ["Claim summary prompt", "Cost review checklist", "Provider outage runbook"]

    sign_in(page, live_server, team_member)
    main_nav(page).get_by_role("link", name="Templates", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/library/")
    results = page.locator("#template-results")
    titles = results.locator(".library-card h2")
    expect(titles).to_have_text(everyone)
    expect(results.get_by_role("status")).to_have_text("3 templates")

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("searchbox", name="Search").press_sequentially("quiesce")
    # Only the template whose *current* text has the word: not the checklist's old 1.0.0, not a draft.
    expect(titles).to_have_text(["Provider outage runbook"])
    expect(results.get_by_role("status")).to_have_text("1 template matches the filters")
    expect(page).to_have_url(re.compile(r"/library/\?(.*&)?q=quiesce(&|$)"))
    expect(results.locator(".library-card")).to_contain_text("Version 1.0.0")

    page.get_by_role("searchbox", name="Search").fill("")
    expect(titles).to_have_text(everyone)
    page.get_by_role("combobox", name="Kind", exact=True).select_option(label="Checklist")
    expect(titles).to_have_text(["Cost review checklist"])
    expect(results.locator(".library-card")).to_contain_text("Checklist · Monitoring and optimisation")
    expect(results.locator(".library-card")).to_contain_text("Version 1.1.0")
    expect(results.get_by_role("status")).to_have_text("1 template matches the filters")
    expect(page).to_have_url(re.compile(r"/library/\?.*\bkind=checklist\b"))
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded, not updated"

    page.get_by_role("combobox", name="Kind", exact=True).select_option(label="Evaluation rubric")
    expect(results.locator(".empty-state")).to_contain_text("No template matches these filters.")
    expect(titles).to_have_count(0)

    assert Template.objects.count() == 4
    assert TemplateVersion.objects.filter(state=VersionState.PUBLISHED).count() == 4
