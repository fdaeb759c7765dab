"""The "History" page / tab of any record that keeps field-level history.

{% include "org/_history_tab.html" with app_label="sales" model="contract" pk=obj.pk %} on a
detail page loads it with htmx; without htmx the same URL is a full page.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from .history import has_history, history_entries


@login_required
def record_history(request, app_label: str, model: str, pk: int):
    try:
        model_class = apps.get_model(app_label, model)
    except LookupError:
        raise Http404 from None
    # Only scoped domain records: their scope decides who reads their history (404 outside it).
    if not has_history(model_class) or not hasattr(model_class.objects, "visible_to"):
        raise Http404
    obj = model_class.objects.visible_to(request.user).filter(pk=pk).first()
    if obj is None:
        raise Http404
    entries = history_entries(obj, user=request.user)
    partial = request.headers.get("HX-Request") == "true"
    template = "org/_history.html" if partial else "org/history.html"
    return render(request, template, {"obj": obj, "entries": entries, "opts": model_class._meta})
