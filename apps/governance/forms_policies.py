"""Forms of the policy pages. They parse and validate input; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from apps.core.models import GuidanceArea
from apps.registry.models import DataClassification, LifecycleStage, RiskTier

from .models import Control, Framework, Metric, Operator, PolicyVersion, ThresholdSource


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _any(label: str, choices: Any) -> list[tuple[str, str]]:
    return [("", label), *choices]


# --- The policy list -------------------------------------------------------------------------


class PolicyFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Title or summary"}),
    )
    category = forms.ChoiceField(choices=_any("All categories", GuidanceArea.choices), required=False)

    FILTERS = ("q", "category")

    def filters(self) -> dict[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: (data.get(name) or "").strip() for name in self.FILTERS}

    def has_filters(self) -> bool:
        return any(self.filters().values())


# --- Policies ----------------------------------------------------------------------------------


class PolicyForm(forms.Form):
    title = forms.CharField(max_length=160, help_text="Also makes the policy's web address.")
    category = forms.ChoiceField(choices=GuidanceArea.choices, help_text="The area of CoE guidance it belongs to.")
    summary = forms.CharField(
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or two sentences: what the policy asks of teams, and why.",
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. oversight, eu-ai-act.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_tags(self) -> list[str]:
        tags = _split(self.cleaned_data.get("tags") or "")
        if len(tags) > 30:
            raise forms.ValidationError("Give 30 tags at most.")
        return tags

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# --- Versions --------------------------------------------------------------------------------


def framework_label(ref: dict[str, str]) -> str:
    """“EU AI Act Art. 14”; an "other" reference reads on its own."""
    framework, reference = ref.get("framework", ""), ref.get("reference", "")
    if framework == Framework.OTHER or framework not in Framework.values:
        return reference
    return f"{Framework(framework).label} {reference}"


def framework_lines(refs: list[dict[str, str]] | None) -> str:
    """The textarea's text for stored references: one “Framework: reference” a line."""
    return "\n".join(f"{dict(Framework.choices).get(r.get('framework'), r.get('framework'))}: {r.get('reference')}"
                     for r in refs or [])  # fmt: skip


FRAMEWORKS_BY_NAME = {
    **{value.lower(): value for value in Framework.values},
    **{label.lower(): value for value, label in Framework.choices},
}
FRAMEWORK_HELP = (
    "One reference a line, as “framework: reference”, e.g. “EU AI Act: Art. 14” or “NIST AI RMF: GOVERN 1.2”. "
    "Frameworks: " + ", ".join(str(label) for label in Framework.labels) + "."
)


def parse_framework_refs(text: str) -> list[dict[str, str]]:
    """Parse the textarea; every bad line is reported by its number."""
    refs, errors = [], []
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        name, colon, reference = line.partition(":")
        framework = FRAMEWORKS_BY_NAME.get(name.strip().lower())
        if not colon or not reference.strip():
            errors.append(f"Line {number}: write “framework: reference”, e.g. “EU AI Act: Art. 14”.")
        elif framework is None:
            known = ", ".join(str(label) for label in Framework.labels)
            errors.append(f"Line {number}: “{name.strip()}” is not a framework the portal knows. Use one of: {known}.")
        elif len(reference.strip()) > 120:
            errors.append(f"Line {number}: a reference has 120 characters at most.")
        else:
            refs.append({"framework": framework, "reference": reference.strip()})
    if errors:
        raise forms.ValidationError(errors)
    return refs


