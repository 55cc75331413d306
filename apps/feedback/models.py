"""Feedback: threads about guidance, workloads and models; posts; lessons the CoE passes on;
digests. The loop DESIGN.md calls "two-way communication between the CoE and the workload teams"."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import GuidanceArea
from apps.governance.models import Policy, PolicyVersion
from apps.library.models import Template, TemplateVersion
from apps.registry.models import AIModel, Workload


class Subject(models.TextChoices):
    POLICY = "policy", "Policy"
    TEMPLATE = "template", "Template"
    WORKLOAD = "workload", "Workload"
    MODEL = "model", "Model"
    GENERAL = "general", "The CoE in general"


class Thread(models.Model):
    """A conversation a team opens with the CoE about one thing (or about the CoE itself)."""

    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        PROBLEM = "problem", "Problem"
        SUGGESTION = "suggestion", "Suggestion"
        SUCCESS = "success", "Success story"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        PLANNED = "planned", "Planned"
        ADDRESSED = "addressed", "Addressed"
        DECLINED = "declined", "Declined"

    OPEN_STATUSES = (Status.NEW, Status.ACKNOWLEDGED, Status.PLANNED)

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.QUESTION, db_index=True)
    subject = models.CharField(max_length=20, choices=Subject.choices, default=Subject.GENERAL, db_index=True)
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.CASCADE, related_name="threads")
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="threads",
        help_text="The version the feedback is about, if one.",
    )  # fmt: skip
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.CASCADE, related_name="threads")
    template_version = models.ForeignKey(
        TemplateVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="threads"
    )
    workload = models.ForeignKey(Workload, null=True, blank=True, on_delete=models.CASCADE, related_name="threads")
    ai_model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.CASCADE, related_name="threads")
    guidance_area = models.CharField(
        max_length=30, choices=GuidanceArea.choices, blank=True, db_index=True,
        help_text="The policy's or template's area, for triage filters.",
    )  # fmt: skip
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How well the guidance worked for you, 1 (not at all) to 5 (very well)."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_threads",
        help_text="The CoE staff member who looks after it.",
    )  # fmt: skip
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="authored_threads"
    )
    addressed_policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="addressed_threads"
    )
    addressed_template_version = models.ForeignKey(
        TemplateVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="addressed_threads"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True, help_text="First answer or triage by the CoE.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was addressed or declined.")
    followers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="followed_threads")

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="thread_rating_1_to_5"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def about(self):  # type: ignore[no-untyped-def]
        """The object the thread is about, or None for the CoE in general."""
        return {
            Subject.POLICY: self.policy, Subject.TEMPLATE: self.template, Subject.WORKLOAD: self.workload,
            Subject.MODEL: self.ai_model,
        }.get(self.subject)  # fmt: skip

    @property
    def addressed_in(self):  # type: ignore[no-untyped-def]
        return self.addressed_template_version or self.addressed_policy_version


class Post(models.Model):
    """A message in a thread (markdown). A status change by the CoE carries its comment as a post."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(help_text="Markdown.")
    status_from = models.CharField(max_length=20, choices=Thread.Status.choices, blank=True)
    status_to = models.CharField(max_length=20, choices=Thread.Status.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.thread} #{self.pk}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class PostRevision(models.Model):
    """The body a post had before an edit: edits are recorded, never lost."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_at = models.DateTimeField(auto_now_add=True)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-edited_at", "-id"]

    def __str__(self) -> str:
        return f"{self.post} before {self.edited_at:%Y-%m-%d %H:%M}"


class Lesson(models.Model):
    """What the CoE learned from one or more threads, written up and passed on to the teams it
    concerns: every workload that uses the template, model or policy in question, or everyone."""

    class Audience(models.TextChoices):
        CONCERNED = "concerned", "Teams it concerns"
        EVERYONE = "everyone", "Everyone"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.CharField(max_length=300, help_text="One sentence for notifications and the digest.")
    body = models.TextField(help_text="Markdown.")
    threads = models.ManyToManyField(Thread, blank=True, related_name="lessons")
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="lessons")
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="lessons")
    ai_model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="lessons")
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.CONCERNED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-published_at", "-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class LessonDelivery(models.Model):
    """A lesson given to a person at publication: their notification and their digest's entry."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_deliveries")
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lesson", "user"], name="lessondelivery_once")]

    def __str__(self) -> str:
        return f"{self.lesson} → {self.user}"


class DigestPreference(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        NEVER = "never", "Never (opted out)"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_preference")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)

    def __str__(self) -> str:
        return f"{self.user}: {self.frequency}"


class DigestSent(models.Model):
    """One row per person and period: a digest period is sent once, however often the task runs."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10, choices=DigestPreference.Frequency.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "frequency", "period_start"], name="digestsent_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.frequency} {self.period_start:%Y-%m-%d}"
