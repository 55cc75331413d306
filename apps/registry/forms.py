"""Forms of the registry's pages. They parse and validate input; the services decide."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Team
from apps.core.models import VersionState
from apps.library.models import TemplateVersion

from .models import AIModel, DataClassification, LifecycleStage, RiskTier, UseCaseCategory, Workload

PROVIDER = re.compile(r"[a-z0-9][a-z0-9._-]*")
DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _datetime_local(**attrs: Any) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format="%Y-%m-%dT%H:%M")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Model fields to form fields; links typed without a scheme are taken as https."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


def _any(label: str, choices: Any) -> list[tuple[str, str]]:
    return [("", label), *choices]


class GroupedFieldsMixin:
    """Fields shown in named groups (``<fieldset>``s): ``fieldsets = [(legend, help, [names])]``."""

    fieldsets: list[tuple[str, str, list[str]]] = []
    in_columns: frozenset[str] = frozenset()  # legends of groups laid out in columns

    def grouped(self) -> list[dict[str, Any]]:
        groups = []
        for legend, help_text, names in self.fieldsets:
            fields = [self[name] for name in names if name in self.fields]  # type: ignore[attr-defined,index]
            if fields:
                slug = legend.lower().replace(" ", "-")
                groups.append(
                    {
                        "legend": legend,
                        "help": help_text,
                        "fields": fields,
                        "id": f"group-{slug}",
                        "columns": legend in self.in_columns,
                        # A group of one list of choices is that field's own <fieldset>.
                        "choice_field": fields[0] if len(fields) == 1 and fields[0].use_fieldset else None,
                    }
                )
        return groups


# --- The registry list -------------------------------------------------------------------


class WorkloadFilterForm(forms.Form):
    ORDERINGS = [
        ("name", "Name, A–Z"),
        ("-name", "Name, Z–A"),
        ("team", "Team"),
        ("stage", "Lifecycle stage"),
        ("risk", "Risk, highest first"),
        ("updated", "Recently updated"),
    ]

    q = forms.CharField(
        required=False,
        label="Search",
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Name, description or team"}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), to_field_name="slug", required=False, empty_label="All teams"
    )
    lifecycle_stage = forms.ChoiceField(
        choices=_any("All stages", LifecycleStage.choices), required=False, label="Stage"
    )
    risk_tier = forms.ChoiceField(choices=_any("All risk tiers", RiskTier.choices), required=False, label="Risk tier")
    data_classification = forms.ChoiceField(
        choices=_any("All classifications", DataClassification.choices), required=False, label="Data"
    )
    model = forms.ModelChoiceField(
        queryset=AIModel.objects.order_by("display_name"),
        to_field_name="slug",
        required=False,
        empty_label="All models",
    )
    use_case_category = forms.ChoiceField(
        choices=_any("All use cases", UseCaseCategory.choices), required=False, label="Use case"
    )
    tag = forms.SlugField(required=False, max_length=50, widget=forms.HiddenInput)
    mine = forms.BooleanField(required=False, label="Only my teams")
    ordering = forms.ChoiceField(choices=ORDERINGS, required=False, label="Sort by")

    FILTERS = ("q", "team", "lifecycle_stage", "risk_tier", "data_classification", "model", "use_case_category", "tag")
    # Past this many teams the drop-down lists only the person's teams (and the chosen one):
    # rendering thousands of options made the page slow. Search still finds any team by name.
    MAX_TEAM_OPTIONS = 200

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(workloads__isnull=False).distinct().order_by("name")
        if teams.count() > self.MAX_TEAM_OPTIONS:
            chosen = Q(slug=self.data.get("team", "")) if self.data.get("team") else Q(pk__in=[])
            mine = Q(pk__in=user.team_ids) if user is not None and user.is_authenticated else Q(pk__in=[])
            teams = Team.objects.filter(mine | chosen).order_by("name")
        self.fields["team"].queryset = teams

    def filters(self) -> dict[str, Any]:
        """What ``selectors.workload_list`` expects. A bad value is dropped, not an error."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters: dict[str, Any] = {name: data.get(name) or "" for name in self.FILTERS}
        filters["team"] = data["team"].slug if data.get("team") else ""
        filters["model"] = data["model"].slug if data.get("model") else ""
        filters["q"] = filters["q"].strip()
        filters["mine"] = bool(data.get("mine"))
        filters["ordering"] = data.get("ordering") or "name"
        return filters

    def has_filters(self) -> bool:
        filters = self.filters()
        return any(filters[name] for name in (*self.FILTERS, "mine"))


