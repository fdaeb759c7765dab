"""The top bar's global search: a results page and an htmx dropdown, over every registered
search provider (customers and contacts here; leads and deals when the sales app registers)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ..search import global_search
from ._common import is_htmx


@login_required
def search(request):
    q = request.GET.get("q", "").strip()[:100]
    dropdown = is_htmx(request) and request.GET.get("dropdown")
    groups = global_search(request.user, q, limit=5 if dropdown else 20) if q else []
    template = "customers/_search_dropdown.html" if dropdown else "customers/search.html"
    return render(request, template, {"q": q, "groups": groups})
