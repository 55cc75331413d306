from __future__ import annotations

import pytest

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent, VersionState
from apps.core.versioning import semver_suggest, version_diff, version_unified_diff
from apps.library import prompts, selectors, services
from apps.library.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def runbook(coe_staff) -> Template:
    return services.template_create(
        actor=coe_staff, title="Provider outage runbook", kind="runbook", category="infrastructure",
        summary="Fail over.", tags=["Outage", "resilience"],
    )  # fmt: skip


@pytest.fixture
def prompt(coe_staff) -> Template:
    return services.template_create(
        actor=coe_staff, title="Claim summary", kind="prompt", category="security_governance", summary="Summarise."
    )


class TestVersioning:
    def test_draft_review_publish_deprecate(self, coe_staff, runbook) -> None:
        v1 = services.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="Step one.")
        assert (v1.state, v1.is_current) == (VersionState.DRAFT, False)
        v1 = services.version_submit(actor=coe_staff, version=v1)
        assert v1.state == VersionState.IN_REVIEW
        v1 = services.version_publish(actor=coe_staff, version=v1)
        assert (v1.state, v1.is_current, v1.published_by) == (VersionState.PUBLISHED, True, coe_staff)
        v2 = services.version_create(actor=coe_staff, template=runbook, number="1.1.0", body="Step one.\nStep two.",
                                     changelog="Adds step two.")  # fmt: skip
        services.version_publish(actor=coe_staff, version=v2)
        v1.refresh_from_db()
        assert (v1.state, v1.is_current) == (VersionState.PUBLISHED, False)  # older stays readable
        assert selectors.version_current(template=runbook).number == "1.1.0"
        services.version_deprecate(actor=coe_staff, version=v2)
        assert selectors.version_current(template=runbook).number == "1.0.0"
        actions = list(AuditEvent.objects.filter(action__startswith="template.").values_list("action", flat=True))
        assert sorted(set(actions)) == ["template.create", "template.deprecate", "template.draft", "template.publish",
                                        "template.submit"]  # fmt: skip

    def test_numbers_are_semver_and_only_go_up(self, coe_staff, runbook) -> None:
        with pytest.raises(ApplicationError) as bad:
            services.version_create(actor=coe_staff, template=runbook, number="v1", body="x")
        assert "number" in bad.value.field_errors
        services.version_create(actor=coe_staff, template=runbook, number="1.2.0", body="x")
        with pytest.raises(ApplicationError, match=r"not higher than 1\.2\.0"):
            services.version_create(actor=coe_staff, template=runbook, number="1.1.9", body="x")
        assert TemplateVersion.objects.count() == 1

    def test_published_versions_are_never_edited(self, coe_staff, runbook) -> None:
        v1 = services.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="x")
        services.version_publish(actor=coe_staff, version=v1)
        with pytest.raises(ApplicationError, match="cannot change"):
            services.version_update(actor=coe_staff, version=v1, body="changed")
        v1.refresh_from_db()
        assert v1.body == "x"

    def test_publishing_needs_a_body_and_after_v1_a_changelog(self, coe_staff, runbook) -> None:
        empty = services.version_create(actor=coe_staff, template=runbook, number="1.0.0")
        with pytest.raises(ApplicationError, match="body is empty"):
            services.version_publish(actor=coe_staff, version=empty)
        services.version_update(actor=coe_staff, version=empty, body="Steps.")
        services.version_publish(actor=coe_staff, version=empty)
        v2 = services.version_create(actor=coe_staff, template=runbook, number="2.0.0", body="New steps.")
        with pytest.raises(ApplicationError, match="changelog"):
            services.version_publish(actor=coe_staff, version=v2)

    def test_a_lower_version_cannot_replace_a_higher_current_one(self, coe_staff, runbook) -> None:
        low = services.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="a")
        high = services.version_create(actor=coe_staff, template=runbook, number="2.0.0", body="b")
        services.version_publish(actor=coe_staff, version=high)
        with pytest.raises(ApplicationError, match=r"higher than 1\.0\.0"):
            services.version_publish(actor=coe_staff, version=low)

    def test_suggestions_and_diff(self, coe_staff, runbook) -> None:
        v1 = services.version_create(actor=coe_staff, template=runbook, number="1.4.2", body="a\nb\nc")
        assert semver_suggest(v1) == {"patch": "1.4.3", "minor": "1.5.0", "major": "2.0.0"}
        assert semver_suggest(None)["minor"] == "1.0.0"
        rows = version_diff("a\nb\nc", "a\nB\nc\nd")
        assert [(r.kind, r.old, r.new) for r in rows] == [
            ("equal", "a", "a"), ("replace", "b", "B"), ("equal", "c", "c"), ("insert", "", "d"),
        ]  # fmt: skip
        v2 = services.version_create(actor=coe_staff, template=runbook, number="1.5.0", body="a\nc")
        assert "-b" in version_unified_diff(v1, v2).splitlines()

    def test_drafts_are_the_coes(self, coe_staff, team_member, runbook) -> None:
        services.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="x")
        assert selectors.version_list(user=coe_staff, template=runbook).count() == 1
        assert selectors.version_list(user=team_member, template=runbook).count() == 0
        assert list(selectors.template_list(user=team_member)) == []
        assert list(selectors.template_list(user=coe_staff)) == [runbook]


