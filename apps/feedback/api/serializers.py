"""The feedback API's shapes: threads, posts, lessons and the metrics the dashboards read."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.models import GuidanceArea
from apps.feedback.models import Lesson, Post, Subject, Thread
from apps.feedback.services import edit_window

NOT_WRITABLE = "Not a field of this request."


def _refuse_unknown(serializer: serializers.Serializer, data: Any) -> dict[str, Any]:
    """``to_internal_value`` that names every field the input does not take, beside the usual errors."""
    unknown = sorted(set(data) - set(serializer.fields)) if isinstance(data, dict) else []
    errors: dict[str, Any] = {name: [NOT_WRITABLE] for name in unknown}
    value: dict[str, Any] = {}
    try:
        value = serializers.Serializer.to_internal_value(serializer, data)
    except serializers.ValidationError as exc:
        errors.update(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
    if errors:
        raise serializers.ValidationError(errors)
    return value


class _Strict(serializers.Serializer):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return _refuse_unknown(self, data)


# --- Threads -----------------------------------------------------------------------------------


class AddressedInOutput(serializers.Serializer):
    template = serializers.SlugField(allow_null=True, help_text="The template, if a template version took it in.")
    policy = serializers.SlugField(allow_null=True, help_text="The policy, if a policy version took it in.")
    version = serializers.CharField()


class ThreadOutput(serializers.ModelSerializer):
    """A thread as listed and as shown; the views annotate post_count, follower_count and following."""

    template = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    template_version = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    policy = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    policy_version = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    workload = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    model = serializers.SlugRelatedField(source="ai_model", slug_field="slug", read_only=True, allow_null=True)
    about = serializers.SerializerMethodField(help_text="What the thread is about, in words; null for the CoE.")
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True, help_text="New, acknowledged or planned.")
    addressed_in = serializers.SerializerMethodField(help_text="The guidance version that took the feedback in.")
    post_count = serializers.IntegerField(read_only=True)
    follower_count = serializers.IntegerField(read_only=True)
    following = serializers.BooleanField(read_only=True, help_text="Whether you follow it.")

    class Meta:
        model = Thread
        fields = [
            "id", "title", "kind", "subject", "about", "template", "template_version", "policy", "policy_version",
            "workload", "model", "guidance_area", "rating", "status", "is_open", "owner", "author", "addressed_in",
            "post_count", "follower_count", "following", "created_at", "last_activity_at", "first_response_at",
            "closed_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_about(self, obj: Thread) -> str | None:
        about = obj.about
        return str(about) if about is not None else None

    @extend_schema_field(AddressedInOutput(allow_null=True))
    def get_addressed_in(self, obj: Thread) -> dict[str, Any] | None:
        if obj.addressed_template_version is not None:
            version = obj.addressed_template_version
            return {"template": version.template.slug, "policy": None, "version": version.number}
        if obj.addressed_policy_version is not None:
            version = obj.addressed_policy_version
            return {"template": None, "policy": version.policy.slug, "version": version.number}
        return None


class ThreadFilterInput(serializers.Serializer):
    """Query parameters of the thread list."""

    status = serializers.ChoiceField(
        choices=[*Thread.Status.choices, ("open", "Open: new, acknowledged or planned")], required=False
    )
    kind = serializers.ChoiceField(choices=Thread.Kind.choices, required=False)
    subject = serializers.ChoiceField(choices=Subject.choices, required=False)
    guidance_area = serializers.ChoiceField(choices=GuidanceArea.choices, required=False)
    template = serializers.SlugField(required=False, help_text="Template slug.")
    policy = serializers.SlugField(required=False, help_text="Policy slug.")
    workload = serializers.SlugField(required=False, help_text="Workload slug.")
    model = serializers.SlugField(required=False, help_text="Catalogue model slug.")
    owner = serializers.CharField(required=False, help_text="The owner's username, or none for unassigned.")
    mine = serializers.BooleanField(required=False, help_text="Only threads I opened or follow.")
    older_than_days = serializers.IntegerField(
        required=False, min_value=0, max_value=3650, help_text="Only threads opened more than this many days ago."
    )
    q = serializers.CharField(required=False, help_text="Search titles and posts.")
    ordering = serializers.ChoiceField(
        choices=["activity", "newest", "oldest", "waiting"], required=False,
        help_text="activity (default): latest activity first; newest or oldest by opening; waiting: open threads "
        "first, longest waiting first (the triage order).",
    )  # fmt: skip


class ThreadCreateInput(_Strict):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20_000, help_text="The first post, in markdown.")
    kind = serializers.ChoiceField(choices=Thread.Kind.choices, default=Thread.Kind.QUESTION)
    rating = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True,
        help_text="Policies and templates only: how well the guidance worked for you, 1 (not at all) to 5.",
    )  # fmt: skip
    template = serializers.SlugField(required=False, help_text="A template's slug, if the thread is about one.")
    policy = serializers.SlugField(required=False, help_text="A policy's slug, if the thread is about one.")
    version = serializers.CharField(
        max_length=20, required=False, help_text="With template or policy: the published version, e.g. 1.2.0."
    )
    workload = serializers.SlugField(required=False, help_text="One of your team's workloads.")
    model = serializers.SlugField(required=False, help_text="A catalogue model's slug.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = [name for name in ("template", "policy", "workload", "model") if attrs.get(name)]
        if len(named) > 1:
            message = "A thread is about one thing: give one of template, policy, workload or model."
            raise serializers.ValidationError({key: [message] for key in named})
        if attrs.get("version") and not (attrs.get("template") or attrs.get("policy")):
            raise serializers.ValidationError({"version": ["A version goes with a template or a policy."]})
        return attrs


class AddressedInInput(_Strict):
    template = serializers.SlugField(required=False)
    policy = serializers.SlugField(required=False)
    version = serializers.CharField(max_length=20, help_text="The published version, e.g. 1.3.0.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("template")) == bool(attrs.get("policy")):
            raise serializers.ValidationError({"template": ["Give a template or a policy (one of them)."]})
        return attrs


class ThreadTriageInput(_Strict):
    status = serializers.ChoiceField(choices=Thread.Status.choices, required=False)
    owner = serializers.CharField(
        required=False, allow_null=True, help_text="A CoE staff member's username; null to leave it unassigned."
    )
    comment = serializers.CharField(
        max_length=20_000, required=False, allow_blank=True, default="",
        help_text="Posted to the thread. Required to decline.",
    )  # fmt: skip
    addressed_in = AddressedInInput(required=False, help_text="The policy or template version that took it in.")


# --- Posts -------------------------------------------------------------------------------------


class PostOutput(serializers.ModelSerializer):
    """A post. A hidden post keeps its place: CoE staff read its body and why it was hidden; everyone
    else gets ``hidden: true`` and an empty body. Serialised with ``context={"user": ...}``."""

    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    author_name = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField(help_text="Markdown; empty when hidden, except for CoE staff.")
    hidden = serializers.BooleanField(source="is_hidden", read_only=True)
    hidden_reason = serializers.SerializerMethodField(help_text="CoE staff only.")
    editable = serializers.SerializerMethodField(help_text="Whether you may edit it now.")
    editable_until = serializers.SerializerMethodField(help_text="When the author's edit window closes.")

    class Meta:
        model = Post
        fields = [
            "id", "author", "author_name", "body", "status_from", "status_to", "created_at", "edited_at", "hidden",
            "hidden_at", "hidden_reason", "editable", "editable_until",
        ]  # fmt: skip
        read_only_fields = fields

    def _is_coe(self) -> bool:
        user = self.context.get("user")
        return bool(user is not None and user.is_authenticated and user.is_coe_staff)

    def get_author_name(self, obj: Post) -> str:
        return obj.author.display_name if obj.author else ""

    def get_body(self, obj: Post) -> str:
        return "" if obj.is_hidden and not self._is_coe() else obj.body

    def get_hidden_reason(self, obj: Post) -> str | None:
        return obj.hidden_reason if obj.is_hidden and self._is_coe() else None

    @extend_schema_field(serializers.DateTimeField())
    def get_editable_until(self, obj: Post) -> Any:
        return serializers.DateTimeField().to_representation(obj.created_at + edit_window())

    def get_editable(self, obj: Post) -> bool:
        user = self.context.get("user")
        return bool(
            user is not None and obj.author_id == user.pk and not obj.is_hidden
            and timezone.now() - obj.created_at <= edit_window()
        )  # fmt: skip


class PostCreateInput(_Strict):
    body = serializers.CharField(max_length=20_000, help_text="Markdown.")


class PostEditInput(_Strict):
    body = serializers.CharField(
        max_length=20_000,
        help_text=f"Markdown. The author edits for {settings.FEEDBACK_EDIT_WINDOW_MINUTES} minutes after posting; "
        "the earlier body is kept.",
    )


class PostHideInput(_Strict):
    reason = serializers.CharField(max_length=300, help_text="Why it is hidden (kept in the audit trail).")


# --- Lessons -----------------------------------------------------------------------------------


class LessonOutput(serializers.ModelSerializer):
    template = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    policy = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    model = serializers.SlugRelatedField(source="ai_model", slug_field="slug", read_only=True, allow_null=True)
    threads = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Thread ids.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_published = serializers.BooleanField(read_only=True)
    recipients = serializers.IntegerField(source="delivery_count", read_only=True,
                                          help_text="How many people it was delivered to.")  # fmt: skip

    class Meta:
        model = Lesson
        fields = [
            "slug", "title", "summary", "body", "audience", "template", "policy", "model", "threads", "is_published",
            "created_at", "created_by", "published_at", "published_by", "recipients",
        ]  # fmt: skip
        read_only_fields = fields


class LessonFilterInput(serializers.Serializer):
    """Query parameters of the lesson list."""

    template = serializers.SlugField(required=False, help_text="Template slug.")
    policy = serializers.SlugField(required=False, help_text="Policy slug.")
    model = serializers.SlugField(required=False, help_text="Catalogue model slug.")
    published = serializers.BooleanField(required=False, allow_null=True, default=None,
                                         help_text="CoE staff: false for drafts only.")  # fmt: skip
    q = serializers.CharField(required=False, help_text="Search title, summary and body.")


class LessonCreateInput(_Strict):
    title = serializers.CharField(max_length=200, help_text="The slug is made from it.")
    summary = serializers.CharField(max_length=300, help_text="One sentence for notifications and the digest.")
    body = serializers.CharField(max_length=50_000, help_text="Markdown.")
    audience = serializers.ChoiceField(choices=Lesson.Audience.choices, default=Lesson.Audience.CONCERNED)
    # An id past a 64-bit integer is no thread: 400, not the database's overflow (500).
    threads = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=100,
        required=False,
        default=list,
        help_text="Ids of the threads it draws on.",
    )
    template = serializers.SlugField(required=False, help_text="The template it concerns.")
    policy = serializers.SlugField(required=False, help_text="The policy it concerns.")
    model = serializers.SlugField(required=False, help_text="The catalogue model it concerns.")


# --- Metrics -----------------------------------------------------------------------------------


class MetricsFilterInput(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="Threads opened from this day, YYYY-MM-DD.")
    end = serializers.DateField(required=False, help_text="Threads opened up to this day (inclusive).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"end": ["The end comes before the start."]})
        return attrs


class ResponseTimesOutput(serializers.Serializer):
    threads = serializers.IntegerField(help_text="Threads opened in the period.")
    answered = serializers.IntegerField(help_text="Of those, answered or triaged by the CoE.")
    closed = serializers.IntegerField(help_text="Of those, addressed or declined.")
    median_first_response_hours = serializers.FloatField(allow_null=True)
    median_time_to_addressed_hours = serializers.FloatField(allow_null=True)


class GuidanceItemOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[Subject.TEMPLATE, Subject.POLICY])
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    threads = serializers.IntegerField()
    open = serializers.IntegerField()
    ratings = serializers.IntegerField(help_text="Threads that rated it.")
    average_rating = serializers.FloatField(allow_null=True, help_text="1 (not at all) to 5 (very well).")


class MetricsOutput(serializers.Serializer):
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    response_times = ResponseTimesOutput()
    per_guidance_item = GuidanceItemOutput(many=True)
