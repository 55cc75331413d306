from __future__ import annotations

from typing import Any

from django import forms


class TokenCreateForm(forms.Form):
    EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]

    name = forms.CharField(
        max_length=100,
        help_text="What the token is for, e.g. “CI pipeline” or “notebook”.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. CI pipeline", "autocomplete": "off"}),
    )
    expires_in_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label="Expires",
        help_text="Tokens that expire limit the damage of a leak.",
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {"name": self.cleaned_data["name"], "expires_in_days": self.cleaned_data["expires_in_days"]}


class TeamFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(attrs={"placeholder": "Team name"}))

    def search(self) -> str:
        return self.cleaned_data.get("q", "").strip() if self.is_valid() else ""


class MfaCodeForm(forms.Form):
    """One code from an authenticator app (spaces allowed: some apps show "123 456")."""

    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "size": 8}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code
