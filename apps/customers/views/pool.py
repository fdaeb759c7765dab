"""The public pool (公海) page: customers without owner, its own filters, claim buttons."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from ..services.pool import claim_limit_for, owned_count
from ._common import is_htmx, page_of
from .customers import _filter_choices, filtered_customers

User = get_user_model()


POOL_SORTS = ["-pool_entered_at", "pool_entered_at", "name", "level", "last_contacted_at"]


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def pool(request):
    qs, sort, errors = filtered_customers(request, pool=True)
    can_claim = request.user.has_perm("customers.claim_customer")
    limit = claim_limit_for(request.user) if can_claim else None
    context = {
        "page": page_of(request, qs),
        "filter_errors": errors,
        "f": request.GET,
        "sort": sort,
        "sorts": POOL_SORTS,
        "can_claim": can_claim,
        "limit": limit,
        "owned": owned_count(request.user) if limit is not None else None,
        "users": User.objects.filter(is_active=True).order_by("username"),
        **_filter_choices(),
    }
    template = "customers/_pool_results.html" if is_htmx(request) else "customers/pool.html"
    return render(request, template, context)
