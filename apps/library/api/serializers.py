from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.core.models import GuidanceArea
from apps.library import selectors
from apps.library.models import Template, TemplateVersion

# --- Templates -----------------------------------------------------------------------------


class TemplateVersionSummaryOutput(serializers.ModelSerializer):
    class Meta:
        model = TemplateVersion
        fields = ["number", "published_at", "changelog"]
        read_only_fields = fields


class TemplateOutput(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    current_version = serializers.SerializerMethodField(help_text="The published version teams should use.")

    class Meta:
        model = Template
        fields = [
            "slug", "title", "kind", "category", "summary", "tags", "owner", "current_version", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(TemplateVersionSummaryOutput(allow_null=True))
    def get_current_version(self, obj: Template) -> dict[str, Any] | None:
        # template_list prefetches it as ``current_versions``
        current = obj.current_versions[0] if getattr(obj, "current_versions", None) else None
        if current is None and not hasattr(obj, "current_versions"):
            current = selectors.version_current(template=obj)
        return TemplateVersionSummaryOutput(current).data if current else None


class TemplateUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=160)
    kind = serializers.ChoiceField(choices=Template.Kind.choices)
    category = serializers.ChoiceField(choices=GuidanceArea.choices)
    summary = serializers.CharField(max_length=2_000)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=30)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), allow_null=True,
        help_text="Username of the CoE staff member who looks after it.",
    )  # fmt: skip


class TemplateCreateInput(TemplateUpdateInput):
    slug = serializers.SlugField(
        max_length=160, required=False, allow_blank=True, help_text="From the title if not given."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("tags", "owner"):
            self.fields[name].required = False


class TemplateFilterInput(serializers.Serializer):
    """Query parameters of the template list."""

    q = serializers.CharField(required=False, help_text="Search title, summary and the current version's body.")
    kind = serializers.ChoiceField(choices=Template.Kind.choices, required=False)
    category = serializers.ChoiceField(choices=GuidanceArea.choices, required=False)
    tag = serializers.SlugField(required=False)
    ordering = serializers.ChoiceField(
        choices=["title", "updated"], required=False, help_text="title (default) or updated: most recent first."
    )


# --- Versions ------------------------------------------------------------------------------


class TemplateVersionOutput(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    variables = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Prompt templates: the names the body uses."
    )

    class Meta:
        model = TemplateVersion
        fields = [
            "number", "state", "is_current", "body", "changelog", "variables", "created_at", "published_at",
            "published_by", "deprecated_at",
        ]  # fmt: skip
        read_only_fields = fields


class TemplateVersionUpdateInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, max_length=200_000, help_text="Markdown.")
    changelog = serializers.CharField(allow_blank=True, max_length=20_000)
    variables = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=100,
        help_text="Prompt templates: the names the body uses as {{ name }}.",
    )  # fmt: skip


class TemplateVersionCreateInput(TemplateVersionUpdateInput):
    number = serializers.CharField(max_length=20, help_text="Semantic version above every earlier one, e.g. 1.1.0.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("body", "changelog", "variables"):
            self.fields[name].required = False


class TemplateTryInput(serializers.Serializer):
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=100_000), required=False, default=dict,
        help_text="A value for each variable, by name.",
    )  # fmt: skip


class TemplateTryOutput(serializers.Serializer):
    text = serializers.CharField(help_text="The body with the values filled in (no model is called).")
    missing = serializers.ListField(child=serializers.CharField(), help_text="Variables given no value.")
    unknown = serializers.ListField(child=serializers.CharField(), help_text="Names that are not declared.")
    ok = serializers.BooleanField(help_text="Nothing missing and nothing unknown.")


# "from" is a keyword, so these two are built with type().
TemplateDiffInput = type(
    "TemplateDiffInput",
    (serializers.Serializer,),
    {
        "__doc__": "Query parameters of the diff.",
        "from": serializers.CharField(required=False, help_text="Version number; defaults to the version before `to`."),
        "to": serializers.CharField(required=False, help_text="Version number; defaults to the current version."),
    },
)

TemplateDiffOutput = type(
    "TemplateDiffOutput",
    (serializers.Serializer,),
    {
        "from": serializers.CharField(),
        "to": serializers.CharField(),
        "unified": serializers.CharField(help_text="A unified diff of the two bodies."),
    },
)
