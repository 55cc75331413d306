from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEventImmutableError(Exception):
    """Raised on any attempt to change or delete an entry of the audit trail."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk changes are refused too. (Django's own SET_NULL, when an actor or a content type is
    deleted, goes through the base manager and still clears the foreign key: ``actor_repr`` keeps
    the name.)"""

    def update(self, **kwargs: Any) -> int:
        raise AuditEventImmutableError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutableError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """Who did what to what, and when. Written by services; never edited or deleted: ``save()``
    of an existing row and ``delete()`` raise ``AuditEventImmutableError``."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    # Kept as text too, so the trail still reads after the actor is deleted.
    actor_repr = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True, help_text="e.g. token.create")
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_repr or 'system'} {self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditEventImmutableError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutableError("Audit events cannot be deleted.")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Markdown.")
    url = models.CharField(max_length=500, blank=True, help_text="Where the notification leads.")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Heartbeat(models.Model):
    """The last time a process proved it was alive (the worker, through a beat task)."""

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Tag(models.Model):
    """A label shared by every app (workloads, templates, policies)."""

    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GuidanceArea(models.TextChoices):
    """The four areas of the CoE's guidance: the categories of policies and templates."""

    SECURITY_GOVERNANCE = "security_governance", "Security and governance"
    INFRASTRUCTURE = "infrastructure", "Infrastructure management"
    COST = "cost", "Cost management"
    MONITORING = "monitoring", "Monitoring and optimisation"


class VersionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    DEPRECATED = "deprecated", "Deprecated"


class VersionBase(models.Model):
    """A version of a versioned document: a template in the library, a policy in governance.

    One mechanism for both (apps/core/versioning.py): semantic version numbers, states
    draft → in review → published → deprecated, one current published version per document,
    a changelog, a markdown body, diffs. A subclass adds its ``ForeignKey`` to the document and
    names it in ``DOCUMENT_FIELD``; it declares the two constraints (unique number, one current).
    """

    DOCUMENT_FIELD = "document"

    number = models.CharField(max_length=20, help_text="Semantic version: MAJOR.MINOR.PATCH, e.g. 1.2.0.")
    major = models.PositiveIntegerField(editable=False, default=0)
    minor = models.PositiveIntegerField(editable=False, default=0)
    patch = models.PositiveIntegerField(editable=False, default=0)
    state = models.CharField(max_length=20, choices=VersionState.choices, default=VersionState.DRAFT, db_index=True)
    is_current = models.BooleanField(default=False, help_text="The published version teams should use.")
    body = models.TextField(blank=True, help_text="Markdown.")
    changelog = models.TextField(blank=True, help_text="What changed since the previous version, and why.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deprecated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-major", "-minor", "-patch"]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"

    @property
    def document(self) -> models.Model:
        return getattr(self, self.DOCUMENT_FIELD)

    @property
    def is_editable(self) -> bool:
        return self.state in {VersionState.DRAFT, VersionState.IN_REVIEW}

    @property
    def is_readable_by_all(self) -> bool:
        """Published and deprecated versions are guidance everyone reads; drafts are the CoE's."""
        return self.state in {VersionState.PUBLISHED, VersionState.DEPRECATED}
