"""The dashboards' filter form: its selects (``QuickSelect``) give the HTML Django's own ``Select``
templates give, whatever is chosen, grouped or in need of escaping."""

from __future__ import annotations

import pytest
from django import forms

from apps.dashboards.filters import FilterForm, QuickSelect
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db

CHOICES = [
    ("", "All <kinds>"),
    ("a&b", 'Quote " and apostrophe \''),
    ("Group & co", [("g1", "In a group"), ("g2", "Also <grouped>")]),
    (3, "A number"),
]


@pytest.mark.parametrize("value", [None, "", "a&b", "g2", 3, "missing"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_x", "required": True, "disabled": False, "data-x": '"<y>"'}])
def test_a_quick_select_is_djangos_select(value, attrs) -> None:  # type: ignore[no-untyped-def]
    ours = QuickSelect(choices=CHOICES).render("pick<", value, attrs=attrs)
    django = forms.Select(choices=CHOICES).render("pick<", value, attrs=attrs)
    assert str(ours) == str(django)


@pytest.mark.parametrize("query", [{}, {"period": "12m", "model": "openai-gpt-4o-mini", "risk_tier": "high"},
                                   {"period": "nonsense", "team": "no-such-team"}])  # fmt: skip
def test_the_filter_form_renders_as_with_djangos_selects(query, team, other_team) -> None:  # type: ignore[no-untyped-def]
    AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini & <friends>")
    ours = FilterForm(query or None)
    django = FilterForm(query or None)
    for field in django.fields.values():
        if isinstance(field.widget, QuickSelect):
            plain = forms.Select(choices=field.widget.choices)
            plain.attrs = field.widget.attrs
            field.widget = plain
    ours.is_valid(), django.is_valid()
    for name in ours.fields:
        assert str(ours[name]) == str(django[name]), name