# --- Workloads ---------------------------------------------------------------------------


class ModelChoices(forms.ModelMultipleChoiceField):
    """Catalogue models as checkboxes, each saying whether and with what data it may be used."""

    def label_from_instance(self, obj: AIModel) -> str:
        status = obj.get_approval_status_display()
        if obj.approval_status == AIModel.ApprovalStatus.PROHIBITED:
            return f"{obj.display_name} ({obj.provider}) — Prohibited: may not be used"
        return (
            f"{obj.display_name} ({obj.provider}) — {status}, "
            f"cleared for {obj.get_max_data_classification_display().lower()} data at most"
        )


def _model_choices(label: str, help_text: str, required: bool = False) -> ModelChoices:
    return ModelChoices(
        queryset=AIModel.objects.order_by("provider", "display_name"),
        widget=forms.CheckboxSelectMultiple,
        required=required,
        label=label,
        help_text=help_text,
    )


class WorkloadForm(GroupedFieldsMixin, forms.ModelForm):
    """Edit a workload. The services validate again and decide; this form never saves."""

    ai_models = _model_choices(
        "Models",
        "The catalogue models it calls. Only models the CoE approved and cleared for the workload's data "
        "classification can be used; prohibited ones are listed so you can see why they are refused.",
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. claims, summarisation.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    fieldsets = [
        ("About", "What it is and who answers for it.", [
            "team", "name", "description", "use_case_category", "lifecycle_stage", "business_owner",
            "business_owner_email", "tags",
        ]),
        ("Risk and data", "How much harm it could do, and the most sensitive data it handles.", [
            "risk_tier", "data_classification",
        ]),
        ("Models", "", ["ai_models"]),
        ("Value", "How it creates value and what it costs to run, for ROI (value − cost) / cost.", [
            "currency", "value_per_request", "minutes_saved_per_request", "loaded_hourly_rate",
            "fixed_monthly_value", "fixed_monthly_run_cost", "monthly_budget", "target_roi",
        ]),
        ("Objectives", "What automated controls and scoring check the workload against.", [
            "objective_p95_latency_ms", "objective_min_quality", "objective_max_error_rate",
        ]),
        ("Links", "", ["repository_url", "runbook_url", "dashboard_url"]),
    ]  # fmt: skip
    in_columns = frozenset({"Risk and data", "Value", "Objectives", "Links"})

    class Meta:
        model = Workload
        formfield_callback = _formfield
        fields = [
            "name", "description", "business_owner", "business_owner_email", "lifecycle_stage", "risk_tier",
            "data_classification", "use_case_category", "ai_models", "repository_url", "runbook_url",
            "dashboard_url", "currency", "value_per_request", "minutes_saved_per_request", "loaded_hourly_rate",
            "fixed_monthly_value", "fixed_monthly_run_cost", "monthly_budget", "target_roi",
            "objective_p95_latency_ms", "objective_min_quality", "objective_max_error_rate",
        ]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        labels = {
            "target_roi": "Target ROI",
            "repository_url": "Repository URL",
            "runbook_url": "Runbook URL",
            "dashboard_url": "Dashboard URL",
            "objective_p95_latency_ms": "p95 latency objective (ms)",
            "business_owner_email": "Business owner's email",
        }
        help_texts = {
            "risk_tier": "High-risk releases need CoE approval. Unacceptable: recorded, never leaves “proposed”.",
            "data_classification": "The most sensitive data it sees. Every model must be cleared for it.",
            "lifecycle_stage": "To retire a workload, use Retire on its page.",
            "currency": "Three letters, e.g. USD.",
            "fixed_monthly_value": "Value it creates each month regardless of requests.",
            "repository_url": "Where its code lives.",
            "runbook_url": "How to operate it and what to do when it fails.",
            "dashboard_url": "Its own monitoring, if any.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "tags" not in self.initial:
            self.initial["tags"] = ", ".join(tag.name for tag in self.instance.tags.all())
        # Retiring has its own action, with a reason; "retired" is not a stage to pick here.
        self.fields["lifecycle_stage"].choices = [
            choice for choice in LifecycleStage.choices if choice[0] != LifecycleStage.RETIRED
        ]
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "size": 4})

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("Give a three-letter currency code, e.g. USD.")
        return currency

    def clean_tags(self) -> list[str]:
        tags = _split(self.cleaned_data.get("tags") or "")
        if len(tags) > 30:
            raise forms.ValidationError("Give 30 tags at most.")
        return tags

    def service_kwargs(self) -> dict[str, Any]:
        """Everything for ``services.workload_register`` / ``workload_update``, by keyword."""
        data = dict(self.cleaned_data)
        data["ai_models"] = list(data.get("ai_models") or [])
        return data


