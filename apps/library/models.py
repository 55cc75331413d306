from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import GuidanceArea, Tag, TimeStampedModel, VersionBase


class Template(TimeStampedModel):
    """A reusable piece of CoE guidance that workloads adopt, in versions."""

    class Kind(models.TextChoices):
        PROMPT = "prompt", "Prompt template"
        BLUEPRINT = "blueprint", "Architecture blueprint"
        RUNBOOK = "runbook", "Runbook"
        RUBRIC = "rubric", "Evaluation rubric"
        CHECKLIST = "checklist", "Checklist"
        TRAINING = "training", "Training material"

    title = models.CharField(max_length=160)
    slug = models.SlugField(max_length=160, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    category = models.CharField(max_length=30, choices=GuidanceArea.choices, db_index=True)
    summary = models.TextField(help_text="One or two sentences: what it is for and when to use it.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="templates")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_templates",
        help_text="The CoE staff member who looks after it.",
    )  # fmt: skip

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TemplateVersion(VersionBase):
    DOCUMENT_FIELD = "template"

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    variables = models.JSONField(
        default=list, blank=True,
        help_text="Prompt templates: the names the body uses as {{ name }}, e.g. [\"claim_text\", \"policy\"].",
    )  # fmt: skip

    class Meta(VersionBase.Meta):
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="templateversion_unique_number"),
            models.UniqueConstraint(
                fields=["template"], condition=Q(is_current=True), name="templateversion_one_current"
            ),
        ]
