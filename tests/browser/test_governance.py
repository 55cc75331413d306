"""Governance in the browser: the CoE publishing a policy and a new version of it, a team
attesting, a waiver from request to expiry, the high-risk release gate, and who may do what.

Prerequisites are built through the services; what each test is about goes through the pages.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.core.models import Notification, VersionState
from apps.governance import services
from apps.governance.models import Attestation, Control, Policy, PolicyVersion, ReleaseApproval, Waiver
from apps.governance.services import State
from apps.registry import services as registry
from apps.registry.models import AIModel, Release, Workload
from tests.registry.factories import AIModelFactory

from .conftest import BrowserErrors, sign_in

POLICY_BODY = "# Human oversight\n\n- A person reviews high-risk decisions\n- Reviews are logged\n"
REVIEW_V1 = "A person reviews every decision before it reaches the claimant."
REVIEW_V2 = "A person reviews every decision, automated ones included, before it reaches the claimant."

HUMAN_REVIEW = {
    "key": "human-review", "title": "Human review", "statement": REVIEW_V1, "kind": "attestation",
    "risk_tiers": ["high"],
}  # fmt: skip
LATENCY = {
    "key": "latency", "title": "Latency within objective", "statement": "p95 latency meets the workload's objective.",
    "kind": "automated", "metric": "p95_latency_ms", "operator": "<=", "threshold_source": "objective_p95_latency_ms",
}  # fmt: skip


# --- Helpers ---------------------------------------------------------------------------------


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def messages(page: Page) -> Locator:
    return page.locator("#messages")


def page_heading(page: Page) -> Locator:
    return page.locator(".page-header h1")


def accept_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def switch_user(page: Page, live_server: LiveServer, user: User) -> None:
    """Sign out through the header, then sign in as ``user``."""
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    sign_in(page, live_server, user)


def open_workload(page: Page, live_server: LiveServer, name: str) -> None:
    main_nav(page).get_by_role("link", name="Registry", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/registry/")
    page.locator("#workload-table").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def workload_tabs(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Workload sections")


def open_compliance_tab(page: Page, live_server: LiveServer, workload: Workload) -> None:
    workload_tabs(page).get_by_role("link", name="Compliance").click()
    expect(page).to_have_url(f"{live_server.url}/governance/w/{workload.slug}/")
    expect(page.locator("#tab-panel").get_by_role("heading", level=2)).to_have_text("Compliance")


def control_row(page: Page, title: str) -> Locator:
    """A control's row on the Compliance tab (an automated control's header also says its check)."""
    header = page.get_by_role("rowheader", name=re.compile(rf"^{re.escape(title)}"))
    return page.locator("#tab-panel table tbody tr").filter(has=header)


def state_of(row: Locator) -> Locator:
    return row.locator("td").nth(1).locator(".status")


def detail_of(row: Locator) -> Locator:
    return row.locator("td").nth(2)


def evidence_of(row: Locator) -> Locator:
    return row.locator("td").nth(3)


def score(page: Page) -> Locator:
    return page.locator("#compliance-score .kpi__label")


def release_row(page: Page, version: str) -> Locator:
    return page.locator("table.releases tbody tr").filter(has=page.get_by_role("rowheader", name=version, exact=True))


def long_date(day: date) -> str:
    """As the pages write dates: 5 Mar 2026."""
    return f"{day.day} {day:%b %Y}"


def short_date(day: date) -> str:
    """As the templates write dates: 5 Mar 2026."""
    return f"{day.day} {day:%b %Y}"


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


def publish_policy(actor: User, *controls: dict[str, object], number: str = "1.0.0") -> PolicyVersion:
    policy = Policy.objects.filter(slug="human-oversight").first() or services.policy_create(
        actor=actor, title="Human oversight", category="security_governance",
        summary="People stay accountable for what the models decide.",
    )  # fmt: skip
    version = services.policy_version_create(actor=actor, policy=policy, number=number, body=POLICY_BODY)
    for fields in controls:
        services.control_add(actor=actor, version=version, **fields)
    return services.policy_version_publish(actor=actor, version=version)


def mark_all_read() -> None:
    Notification.objects.update(read_at=timezone.now())


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def model(db: None) -> AIModel:
    return AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team: Team, team_member: User, model: AIModel) -> Workload:
    """Claims Triage: high risk, in production, p95 objective 2000 ms."""
    return registry.workload_register(
        actor=team_member, team=team, name="Claims Triage", ai_models=[model], risk_tier="high",
        lifecycle_stage="production", data_classification="confidential", objective_p95_latency_ms=2000,
    )  # fmt: skip


@pytest.fixture
def oversight(coe_staff: User, workload: Workload) -> PolicyVersion:
    """Human oversight v1.0.0: "Human review" (attestation, high risk) and "Latency within
    objective" (automated, threshold from the workload's objective). Its notifications are read."""
    version = publish_policy(coe_staff, HUMAN_REVIEW, LATENCY)
    mark_all_read()
    return version


