"""Feedback in the browser, as issue 7's "Done when" says: a team member rates a template 2/5 and
says why; the CoE acknowledges it (with a live reply), publishes a new template version and marks
the thread addressed in it; the CoE writes a lesson from the thread and publishes it; another team
using the template receives the lesson; the week's digest carries it exactly once.

Prerequisites (the template, the two teams' workloads adopting it) go through the services; what
the test is about goes through the pages. The page fixture fails a test on any console error, CSP
violation included. With FEEDBACK_SCREENSHOTS=1 the thread page and the triage queue are saved to
docs/screenshots/.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Dialog, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.core.models import Notification
from apps.feedback import digest
from apps.feedback.models import DigestSent, LessonDelivery, Thread
from apps.library import services as library
from apps.library.models import Template
from apps.registry import services as registry
from apps.registry.adoption import adoption_set
from apps.registry.models import Workload
from tests.registry.factories import AIModelFactory

from .conftest import sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
RUNBOOK = "# Claim summary\n\n1. Read the whole claim\n2. Check every attachment\n3. Write the summary\n"


# --- Helpers ---------------------------------------------------------------------------------------


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def feedback_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Feedback sections")


def page_heading(page: Page) -> Locator:
    return page.locator(".page-header h1")


def messages(page: Page) -> Locator:
    return page.locator("#messages")


def accept_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def switch_user(page: Page, live_server: LiveServer, user: User) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    sign_in(page, live_server, user)


def screenshot(page: Page, name: str) -> None:
    if os.environ.get("FEEDBACK_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def next_monday(now: datetime) -> datetime:
    """08:00 UTC on the Monday after this week: its digest covers this week."""
    day = now.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()) + timedelta(days=7), time(8), tzinfo=UTC)


@pytest.fixture
def template(coe_staff: User) -> Template:
    template = library.template_create(actor=coe_staff, title="Claims summary runbook", kind="runbook",
                                       category="monitoring", summary="How to summarise a claim.")  # fmt: skip
    version = library.version_create(actor=coe_staff, template=template, number="1.0.0", body=RUNBOOK)
    library.version_publish(actor=coe_staff, version=version)
    return template


@pytest.fixture
def workloads(
    team: Team, other_team: Team, team_member: User, other_team_member: User, template: Template
) -> tuple[Workload, Workload]:
    """Both teams' workloads use version 1.0.0 of the template."""
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    current = template.versions.get(is_current=True)
    ours = registry.workload_register(actor=team_member, team=team, name="Claims Assistant", ai_models=[model])
    theirs = registry.workload_register(actor=other_team_member, team=other_team, name="Lunch Bot", ai_models=[model])
    adoption_set(actor=team_member, workload=ours, version=current)
    adoption_set(actor=other_team_member, workload=theirs, version=current)
    return ours, theirs


# --- The loop, end to end ----------------------------------------------------------------------------