class WorkloadCreateForm(WorkloadForm):
    class Meta(WorkloadForm.Meta):
        fields = ["team", *WorkloadForm.Meta.fields]
        help_texts = {**WorkloadForm.Meta.help_texts, "team": "The team that runs it. You can register for your own."}

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].empty_label = None if teams.count() == 1 else "Choose a team"


# --- Releases ----------------------------------------------------------------------------


def published_template_versions() -> QuerySet[TemplateVersion]:
    """The library versions a release or an adoption may name: published ones, by template."""
    return (
        TemplateVersion.objects.filter(state=VersionState.PUBLISHED)
        .select_related("template")
        .order_by("template__title", "template_id", "-major", "-minor", "-patch")
    )


def template_version_label(version: TemplateVersion) -> str:
    return f"{version.template.title} v{version.number}{' (current)' if version.is_current else ''}"


NOT_PUBLISHED = "Choose published versions only: drafts, versions in review and deprecated ones cannot be used."


class TemplateVersionChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: TemplateVersion) -> str:
        return template_version_label(obj)


class ReleaseForm(forms.Form):
    version = forms.RegexField(
        regex=r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$",
        max_length=40,
        help_text="A label such as 1.4.0 (letters, digits, . + _ -).",
        error_messages={"invalid": "Use letters, digits and . + _ - only, starting with a letter or digit."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. 1.4.0"}),
    )
    changelog = forms.CharField(
        required=False,
        max_length=20_000,
        help_text="What changed and why. Markdown.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    ai_models = _model_choices(
        "Models", "The models this release calls. Each must be approved and cleared for the workload's data.", True
    )
    template_versions = TemplateVersionChoices(
        queryset=published_template_versions(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Templates",
        help_text="The library templates (published versions, one per template) this release is built on.",
        error_messages={"invalid_choice": NOT_PUBLISHED, "invalid_pk_value": NOT_PUBLISHED},
    )
    config = forms.CharField(
        required=False,
        label="Config",
        help_text='Parameters, prompt settings, feature flags, as a JSON object, e.g. {"temperature": 0.2}.',
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
    )

    def clean_config(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("config") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object, {…}, not a list or a single value.")
        return value

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["ai_models"] = list(data["ai_models"])
        data["template_versions"] = list(data.get("template_versions") or [])
        return data


class RollbackForm(forms.Form):
    reason = forms.CharField(max_length=2_000, help_text="Why the earlier release goes live again.")


class RetireForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=2_000, help_text="Optional: why it is retired, for the audit trail."
    )


# --- Model catalogue ----------------------------------------------------------------------


class ModelFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Name, model id or provider"}),
    )
    provider = forms.ChoiceField(required=False)
    approval_status = forms.ChoiceField(
        choices=_any("Any approval", AIModel.ApprovalStatus.choices), required=False, label="Approval"
    )
    max_data_classification = forms.ChoiceField(
        choices=_any("Any data", DataClassification.choices), required=False, label="Cleared for"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        providers = AIModel.objects.order_by("provider").values_list("provider", flat=True).distinct()
        self.fields["provider"].choices = _any("All providers", [(p, p) for p in providers])

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: (data.get(name) or "").strip() for name in self.fields}

    def has_filters(self) -> bool:
        return any(self.filters().values())


class AIModelForm(GroupedFieldsMixin, forms.ModelForm):
    aliases = forms.CharField(
        required=False,
        max_length=2_000,
        help_text="Other names telemetry may use for this model, comma-separated, e.g. dated snapshots.",
    )

    fieldsets = [
        ("Identity", "", ["provider", "model_id", "display_name", "description", "modality", "context_window"]),
        ("Matching telemetry", "How telemetry's model names are resolved to this entry.", ["aliases", "match_pattern"]),
        ("Approval", "", ["approval_status", "conditions", "max_data_classification"]),
    ]
    in_columns = frozenset({"Matching telemetry"})

    class Meta:
        model = AIModel
        fields = [
            "display_name", "description", "match_pattern", "modality", "context_window", "approval_status",
            "conditions", "max_data_classification",
        ]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 4}), "conditions": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "approval_status": "Changing the approval status (or the data it is cleared for) notifies the teams "
            "whose workloads use this model. Prohibited models cannot be added to workloads or promoted.",
            "conditions": "Required when approved with conditions: what teams must do to use it.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "aliases" not in self.initial:
            self.initial["aliases"] = ", ".join(self.instance.aliases or [])
        self.fields["context_window"].min_value = 1
        self.fields["context_window"].widget.attrs["min"] = 1

    def clean_aliases(self) -> list[str]:
        aliases = _split(self.cleaned_data.get("aliases") or "")
        if len(aliases) > 50:
            raise forms.ValidationError("Give 50 aliases at most.")
        return aliases

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class AIModelCreateForm(AIModelForm):
    provider = forms.CharField(
        max_length=60, help_text="As telemetry names it (gen_ai.provider.name), e.g. openai. Lower case."
    )
    model_id = forms.CharField(max_length=120, label="Model id", help_text="The provider's model id, e.g. gpt-4o-mini.")

    field_order = ["provider", "model_id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["display_name"].required = False
        self.fields["display_name"].help_text = "Leave blank to use the model id."

    def clean_provider(self) -> str:
        provider = self.cleaned_data["provider"].strip().lower()
        if not PROVIDER.fullmatch(provider):
            raise forms.ValidationError("Use letters, digits and . _ - only, starting with a letter or digit.")
        return provider

    def clean_model_id(self) -> str:
        return self.cleaned_data["model_id"].strip()

    def clean_display_name(self) -> str:
        return (self.cleaned_data.get("display_name") or "").strip() or self.cleaned_data.get("model_id", "")


class ModelPriceForm(forms.Form):
    effective_from = forms.DateTimeField(
        input_formats=DATETIME_LOCAL_FORMATS,
        widget=_datetime_local(),
        help_text="The price applies from then until the next one.",
    )
    input_per_million = forms.DecimalField(
        max_digits=12, decimal_places=4, min_value=0, label="Input per million tokens"
    )
    output_per_million = forms.DecimalField(
        max_digits=12, decimal_places=4, min_value=0, label="Output per million tokens"
    )
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        initial="USD",
        required=False,
        help_text="Three letters; USD when left blank.",
        error_messages={"invalid": "Give a three-letter currency code, e.g. USD."},
        widget=forms.TextInput(attrs={"maxlength": 3, "size": 4}),
    )
    note = forms.CharField(required=False, max_length=200, help_text="e.g. “List price, example only”.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A datetime-local value has no zone: the form reads it in the portal's current zone.
        zone = timezone.get_current_timezone_name()
        self.fields["effective_from"].help_text = f"Time in {zone}. " + self.fields["effective_from"].help_text

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["currency"] = (data.get("currency") or "USD").upper()
        return data


class PriceAtForm(forms.Form):
    at = forms.DateTimeField(input_formats=DATETIME_LOCAL_FORMATS, widget=_datetime_local(), label="Price at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["at"].help_text = f"Time in {timezone.get_current_timezone_name()}."
