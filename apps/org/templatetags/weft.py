"""Small template helpers for the shell."""

from django import template

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