class TestPrompts:
    def test_publishing_checks_declared_variables(self, coe_staff, prompt) -> None:
        version = services.version_create(
            actor=coe_staff, template=prompt, number="1.0.0", body="Summarise {{ claim }} for {{ audience }}.",
            variables=["claim", "tone"],
        )  # fmt: skip
        with pytest.raises(ApplicationError) as refused:
            services.version_publish(actor=coe_staff, version=version)
        assert "undeclared variables: audience" in str(refused.value)
        assert "Declared but never used: tone" in str(refused.value)
        services.version_update(actor=coe_staff, version=version, variables=["claim", "audience"])
        services.version_publish(actor=coe_staff, version=version)

    def test_bad_variable_names_are_refused(self, coe_staff, prompt) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.version_create(actor=coe_staff, template=prompt, number="1.0.0", variables=["ok", "not ok"])
        assert refused.value.field_errors == {"variables": ["Not a valid name: not ok."]}

    def test_render_reports_missing_and_unknown(self) -> None:
        result = prompts.render("Hi {{ name }}, see {{ doc }}.", ["name", "doc"], {"name": "Ana", "extra": "x"})
        assert result.text == "Hi Ana, see {{ doc }}."
        assert (result.missing, result.unknown, result.ok) == (["doc"], ["extra"], False)
        full = prompts.render("Hi {{ name }}.", ["name"], {"name": "<b>Ana</b>"})
        assert (full.text, full.ok) == ("Hi <b>Ana</b>.", True)  # escaped where it is shown, not here


class TestTemplates:
    def test_tags_are_shared_core_tags_and_search_reaches_the_body(self, coe_staff, team_member, runbook) -> None:
        assert sorted(runbook.tags.values_list("name", flat=True)) == ["outage", "resilience"]
        version = services.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="Switch the gateway.")
        services.version_publish(actor=coe_staff, version=version)
        assert list(selectors.template_list(user=team_member, filters={"q": "gateway"})) == [runbook]
        assert list(selectors.template_list(user=team_member, filters={"tag": "outage", "kind": "runbook"})) == [
            runbook
        ]
        assert list(selectors.template_list(user=team_member, filters={"q": "nothing-like-this"})) == []

    def test_duplicate_slug_and_invalid_kind_are_refused(self, coe_staff, runbook) -> None:
        with pytest.raises(ApplicationError, match="slug exists"):
            services.template_create(actor=coe_staff, title=runbook.title, kind="runbook", category="cost", summary="x")
        with pytest.raises(ApplicationError) as bad:
            services.template_create(actor=coe_staff, title="New", kind="poem", category="cost", summary="x")
        assert "kind" in bad.value.field_errors


def test_context_diff_marks_where_lines_were_left_out() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 2\n", "line two\n").replace("line 18", "line eighteen")
    rows = version_diff(old, new, context=1)
    assert [(r.old_number, r.gap_before) for r in rows if r.gap_before] == [(17, True)]
    assert rows[0].old_number == 1
    assert not any(r.gap_before for r in version_diff(old, new))
