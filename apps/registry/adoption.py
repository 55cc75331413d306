"""Which workloads use which library template versions, and moving them to the current one.

A workload adopts a template version in one of two ways: its live release is built on it
(``Release.template_versions``: prompt templates), or it adopts it explicitly (``Adoption``:
runbooks, blueprints, rubrics…). The registry owns both, because it sits above the library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.db.models import CharField, QuerySet, Value
from django.http import HttpRequest
from django.urls import reverse

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.core.services import audit_record, notification_send
from apps.library.models import Template, TemplateVersion

from .models import Adoption, LifecycleStage, Release, Workload

USABLE_STATES = (VersionState.PUBLISHED,)


@dataclass(frozen=True)
class Adopter:
    workload: Workload
    version: TemplateVersion
    via: Literal["release", "explicit"]

    @property
    def is_behind(self) -> bool:
        return not self.version.is_current


def check_usable(versions: list[TemplateVersion]) -> None:
    """A release or adoption may name published versions only, one per template."""
    problems = [
        f"{v.template.title} v{v.number} is {v.get_state_display().lower()}; use a published version."
        for v in versions
        if v.state not in USABLE_STATES
    ]
    seen: dict[int, str] = {}
    for v in versions:
        if v.template_id in seen:
            problems.append(f"{v.template.title} appears twice (v{seen[v.template_id]} and v{v.number}).")
        seen[v.template_id] = v.number
    if problems:
        raise ApplicationError(" ".join(problems), field_errors={"template_versions": problems})


# --- Reads ---------------------------------------------------------------------------------


def adopter_list(*, template: Template) -> list[Adopter]:
    """Every workload that uses the template (not retired), with the version it uses. A live
    release speaks for the workload over an explicit adoption."""
    found: dict[int, Adopter] = {}
    explicit = (
        Adoption.objects.filter(template=template)
        .exclude(workload__lifecycle_stage=LifecycleStage.RETIRED)
        .select_related("workload__team", "version")
    )
    for adoption in explicit:
        found[adoption.workload_id] = Adopter(adoption.workload, adoption.version, "explicit")
    live = (
        Release.template_versions.through.objects.filter(
            templateversion__template=template, release__status=Release.Status.LIVE
        )
        .exclude(release__workload__lifecycle_stage=LifecycleStage.RETIRED)
        .select_related("release__workload__team", "templateversion")
    )
    for row in live:
        found[row.release.workload_id] = Adopter(row.release.workload, row.templateversion, "release")
    return sorted(found.values(), key=lambda a: (a.workload.name.lower(), a.workload.pk))


def adopter_counts(*, template_ids: list[int] | None = None) -> dict[int, int]:
    """template id → number of adopting workloads (explicit or through a live release)."""
    pairs: set[tuple[int, int]] = set()
    explicit = Adoption.objects.exclude(workload__lifecycle_stage=LifecycleStage.RETIRED)
    live = Release.template_versions.through.objects.filter(release__status=Release.Status.LIVE).exclude(
        release__workload__lifecycle_stage=LifecycleStage.RETIRED
    )
    if template_ids is not None:
        explicit = explicit.filter(template_id__in=template_ids)
        live = live.filter(templateversion__template_id__in=template_ids)
    pairs |= set(explicit.values_list("template_id", "workload_id"))
    pairs |= set(live.values_list("templateversion__template_id", "release__workload_id"))
    counts: dict[int, int] = {}
    for template_id, _ in pairs:
        counts[template_id] = counts.get(template_id, 0) + 1
    return counts


def adopters_of(*, workloads: QuerySet[Workload] | Iterable[Workload]) -> list[Adopter]:
    """Every template use of the given workloads (retired ones left out): the bulk form of
    ``adopter_list`` and ``workload_adoptions`` (dashboards). A live release speaks for the workload
    over an explicit adoption of the same template. ``workloads`` is a query (read here, with their
    teams: three queries) or the workloads themselves, their teams loaded (two queries: the explicit
    and the live-release uses together, then the versions they name, each read once however many
    workloads use it)."""
    if isinstance(workloads, QuerySet):
        workloads = workloads.exclude(lifecycle_stage=LifecycleStage.RETIRED).select_related("team")
    by_id = {w.pk: w for w in workloads if w.lifecycle_stage != LifecycleStage.RETIRED}
    if not by_id:
        return []
    ids = list(by_id)
    explicit = (
        Adoption.objects.filter(workload_id__in=ids)
        .order_by()
        .values_list("workload_id", "template_id", "version_id", Value("explicit", output_field=CharField()))
    )
    live = (
        Release.template_versions.through.objects.filter(release__status=Release.Status.LIVE,
                                                         release__workload_id__in=ids)
        .order_by()
        .values_list("release__workload_id", "templateversion__template_id", "templateversion_id",
                     Value("release", output_field=CharField()))
    )  # fmt: skip
    uses: dict[tuple[int, int], tuple[int, Literal["release", "explicit"]]] = {}
    for workload_id, template_id, version_id, via in explicit.union(live, all=True):
        if via == "release" or (workload_id, template_id) not in uses:
            uses[(workload_id, template_id)] = (version_id, via)
    versions = TemplateVersion.objects.select_related("template").in_bulk({v for v, _ in uses.values()})
    found = [Adopter(by_id[w], versions[v], via) for (w, _), (v, via) in uses.items()]
    return sorted(found, key=lambda a: (a.version.template.title.lower(), a.workload.name.lower(), a.workload.pk))


def most_adopted(*, limit: int = 5) -> list[tuple[Template, int]]:
    counts = adopter_counts()
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    templates = Template.objects.in_bulk([template_id for template_id, _ in top])
    return [(templates[template_id], count) for template_id, count in top if template_id in templates]


def workload_adoptions(*, workload: Workload) -> list[Adopter]:
    """The templates a workload uses, through its live release and explicitly."""
    found: dict[int, Adopter] = {
        a.template_id: Adopter(workload, a.version, "explicit")
        for a in workload.adoptions.select_related("version__template")
    }
    live = Release.objects.filter(workload=workload, status=Release.Status.LIVE).first()  # as stored now
    if live is not None:
        for version in live.template_versions.select_related("template"):
            found[version.template_id] = Adopter(workload, version, "release")
    return sorted(found.values(), key=lambda a: a.version.template.title.lower())


# --- Writes --------------------------------------------------------------------------------


@transaction.atomic
def adoption_set(
    *, actor: User | None, workload: Workload, version: TemplateVersion, note: str = "",
    request: HttpRequest | None = None,
) -> Adoption:  # fmt: skip
    """Adopt a published version explicitly, or move an existing adoption to it."""
    if workload.is_retired:
        raise ApplicationError("A retired workload adopts nothing.")
    version = TemplateVersion.objects.select_related("template").get(pk=version.pk)  # its state now
    check_usable([version])
    adoption, created = Adoption.objects.select_for_update().get_or_create(
        workload=workload, template=version.template, defaults={"version": version, "note": note, "adopted_by": actor}
    )
    before = None if created else adoption.version.number
    if not created:
        adoption.version, adoption.adopted_by = version, actor
        if note:
            adoption.note = note
        adoption.save()
    audit_record(actor=actor, action="adoption.set", target=workload,
                 changes={"template": version.template.slug, "version": [before, version.number]},
                 request=request)  # fmt: skip
    return adoption


@transaction.atomic
def adoption_remove(*, actor: User | None, adoption: Adoption, request: HttpRequest | None = None) -> None:
    audit_record(actor=actor, action="adoption.remove", target=adoption.workload,
                 changes={"template": adoption.template.slug, "version": adoption.version.number},
                 request=request)  # fmt: skip
    adoption.delete()


def _next_version_label(workload: Workload) -> str:
    """A free label after the workload's latest release: 1.4.0 → 1.4.1, else '<label>-1'."""
    labels = set(workload.releases.values_list("version", flat=True))
    latest = workload.releases.order_by("-created_at", "-id").first()
    base = latest.version if latest else "0.0.0"
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", base)
    n = 1
    while True:
        label = f"{match[1]}.{match[2]}.{int(match[3]) + n}" if match else f"{base}-{n}"
        if label not in labels:
            return label
        n += 1