@pytest.fixture
def draft(workload: Workload, team_member: User, model: AIModel) -> Release:
    return registry.release_create(
        actor=team_member, workload=workload, version="1.0.0", ai_models=[model], changelog="First release."
    )


# --- 1. The CoE publishes a policy -----------------------------------------------------------


def test_coe_staff_write_and_publish_a_policy_whose_control_applies_to_high_risk_workloads(
    page: Page, live_server: LiveServer, coe_staff: User
) -> None:
    dialogs = accept_dialogs(page)
    sign_in(page, live_server, coe_staff)
    main_nav(page).get_by_role("link", name="Policies", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/governance/")
    expect(page_heading(page)).to_have_text("Policies")

    page.locator(".page-header").get_by_role("link", name="New policy").click()
    expect(page).to_have_url(f"{live_server.url}/governance/new/")
    expect(page_heading(page)).to_have_text("New policy")
    page.get_by_role("textbox", name="Title", exact=True).fill("Human oversight")
    page.get_by_role("combobox", name="Category", exact=True).select_option(label="Security and governance")
    page.get_by_role("textbox", name="Summary", exact=True).fill("People stay accountable for what the models decide.")
    page.get_by_role("textbox", name="Tags", exact=True).fill("oversight, eu-ai-act")
    page.get_by_role("button", name="Create and write version 1.0.0").click()

    # Version 1.0.0: the body with its live preview.
    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/versions/new/")
    expect(messages(page)).to_contain_text("“Human oversight” is created. Now write its first version.")
    expect(page_heading(page)).to_have_text("New version of Human oversight")
    expect(page.get_by_role("textbox", name="Number", exact=True)).to_have_value("1.0.0")
    preview = page.locator("#preview")
    expect(preview).to_have_text("Nothing to preview.")
    page.get_by_role("textbox", name="Framework references", exact=True).fill("EU AI Act: Art. 14")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("textbox", name="Body", exact=True).press_sequentially(POLICY_BODY)
    expect(preview.get_by_role("heading", level=1)).to_have_text("Human oversight")
    expect(preview.get_by_role("listitem")).to_have_text(["A person reviews high-risk decisions", "Reviews are logged"])
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/v/1.0.0/")
    expect(messages(page)).to_contain_text("Draft 1.0.0 is saved. Add or change its controls, then publish it.")
    expect(page.locator(".page-header .version-state")).to_have_text("Draft")
    expect(page.get_by_role("heading", name="Controls (0)")).to_be_visible()

    # The control: an attestation, for high-risk workloads only.
    page.locator(".page-header").get_by_role("link", name="Add a control").click()
    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/v/1.0.0/controls/new/")
    expect(page_heading(page)).to_have_text("New control in version 1.0.0")
    page.get_by_role("textbox", name="Title", exact=True).fill("Human review")
    page.get_by_role("textbox", name="Statement", exact=True).fill(REVIEW_V1)
    page.get_by_role("textbox", name="Rationale", exact=True).fill("People stay accountable for decisions.")
    page.get_by_role("group", name="Kind").get_by_role("radio", name="Attestation").check()
    page.get_by_role("group", name="Risk tiers").get_by_role("checkbox", name="High", exact=True).check()
    page.get_by_role("button", name="Add the control").click()

    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/v/1.0.0/")
    expect(messages(page)).to_contain_text("Control “Human review” is added to 1.0.0.")
    card = page.locator("#control-human-review")
    expect(card).to_contain_text(re.compile(r"Applies to\s*high risk; all data; all stages"))

    page.locator(".page-header").get_by_role("button", name="Publish 1.0.0").click()

    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/")
    expect(messages(page)).to_contain_text(
        "Version 1.0.0 of “Human oversight” is published and current. The teams it applies to are told."
    )
    expect(page.locator("#current-h")).to_have_text("Version 1.0.0 Current")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(re.compile(r"Current version\s*1\.0\.0"))
    expect(facts).to_contain_text(re.compile(r"Framework references\s*EU AI Act Art\. 14"))
    expect(page.locator(".library-body").get_by_role("listitem")).to_have_count(2)
    controls = page.get_by_role("region", name=re.compile(r"^Controls"))
    expect(controls.get_by_role("heading", level=2)).to_have_text("Controls (1)")
    card = controls.locator(".policy-controls > li")
    expect(card).to_have_count(1)
    expect(card.get_by_role("heading", level=3)).to_have_text("Human review Attestation")
    expect(card).to_contain_text(REVIEW_V1)
    expect(card).to_contain_text(re.compile(r"Applies to\s*high risk; all data; all stages"))
    expect(card).to_contain_text(re.compile(r"Attestation holds\s*until the control changes"))
    expect(page.locator("table.library-versions tbody tr").locator(".version-state")).to_have_text(
        ["Published", "Current"]
    )
    assert dialogs == [
        "Publish version 1.0.0 of “Human oversight”? It becomes the current version, and the teams it applies "
        "to are told what to attest."
    ]

    policy = Policy.objects.get()
    assert (policy.slug, policy.category, policy.owner) == ("human-oversight", "security_governance", coe_staff)
    assert sorted(policy.tags.values_list("name", flat=True)) == ["eu-ai-act", "oversight"]
    version = policy.versions.get()
    assert (version.number, version.state, version.is_current) == ("1.0.0", VersionState.PUBLISHED, True)
    assert version.published_by == coe_staff
    assert version.body == POLICY_BODY
    assert version.framework_refs == [{"framework": "eu_ai_act", "reference": "Art. 14"}]
    control = version.controls.get()
    assert (control.key, control.title, control.kind) == ("human-review", "Human review", Control.Kind.ATTESTATION)
    assert control.statement == REVIEW_V1
    assert (control.risk_tiers, control.data_classifications, control.lifecycle_stages) == (["high"], [], [])
    assert control.attestation_valid_days is None


# --- 2. A team attests -----------------------------------------------------------------------


def test_team_member_attests_with_evidence_and_the_compliance_score_rises(
    page: Page, live_server: LiveServer, team_member: User, workload: Workload, oversight: PolicyVersion
) -> None:
    sign_in(page, live_server, team_member)
    open_workload(page, live_server, "Claims Triage")
    open_compliance_tab(page, live_server, workload)

    expect(page.locator("#high-risk-note")).to_contain_text("High-risk workload.")
    expect(score(page)).to_have_text("0 of 2 controls compliant — 0 %")
    review = control_row(page, "Human review")
    expect(state_of(review)).to_have_text("Attestation due")
    expect(detail_of(review)).to_have_text("Not attested yet.")
    expect(state_of(control_row(page, "Latency within objective"))).to_have_text("Not yet evaluated")

    review.get_by_role("link", name="Attest Human review").click()
    control = oversight.controls.get(key="human-review")
    expect(page).to_have_url(f"{live_server.url}/governance/w/claims-triage/attest/{control.pk}/")
    expect(page_heading(page)).to_have_text("Attest “Human review” for Claims Triage")
    expect(page.get_by_role("region", name="Human review")).to_contain_text(REVIEW_V1)
    page.get_by_role("textbox", name="Answer", exact=True).fill(
        "A claims handler approves every triage decision in the case tool."
    )
    page.get_by_role("textbox", name="Evidence URL", exact=True).fill("https://wiki.example/claims/review")
    page.get_by_role("button", name="Attest", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/governance/w/claims-triage/")
    expect(messages(page)).to_contain_text("“Human review” is attested for Claims Triage.")
    review = control_row(page, "Human review")
    expect(state_of(review)).to_have_text("Attested")
    today = timezone.localdate()
    expect(detail_of(review)).to_have_text(f"Attested on {long_date(today)}.")
    expect(evidence_of(review)).to_contain_text(f"Attested by Tina Member on {short_date(today)}.")
    expect(evidence_of(review).get_by_role("link", name="Evidence for Human review")).to_have_attribute(
        "href", "https://wiki.example/claims/review"
    )
    expect(review.get_by_role("link", name="Attest again Human review")).to_be_visible()
    expect(score(page)).to_have_text("1 of 2 controls compliant — 50 %")

    attestation = Attestation.objects.get()
    assert (attestation.workload, attestation.control, attestation.attested_by) == (workload, control, team_member)
    assert attestation.answer == "A claims handler approves every triage decision in the case tool."
    assert attestation.evidence_url == "https://wiki.example/claims/review"
    assert attestation.content_hash == control.content_hash
    assert services.compliance(workload=workload).score == 0.5


# --- 3. A new version changes the control ------------------------------------------------------


def test_coe_publishes_v2_changing_the_control_and_the_team_must_attest_again_and_is_notified(
    page: Page,
    live_server: LiveServer,
    coe_staff: User,
    team_member: User,
    workload: Workload,
    oversight: PolicyVersion,
) -> None:
    services.attest(
        actor=team_member, workload=workload, control=oversight.controls.get(key="human-review"),
        answer="A claims handler approves every decision.",
    )  # fmt: skip
    dialogs = accept_dialogs(page)
    sign_in(page, live_server, coe_staff)
    main_nav(page).get_by_role("link", name="Policies", exact=True).click()
    page.locator("table.policy-list").get_by_role("link", name="Human oversight").click()
    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/")

    page.locator(".page-header").get_by_role("link", name="New version").click()
    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/versions/new/")
    number = page.get_by_role("textbox", name="Number", exact=True)
    expect(number).to_have_value("1.1.0")
    number.fill("2.0.0")
    page.get_by_role("textbox", name="Changelog", exact=True).fill("Human review now covers **automated** decisions.")
    expect(page.get_by_role("textbox", name="Body", exact=True)).to_have_value(POLICY_BODY)
    expect(page.get_by_role("checkbox", name="Copy the controls of version 1.0.0")).to_be_checked()
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/v/2.0.0/")
    expect(messages(page)).to_contain_text(
        "Draft 2.0.0 is saved with 2 controls of 1.0.0. Add or change its controls, then publish it."
    )
    page.get_by_role("link", name="Edit Human review").click()
    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/v/2.0.0/controls/human-review/edit/")
    expect(page_heading(page)).to_have_text("Edit “Human review” in version 2.0.0")
    statement = page.get_by_role("textbox", name="Statement", exact=True)
    expect(statement).to_have_value(REVIEW_V1)
    statement.fill(REVIEW_V2)
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/v/2.0.0/")
    expect(messages(page)).to_contain_text("Changes to “Human review” saved.")
    expect(page.locator("#control-human-review")).to_contain_text(REVIEW_V2)
    page.locator(".page-header").get_by_role("button", name="Publish 2.0.0").click()

    expect(page).to_have_url(f"{live_server.url}/governance/p/human-oversight/")
    expect(messages(page)).to_contain_text("Version 2.0.0 of “Human oversight” is published and current.")
    expect(page.locator("#current-h")).to_have_text("Version 2.0.0 Current")
    expect(page.locator("#control-human-review")).to_contain_text(REVIEW_V2)
    assert [d.split("?")[0] for d in dialogs] == ["Publish version 2.0.0 of “Human oversight”"]

    # The team: told by the bell, and asked to attest again on the Compliance tab.
    switch_user(page, live_server, team_member)
    bell = page.get_by_role("link", name="Notifications")
    expect(bell.locator("[data-unread]")).to_have_attribute("data-unread", "1")
    bell.click()
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    notice = page.locator("#notification-table li.notification--unread")
    expect(notice).to_have_count(1)
    expect(notice.locator(".notification__head")).to_contain_text("Human oversight v2.0.0 applies to your workloads")
    expect(notice.locator(".prose")).to_contain_text("Human review now covers automated decisions.")
    expect(notice.locator(".prose")).to_contain_text("Claims Triage: attest Human review")

    open_workload(page, live_server, "Claims Triage")
    open_compliance_tab(page, live_server, workload)
    review = control_row(page, "Human review")
    expect(state_of(review)).to_have_text("Attestation due")
    expect(detail_of(review)).to_have_text("The control changed in v2.0.0; attest again.")
    today = short_date(timezone.localdate())
    expect(evidence_of(review)).to_contain_text(f"Last attested by Tina Member on {today} (v1.0.0).")
    expect(review.get_by_role("link", name="Attest Human review")).to_be_visible()
    expect(page.locator("#tab-panel h3").first).to_contain_text("Human oversight v2.0.0 · 0 of 2 compliant")

    v2 = PolicyVersion.objects.get(policy=oversight.policy, number="2.0.0")
    assert (v2.state, v2.is_current) == (VersionState.PUBLISHED, True)
    assert v2.published_by == coe_staff
    assert not PolicyVersion.objects.get(pk=oversight.pk).is_current
    assert v2.changelog == "Human review now covers **automated** decisions."
    assert sorted(v2.controls.values_list("key", flat=True)) == ["human-review", "latency"]
    changed = v2.controls.get(key="human-review")
    assert changed.statement == REVIEW_V2
    assert changed.risk_tiers == ["high"]
    assert Attestation.objects.get().content_hash != changed.content_hash
    status = next(s for s in services.compliance(workload=workload).statuses if s.control == changed)
    assert status.state == State.ATTESTATION_DUE
    assert Notification.objects.filter(
        recipient=team_member, title="Human oversight v2.0.0 applies to your workloads", read_at__isnull=True
    ).exists()


# --- 4. A waiver: requested, approved, expired -------------------------------------------------


def test_waiver_is_requested_approved_shown_until_its_end_and_the_real_state_returns_after_it(
    page: Page,
    live_server: LiveServer,
    team_member: User,
    coe_staff: User,
    workload: Workload,
    oversight: PolicyVersion,
) -> None:
    ends_on = timezone.localdate() + timedelta(days=10)
    sign_in(page, live_server, team_member)
    open_workload(page, live_server, "Claims Triage")
    open_compliance_tab(page, live_server, workload)
    control_row(page, "Human review").get_by_role("link", name="Request a waiver of Human review").click()

    control = oversight.controls.get(key="human-review")
    expect(page).to_have_url(f"{live_server.url}/governance/w/claims-triage/waive/{control.pk}/")
    expect(page_heading(page)).to_have_text("Request a waiver of “Human review” for Claims Triage")
    page.get_by_role("textbox", name="Justification", exact=True).fill(
        "The review team is hired next month; until then decisions are sampled."
    )
    page.get_by_role("textbox", name="Compensating controls", exact=True).fill("A daily 10 % sample is reviewed.")
    page.get_by_label("Ends on").fill(ends_on.isoformat())
    page.get_by_role("button", name="Request the waiver").click()

    expect(page).to_have_url(f"{live_server.url}/governance/w/claims-triage/")
    expect(messages(page)).to_contain_text(
        f"Waiver of “Human review” requested until {long_date(ends_on)}. The CoE decides; you will be notified."
    )
    review = control_row(page, "Human review")
    expect(state_of(review)).to_have_text("Attestation due")
    expect(detail_of(review)).to_contain_text(f"Waiver requested until {short_date(ends_on)}, awaiting the CoE.")
    expect(review.get_by_role("link", name=re.compile(r"^Request a waiver"))).to_have_count(0)

    # The CoE decides from its waiver queue.
    switch_user(page, live_server, coe_staff)
    card = page.get_by_role("region", name="Waivers to decide")
    expect(card.get_by_role("listitem")).to_have_text([re.compile(r"^Claims Triage: Human review")])
    card.get_by_role("link", name=re.compile(r"^Decide 1 waiver")).click()
    expect(page).to_have_url(f"{live_server.url}/governance/waivers/")
    expect(page_heading(page)).to_have_text("Waivers")
    to_decide = page.get_by_role("region", name=re.compile(r"^To decide"))
    expect(to_decide.get_by_role("heading", level=2)).to_have_text("To decide (1)")
    row = to_decide.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_contain_text("Claims Triage")
    expect(row.get_by_role("rowheader")).to_contain_text("Human review (Human oversight)")
    expect(row.get_by_role("rowheader")).to_contain_text("Requested by Tina Member")
    expect(row).to_contain_text("The review team is hired next month; until then decisions are sampled.")
    expect(row).to_contain_text("A daily 10 % sample is reviewed.")
    expect(row).to_contain_text(short_date(ends_on))
    row.get_by_role("textbox", name="Comment on the waiver of Human review for Claims Triage").fill(
        "Fine until the team is hired."
    )
    row.get_by_role("button", name="Approve the waiver of Human review for Claims Triage").click()

    expect(messages(page)).to_contain_text(
        f"Waiver approved: Claims Triage, “Human review”, until {long_date(ends_on)}."
    )
    expect(to_decide.get_by_role("heading", level=2)).to_have_text("To decide (0)")
    expect(to_decide).to_contain_text("No waiver waits for a decision.")
    approved = page.get_by_role("region", name=re.compile(r"^Approved, still holding")).locator("tbody tr")
    expect(approved).to_have_count(1)
    expect(approved).to_contain_text("Human review (Human oversight)")
    expect(approved).to_contain_text("Ends in 10 days")
    expect(approved).to_contain_text("Cora Staff")
    expect(approved).to_contain_text("Fine until the team is hired.")

    # The team's tab: waived until the end date, the real state underneath.
    switch_user(page, live_server, team_member)
    open_workload(page, live_server, "Claims Triage")
    open_compliance_tab(page, live_server, workload)
    review = control_row(page, "Human review")
    expect(state_of(review)).to_have_text("Waived")
    expect(detail_of(review)).to_have_text(f"Waived until {long_date(ends_on)}.")
    expect(evidence_of(review)).to_contain_text(f"Waiver until {short_date(ends_on)}, approved by Cora Staff.")
    expect(evidence_of(review)).to_contain_text("Underneath: Attestation due.")
    expect(score(page)).to_have_text("1 of 2 controls compliant — 50 %")

    waiver = Waiver.objects.get()
    assert (waiver.workload, waiver.policy, waiver.control_key) == (workload, oversight.policy, "human-review")
    assert waiver.status == Waiver.Status.APPROVED
    assert (waiver.requested_by, waiver.decided_by) == (team_member, coe_staff)
    assert waiver.ends_on == ends_on
    assert waiver.justification == "The review team is hired next month; until then decisions are sampled."
    assert waiver.compensating_controls == "A daily 10 % sample is reviewed."
    assert waiver.decision_comment == "Fine until the team is hired."

    # Time travel: the waiver ended yesterday. The real state counts again.
    Waiver.objects.filter(pk=waiver.pk).update(ends_on=timezone.localdate() - timedelta(days=1))
    page.reload()
    review = control_row(page, "Human review")
    expect(state_of(review)).to_have_text("Attestation due")
    expect(detail_of(review)).to_have_text("Not attested yet.")
    expect(evidence_of(review)).not_to_contain_text("Waiver")
    expect(review.get_by_role("link", name="Request a waiver of Human review")).to_be_visible()
    expect(score(page)).to_have_text("0 of 2 controls compliant — 0 %")
    status = next(s for s in services.compliance(workload=workload).statuses if s.control == control)
    assert (status.state, status.waiver) == (State.ATTESTATION_DUE, None)


# --- 5. The high-risk release gate -------------------------------------------------------------


def test_high_risk_release_is_refused_with_reasons_then_promoted_after_approval_and_compliant_controls(
    page: Page,
    live_server: LiveServer,
    team_member: User,
    coe_staff: User,
    workload: Workload,
    oversight: PolicyVersion,
    draft: Release,
) -> None:
    dialogs = accept_dialogs(page)
    sign_in(page, live_server, team_member)
    open_workload(page, live_server, "Claims Triage")
    workload_tabs(page).get_by_role("link", name="Releases").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-triage/releases/")
    release_row(page, "1.0.0").get_by_role("button", name="Promote 1.0.0").click()

    refusal = messages(page).locator(".message--error")
    expect(refusal).to_have_text(
        "Release 1.0.0 cannot go live: CoE staff have not approved release 1.0.0 (high-risk workload). "
        "Human oversight: “Human review” is attestation due. "
        "Human oversight: “Latency within objective” is not yet evaluated."
    )
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Draft")

    # The CoE approves it from its approval queue.
    switch_user(page, live_server, coe_staff)
    card = page.get_by_role("region", name="High-risk releases awaiting approval")
    expect(card.get_by_role("listitem")).to_have_text([re.compile(r"^Claims Triage 1\.0\.0")])
    card.get_by_role("link", name=re.compile(r"^Review 1 release")).click()
    expect(page).to_have_url(f"{live_server.url}/governance/approvals/")
    expect(page_heading(page)).to_have_text("High-risk release approvals")
    row = page.locator("table.releases tbody tr").filter(has_text="Claims Triage")
    expect(row).to_have_count(1)
    expect(row.locator("ul.gate-problems li")).to_have_text(
        [
            "CoE staff have not approved release 1.0.0 (high-risk workload).",
            "Human oversight: “Human review” is attestation due.",
            "Human oversight: “Latency within objective” is not yet evaluated.",
        ]
    )
    row.get_by_label("Comment").fill("Eval report reviewed.")
    row.get_by_role("button", name="Approve release 1.0.0 of Claims Triage").click()

    expect(messages(page)).to_contain_text(
        "Release 1.0.0 of Claims Triage is approved. The team can promote it once every applicable control is "
        "compliant."
    )
    row = page.locator("table.releases tbody tr").filter(has_text="Claims Triage")
    expect(row).to_contain_text("Approved")
    expect(row).to_contain_text("by Cora Staff")
    expect(row).to_contain_text("Eval report reviewed.")
    expect(row.get_by_role("button", name=re.compile(r"^Approve"))).to_have_count(0)
    expect(row.locator("ul.gate-problems li")).to_have_text(
        [
            "Human oversight: “Human review” is attestation due.",
            "Human oversight: “Latency within objective” is not yet evaluated.",
        ]
    )

    # The team attests; telemetry records a latency within the objective.
    switch_user(page, live_server, team_member)
    attest_card = page.get_by_role("region", name="Controls to attest")
    expect(attest_card).to_contain_text("1 control to attest")
    attest_card.get_by_role("link", name="Claims Triage").click()
    expect(page).to_have_url(f"{live_server.url}/governance/w/claims-triage/")
    expect(page.locator("#tab-panel").get_by_role("region", name="Draft releases and CoE approval")).to_contain_text(
        "Approved by Cora Staff"
    )
    control_row(page, "Human review").get_by_role("link", name="Attest Human review").click()
    page.get_by_role("textbox", name="Answer", exact=True).fill("Every triage decision is approved by a handler.")
    page.get_by_role("button", name="Attest", exact=True).click()
    expect(messages(page)).to_contain_text("“Human review” is attested for Claims Triage.")
    expect(score(page)).to_have_text("1 of 2 controls compliant — 50 %")

    services.check_record(workload=workload, metrics={"p95_latency_ms": 1450})
    page.reload()
    latency = control_row(page, "Latency within objective")
    expect(state_of(latency)).to_have_text("Passing")
    expect(detail_of(latency)).to_have_text("p95_latency_ms = 1450 (meets <= 2000)")
    expect(evidence_of(latency)).to_contain_text("p95_latency_ms = 1450, threshold <= 2000 over 7 days.")
    expect(score(page)).to_have_text("2 of 2 controls compliant — 100 %")

    workload_tabs(page).get_by_role("link", name="Releases").click()
    expect(page).to_have_url(f"{live_server.url}/registry/w/claims-triage/releases/")
    release_row(page, "1.0.0").get_by_role("button", name="Promote 1.0.0").click()
    expect(messages(page)).to_contain_text("Release 1.0.0 is live.")
    expect(release_row(page, "1.0.0").locator(".status")).to_have_text("Live")
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"Live release\s*1\.0\.0"))
    assert dialogs == [
        "Make release 1.0.0 live?",
        "Approve release 1.0.0 of “Claims Triage”?",
        "Make release 1.0.0 live?",
    ]

    draft.refresh_from_db()
    workload.refresh_from_db()
    assert draft.status == Release.Status.LIVE
    assert workload.live_release == draft
    approval = ReleaseApproval.objects.get(release=draft)
    assert (approval.approved_by, approval.comment) == (coe_staff, "Eval report reviewed.")
    assert Attestation.objects.get().attested_by == team_member
    assert services.compliance(workload=workload).score == 1


