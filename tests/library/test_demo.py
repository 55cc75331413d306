"""The library's demo data (``manage.py seed_demo``): idempotent, realistic, and within the library's
rules; the registry's demo adopts it and builds releases on it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.core.models import AuditEvent, GuidanceArea, Notification, VersionState
from apps.library.models import Template, TemplateVersion
from apps.library.prompts import declaration_problems
from apps.registry.adoption import adopter_list
from apps.registry.models import Adoption, Release

pytestmark = pytest.mark.django_db


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Template, TemplateVersion, Adoption, Release, Notification, AuditEvent)
    }


@pytest.fixture
def seeded(db: None) -> None:
    _seed()


def test_seeding_twice_creates_nothing_new(db: None) -> None:
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first
    assert first["Template"] >= 15


def test_templates_cover_every_kind_and_category(seeded: None) -> None:
    assert Template.objects.count() >= 15
    assert set(Template.objects.values_list("kind", flat=True)) == set(Template.Kind.values)
    assert set(Template.objects.values_list("category", flat=True)) == set(GuidanceArea.values)
    for template in Template.objects.prefetch_related("tags").select_related("owner"):
        assert template.summary.strip(), template
        assert template.tags.exists(), template
        assert template.owner is not None, template
        assert template.owner.username == "coe", template
        assert template.versions.filter(is_current=True).count() == 1, f"{template} has no current version"


def test_bodies_are_real_markdown(seeded: None) -> None:
    for version in TemplateVersion.objects.select_related("template"):
        lines = version.body.splitlines()
        assert 15 <= len(lines) <= 60, f"{version.template} v{version.number}: {len(lines)} lines"
        assert lines[0].startswith("# "), f"{version.template} v{version.number} has no title heading"


def test_versions_go_through_every_state(seeded: None) -> None:
    multi = [t for t in Template.objects.all() if t.versions.filter(published_at__isnull=False).count() >= 2]
    assert len(multi) >= 3
    for state in VersionState.values:
        assert TemplateVersion.objects.filter(state=state).exists(), f"no {state} version"
    # A later version says what changed.
    for template in multi:
        first = template.versions.order_by("major", "minor", "patch").first()
        for version in template.versions.exclude(pk=first.pk):
            assert version.changelog.strip(), f"{template} v{version.number} has no changelog"
    deprecated = TemplateVersion.objects.get(state=VersionState.DEPRECATED)
    assert not deprecated.is_current
    assert deprecated.template.versions.filter(is_current=True, state=VersionState.PUBLISHED).exists()


def test_published_prompts_declare_their_variables(seeded: None) -> None:
    prompts = TemplateVersion.objects.filter(
        template__kind=Template.Kind.PROMPT, state__in=[VersionState.PUBLISHED, VersionState.DEPRECATED]
    )
    assert prompts.count() >= 4
    for version in prompts:
        assert version.variables, f"{version.template} v{version.number} declares no variables"
        assert declaration_problems(version.body, version.variables) == []


def test_the_coe_builds_the_audit_trail(seeded: None) -> None:
    template = Template.objects.get(slug="model-provider-outage-runbook")
    events = AuditEvent.objects.filter(target_id=str(template.pk), action__startswith="template.")
    assert set(events.values_list("actor_repr", flat=True)) == {"coe"}
    assert events.filter(action="template.publish").count() == template.versions.count()


def test_workloads_adopt_templates_some_behind(seeded: None) -> None:
    adopters = [a for template in Template.objects.all() for a in adopter_list(template=template)]
    explicit = [a for a in adopters if a.via == "explicit"]
    assert len({a.workload.pk for a in explicit}) >= 10
    assert {a.version.template.kind for a in explicit} >= {
        Template.Kind.RUNBOOK,
        Template.Kind.BLUEPRINT,
        Template.Kind.RUBRIC,
        Template.Kind.CHECKLIST,
    }
    assert sum(a.is_behind for a in explicit) >= 3
    assert any(not a.is_behind for a in explicit)
    # Prompt templates are adopted through live releases, some on an older version.
    through_releases = [a for a in adopters if a.via == "release"]
    assert {a.version.template.kind for a in through_releases} == {Template.Kind.PROMPT}
    assert len({a.workload.pk for a in through_releases}) >= 3
    assert any(a.is_behind for a in through_releases)


def test_new_versions_notify_adopting_teams(seeded: None) -> None:
    # The library's own notifications (other apps' demos leave theirs too).
    notifications = Notification.objects.filter(title__contains=" is published")
    assert 0 < notifications.count() <= 20
    assert all(n.url for n in notifications)
