"""Forms of the Telemetry tab: an ingestion key, a pull source and pausing one. They parse input;
the services decide (and their refusals go beside these fields)."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import PullSource

# Several forms share one page: each gets its own id prefix so labels and ids stay unique.
KEY_AUTO_ID = "key-%s"
SOURCE_AUTO_ID = "source-%s"


class KeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Where the key is used, e.g. “prod collector” or “staging app”, to tell keys apart.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. prod collector", "autocomplete": "off"}),
        error_messages={"required": "Name the key."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", KEY_AUTO_ID)
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        return {"name": self.cleaned_data["name"]}


class SourceCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="To tell sources apart, e.g. “gateway logs”.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. gateway logs", "autocomplete": "off"}),
        error_messages={"required": "Name the source."},
    )
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text=PullSource._meta.get_field("url").help_text,
        widget=forms.URLInput(attrs={"placeholder": "https://…/telemetry"}),
        error_messages={"required": "Give the URL to fetch."},
    )
    interval_minutes = forms.IntegerField(
        label="Every (minutes)",
        initial=5,
        help_text="How often to fetch, 1 to 1440 minutes. Failures back off, up to six hours.",
        widget=forms.NumberInput(attrs={"min": 1, "max": 1440}),
        error_messages={"required": "Say how often to fetch.", "invalid": "Give a whole number of minutes."},
    )
    auth_header = forms.CharField(
        label="Authorization header",
        required=False,
        max_length=500,
        strip=True,
        help_text="Optional: sent as the Authorization header, e.g. “Bearer …”. Write-only: it is never shown again.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", SOURCE_AUTO_ID)
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "url": data["url"],
            "interval_minutes": data["interval_minutes"],
            "auth_header": data.get("auth_header") or "",
        }


class SourceToggleForm(forms.Form):
    """Pause (``enabled=false``) or resume (``enabled=true``) a pull source."""

    enabled = forms.TypedChoiceField(
        choices=[("true", "Resume"), ("false", "Pause")], coerce=lambda value: value == "true"
    )
