"""Forms of the adoption pages: which library template version a workload uses."""

from __future__ import annotations

from django import forms

from apps.library.models import TemplateVersion

from .forms import NOT_PUBLISHED, published_template_versions, template_version_label


class TemplateVersionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: TemplateVersion) -> str:
        return template_version_label(obj)


class AdoptionForm(forms.Form):
    version = TemplateVersionChoice(
        queryset=published_template_versions(),
        label="Template version",
        empty_label="Choose a template version",
        help_text="Published versions only. Adopting another version of a template the workload uses moves it.",
        error_messages={"invalid_choice": NOT_PUBLISHED, "required": "Choose a template version to adopt."},
    )
    note = forms.CharField(
        required=False,
        max_length=300,
        help_text="Optional: how the workload uses it.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