class PolicyVersionForm(forms.Form):
    number = forms.CharField(
        max_length=20,
        help_text="Semantic version: MAJOR.MINOR.PATCH, higher than every number used before.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 12}),
    )
    changelog = forms.CharField(
        required=False,
        max_length=20_000,
        help_text="What changed since the previous version, and why. Teams read it when they re-attest.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    effective_date = forms.DateField(
        required=False,
        help_text="When teams must comply from. Leave blank if not decided yet.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    framework_refs = forms.CharField(
        required=False,
        label="Framework references",
        max_length=5_000,
        help_text=FRAMEWORK_HELP,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    body = forms.CharField(
        required=False,
        max_length=200_000,
        strip=False,
        help_text="Markdown. A version is published only with a body and at least one control.",
        widget=forms.Textarea(attrs={"rows": 18, "class": "code", "spellcheck": "false"}),
    )
    copy_controls = forms.BooleanField(required=False, label="Copy the controls")

    def __init__(self, *args: Any, base: PolicyVersion | None = None, preview_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base
        if preview_url:  # a live preview of the markdown as it is typed
            self.fields["body"].widget.attrs.update(
                {
                    "hx-post": preview_url,
                    "hx-trigger": "keyup changed delay:500ms",
                    "hx-target": "#preview",
                    "aria-controls": "preview",
                }
            )
        self.fields["number"].widget.attrs["aria-describedby"] = "id_number_helptext number-hints"
        if base is None:
            del self.fields["copy_controls"]
        else:
            count = base.controls.count()
            self.fields["copy_controls"].widget.attrs["aria-describedby"] = "id_copy_controls_helptext"
            self.fields["copy_controls"].label = f"Copy the controls of version {base.number}"
            self.fields["copy_controls"].help_text = (
                f"Starts the draft with its {count} control{'s' if count != 1 else ''}; edit or add to them "
                "before publishing. A control whose requirement you change must be attested again."
            )

    @classmethod
    def initial_for(cls, base: PolicyVersion | None, *, number: str) -> dict[str, Any]:
        initial: dict[str, Any] = {"number": number}
        if base is not None:
            initial.update(body=base.body, framework_refs=framework_lines(base.framework_refs), copy_controls=True)
        return initial

    def clean_framework_refs(self) -> list[dict[str, str]]:
        return parse_framework_refs(self.cleaned_data.get("framework_refs") or "")

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        copy = data.pop("copy_controls", False)
        data["copy_controls_from"] = self.base if copy else None
        return data


# --- Controls ----------------------------------------------------------------------------------


APPLICABILITY = {
    "risk_tiers": RiskTier,
    "data_classifications": DataClassification,
    "lifecycle_stages": LifecycleStage,
}
ATTESTATION_FIELDS = ("attestation_valid_days",)
AUTOMATED_FIELDS = ("metric", "operator", "threshold", "threshold_source", "window_days")
AUTOMATED_DEFAULTS: dict[str, Any] = {
    "metric": "", "operator": "", "threshold": None, "threshold_source": ThresholdSource.FIXED, "window_days": 7,
}  # fmt: skip


def _choices(label: str, choices: Any, help_text: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices, required=False, label=label, help_text=help_text, widget=forms.CheckboxSelectMultiple
    )


def _plain_number(value: Decimal | None) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


class ControlForm(forms.Form):
    key = forms.SlugField(
        required=False,
        max_length=80,
        help_text="Stays the same across versions, e.g. human-review. Leave blank to make one from the title.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    title = forms.CharField(max_length=200)
    statement = forms.CharField(
        max_length=5_000, widget=forms.Textarea(attrs={"rows": 3}), help_text="What must be true."
    )
    rationale = forms.CharField(
        required=False,
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why. Rewording it does not ask teams to attest again.",
    )
    kind = forms.ChoiceField(
        choices=Control.Kind.choices,
        widget=forms.RadioSelect,
        help_text="An attestation is answered by the team; an automated check is evaluated from telemetry.",
    )
    risk_tiers = _choices("Risk tiers", RiskTier.choices, "None ticked: every risk tier.")
    data_classifications = _choices(
        "Data classifications", DataClassification.choices, "None ticked: every data classification."
    )
    lifecycle_stages = _choices("Lifecycle stages", LifecycleStage.choices, "None ticked: every stage.")
    attestation_valid_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3_650,
        label="Valid for (days)",
        help_text="How long a team's answer holds. Leave blank: until the control changes.",
    )
    metric = forms.ChoiceField(
        choices=_any("Choose a metric", Metric.choices), required=False, help_text="What telemetry measures."
    )
    operator = forms.ChoiceField(
        choices=_any("Choose a comparison", Operator.choices),
        required=False,
        label="Must be",
        help_text="How the metric compares with the threshold.",
    )
    threshold = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=4,
        help_text="For a fixed threshold, e.g. 2000 (ms) or 0.02 (2 %).",
    )
    threshold_source = forms.ChoiceField(
        choices=ThresholdSource.choices,
        required=False,
        initial=ThresholdSource.FIXED,
        label="Threshold from",
        help_text="A fixed number, or the workload's own objective or budget.",
    )
    window_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        initial=7,
        label="Window (days)",
        help_text="The period the metric covers. Blank: 7 days.",
    )

    def __init__(self, *args: Any, with_key: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_key:
            del self.fields["key"]

    @classmethod
    def initial_for(cls, control: Control) -> dict[str, Any]:
        initial = {name: getattr(control, name) for name in ("title", "statement", "rationale", "kind",
                                                              *APPLICABILITY, *ATTESTATION_FIELDS,
                                                              *AUTOMATED_FIELDS)}  # fmt: skip
        initial["threshold"] = _plain_number(control.threshold)
        return initial

    def _clean_choices(self, name: str) -> list[str]:
        chosen = set(self.cleaned_data.get(name) or [])
        return [value for value in APPLICABILITY[name].values if value in chosen]  # in the choices' order

    def clean_risk_tiers(self) -> list[str]:
        return self._clean_choices("risk_tiers")

    def clean_data_classifications(self) -> list[str]:
        return self._clean_choices("data_classifications")

    def clean_lifecycle_stages(self) -> list[str]:
        return self._clean_choices("lifecycle_stages")

    def service_kwargs(self) -> dict[str, Any]:
        """Only the fields of the chosen kind are kept: the others go back to their defaults, so a
        leftover number cannot change the control's content (and ask teams to attest again)."""
        data = dict(self.cleaned_data)
        if data.get("window_days") is None:
            data["window_days"] = 7
        data["threshold_source"] = data.get("threshold_source") or ThresholdSource.FIXED
        if data.get("kind") == Control.Kind.AUTOMATED:
            data["attestation_valid_days"] = None
        else:
            data.update(AUTOMATED_DEFAULTS)
        if "key" in data and not data["key"]:
            data.pop("key")  # the service makes one from the title
        return data

    @staticmethod
    def changed(control: Control, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields whose value differs from the control's (applicability compared as sets)."""
        changes = {}
        for name, value in fields.items():
            current = getattr(control, name)
            same = set(current or []) == set(value or []) if name in APPLICABILITY else current == value
            if not same:
                changes[name] = value
        return changes
