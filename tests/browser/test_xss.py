"""XSS payloads (tests/abuse/payloads.py) in every user-writable text field, and every page that
shows them opened in Chromium: no script of theirs may run.

The permission matrix's world (tests/access.py: a team's workload with releases, a model, a policy
with controls, an attestation and a waiver, templates and their versions, feedback threads, posts
and lessons, an ingestion key, a pull source, a personal token) gets every payload at once in each
markdown and long text field and a short attribute-breaking one in each name and title; a
notification carries them too. Then every page of the matrix that CoE staff may GET is opened once
(with its htmx panels loaded), and the team member's own pages (profile, tokens, notifications).

On each page: no dialog opened, ``window.__xss`` (set by every script payload) stays undefined, no
element carries an ``on*`` attribute, no live attribute holds a payload (``hx-get="/xss-htmx"``,
``hx-on:click``…), no ``javascript:`` link, no request to ``/xss-htmx``, no CSP violation (the
``page`` fixture also fails on any console error). The payloads' text must show on the pages, as text.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Dialog, Page, Request
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import PersonalToken, Team, User
from apps.core.services import notification_send
from apps.feedback.models import Lesson, Post, Thread
from apps.governance.models import Attestation, Control, Policy, PolicyVersion, Waiver
from apps.library.models import Template, TemplateVersion
from apps.registry.models import AIModel, Release, Workload
from apps.telemetry.models import Alert, IngestionKey, PullSource
from tests.abuse.payloads import ALL_IN_ONE, SHORT, SHORT_HTMX
from tests.access import OK, PAGES
from tests.test_permission_matrix import world  # noqa: F401 - the matrix's world, reused as a fixture

from .conftest import sign_in

# Not HTML pages, or not pages at all.
NOT_PAGES = {"core:healthz", "core:favicon", "api-schema", "registry:workload-export", "accounts:login"}

# Collected in the page before any of its scripts run: CSP violations and dialogs.
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
    e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));
"""

# Everything in the DOM that could run a payload's script or fire htmx.
INSPECT = """
() => {
  const found = [];
  const payload = /__xss|xss-htmx/i;
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value || '';
      // A payload's text in a plain attribute (title, label, value) is shown, not run; in one of
      // these it would be a live handler, a live htmx request or a link the browser follows.
      const live = name.startsWith('on') || name.startsWith('hx-on') || name.startsWith('data-hx-on')
        || ['hx-get', 'hx-post', 'hx-put', 'hx-patch', 'hx-delete', 'hx-vals', 'hx-vars', 'style', 'srcdoc',
            'href', 'src', 'action', 'formaction', 'xlink:href'].includes(name.replace(/^data-/, ''));
      if (name.startsWith('on')) found.push(`${el.tagName} ${name}="${value}"`);
      else if (live && payload.test(value)) found.push(`${el.tagName} ${name}="${value}" (a live payload)`);
      const url = value.replace(/[\\u0000-\\u0020]/g, '');
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(name)
          && /^(javascript|vbscript|data):/i.test(url) && !/^data:image\\/(png|jpeg|gif|webp);/i.test(url))
        found.push(`${el.tagName} ${name}="${value}"`);
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'META'].includes(el.tagName) && payload.test(el.outerHTML))
      found.push(`${el.tagName} element from a payload`);
    if (el.tagName === 'SCRIPT' && payload.test(el.textContent || '')) found.push('SCRIPT element from a payload');
  }
  return {found, xss: typeof window.__xss !== 'undefined', csp: window.__cspViolations || [],
          shows: document.body ? document.body.innerText.includes('window.__xss=1') : false};
}
"""