def test_a_rating_becomes_a_new_version_and_a_lesson_for_another_team(
    page: Page, live_server: LiveServer, settings, team_member: User, other_team_member: User, coe_staff: User,
    template: Template, workloads: tuple[Workload, Workload],
) -> None:  # fmt: skip
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    dialogs = accept_dialogs(page)

    # A team member opens the template and gives feedback from its panel.
    sign_in(page, live_server, team_member)
    main_nav(page).get_by_role("link", name="Templates", exact=True).click()
    page.locator("#template-results").get_by_role("link", name="Claims summary runbook", exact=True).click()
    panel = page.locator("#feedback-panel")
    expect(panel).to_contain_text("No feedback yet.")
    panel.get_by_role("link", name="Give feedback").click()
    expect(page_heading(page)).to_have_text("Give feedback on Claims summary runbook")
    expect(page.locator(".feedback-about")).to_contain_text("version 1.0.0")
    page.get_by_label("Problem").check()
    page.get_by_label("Title").fill("Too long for our claims")
    body = page.get_by_label("What happened")
    body.fill("The runbook takes **an hour** per claim; we have ten minutes.")
    body.press("End")  # a key: the live preview follows
    expect(page.locator("#thread-preview strong")).to_have_text("an hour")
    page.get_by_label("2 · poorly").check()
    page.get_by_role("button", name="Send to the CoE").click()

    expect(page_heading(page)).to_have_text("Too long for our claims")
    expect(messages(page)).to_contain_text("your feedback is with the CoE")
    facts = page.locator("#thread-facts")
    expect(facts).to_contain_text(re.compile(r"Status\s*New"))
    expect(facts).to_contain_text("2/5")
    thread = Thread.objects.get()
    assert (thread.rating, thread.template_version.number) == (2, "1.0.0")

    # The CoE finds it at the top of its queue and takes it.
    switch_user(page, live_server, coe_staff)
    main_nav(page).get_by_role("link", name="Feedback", exact=True).click()
    feedback_nav(page).get_by_role("link", name="Triage").click()
    expect(page_heading(page)).to_have_text("Triage")
    row = page.locator(f"#triage-row-{thread.pk}")
    expect(row).to_contain_text("No answer yet")
    row.get_by_label("Owner of “Too long for our claims”").select_option(label="Cora Staff")
    row.get_by_role("button", name="Assign").click()
    expect(page.locator(f"#triage-row-{thread.pk}")).to_contain_text("is now Cora Staff's.")
    screenshot(page, "feedback-triage.png")
    page.locator(f"#triage-row-{thread.pk}").get_by_role("link", name="Too long for our claims").click()

    # A live reply: the post joins the thread without a reload.
    expect(page_heading(page)).to_have_text("Too long for our claims")
    page.evaluate("window.noReload = true")
    page.get_by_label("Your reply").fill("Which steps take *longest*?")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator("#posts .feedback-post")).to_have_count(2)
    expect(page.locator("#posts .feedback-post").last.locator("em")).to_have_text("longest")
    expect(page.get_by_label("Your reply")).to_have_value("")
    assert page.evaluate("window.noReload") is True

    # Acknowledge it, with a comment the author is told of.
    triage = page.locator("#triage")
    triage.get_by_label("Status").select_option(label="Acknowledged")
    triage.get_by_label("Comment").fill("We will shorten the runbook.")
    triage.get_by_role("button", name="Save triage").click()
    expect(messages(page)).to_contain_text("is acknowledged")
    expect(facts).to_contain_text(re.compile(r"Status\s*Acknowledged"))
    expect(facts).to_contain_text(re.compile(r"Owner at the CoE\s*Cora Staff"))
    assert Notification.objects.filter(recipient=team_member, title__contains="acknowledged").exists()

    # A new version of the template takes the feedback in.
    page.locator(".page-header .lead").get_by_role("link", name="Claims summary runbook").click()
    page.locator(".page-header").get_by_role("link", name="New version").click()
    expect(page.get_by_role("textbox", name="Number", exact=True)).to_have_value("1.1.0")
    page.get_by_role("textbox", name="Changelog", exact=True).fill("Ten minutes, not an hour: fewer steps.")
    page.get_by_role("textbox", name="Body", exact=True).fill("# Claim summary\n\n1. Read the claim\n2. Summarise\n")
    page.get_by_role("button", name="Save draft").click()
    page.locator(".page-header").get_by_role("button", name="Publish 1.1.0").click()
    expect(messages(page)).to_contain_text("Version 1.1.0 is published and current.")

    # Back in the thread: addressed in 1.1.0.
    main_nav(page).get_by_role("link", name="Feedback", exact=True).click()
    page.locator("#thread-table").get_by_role("link", name="Too long for our claims").click()
    triage = page.locator("#triage")
    triage.get_by_label("Status").select_option(label="Addressed")
    triage.get_by_label("Addressed in").select_option(label="1.1.0 (current)")
    triage.get_by_label("Comment").fill("Version 1.1.0 takes ten minutes.")
    triage.get_by_role("button", name="Save triage").click()
    expect(facts).to_contain_text(re.compile(r"Status\s*Addressed"))
    expect(page.locator("#addressed-in")).to_have_text("Claims summary runbook 1.1.0")
    expect(page.locator("#posts .feedback-post__change").last).to_have_text("Status acknowledged → addressed")
    screenshot(page, "feedback-thread.png")
    thread.refresh_from_db()
    assert thread.addressed_in == template.versions.get(number="1.1.0")

    # The CoE writes the lesson from the thread and publishes it to the teams it concerns.
    page.locator(".page-header").get_by_role("link", name="Write a lesson").click()
    expect(page_heading(page)).to_have_text("New lesson")
    expect(page.get_by_label("Template")).to_have_value("claims-summary-runbook")
    page.get_by_label("Title").fill("Ten-minute runbooks")
    page.get_by_label("Summary").fill("Runbooks that take longer than ten minutes are not followed.")
    page.get_by_label("Body").fill("Teams told us an hour is too long. **Keep runbooks under ten minutes.**")
    page.get_by_role("button", name="Save draft").click()
    expect(page_heading(page)).to_have_text("Ten-minute runbooks")
    expect(page.locator("main")).to_contain_text("A draft: only the CoE sees it.")
    # The teams of both workloads using the template, and the people in the thread (Cora replied).
    page.locator(".page-header").get_by_role("button", name="Publish to 3 people").click()
    expect(messages(page)).to_contain_text("is published and sent to 3 people")
    assert any("Publish “Ten-minute runbooks”?" in d for d in dialogs)
    assert set(LessonDelivery.objects.values_list("user__username", flat=True)) == {"tina", "otto", "cora"}

    # Another team using the template receives it.
    switch_user(page, live_server, other_team_member)
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("link", name="Lesson from the CoE: Ten-minute runbooks").click()
    expect(page_heading(page)).to_have_text("Ten-minute runbooks")
    expect(page.locator(".prose strong")).to_have_text("Keep runbooks under ten minutes.")
    expect(page.locator("#lesson-threads")).to_contain_text("Too long for our claims")

    # The week's digest carries it exactly once, however often the task runs.
    monday = next_monday(timezone.now())
    digest.digests_send_due(now=monday)
    digest.digests_send_due(now=monday + timedelta(hours=1))
    to_otto = [m for m in mail.outbox if m.to == [other_team_member.email]]
    assert len(to_otto) == 1
    assert to_otto[0].body.count("Ten-minute runbooks") == 1
    assert to_otto[0].alternatives[0][0].count("Ten-minute runbooks") == 1
    assert DigestSent.objects.filter(user=other_team_member).count() == 1


