"""Every write of the library. Versions move through core's versioning mechanism."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify

from apps.accounts.models import User
from apps.core import versioning
from apps.core.exceptions import ApplicationError
from apps.core.models import Tag
from apps.core.services import audit_record

from . import prompts
from .models import Template, TemplateVersion

TEMPLATE_FIELDS = {"title", "kind", "category", "summary", "owner"}


def _tags(names: Iterable[str]) -> list[Tag]:
    return [Tag.objects.get_or_create(name=name)[0] for name in dict.fromkeys(slugify(n)[:50] for n in names) if name]


def _clean(instance: Any, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        errors = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        raise ApplicationError("Please correct the highlighted fields.", field_errors=errors) from exc


def _check_variables(variables: Any) -> list[str]:
    if variables is None:
        return []
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise ApplicationError(
            "Variables must be a list of names.", field_errors={"variables": ["Give a list of names."]}
        )
    names = list(dict.fromkeys(v.strip() for v in variables if v.strip()))
    bad = [name for name in names if not prompts.NAME.match(name)]
    if bad:
        raise ApplicationError(
            "Variable names use letters, digits and _.",
            field_errors={"variables": [f"Not a valid name: {', '.join(bad)}."]},
        )
    return names


@transaction.atomic
def template_create(
    *,
    actor: User | None,
    title: str,
    kind: str,
    category: str,
    summary: str,
    slug: str = "",
    tags: Iterable[str] = (),
    owner: User | None = None,
    request: HttpRequest | None = None,
) -> Template:
    slug = slugify(slug or title)[:160]
    if not slug:
        raise ApplicationError("A template needs a title.", field_errors={"title": ["This field is required."]})
    if Template.objects.filter(slug=slug).exists():
        raise ApplicationError(
            "A template with this slug exists.", field_errors={"slug": ["Choose another title or slug."]}
        )
    template = Template(title=title.strip(), slug=slug, kind=kind, category=category, summary=summary.strip(),
                        owner=owner or actor)  # fmt: skip
    _clean(template, exclude=["owner"])
    template.save()
    template.tags.set(_tags(tags))
    audit_record(actor=actor, action="template.create", target=template, changes={"kind": kind}, request=request)
    return template


@transaction.atomic
def template_update(
    *, actor: User | None, template: Template, tags: Iterable[str] | None = None,
    request: HttpRequest | None = None, **fields: Any,
) -> Template:  # fmt: skip
    unknown = set(fields) - TEMPLATE_FIELDS
    if unknown:
        raise ApplicationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    template = Template.objects.select_for_update().get(pk=template.pk)
    changes = {k: [str(getattr(template, k)), str(v)] for k, v in fields.items() if getattr(template, k) != v}
    for name, value in fields.items():
        setattr(template, name, value)
    _clean(template, exclude=["owner"])
    template.save()
    if tags is not None:
        template.tags.set(_tags(tags))
    if changes:
        audit_record(actor=actor, action="template.update", target=template, changes=changes, request=request)
    return template


def version_create(
    *, actor: User | None, template: Template, number: str, body: str = "", changelog: str = "",
    variables: Any = None, request: HttpRequest | None = None,
) -> TemplateVersion:  # fmt: skip
    return versioning.version_create(
        model=TemplateVersion, document=template, number=number, actor=actor, body=body, changelog=changelog,
        variables=_check_variables(variables), request=request,
    )  # fmt: skip


def version_update(
    *, actor: User | None, version: TemplateVersion, request: HttpRequest | None = None, **fields: Any
) -> TemplateVersion:
    unknown = set(fields) - {"body", "changelog", "variables"}
    if unknown:
        raise ApplicationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "variables" in fields:
        fields["variables"] = _check_variables(fields["variables"])
    return versioning.version_update(version=version, actor=actor, request=request, **fields)


def version_submit(
    *, actor: User | None, version: TemplateVersion, request: HttpRequest | None = None
) -> TemplateVersion:
    return versioning.version_submit(version=version, actor=actor, request=request)


def _publish_check(version: TemplateVersion) -> list[str]:
    problems = []
    if not version.body.strip():
        problems.append("The body is empty.")
    if (
        not version.changelog.strip()
        and type(version)
        .objects.filter(template=version.template_id)
        .exclude(pk=version.pk)
        .filter(published_at__isnull=False)
        .exists()
    ):
        problems.append("Say what changed in the changelog; adopters read it when they upgrade.")
    if version.template.kind == version.template.Kind.PROMPT:
        problems += prompts.declaration_problems(version.body, version.variables)
    return problems


def version_publish(
    *, actor: User | None, version: TemplateVersion, request: HttpRequest | None = None
) -> TemplateVersion:
    """Publish and make current. Registry's hook tells the teams of every adopter."""
    return versioning.version_publish(version=version, actor=actor, check=_publish_check, request=request)


def version_deprecate(
    *, actor: User | None, version: TemplateVersion, request: HttpRequest | None = None
) -> TemplateVersion:
    return versioning.version_deprecate(version=version, actor=actor, request=request)
