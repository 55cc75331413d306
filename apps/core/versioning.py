"""One versioning mechanism for every versioned document (library templates, governance policies).

The version model subclasses ``core.models.VersionBase``; these services move a version through
draft → in review → published → deprecated, keep exactly one published version current, and
audit each step. Apps above core take part in publishing through ``on_publish`` hooks
(registry tells adopters of a template, governance tells the workloads a policy applies to).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from .exceptions import ApplicationError
from .models import VersionBase, VersionState
from .services import audit_record

if TYPE_CHECKING:
    from apps.accounts.models import User

V = TypeVar("V", bound=VersionBase)
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

PublishHook = Callable[[VersionBase, "VersionBase | None"], None]
_publish_hooks: dict[type[VersionBase], list[PublishHook]] = {}


def on_publish(model: type[VersionBase], hook: PublishHook) -> None:
    """Call ``hook(version, previous_current)`` inside the publishing transaction."""
    hooks = _publish_hooks.setdefault(model, [])
    if hook not in hooks:
        hooks.append(hook)


def _lines(text: str) -> str:
    """One kind of line end, whatever the browser posted (textareas send CRLF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def semver_parse(number: str) -> tuple[int, int, int]:
    match = SEMVER.match(number.strip())
    if not match:
        raise ApplicationError(
            f"“{number}” is not a version number like 1.2.0.",
            field_errors={"number": ["Use MAJOR.MINOR.PATCH, e.g. 1.0.0 or 2.1.3."]},
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def semver_suggest(latest: VersionBase | None) -> dict[str, str]:
    """The next patch, minor and major numbers after ``latest`` (1.0.0 when there is none)."""
    if latest is None:
        return {"patch": "1.0.0", "minor": "1.0.0", "major": "1.0.0"}
    return {
        "patch": f"{latest.major}.{latest.minor}.{latest.patch + 1}",
        "minor": f"{latest.major}.{latest.minor + 1}.0",
        "major": f"{latest.major + 1}.0.0",
    }


def _siblings(version_or_model: Any, document: Any) -> Any:
    model = version_or_model if isinstance(version_or_model, type) else type(version_or_model)
    return model.objects.filter(**{model.DOCUMENT_FIELD: document})


def _action(version: VersionBase, verb: str) -> str:
    return f"{version.document._meta.model_name}.{verb}"


@transaction.atomic
def version_create(
    *,
    model: type[V],
    document: Any,
    number: str,
    actor: User | None,
    body: str = "",
    changelog: str = "",
    request: HttpRequest | None = None,
    **extra: Any,
) -> V:
    """A new draft. Its number must be higher than every number the document has used."""
    major, minor, patch = semver_parse(number)
    # Lock the document's versions so two drafts cannot take the same number.
    siblings = list(_siblings(model, document).select_for_update().order_by("-major", "-minor", "-patch"))
    if siblings and (major, minor, patch) <= (siblings[0].major, siblings[0].minor, siblings[0].patch):
        raise ApplicationError(
            f"Version {number} is not higher than {siblings[0].number}.",
            field_errors={
                "number": [f"Use a number above {siblings[0].number}, e.g. {semver_suggest(siblings[0])['minor']}."]
            },
        )
    version = model(
        **{model.DOCUMENT_FIELD: document},
        number=number.strip(),
        major=major,
        minor=minor,
        patch=patch,
        body=_lines(body),
        changelog=_lines(changelog),
        created_by=actor,
        **extra,
    )
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"Version {number} exists.", field_errors={"number": ["Choose another number."]}
        ) from exc
    audit_record(actor=actor, action=_action(version, "draft"), target=document, changes={"number": version.number},
                 request=request)  # fmt: skip
    return version


@transaction.atomic
def version_update(*, version: V, actor: User | None, request: HttpRequest | None = None, **fields: Any) -> V:
    """Change a draft or a version in review. Published versions are never edited: publish anew."""
    version = type(version).objects.select_for_update().get(pk=version.pk)
    if not version.is_editable:
        raise ApplicationError(
            f"Version {version.number} is {version.get_state_display().lower()}; it cannot change. "
            "Create a new version instead."
        )
    fields = {name: _lines(value) if name in {"body", "changelog"} else value for name, value in fields.items()}
    changed = {name: value for name, value in fields.items() if getattr(version, name) != value}
    for name, value in changed.items():
        setattr(version, name, value)
    if changed:
        version.save()
        audit_record(actor=actor, action=_action(version, "edit"), target=version.document,
                     changes={"number": version.number, "fields": sorted(changed)}, request=request)  # fmt: skip
    return version


@transaction.atomic
def version_submit(*, version: V, actor: User | None, request: HttpRequest | None = None) -> V:
    """Draft → in review: the author asks a colleague to check it before it is published."""
    version = type(version).objects.select_for_update().get(pk=version.pk)
    if version.state != VersionState.DRAFT:
        raise ApplicationError(
            f"Only a draft can be sent for review; {version.number} is {version.get_state_display().lower()}."
        )
    version.state = VersionState.IN_REVIEW
    version.submitted_at = timezone.now()
    version.save(update_fields=["state", "submitted_at", "updated_at"])
    audit_record(actor=actor, action=_action(version, "submit"), target=version.document,
                 changes={"number": version.number}, request=request)  # fmt: skip
    return version


@transaction.atomic
def version_publish(
    *,
    version: V,
    actor: User | None,
    check: Callable[[V], list[str]] | None = None,
    request: HttpRequest | None = None,
) -> V:
    """Draft or in review → published and current. The version it replaces stays published and
    readable, no longer current. ``check`` may refuse with reasons (e.g. undeclared variables)."""
    model = type(version)
    version = model.objects.select_for_update().get(pk=version.pk)
    if not version.is_editable:
        raise ApplicationError(f"Version {version.number} is {version.get_state_display().lower()} already.")
    siblings = _siblings(model, version.document).select_for_update()
    previous = siblings.filter(is_current=True).first()
    if previous is not None and (previous.major, previous.minor, previous.patch) > (
        version.major,
        version.minor,
        version.patch,
    ):
        raise ApplicationError(
            f"Version {previous.number} is current and higher than {version.number}; publish a version above it."
        )
    problems = check(version) if check else []
    if problems:
        raise ApplicationError(f"Version {version.number} cannot be published: " + " ".join(problems),
                               field_errors={"body": problems})  # fmt: skip
    siblings.filter(is_current=True).update(is_current=False)
    version.state = VersionState.PUBLISHED
    version.is_current = True
    version.published_at = timezone.now()
    version.published_by = actor
    version.save(update_fields=["state", "is_current", "published_at", "published_by", "updated_at"])
    audit_record(actor=actor, action=_action(version, "publish"), target=version.document,
                 changes={"number": version.number, "replaces": previous.number if previous else None},
                 request=request)  # fmt: skip
    for hook in _publish_hooks.get(model, []):
        hook(version, previous)
    return version


@transaction.atomic
def version_deprecate(*, version: V, actor: User | None, request: HttpRequest | None = None) -> V:
    """Published → deprecated (still readable, marked not to be used). If it was current, the
    highest remaining published version becomes current."""
    model = type(version)
    version = model.objects.select_for_update().get(pk=version.pk)
    if version.state != VersionState.PUBLISHED:
        raise ApplicationError(
            f"Only a published version can be deprecated; {version.number} is {version.get_state_display().lower()}."
        )
    was_current = version.is_current
    version.state = VersionState.DEPRECATED
    version.is_current = False
    version.deprecated_at = timezone.now()
    version.save(update_fields=["state", "is_current", "deprecated_at", "updated_at"])
    successor = None
    if was_current:
        successor = (
            _siblings(model, version.document)
            .filter(state=VersionState.PUBLISHED)
            .order_by("-major", "-minor", "-patch")
            .first()
        )
        if successor is not None:
            successor.is_current = True
            successor.save(update_fields=["is_current", "updated_at"])
    audit_record(actor=actor, action=_action(version, "deprecate"), target=version.document,
                 changes={"number": version.number, "current": successor.number if successor else None},
                 request=request)  # fmt: skip
    return version


class VersionNotFound(Exception):
    """A version asked for by number (e.g. in a diff) that is malformed (400) or not there (404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def version_pick(versions: list[V], number: str, *, noun: str) -> V:
    """The version numbered ``number`` among those the person may see. A number never used and a
    draft the person may not see get the same answer."""
    try:
        semver_parse(number)
    except ApplicationError:
        raise VersionNotFound(f"“{number}” is not a version number like 1.2.0.", 400) from None
    found = next((v for v in versions if v.number == number.strip()), None)
    if found is None:
        raise VersionNotFound(f"There is no version {number.strip()} of this {noun} to compare.", 404)
    return found


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: ``kind`` is equal, insert, delete or replace;
    ``gap_before``: unchanged lines were left out above it (only with ``context``)."""

    kind: str
    old_number: int | None
    old: str
    new_number: int | None
    new: str
    gap_before: bool = False


def version_diff(old_text: str, new_text: str, *, context: int | None = None) -> list[DiffRow]:
    """A line diff for a side-by-side view (the template escapes the text)."""
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    groups = matcher.get_grouped_opcodes(context) if context is not None else [matcher.get_opcodes()]
    for group in groups:
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    DiffRow("equal", i + 1, old_lines[i], j + 1, new_lines[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            old_part, new_part = old_lines[i1:i2], new_lines[j1:j2]
            for k in range(max(len(old_part), len(new_part))):
                old = old_part[k] if k < len(old_part) else None
                new = new_part[k] if k < len(new_part) else None
                kind = "replace" if old is not None and new is not None else ("delete" if new is None else "insert")
                rows.append(DiffRow(kind, i1 + k + 1 if old is not None else None, old or "",
                                    j1 + k + 1 if new is not None else None, new or ""))  # fmt: skip
    return _mark_gaps(rows) if context is not None else rows


def _mark_gaps(rows: list[DiffRow]) -> list[DiffRow]:
    """Mark the rows after which-ever unchanged lines the context view left out."""
    from dataclasses import replace

    marked, last_old, last_new = [], 0, 0
    for row in rows:
        gap = (row.old_number is not None and row.old_number != last_old + 1) or (
            row.new_number is not None and row.new_number != last_new + 1
        )
        marked.append(replace(row, gap_before=gap))
        last_old = row.old_number or last_old
        last_new = row.new_number or last_new
    return marked


def version_unified_diff(old: VersionBase, new: VersionBase) -> str:
    return "\n".join(
        difflib.unified_diff(
            old.body.splitlines(), new.body.splitlines(), f"v{old.number}", f"v{new.number}", lineterm=""
        )
    )
