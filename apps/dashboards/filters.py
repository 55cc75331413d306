"""The period and filters every dashboard takes from its URL (so a link shares the view).

``?period=`` picks a preset (last 30 days by default) or ``custom`` with ``start`` and ``end``
(both days included); ``team``, ``risk_tier``, ``stage`` and ``model`` narrow the workloads.
Days are UTC days, as scorecards are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

from apps.accounts.models import Team
from apps.registry.models import AIModel, LifecycleStage, RiskTier, Workload

MAX_DAYS = 731  # two years: the longest period a dashboard reads

PERIODS = [
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("mtd", "This month"),
    ("last-month", "Last month"),
    ("qtd", "This quarter"),
    ("last-quarter", "Last quarter"),
    ("ytd", "This year"),
    ("12m", "Last 12 months"),
    ("custom", "Custom…"),
]
DEFAULT_PERIOD = "30d"


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_bounds(period: str, today: date) -> tuple[date, date]:
    """First and last day (both included) of a preset period."""
    if period == "90d":
        return today - timedelta(days=89), today
    if period == "mtd":
        return today.replace(day=1), today
    if period == "last-month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if period == "qtd":
        return _quarter_start(today), today
    if period == "last-quarter":
        end = _quarter_start(today) - timedelta(days=1)
        return _quarter_start(end), end
    if period == "ytd":
        return date(today.year, 1, 1), today
    if period == "12m":
        return today - timedelta(days=364), today
    return today - timedelta(days=29), today


def _any(label: str, choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


def _attrs(attrs: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``: `` name="value"``, a bare `` name`` for True, nothing for False."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class QuickSelect(forms.Select):
    """Django's ``Select``, the same HTML as its templates (``select.html``, ``select_option.html``)
    give, written in Python: the template engine renders a template per option, and the dashboards'
    five selects cost a page about as much as its queries. ``tests/dashboards/test_filters.py`` holds
    it to Django's own rendering."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _ in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group_choices:
                parts.append(
                    f'\n  <option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
                    f"{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 — every value above is escaped


class FilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, initial=DEFAULT_PERIOD, widget=QuickSelect)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All teams",
        widget=QuickSelect,
    )
    risk_tier = forms.ChoiceField(
        choices=_any("All risk tiers", RiskTier.choices), required=False, label="Risk tier", widget=QuickSelect
    )
    stage = forms.ChoiceField(
        choices=_any("All stages", LifecycleStage.choices), required=False, label="Stage", widget=QuickSelect
    )
    model = forms.ModelChoiceField(
        queryset=AIModel.objects.order_by("display_name"), to_field_name="slug", required=False,
        empty_label="All models", widget=QuickSelect,
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start:
                self.add_error("start", "Give the first day of the period.")
            if not end:
                self.add_error("end", "Give the last day of the period.")
            if start and end and start > end:
                self.add_error("end", "The last day comes after the first.")
            elif start and end and (end - start).days >= MAX_DAYS:
                self.add_error("end", f"At most {MAX_DAYS} days.")
        return data


@dataclass(frozen=True)
class Filters:
    period: str
    start: date
    end: date  # included
    team: Team | None = None
    risk_tier: str = ""
    stage: str = ""
    model: AIModel | None = None

    @classmethod
    def from_form(cls, form: FilterForm, today: date | None = None) -> Filters:
        """The filters of a bound form; the invalid ones fall back to their defaults (the form
        shows its errors beside them)."""
        today = today or timezone.now().date()
        data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {}
        period = data.get("period") or DEFAULT_PERIOD
        if period == "custom" and data.get("start") and data.get("end") and not form.errors:
            start, end = data["start"], data["end"]
        else:
            period = DEFAULT_PERIOD if period == "custom" else period
            start, end = period_bounds(period, today)
        errors = form.errors if form.is_bound else {}
        return cls(
            period=period, start=start, end=end,
            team=None if "team" in errors else data.get("team"),
            risk_tier="" if "risk_tier" in errors else data.get("risk_tier") or "",
            stage="" if "stage" in errors else data.get("stage") or "",
            model=None if "model" in errors else data.get("model"),
        )  # fmt: skip

    @classmethod
    def from_query(cls, query: Any, today: date | None = None) -> tuple[Filters, FilterForm]:
        form = FilterForm(query)
        form.is_valid()
        return cls.from_form(form, today), form

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def bucket(self) -> str:
        """The time series' step: days up to three months, weeks up to a year, then months."""
        if self.days <= 92:
            return "day"
        if self.days <= 366:
            return "week"
        return "month"

    @property
    def label(self) -> str:
        if self.start.year == self.end.year:
            return f"{self.start:%-d %b} – {self.end:%-d %b %Y}"
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"

    @property
    def narrowed(self) -> bool:
        return bool(self.team or self.risk_tier or self.stage or self.model)

    def params(self) -> dict[str, str]:
        """As query parameters (what the page's URL carries)."""
        params: dict[str, str] = {"period": self.period}
        if self.period == "custom":
            params.update(start=self.start.isoformat(), end=self.end.isoformat())
        if self.team:
            params["team"] = self.team.slug
        if self.risk_tier:
            params["risk_tier"] = self.risk_tier
        if self.stage:
            params["stage"] = self.stage
        if self.model:
            params["model"] = self.model.slug
        return params

    def query(self, **extra: str) -> str:
        return urlencode({**self.params(), **extra})

    def as_dict(self) -> dict[str, Any]:
        """For the API's answer."""
        return {
            "period": self.period, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "team": self.team.slug if self.team else None, "risk_tier": self.risk_tier or None,
            "stage": self.stage or None, "model": self.model.slug if self.model else None,
        }  # fmt: skip

    def workloads(self) -> QuerySet[Workload]:
        """The workloads the filters select (every one, retired included: a period may predate
        the retirement)."""
        qs = Workload.objects.all()
        if self.team:
            qs = qs.filter(team=self.team)
        if self.risk_tier:
            qs = qs.filter(risk_tier=self.risk_tier)
        if self.stage:
            qs = qs.filter(lifecycle_stage=self.stage)
        if self.model:
            qs = qs.filter(
                Exists(Workload.ai_models.through.objects.filter(workload=OuterRef("pk"), aimodel=self.model))
            )
        return qs

    def registry_url(self, **narrower: str) -> str:
        """The registry's list of the workloads behind a number: these filters, and ``narrower``
        (``team``, ``risk_tier``, ``lifecycle_stage``, ``model``)."""
        params = {
            "team": self.team.slug if self.team else "", "risk_tier": self.risk_tier,
            "lifecycle_stage": self.stage, "model": self.model.slug if self.model else "",
        }  # fmt: skip
        params.update(narrower)
        query = urlencode({k: v for k, v in params.items() if v})
        return reverse("registry:workload-list") + (f"?{query}" if query else "")
