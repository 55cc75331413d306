"""Forms of the library's pages. They parse and validate input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from apps.accounts.models import User
from apps.accounts.roles import COE_STAFF
from apps.core.models import GuidanceArea, Tag

from .models import Template, TemplateVersion


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _any(label: str, choices: Any) -> list[tuple[str, str]]:
    return [("", label), *choices]


# --- The library home ------------------------------------------------------------------------


class TemplateFilterForm(forms.Form):
    ORDERINGS = [("title", "Title, A–Z"), ("updated", "Recently updated")]

    q = forms.CharField(
        required=False,
        label="Search",
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Title, summary or text of the current version"}),
    )
    kind = forms.ChoiceField(choices=_any("All kinds", Template.Kind.choices), required=False)
    category = forms.ChoiceField(choices=_any("All categories", GuidanceArea.choices), required=False)
    tag = forms.ChoiceField(required=False)
    ordering = forms.ChoiceField(choices=ORDERINGS, required=False, label="Sort by")

    FILTERS = ("q", "kind", "category", "tag")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tags = Tag.objects.filter(templates__isnull=False).distinct().order_by("name").values_list("name", flat=True)
        self.fields["tag"].choices = _any("All tags", [(name, name) for name in tags])

    def filters(self) -> dict[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters = {name: (data.get(name) or "").strip() for name in self.FILTERS}
        filters["ordering"] = data.get("ordering") or "title"
        return filters

    def has_filters(self) -> bool:
        filters = self.filters()
        return any(filters[name] for name in self.FILTERS)


# --- Templates --------------------------------------------------------------------------------


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


def coe_staff_users(also: User | None = None) -> QuerySet[User]:
    """CoE staff who may look after a template (and the present owner, should they have left)."""
    query = Q(groups__name=COE_STAFF, is_active=True)
    if also is not None:
        query |= Q(pk=also.pk)
    return User.objects.filter(query).distinct().order_by("first_name", "last_name", "username")


class TemplateForm(forms.Form):
    title = forms.CharField(max_length=160)
    kind = forms.ChoiceField(choices=Template.Kind.choices)
    category = forms.ChoiceField(choices=GuidanceArea.choices, help_text="The area of CoE guidance it belongs to.")
    summary = forms.CharField(
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or two sentences: what it is for and when to use it.",
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. claims, summarisation.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    owner = OwnerChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Me",
        help_text="The CoE staff member who looks after it.",
    )

    def __init__(self, *args: Any, owner: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = coe_staff_users(also=owner)

    @classmethod
    def initial_for(cls, template: Template) -> dict[str, Any]:
        return {
            "title": template.title,
            "kind": template.kind,
            "category": template.category,
            "summary": template.summary,
            "tags": ", ".join(tag.name for tag in template.tags.all()),
            "owner": template.owner_id,
        }

    def clean_tags(self) -> list[str]:
        tags = _split(self.cleaned_data.get("tags") or "")
        if len(tags) > 30:
            raise forms.ValidationError("Give 30 tags at most.")
        return tags

    def service_kwargs(self, *, actor: User) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["owner"] = data.get("owner") or actor
        return data


class TemplateCreateForm(TemplateForm):
    slug = forms.SlugField(
        required=False,
        max_length=160,
        label="Address",
        help_text="The last part of its web address. Leave blank to make one from the title.",
    )

    field_order = ["title", "slug"]


# --- Versions --------------------------------------------------------------------------------


VARIABLES_HELP = (
    "Prompt templates: the names the body uses as {{ name }} placeholders, comma-separated, e.g. "
    "claim_text, policy. Letters, digits and _. Publishing is refused while the body uses a name "
    "not declared here, or a declared name is never used."
)


class VersionForm(forms.Form):
    number = forms.CharField(
        max_length=20,
        help_text="Semantic version: MAJOR.MINOR.PATCH, higher than every number used before.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 12}),
    )
    body = forms.CharField(
        required=False,
        max_length=200_000,
        strip=False,
        help_text="Markdown.",
        widget=forms.Textarea(attrs={"rows": 18, "class": "code", "spellcheck": "false"}),
    )
    changelog = forms.CharField(
        required=False,
        max_length=20_000,
        help_text="What changed since the previous version, and why. Adopters read it when they upgrade.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    variables = forms.CharField(
        required=False,
        max_length=2_000,
        help_text=VARIABLES_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(
        self, *args: Any, template: Template, with_number: bool = True, preview_url: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if preview_url:  # a live preview of the markdown as it is typed
            self.fields["body"].widget.attrs.update(
                {
                    "hx-post": preview_url,
                    "hx-trigger": "keyup changed delay:500ms",
                    "hx-target": "#preview",
                    "aria-controls": "preview",
                }
            )
        if not with_number:
            del self.fields["number"]
        else:  # the page lists the suggested next numbers under the field
            self.fields["number"].widget.attrs["aria-describedby"] = "id_number_helptext number-hints"
        if template.kind != Template.Kind.PROMPT:
            del self.fields["variables"]

    @classmethod
    def initial_for(cls, version: TemplateVersion | None, *, with_changelog: bool) -> dict[str, Any]:
        if version is None:
            return {}
        initial = {"body": version.body, "variables": ", ".join(version.variables or [])}
        if with_changelog:
            initial["changelog"] = version.changelog
        return initial

    def clean_variables(self) -> list[str]:
        return _split(self.cleaned_data.get("variables") or "")

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class TryForm(forms.Form):
    """One text field per variable the prompt declares. Empty values are reported, not refused."""

    def __init__(self, *args: Any, variables: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in variables:
            self.fields[name] = forms.CharField(
                required=False,
                max_length=20_000,
                strip=False,
                label=name,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
