from __future__ import annotations

import factory

from apps.library.models import Template


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Template
        django_get_or_create = ("slug",)

    title = factory.Sequence(lambda n: f"Template {n}")
    slug = factory.LazyAttribute(lambda t: t.title.lower().replace(" ", "-"))
    kind = Template.Kind.RUNBOOK
    category = "monitoring"
    summary = "What to do when the model provider is down."