# --- 6. Who may do what ------------------------------------------------------------------------


def test_leadership_reads_compliance_without_any_action_and_another_team_is_refused_the_tab(
    page: Page,
    live_server: LiveServer,
    leader: User,
    other_team_member: User,
    team_member: User,
    workload: Workload,
    oversight: PolicyVersion,
    draft: Release,
    browser_errors: BrowserErrors,
) -> None:
    control = oversight.controls.get(key="human-review")
    waiver = services.waiver_request(
        actor=team_member, workload=workload, control=control, justification="Hiring reviewers.",
        ends_on=timezone.localdate() + timedelta(days=30),
    )  # fmt: skip
    sign_in(page, live_server, leader)
    # Nothing links to the matrix for leadership (see the report): its address, then.
    page.goto("/governance/compliance/")
    expect(page_heading(page)).to_have_text("Compliance across workloads")
    matrix = page.locator("#compliance-matrix")
    expect(matrix.get_by_role("status")).to_have_text("1 workload · 1 current policy")
    expect(matrix.get_by_role("columnheader", name=re.compile(r"^Human oversight"))).to_contain_text("v1.0.0")
    row = matrix.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_contain_text("Claims Triage")
    expect(row.locator("td").nth(0)).to_have_text("0/2 · 0 %")
    expect(row.locator("td").nth(1)).to_have_text("0/2 compliant")
    expect(matrix.locator("tfoot")).to_contain_text("0 of 1 · 0 %")

    row.get_by_role("link", name="Claims Triage").click()
    expect(page).to_have_url(f"{live_server.url}/governance/w/claims-triage/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Triage")
    expect(score(page)).to_have_text("0 of 2 controls compliant — 0 %")
    expect(state_of(control_row(page, "Human review"))).to_have_text("Attestation due")
    expect(detail_of(control_row(page, "Human review"))).to_contain_text("awaiting the CoE")
    expect(state_of(control_row(page, "Latency within objective"))).to_have_text("Not yet evaluated")
    drafts = page.get_by_role("region", name="Draft releases and CoE approval")
    expect(drafts).to_contain_text("Awaiting CoE approval")
    panel = page.locator("#tab-panel")
    expect(panel.get_by_role("columnheader", name="Actions")).to_have_count(0)
    expect(panel.get_by_role("link", name=re.compile(r"^Attest"))).to_have_count(0)
    expect(panel.get_by_role("link", name=re.compile(r"^Request a waiver"))).to_have_count(0)
    expect(panel.get_by_role("button", name=re.compile(r"^Approve"))).to_have_count(0)
    expect(panel.get_by_role("button")).to_have_count(0)

    for path in (
        "/governance/waivers/",
        "/governance/approvals/",
        f"/governance/w/claims-triage/attest/{control.pk}/",
        f"/governance/w/claims-triage/waive/{control.pk}/",
    ):
        expect_friendly_403(page, browser_errors, path)

    # Another team's member sees the workload, but not its Compliance tab.
    switch_user(page, live_server, other_team_member)
    open_workload(page, live_server, "Claims Triage")
    expect(workload_tabs(page).get_by_role("link", name="Compliance")).to_have_count(0)
    expect_friendly_403(page, browser_errors, "/governance/w/claims-triage/")

    assert not Attestation.objects.exists()
    assert not ReleaseApproval.objects.exists()
    waiver.refresh_from_db()
    assert (waiver.status, waiver.decided_by) == (Waiver.Status.REQUESTED, None)
    draft.refresh_from_db()
    assert draft.status == Release.Status.DRAFT
