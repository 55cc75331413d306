"""Forms of the compliance pages: attesting, asking for a waiver, deciding one, approving a
release, and the compliance matrix's filters. They parse input; the services decide."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from apps.accounts.models import Team
from apps.registry.models import LifecycleStage, RiskTier, Workload

from .services import MAX_WAIVER_DAYS


def _date_input(**attrs: Any) -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


class AttestationForm(forms.Form):
    answer = forms.CharField(
        max_length=10_000,
        help_text="How the workload meets the control: what you do, who does it, how often.",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Say how the workload meets the control."},
    )
    evidence_url = forms.URLField(
        required=False,
        label="Evidence URL",
        max_length=200,
        assume_scheme="https",
        help_text="Optional: a link to the runbook, review log or document that shows it.",
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
    )


class WaiverRequestForm(forms.Form):
    justification = forms.CharField(
        max_length=5_000,
        help_text="Why the control cannot be met for now, and what you will do about it.",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Say why the control cannot be met for now."},
    )
    compensating_controls = forms.CharField(
        required=False,
        max_length=5_000,
        help_text="Optional: what limits the risk meanwhile.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    ends_on = forms.DateField(
        label="Ends on",
        help_text=f"The last day the waiver holds: after today, {MAX_WAIVER_DAYS} days ahead at most.",
        input_formats=["%Y-%m-%d"],
        error_messages={"required": "Give the last day the waiver holds.", "invalid": "Give a date as YYYY-MM-DD."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        # The browser's date picker offers only what the service accepts; the service still checks.
        self.fields["ends_on"].widget = _date_input(
            min=(today + timedelta(days=1)).isoformat(), max=(today + timedelta(days=MAX_WAIVER_DAYS)).isoformat()
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        ends_on: date = data["ends_on"]
        return {
            "justification": data["justification"],
            "compensating_controls": data.get("compensating_controls") or "",
            "ends_on": ends_on,
        }


class WaiverDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.HiddenInput)
    comment = forms.CharField(
        required=False,
        max_length=2_000,
        help_text="Required to reject: the team reads it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReleaseApprovalForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2_000, help_text="Optional: for the audit trail.")


class ComplianceFilterForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", required=False, empty_label="All teams"
    )
    risk_tier = forms.ChoiceField(
        choices=[("", "All risk tiers"), *RiskTier.choices], required=False, label="Risk tier"
    )
    lifecycle_stage = forms.ChoiceField(
        choices=[("", "All stages"), *[c for c in LifecycleStage.choices if c[0] != LifecycleStage.RETIRED]],
        required=False,
        label="Stage",
    )

    FILTERS = ("team", "risk_tier", "lifecycle_stage")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        running = Workload.objects.exclude(lifecycle_stage=LifecycleStage.RETIRED)
        self.fields["team"].queryset = Team.objects.filter(pk__in=running.values("team")).order_by("name")

    def filters(self) -> dict[str, Any]:
        """What ``registry.selectors.workload_list`` expects, without retired workloads. A bad
        value is dropped, not an error."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "team": data["team"].slug if data.get("team") else "",
            "risk_tier": data.get("risk_tier") or "",
            "lifecycle_stage": data.get("lifecycle_stage") or "",
            "include_retired": False,
        }

    def has_filters(self) -> bool:
        filters = self.filters()
        return any(filters[name] for name in self.FILTERS)
