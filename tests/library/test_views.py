"""The library's pages: what each shows, what each changes, and who is refused.

Plain access for every persona is in the permission matrix (tests/library/access_pages.py);
these tests check behaviour. Versions are built through the services, as the pages build them.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse

from apps.accounts.models import User
from apps.core.models import VersionState
from apps.library import services
from apps.library.models import Template, TemplateVersion

from .factories import TemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
]


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _titles(response: HttpResponse) -> list[str]:
    """The templates the list shows (the side panels name templates too)."""
    return [template.title for template, _ in response.context["rows"]]


def _url(name: str, *args: str) -> str:
    return reverse(f"library:{name}", args=args)


def _publish(actor: User, template: Template, number: str, body: str, **extra: object) -> TemplateVersion:
    version = services.version_create(actor=actor, template=template, number=number, body=body, **extra)
    return services.version_publish(actor=actor, version=version)


@pytest.fixture
def prompt(coe_staff: User) -> Template:
    """A prompt with 1.0.0 published, 1.1.0 published and current, and a 1.2.0 draft."""
    template = services.template_create(
        actor=coe_staff, title="Claim summary prompt", kind="prompt", category="security_governance",
        summary="Summarise a claim for a handler.", tags=["claims"],
    )  # fmt: skip
    _publish(coe_staff, template, "1.0.0", "Summarise {{ claim }}.\nKeep it short.", variables=["claim"])
    _publish(coe_staff, template, "1.1.0", "Summarise {{ claim }} for {{ audience }}.\nKeep it short.",
             variables=["claim", "audience"], changelog="Names the audience.")  # fmt: skip
    services.version_create(actor=coe_staff, template=template, number="1.2.0", body="Secret draft {{ claim }}.",
                            variables=["claim"], changelog="Work in progress.")  # fmt: skip
    return template


@pytest.fixture
def runbook(coe_staff: User) -> Template:
    template = services.template_create(
        actor=coe_staff, title="Provider outage runbook", kind="runbook", category="infrastructure",
        summary="Fail over to a second provider.", tags=["outage"],
    )  # fmt: skip
    _publish(coe_staff, template, "1.0.0", "1. Switch the gateway to the standby provider.")
    return template


# --- Safety: what a browser would build from the page ---------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.in_script = False
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text += data


def assert_safe(html: str) -> None:
    """No inline or foreign script, no event handler, no javascript: link: only our own vendored
    scripts (served from /static/) may run."""
    collector = _Collector()
    collector.feed(html)
    assert not collector.script_text.strip(), collector.script_text
    for tag, attrs in collector.elements:
        assert tag not in {"img", "iframe"}, (tag, attrs)  # the bell icon is our own <svg>
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)


# --- The library home ---------------------------------------------------------------------------


class TestTemplateList:
    def test_it_lists_templates_with_their_current_version(self, client_for, team_member, prompt, runbook) -> None:
        response = client_for(team_member).get(_url("template-list"))
        assert response.status_code == 200
        text = _text(response)
        assert "Claim summary prompt" in text
        assert "Provider outage runbook" in text
        assert _url("template-detail", prompt.slug) in text
        assert "Version 1.1.0, published" in text
        assert "Prompt template · Security and governance" in text
        assert 'class="tag"' in text
        assert "claims" in text
        assert "Recently published" in text
        assert "New template" not in text

    def test_the_most_adopted_panel_comes_from_the_registry_with_a_plain_link(self, client_for, team_member) -> None:
        text = _text(client_for(team_member).get(_url("template-list")))
        most_adopted = reverse("registry:templates-most-adopted")
        assert f'hx-get="{most_adopted}" hx-trigger="load"' in text
        assert f'href="{most_adopted}"' in text

    def test_coe_staff_see_the_new_template_button(self, client_for, coe_staff) -> None:
        assert _url("template-create") in _text(client_for(coe_staff).get(_url("template-list")))

    def test_search_finds_a_word_of_the_current_body(self, client_for, team_member, prompt, runbook) -> None:
        response = client_for(team_member).get(_url("template-list"), {"q": "standby"})
        assert _titles(response) == ["Provider outage runbook"]
        assert "1 template matches the filters" in _text(response)

    def test_search_ignores_words_only_in_a_draft(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).get(_url("template-list"), {"q": "Secret draft"})
        assert _titles(response) == []
        assert "No template matches these filters" in _text(response)

    def test_filters_by_kind_category_and_tag(self, client_for, team_member, prompt, runbook) -> None:
        client = client_for(team_member)
        assert _titles(client.get(_url("template-list"), {"kind": "runbook"})) == ["Provider outage runbook"]
        assert _titles(client.get(_url("template-list"), {"category": "infrastructure"})) == ["Provider outage runbook"]
        assert _titles(client.get(_url("template-list"), {"tag": "claims"})) == ["Claim summary prompt"]

    def test_the_tag_filter_offers_the_tags_templates_use(self, client_for, team_member, prompt, runbook) -> None:
        text = _text(client_for(team_member).get(_url("template-list")))
        assert '<option value="claims">claims</option>' in text
        assert '<option value="outage">outage</option>' in text

    def test_htmx_gets_only_the_results(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).get(_url("template-list"), {"q": "claim"}, headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith('<div id="template-results">')
        assert "<html" not in text
        assert "Recently published" not in text
        assert "Claim summary prompt" in text
        assert "HX-Request" in response["Vary"]

    def test_without_htmx_the_same_url_is_the_whole_page(self, client_for, team_member, prompt) -> None:
        text = _text(client_for(team_member).get(_url("template-list"), {"q": "claim"}))
        assert "<html" in text
        assert 'id="template-results"' in text
        assert 'hx-push-url="true"' in text

    def test_templates_with_only_drafts_are_the_coes(self, client_for, coe_staff, team_member) -> None:
        template = services.template_create(actor=coe_staff, title="Unfinished rubric", kind="rubric",
                                            category="monitoring", summary="Not yet.")  # fmt: skip
        services.version_create(actor=coe_staff, template=template, number="1.0.0", body="x")
        assert "Unfinished rubric" not in _text(client_for(team_member).get(_url("template-list")))
        coe_text = _text(client_for(coe_staff).get(_url("template-list")))
        assert "Unfinished rubric" in coe_text
        assert "No published version yet" in coe_text
        assert client_for(team_member).get(_url("template-detail", template.slug)).status_code == 404

    def test_empty_library(self, client_for, team_member, coe_staff) -> None:
        assert "The library is empty so far" in _text(client_for(team_member).get(_url("template-list")))
        assert "first template" in _text(client_for(coe_staff).get(_url("template-list")))

    def test_it_pages_by_twenty(self, client_for, coe_staff, team_member) -> None:
        for n in range(21):
            template = TemplateFactory(title=f"Runbook {n:02d}")
            _publish(coe_staff, template, "1.0.0", "Step.")
        first = client_for(team_member).get(_url("template-list"))
        assert len(_titles(first)) == 20
        assert "Runbook 20" not in _titles(first)
        assert "Page 1 of 2" in _text(first)
        assert _titles(client_for(team_member).get(_url("template-list"), {"page": 2})) == ["Runbook 20"]


# --- Creating and editing a template ------------------------------------------------------------


class TestTemplateForms:
    def test_coe_staff_create_a_template_then_write_version_one(self, client_for, coe_staff) -> None:
        response = client_for(coe_staff).post(_url("template-create"), {
            "title": "Cost review checklist", "kind": "checklist", "category": "cost",
            "summary": "Review spend monthly.", "tags": "cost, Monthly Review",
        })  # fmt: skip
        template = Template.objects.get(title="Cost review checklist")
        assert response.status_code == 302
        assert response["Location"] == _url("version-create", template.slug)
        assert template.owner == coe_staff
        assert sorted(t.name for t in template.tags.all()) == ["cost", "monthly-review"]
        assert "1.0.0" in _text(client_for(coe_staff).get(response["Location"]))

    def test_the_owner_is_chosen_among_coe_staff(self, client_for, coe_staff, team_member) -> None:
        text = _text(client_for(coe_staff).get(_url("template-create")))
        assert f'<option value="{coe_staff.pk}">Cora Staff</option>' in text
        assert "Tina Member" not in text
        response = client_for(coe_staff).post(_url("template-create"), {
            "title": "X", "kind": "checklist", "category": "cost", "summary": "Y", "owner": team_member.pk,
        })  # fmt: skip
        assert response.status_code == 200
        assert "Select a valid choice" in _text(response)

    def test_a_taken_address_is_reported_on_its_field(self, client_for, coe_staff, runbook) -> None:
        response = client_for(coe_staff).post(_url("template-create"), {
            "title": "Another", "slug": runbook.slug, "kind": "runbook", "category": "cost", "summary": "Y",
        })  # fmt: skip
        assert response.status_code == 200
        form = response.context["form"]
        assert form.errors["slug"] == ["Choose another title or slug."]
        assert 'value="Another"' in _text(response)  # input kept
        assert Template.objects.count() == 1

    def test_missing_fields_are_listed(self, client_for, coe_staff) -> None:
        response = client_for(coe_staff).post(_url("template-create"), {"title": ""})
        text = _text(response)
        assert "Please correct the fields below." in text
        assert 'href="#id_summary"' in text

    def test_coe_staff_edit_a_template(self, client_for, coe_staff, runbook) -> None:
        client = client_for(coe_staff)
        form = client.get(_url("template-edit", runbook.slug))
        assert 'value="outage"' in _text(form)
        response = client.post(_url("template-edit", runbook.slug), {
            "title": "Provider outage runbook", "kind": "runbook", "category": "infrastructure",
            "summary": "Fail over within five minutes.", "tags": "outage, resilience", "owner": coe_staff.pk,
        })  # fmt: skip
        assert response.status_code == 302
        runbook.refresh_from_db()
        assert runbook.summary == "Fail over within five minutes."
        assert sorted(t.name for t in runbook.tags.all()) == ["outage", "resilience"]
        assert _messages(response) == ["Changes to “Provider outage runbook” saved."]


COE_PAGES = [
    ("GET", "template-create", ()),
    ("POST", "template-create", ()),
    ("GET", "template-edit", ("slug",)),
    ("POST", "template-edit", ("slug",)),
    ("GET", "version-create", ("slug",)),
    ("POST", "version-create", ("slug",)),
    ("GET", "version-edit", ("slug", "1.2.0")),
    ("POST", "version-edit", ("slug", "1.2.0")),
    ("POST", "version-submit", ("slug", "1.2.0")),
    ("POST", "version-publish", ("slug", "1.2.0")),
    ("POST", "version-deprecate", ("slug", "1.0.0")),
    ("POST", "markdown-preview", ()),
]


@pytest.mark.parametrize("persona", ["team_member", "leader"])
@pytest.mark.parametrize(("method", "name", "args"), COE_PAGES)
def test_coe_pages_refuse_others(request, client_for, prompt, persona, method, name, args) -> None:
    user = request.getfixturevalue(persona)
    url = _url(name, *(prompt.slug if a == "slug" else a for a in args))
    response = client_for(user).generic(method, url)
    assert response.status_code == 403
    assert TemplateVersion.objects.get(template=prompt, number="1.2.0").state == VersionState.DRAFT


# --- The template page ------------------------------------------------------------------------------


class TestTemplateDetail:
    def test_it_shows_the_current_version_and_the_published_ones(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).get(_url("template-detail", prompt.slug))
        text = _text(response)
        assert "<h1>Claim summary prompt</h1>" in text
        assert "Summarise a claim for a handler." in text
        assert "Version 1.1.0" in text
        assert "Names the audience." in text
        assert "Summarise {{ claim }} for {{ audience }}." in text
        versions = [v.number for v in response.context["versions"]]
        assert versions == ["1.1.0", "1.0.0"]
        assert "Cora Staff" in text  # the owner
        assert "Secret draft" not in text
        assert "1.2.0" not in text
        assert _url("version-publish", prompt.slug, "1.1.0") not in text  # no actions for teams
        assert "Compare versions" in text
        assert 'name="from"' in text

    def test_coe_staff_see_drafts_and_actions(self, client_for, coe_staff, prompt) -> None:
        text = _text(client_for(coe_staff).get(_url("template-detail", prompt.slug)))
        assert _url("version-detail", prompt.slug, "1.2.0") in text
        assert _url("version-edit", prompt.slug, "1.2.0") in text
        assert _url("version-submit", prompt.slug, "1.2.0") in text
        assert f'hx-post="{_url("version-publish", prompt.slug, "1.2.0")}"' in text
        assert 'hx-confirm="Publish version 1.2.0' in text
        assert _url("version-deprecate", prompt.slug, "1.1.0") in text
        assert _url("version-create", prompt.slug) in text

    def test_the_adopters_panel_comes_from_the_registry_with_a_plain_link(
        self, client_for, team_member, prompt
    ) -> None:
        text = _text(client_for(team_member).get(_url("template-detail", prompt.slug)))
        adopters = reverse("registry:template-adopters", args=[prompt.slug])
        assert f'hx-get="{adopters}" hx-trigger="load"' in text
        assert f'href="{adopters}"' in text

    def test_a_prompt_page_offers_try_it(self, client_for, team_member, prompt, runbook) -> None:
        text = _text(client_for(team_member).get(_url("template-detail", prompt.slug)))
        assert f'hx-post="{_url("version-try", prompt.slug, "1.1.0")}"' in text
        assert '<label for="try-claim">claim</label>' in text
        assert 'id="try-result"' in text
        assert "No model is called" in text
        assert "Try it" not in _text(client_for(team_member).get(_url("template-detail", runbook.slug)))

    def test_deprecated_versions_are_marked_and_readable(self, client_for, coe_staff, team_member, prompt) -> None:
        services.version_deprecate(actor=coe_staff, version=prompt.versions.get(number="1.0.0"))
        client = client_for(team_member)
        text = _text(client.get(_url("template-detail", prompt.slug)))
        assert "library-versions__deprecated" in text
        assert ">Deprecated</span>" in text
        page = client.get(_url("version-detail", prompt.slug, "1.0.0"))
        assert page.status_code == 200
        assert "deprecated" in _text(page)
        assert "Keep it short." in _text(page)

    def test_an_unknown_template_is_404(self, client_for, team_member) -> None:
        assert client_for(team_member).get(_url("template-detail", "nope")).status_code == 404


# --- One version ----------------------------------------------------------------------------------


class TestVersionDetail:
    def test_it_shows_a_version(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).get(_url("version-detail", prompt.slug, "1.0.0"))
        text = _text(response)
        assert response.status_code == 200
        assert "version 1.0.0" in text
        assert "Summarise {{ claim }}." in text
        assert "<code>claim</code>" in text  # variables
        assert "A newer version is current" in text
        assert "by Cora Staff" in text
        assert f"{_url('version-diff', prompt.slug)}?from=1.0.0&amp;to=1.1.0" in text
        assert _url("version-try", prompt.slug, "1.0.0") in text

    def test_it_links_to_the_previous_version(self, client_for, team_member, prompt) -> None:
        text = _text(client_for(team_member).get(_url("version-detail", prompt.slug, "1.1.0")))
        assert "Compare with the previous version (1.0.0)" in text
        assert "Compare with the current version" not in text

    @pytest.mark.parametrize("persona", ["team_member", "other_team_member", "leader"])
    def test_a_draft_is_not_there_for_others(self, request, client_for, prompt, persona) -> None:
        client = client_for(request.getfixturevalue(persona))
        assert client.get(_url("version-detail", prompt.slug, "1.2.0")).status_code == 404

    def test_coe_staff_read_drafts(self, client_for, coe_staff, prompt) -> None:
        text = _text(client_for(coe_staff).get(_url("version-detail", prompt.slug, "1.2.0")))
        assert "Secret draft" in text
        assert "only CoE staff see it" in text

    def test_an_unknown_number_is_404(self, client_for, team_member, prompt) -> None:
        assert client_for(team_member).get(_url("version-detail", prompt.slug, "9.9.9")).status_code == 404


# --- Diffs ------------------------------------------------------------------------------------------


class TestVersionDiff:
    @pytest.fixture
    def guide(self, coe_staff: User) -> Template:
        template = services.template_create(actor=coe_staff, title="Cost guide", kind="training", category="cost",
                                            summary="Spend less.")  # fmt: skip
        old = "\n".join(["# Cost guide", "Cache answers.", *[f"Line {n}" for n in range(1, 11)], "Use batch jobs."])
        new = "\n".join(["# Cost guide", *[f"Line {n}" for n in range(1, 11)], "Use batch jobs.", "Set budgets."])
        _publish(coe_staff, template, "1.0.0", old, changelog="First.")
        _publish(coe_staff, template, "2.0.0", new, changelog="Drops caching; adds budgets.")
        return template

    def test_by_default_it_compares_the_previous_with_the_current(self, client_for, team_member, guide) -> None:
        response = client_for(team_member).get(_url("version-diff", guide.slug))
        text = _text(response)
        assert response.status_code == 200
        assert (response.context["old"].number, response.context["new"].number) == ("1.0.0", "2.0.0")
        assert "<del>Cache answers.</del>" in text
        assert "<ins>Set budgets.</ins>" in text
        assert "diff__row--delete" in text
        assert "diff__row--insert" in text
        assert 'aria-hidden="true">−</span><span class="visually-hidden">Removed</span>' in text
        assert 'aria-hidden="true">+</span><span class="visually-hidden">Added</span>' in text
        assert "First." in text
        assert "Drops caching; adds budgets." in text
        assert "Line 5" in text  # the whole text
        assert "2 changed lines" in text

    def test_context_shows_only_changed_lines_and_three_around(self, client_for, team_member, guide) -> None:
        url = _url("version-diff", guide.slug)
        assert "context=3" in _text(client_for(team_member).get(url))
        response = client_for(team_member).get(url, {"from": "1.0.0", "to": "2.0.0", "context": "3"})
        text = _text(response)
        assert "<del>Cache answers.</del>" in text
        assert "<ins>Set budgets.</ins>" in text
        shown = [line.new for line in response.context["lines"]]
        assert shown == ["# Cost guide", "", "Line 1", "Line 2", "Line 3", "Line 9", "Line 10", "Use batch jobs.",
                         "Set budgets."]  # fmt: skip
        assert text.count("diff__gap") == 1
        assert "unchanged lines left out" in text
        assert "Show the whole text" in text

    def test_line_numbers_are_shown(self, client_for, team_member, guide) -> None:
        response = client_for(team_member).get(_url("version-diff", guide.slug))
        rows = list(response.context["lines"])
        deleted = next(r for r in rows if r.kind == "delete")
        inserted = next(r for r in rows if r.kind == "insert")
        assert (deleted.old_number, deleted.new_number) == (2, None)
        assert (inserted.old_number, inserted.new_number) == (None, 13)
        assert '<td class="num diff__number">13</td>' in _text(response)

    @pytest.mark.parametrize("params", [{"from": "1.0.0", "to": "1.2.0"}, {"from": "1.2.0", "to": "1.1.0"}])
    def test_drafts_are_not_there_for_others(self, client_for, team_member, leader, prompt, params) -> None:
        for user in (team_member, leader):
            response = client_for(user).get(_url("version-diff", prompt.slug), params)
            assert response.status_code == 404
            assert "Secret draft" not in _text(response)

    def test_coe_staff_compare_with_a_draft(self, client_for, coe_staff, prompt) -> None:
        text = _text(client_for(coe_staff).get(_url("version-diff", prompt.slug), {"from": "1.1.0", "to": "1.2.0"}))
        assert "<ins>Secret draft {{ claim }}.</ins>" in text
        assert "Variables changed" in text

    @pytest.mark.parametrize(
        ("params", "status", "message"),
        [
            ({"from": "banana", "to": "1.1.0"}, 400, "“banana” is not a version number like 1.2.0."),
            ({"from": "1.0.0", "to": "7.0.0"}, 404, "There is no version 7.0.0 of this template to compare."),
            ({"from": "1.1.0", "to": "1.1.0"}, 200, "Pick two different versions"),
        ],
    )
    def test_bad_numbers_get_a_clear_message(self, client_for, team_member, prompt, params, status, message) -> None:
        response = client_for(team_member).get(_url("version-diff", prompt.slug), params)
        assert response.status_code == status
        assert message in _text(response)

    def test_one_version_has_nothing_to_compare(self, client_for, team_member, runbook) -> None:
        text = _text(client_for(team_member).get(_url("version-diff", runbook.slug)))
        assert "nothing to compare yet" in text


# --- Writing versions ------------------------------------------------------------------------------


class TestVersionForms:
    def test_the_form_starts_from_the_current_version(self, client_for, coe_staff, prompt) -> None:
        response = client_for(coe_staff).get(_url("version-create", prompt.slug))
        text = _text(response)
        assert response.context["form"]["number"].value() == "1.3.0"  # above the 1.2.0 draft
        assert "<strong>1.2.1</strong>" in text
        assert "<strong>1.3.0</strong>" in text
        assert "<strong>2.0.0</strong>" in text
        assert "Summarise {{ claim }} for {{ audience }}." in text
        assert 'value="claim, audience"' in text
        assert (
            f'hx-post="{_url("markdown-preview")}" hx-trigger="keyup changed delay:500ms" hx-target="#preview"' in text
        )
        assert "{{ name }}" in text  # the variables' help

    def test_the_first_version_is_one_point_zero(self, client_for, coe_staff) -> None:
        template = TemplateFactory(title="Fresh runbook")
        response = client_for(coe_staff).get(_url("version-create", template.slug))
        assert response.context["form"]["number"].value() == "1.0.0"
        assert 'name="variables"' not in _text(response)  # runbooks have no variables

    def test_a_number_not_above_the_latest_is_refused_on_its_field(self, client_for, coe_staff, prompt) -> None:
        response = client_for(coe_staff).post(_url("version-create", prompt.slug), {
            "number": "1.1.5", "body": "Kept {{ claim }} text.", "variables": "claim", "changelog": "Kept.",
        })  # fmt: skip
        assert response.status_code == 200
        assert response.context["form"].errors["number"] == ["Use a number above 1.2.0, e.g. 1.3.0."]
        assert "Kept {{ claim }} text." in _text(response)
        assert not prompt.versions.filter(number="1.1.5").exists()

    def test_bad_variable_names_are_refused_on_their_field(self, client_for, coe_staff, prompt) -> None:
        response = client_for(coe_staff).post(_url("version-create", prompt.slug), {
            "number": "2.0.0", "body": "x", "variables": "claim, 9lives",
        })  # fmt: skip
        assert response.context["form"].errors["variables"] == ["Not a valid name: 9lives."]

    def test_preview_without_javascript_does_not_save(self, client_for, coe_staff, prompt) -> None:
        response = client_for(coe_staff).post(_url("version-create", prompt.slug), {
            "number": "2.0.0", "body": "# Heading two", "variables": "", "preview": "1",
        })  # fmt: skip
        assert response.status_code == 200
        assert "<h1>Heading two</h1>" in _text(response)
        assert not prompt.versions.filter(number="2.0.0").exists()

    def test_coe_staff_edit_a_draft(self, client_for, coe_staff, prompt) -> None:
        client = client_for(coe_staff)
        assert "Secret draft" in _text(client.get(_url("version-edit", prompt.slug, "1.2.0")))
        response = client.post(_url("version-edit", prompt.slug, "1.2.0"), {
            "body": "Better draft {{ claim }}.", "variables": "claim", "changelog": "Better.",
        })  # fmt: skip
        assert response.status_code == 302
        draft = prompt.versions.get(number="1.2.0")
        assert (draft.body, draft.changelog, draft.variables) == ("Better draft {{ claim }}.", "Better.", ["claim"])

    def test_a_published_version_cannot_be_edited(self, client_for, coe_staff, prompt) -> None:
        client = client_for(coe_staff)
        text = _text(client.get(_url("version-edit", prompt.slug, "1.1.0")))
        assert "cannot change" in text
        assert _url("version-create", prompt.slug) in text
        response = client.post(_url("version-edit", prompt.slug, "1.1.0"), {"body": "Changed."})
        assert response.status_code == 409
        assert prompt.versions.get(number="1.1.0").body.startswith("Summarise")


class TestMarkdownPreview:
    def test_it_renders_the_body(self, client_for, coe_staff) -> None:
        response = client_for(coe_staff).post(_url("markdown-preview"), {"body": "# Hi\n\n*there*"})
        assert response.status_code == 200
        text = _text(response)
        assert "<h1>Hi</h1>" in text
        assert "<em>there</em>" in text
        assert "<html" not in text

    def test_an_empty_body_has_nothing_to_preview(self, client_for, coe_staff) -> None:
        assert "Nothing to preview" in _text(client_for(coe_staff).post(_url("markdown-preview"), {"body": "  "}))

    def test_it_is_post_only(self, client_for, coe_staff) -> None:
        assert client_for(coe_staff).get(_url("markdown-preview")).status_code == 405


# --- Moving versions through their states ---------------------------------------------------------


class TestTransitions:
    def test_submit_then_publish(self, client_for, coe_staff, prompt) -> None:
        client = client_for(coe_staff)
        response = client.post(_url("version-submit", prompt.slug, "1.2.0"))
        assert response.status_code == 302
        assert response["Location"] == _url("template-detail", prompt.slug)
        assert _messages(response) == ["Version 1.2.0 is sent for review."]
        assert prompt.versions.get(number="1.2.0").state == VersionState.IN_REVIEW
        response = client.post(_url("version-publish", prompt.slug, "1.2.0"))
        assert _messages(response)[-1] == "Version 1.2.0 is published and current."
        assert prompt.versions.get(is_current=True).number == "1.2.0"

    def test_htmx_answers_with_a_client_redirect(self, client_for, coe_staff, prompt) -> None:
        response = client_for(coe_staff).post(_url("version-deprecate", prompt.slug, "1.0.0"), headers=HTMX)
        assert response.status_code == 200
        assert response["HX-Redirect"] == _url("template-detail", prompt.slug)
        assert prompt.versions.get(number="1.0.0").state == VersionState.DEPRECATED

    def test_publishing_a_prompt_with_an_undeclared_variable_is_refused(self, client_for, coe_staff, prompt) -> None:
        services.version_create(actor=coe_staff, template=prompt, number="1.3.0",
                                body="Summarise {{ claim }} in {{ language }}.", variables=["claim"],
                                changelog="Adds a language.")  # fmt: skip
        response = client_for(coe_staff).post(_url("version-publish", prompt.slug, "1.3.0"), follow=True)
        text = _text(response)
        assert "Version 1.3.0 cannot be published" in text
        assert "The body uses undeclared variables: language." in text
        assert "message--error" in text
        assert prompt.versions.get(number="1.3.0").state == VersionState.DRAFT

    def test_a_refused_step_says_why(self, client_for, coe_staff, prompt) -> None:
        response = client_for(coe_staff).post(_url("version-submit", prompt.slug, "1.1.0"))
        assert _messages(response) == ["Only a draft can be sent for review; 1.1.0 is published."]


def test_a_template_lives_through_two_versions(client_for, coe_staff, team_member) -> None:
    client = client_for(coe_staff)
    response = client.post(_url("template-create"), {
        "title": "Incident runbook", "kind": "runbook", "category": "monitoring", "summary": "When alerts fire.",
    })  # fmt: skip
    slug = Template.objects.get().slug
    assert response["Location"] == _url("version-create", slug)
    response = client.post(_url("version-create", slug), {"number": "1.0.0", "body": "1. Page the on-call."})
    assert response["Location"] == _url("version-detail", slug, "1.0.0")
    client.post(_url("version-publish", slug, "1.0.0"))
    form = client.get(_url("version-create", slug))
    assert form.context["form"]["number"].value() == "1.1.0"
    assert "1. Page the on-call." in _text(form)
    client.post(_url("version-create", slug), {
        "number": "1.1.0", "body": "1. Page the on-call.\n2. Open an incident channel.",
        "changelog": "Adds the incident channel.",
    })  # fmt: skip
    response = client.post(_url("version-publish", slug, "1.1.0"))
    assert _messages(response)[-1] == "Version 1.1.0 is published and current."

    reader = client_for(team_member)
    page = reader.get(_url("template-detail", slug))
    assert page.context["current"].number == "1.1.0"
    text = _text(page)
    assert "Open an incident channel." in text
    assert "Adds the incident channel." in text
    assert [v.number for v in page.context["versions"]] == ["1.1.0", "1.0.0"]
    old = reader.get(_url("version-detail", slug, "1.0.0"))
    assert old.status_code == 200
    assert "Page the on-call." in _text(old)
    assert "Open an incident channel." not in _text(old)


# --- Try it -----------------------------------------------------------------------------------------


class TestTryIt:
    def test_the_form_has_a_field_per_variable(self, client_for, team_member, prompt) -> None:
        text = _text(client_for(team_member).get(_url("version-try", prompt.slug, "1.1.0")))
        assert '<label for="try-claim">claim</label>' in text
        assert '<label for="try-audience">audience</label>' in text
        assert "No model is called" in text

    def test_it_renders_the_prompt_with_the_values(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).post(
            _url("version-try", prompt.slug, "1.1.0"), {"claim": "a broken window", "audience": "handlers"}
        )
        text = _text(response)
        assert (
            '<pre class="config library-prompt">Summarise a broken window for handlers.\nKeep it short.</pre>' in text
        )
        assert "No value for" not in text
        assert "<html" in text

    def test_it_reports_missing_and_unknown_variables(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).post(
            _url("version-try", prompt.slug, "1.1.0"), {"claim": "a claim", "tone": "friendly"}
        )
        text = _text(response)
        assert "No value for: audience." in text
        assert "Not declared by this prompt: tone." in text
        assert "Summarise a claim for {{ audience }}." in text

    def test_htmx_gets_only_the_result(self, client_for, team_member, prompt) -> None:
        response = client_for(team_member).post(
            _url("version-try", prompt.slug, "1.1.0"), {"claim": "c", "audience": "a"}, headers=HTMX
        )
        text = _text(response)
        assert text.lstrip().startswith('<div id="try-result"')
        assert "<html" not in text
        assert "Summarise c for a." in text

    def test_the_prompt_is_shown_as_text(self, client_for, team_member, prompt) -> None:
        text = _text(client_for(team_member).post(
            _url("version-try", prompt.slug, "1.1.0"), {"claim": "<b>bold</b>", "audience": "x"}
        ))  # fmt: skip
        assert "Summarise &lt;b&gt;bold&lt;/b&gt; for x." in text

    def test_only_prompts_can_be_tried(self, client_for, team_member, runbook) -> None:
        assert client_for(team_member).get(_url("version-try", runbook.slug, "1.0.0")).status_code == 404

    def test_a_draft_is_tried_by_the_coe_only(self, client_for, coe_staff, team_member, prompt) -> None:
        url = _url("version-try", prompt.slug, "1.2.0")
        assert client_for(team_member).post(url, {"claim": "x"}).status_code == 404
        assert "Secret draft x." in _text(client_for(coe_staff).post(url, {"claim": "x"}))


# --- XSS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_in_a_version_are_never_run(client_for, coe_staff, team_member, payload) -> None:
    template = services.template_create(actor=coe_staff, title="Hostile prompt", kind="prompt", category="cost",
                                        summary=f"Summary {payload}", tags=["x"])  # fmt: skip
    _publish(coe_staff, template, "1.0.0", f"Safe {{{{ claim }}}}.\n{payload}", variables=["claim"],
             changelog=payload)  # fmt: skip
    _publish(coe_staff, template, "1.1.0", f"{payload}\nSafe {{{{ claim }}}} again.\n{payload}",
             variables=["claim"], changelog=f"Changed: {payload}")  # fmt: skip
    client = client_for(team_member)
    pages = [
        _url("template-list"),
        _url("template-list") + "?q=Safe",
        _url("template-detail", template.slug),
        _url("version-detail", template.slug, "1.0.0"),
        _url("version-detail", template.slug, "1.1.0"),
        _url("version-diff", template.slug),
        _url("version-diff", template.slug) + "?from=1.0.0&to=1.1.0&context=3",
        _url("version-try", template.slug, "1.1.0"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_safe(_text(response))
    tried = client.post(_url("version-try", template.slug, "1.1.0"), {"claim": payload, "other": payload})
    assert_safe(_text(tried))
    assert "Not declared by this prompt: other." in _text(tried)
    coe = client_for(coe_staff)
    assert_safe(_text(coe.get(_url("version-create", template.slug))))
    assert_safe(_text(coe.post(_url("markdown-preview"), {"body": payload})))
    assert_safe(_text(coe.post(_url("version-create", template.slug), {"number": "1.2.0", "body": payload,
                                                                          "preview": "1"})))  # fmt: skip