# --- Who sees what --------------------------------------------------------------------------------------


def test_the_workload_feedback_tab_and_a_hidden_post(
    page: Page, live_server: LiveServer, team_member: User, other_team_member: User, coe_staff: User,
    workloads: tuple[Workload, Workload],
) -> None:  # fmt: skip
    from apps.feedback import services

    ours, _ = workloads
    thread = services.thread_open(actor=team_member, title="Latency doubled", body="Since Monday.", workload=ours)
    services.post_add(actor=team_member, thread=thread, body="Rude words")
    services.post_hide(actor=coe_staff, post=thread.posts.last(), reason="Abusive")

    sign_in(page, live_server, team_member)
    page.goto(f"{live_server.url}/registry/w/{ours.slug}/")
    tabs = page.get_by_role("navigation", name="Workload sections")
    tabs.get_by_role("link", name="Feedback").click()
    expect(tabs.get_by_role("link", name="Feedback")).to_have_attribute("aria-current", "page")
    expect(page).to_have_url(f"{live_server.url}/feedback/panel/workload/{ours.slug}/")
    expect(page.locator("#tab-panel")).to_contain_text("Latency doubled")
    page.locator("#tab-panel").get_by_role("link", name="Latency doubled").click()
    hidden = page.locator("#posts .feedback-post--hidden")
    expect(hidden).to_contain_text("Hidden by the CoE.")
    expect(hidden).not_to_contain_text("Rude words")

    switch_user(page, live_server, other_team_member)
    page.goto(f"{live_server.url}/registry/w/{ours.slug}/")
    tabs = page.get_by_role("navigation", name="Workload sections")
    expect(tabs.get_by_role("link", name="Telemetry")).to_have_count(0)
    expect(tabs.get_by_role("link", name="Feedback")).to_have_count(0)
