from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat

from ..markup import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    """{{ obj.body|markdown }}: rendered and sanitised (apps.docs.markup)."""
    return render_markdown(text)


@register.filter
def size(value) -> str:
    return filesizeformat(value or 0)
