"""Small template helpers for the shell."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def elided_pages(page, on_each_side: int = 2, on_ends: int = 1) -> list:
    """Page numbers around the current one, with the paginator's ellipsis for the gaps.

    Costs the same for 5 pages or 5,000 (the template no longer walks every page number).
    """
    return list(
        page.paginator.get_elided_page_range(
            page.number, on_each_side=on_each_side, on_ends=on_ends
        )
    )


_SELECTED = mark_safe(" selected")  # noqa: S308 - a constant, no user input


@register.simple_tag
def options(choices, selected=None):
    """The <option> elements of a select, e.g. `{% options users f.owner %}`.

    One template node instead of a loop of several nodes per option: an owner filter with a
    few hundred users was most of a list page's rendering time. `choices` are (value, label)
    pairs or model instances (pk, str()); `selected` is the current value, compared as text.
    Labels and values are escaped.
    """
    current = "" if selected is None else str(selected)

    def rows():
        for choice in choices:
            if isinstance(choice, tuple | list):
                value, label = choice[0], choice[1]
            else:
                value, label = choice.pk, choice
            mark = _SELECTED if current and str(value) == current else ""
            yield value, mark, label

    return format_html_join("", '<option value="{}"{}>{}</option>', rows())


class _Visible:
    """`see.phone` is True when the user may see the field `phone` (field security)."""

    def __init__(self, access):
        self._access = access

    def __getitem__(self, name: str) -> bool:
        return self._access.can_view(name)

    def __contains__(self, name: str) -> bool:
        return self._access.can_view(name)


@register.simple_tag(takes_context=True)
def visible_fields(context, target):
    """`{% visible_fields customer as see %}` … `{% if see.phone %}`: which fields of a record
    (or of a model, given "app_label.Model" or the class) the request's user may see."""
    from django.apps import apps

    from apps.org.fields import field_access

    request = context.get("request")
    user = getattr(request, "user", None)
    if isinstance(target, str):
        model, obj = apps.get_model(target), None
    elif isinstance(target, type):
        model, obj = target, None
    else:
        model, obj = type(target), target
    if user is None:
        from apps.org.fields import FULL_ACCESS

        return _Visible(FULL_ACCESS)
    return _Visible(field_access(user, model, obj))