def _store_payloads(w: SimpleNamespace) -> None:
    """Every payload in every field a person can write (the ORM writes them: some are longer or
    stranger than the forms take, which is the worst case for the pages)."""
    long, short = ALL_IN_ONE, SHORT
    Team.objects.filter(pk__in=[w.team.pk, w.other_team.pk]).update(description=long)
    Team.objects.filter(pk=w.team.pk).update(name=short)
    User.objects.filter(pk=w.team_member.pk).update(first_name=short, last_name=SHORT_HTMX)
    Workload.objects.filter(pk=w.workload.pk).update(name=short, description=long, business_owner=SHORT_HTMX)
    Release.objects.filter(workload=w.workload).update(changelog=long)
    AIModel.objects.filter(pk=w.model.pk).update(display_name=short, description=long, conditions=long)
    Policy.objects.filter(pk=w.policy.pk).update(title=short, summary=long)
    PolicyVersion.objects.filter(policy=w.policy).update(body=long, changelog=long)
    Control.objects.filter(policy_version__policy=w.policy).update(title=short, statement=long, rationale=long)
    Attestation.objects.update(answer=long)
    Waiver.objects.filter(pk=w.waiver.pk).update(justification=long, compensating_controls=long,
                                                     decision_comment=long)  # fmt: skip
    Template.objects.filter(pk__in=[w.template.pk, w.runbook.pk]).update(summary=long)
    Template.objects.filter(pk=w.template.pk).update(title=short)
    TemplateVersion.objects.update(body=long, changelog=long)
    Post.objects.update(body=long)
    Lesson.objects.update(summary=short, body=long)
    PullSource.objects.update(last_error=long)
    Alert.objects.update(detail=long)
    for model, field in ((Thread, "title"), (Lesson, "title"), (IngestionKey, "name"), (PersonalToken, "name"),
                         (PullSource, "name"), (Alert, "title")):  # fmt: skip
        for pk in model.objects.values_list("pk", flat=True):  # names unique per owner: one payload each
            model.objects.filter(pk=pk).update(**{field: f"{short} {pk}"})
    for user in (w.team_member, w.coe_staff):
        notification_send(recipients=[user], title=short, body=long, url=reverse("core:notification-list"))


@pytest.fixture
def hostile(world: SimpleNamespace) -> SimpleNamespace:  # noqa: F811
    _store_payloads(world)
    for name in ("workload", "template", "policy", "model", "team", "team_member"):
        getattr(world, name).refresh_from_db()
    return world


def _pages(w: SimpleNamespace, persona: str) -> list[str]:
    urls = []
    for name, route in PAGES.items():
        if name in NOT_PAGES or "export" in name or route.expect.get("GET", {}).get(persona) != OK:
            continue
        urls.append(reverse(name, kwargs=route.kwargs(w)))
    return sorted(set(urls))


def _visit_all(page: Page, live_server: LiveServer, user: User, urls: list[str]) -> tuple[dict[str, list[str]], int]:
    dialogs: list[str] = []
    requests: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request: Request) -> None:
        if "xss-htmx" in request.url:
            requests.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.add_init_script(WATCH)
    sign_in(page, live_server, user)
    problems: dict[str, list[str]] = {}
    showing = 0
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None, url
        assert response.status < 400, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")  # htmx panels (hx-trigger="load") in
        result: dict[str, Any] = page.evaluate(INSPECT)
        found = list(result["found"])
        if result["xss"]:
            found.append("window.__xss was set: a payload ran")
        found += [f"CSP violation: {v}" for v in result["csp"]]
        found += [f"dialog: {m}" for m in dialogs] + [f"request to {r}" for r in requests]
        dialogs.clear()
        requests.clear()
        if found:
            problems[url] = found
        showing += bool(result["shows"])
    return problems, showing


def test_no_payload_runs_on_any_page_the_coe_sees(
    hostile: SimpleNamespace, page: Page, live_server: LiveServer
) -> None:
    urls = _pages(hostile, "coe_staff")
    assert len(urls) > 40, urls
    problems, showing = _visit_all(page, live_server, hostile.coe_staff, urls)
    assert problems == {}
    # The payloads were on the pages, shown as text: the test looked at the real thing.
    assert showing >= 15, f"the payloads' text showed on only {showing} pages"


def test_no_payload_runs_on_the_team_members_own_pages(
    hostile: SimpleNamespace, page: Page, live_server: LiveServer
) -> None:
    """Pages only the team member sees as theirs: profile and tokens, notifications, and the
    workload's pages as its team sees them (the ingestion keys' panel among them)."""
    own = [reverse("accounts:profile"), reverse("core:notification-list"), reverse("core:home")]
    workload = [url for url in _pages(hostile, "team_member") if hostile.workload.slug in url]
    problems, showing = _visit_all(page, live_server, hostile.team_member, own + workload)
    assert problems == {}
    assert showing >= 3


def test_the_inspection_sees_a_payload_that_ran(page: Page) -> None:
    """The checks above would fail on a page that let payloads through: here one does."""
    page.set_content(
        '<b onclick="x()">on</b><div hx-on:click="window.__xss=1">hx</div><a href=" JavaScript:alert(1)">js</a>'
        '<div data-hx-get="/xss-htmx">data-hx</div><script>window.__xss=1</script><p title="window.__xss=1">ok</p>'
    )
    result = page.evaluate(INSPECT)
    assert result["xss"] is True
    assert len(result["found"]) == 5, result["found"]  # the title is text, not live
    assert any("hx-on:click" in f for f in result["found"])