@transaction.atomic
def template_upgrade(
    *, actor: User | None, workload: Workload, template: Template, request: HttpRequest | None = None
) -> Adoption | Release:
    """One step to the template's current version: an explicit adoption moves to it; a workload
    whose live release uses an older version gets a new draft release, a copy of the live one
    with the new version, ready to promote."""
    from . import services  # services imports nothing from here; keep the module graph simple

    current = template.versions.filter(is_current=True).first()
    if current is None:
        raise ApplicationError(f"{template.title} has no current version to upgrade to.")
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    live = workload.live_release
    live_version = live.template_versions.filter(template=template).first() if live else None
    if live_version is not None:
        if live_version.pk == current.pk:
            raise ApplicationError(f"{workload.name}'s live release already uses {template.title} v{current.number}.")
        versions = [v for v in live.template_versions.all() if v.template_id != template.pk] + [current]
        return services.release_create(
            actor=actor, workload=workload, version=_next_version_label(workload),
            ai_models=list(live.ai_models.all()), config=live.config, template_versions=versions,
            changelog=f"Upgrades {template.title} from v{live_version.number} to v{current.number}.\n\n"
            f"{current.changelog}".strip(),
            request=request,
        )  # fmt: skip
    adoption = workload.adoptions.filter(template=template).first()
    if adoption is None:
        raise ApplicationError(f"{workload.name} does not use {template.title}.")
    if adoption.version_id == current.pk:
        raise ApplicationError(f"{workload.name} already uses {template.title} v{current.number}.")
    return adoption_set(actor=actor, workload=workload, version=current, request=request)


def notify_adopters(version: TemplateVersion, previous: TemplateVersion | None) -> None:
    """Publish hook (registered in apps.py): tell each adopting team, per workload, that a new
    version is out, with its changelog and a link to upgrade in one step."""
    template = version.template
    for adopter in adopter_list(template=template):
        if adopter.version.pk == version.pk:
            continue
        members = User.objects.filter(memberships__team=adopter.workload.team, is_active=True)
        notification_send(
            recipients=members,
            title=f"{template.title} v{version.number} is published",
            body=(
                f"**{adopter.workload.name}** uses v{adopter.version.number}"
                f"{' through its live release' if adopter.via == 'release' else ''}.\n\n"
                f"What changed in v{version.number}:\n\n{version.changelog or '(no changelog)'}"
            ),
            url=reverse("registry:template-upgrade", args=[adopter.workload.slug, template.slug]),
        )
