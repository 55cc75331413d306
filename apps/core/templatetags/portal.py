"""Template filters every page may use (loaded as a builtin)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from apps.core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown", is_safe=True)
def markdown_filter(text: str | None) -> SafeString:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 in render_markdown
