"""The lead list page: filters, sortable chosen columns (built-in and custom fields, kept per
user in studio's ListPreference like the customers list), bulk actions on the checked leads
(assign, export) and the Excel export of the filtered list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.customers.views._common import (
    is_htmx,
    page_of,
    safe_next,
)
from apps.org.errors import ServiceError
from apps.studio.list_columns import ListColumns, clear_preference, set_preference

from ..forms_leads import LeadBulkForm
from ..models import Campaign, Lead, LeadSource
from ..resources_leads import export_leads
from ..selectors import leads as selectors
from ..selectors.leads import LEAD_ORDERINGS
from ..services.leads_bulk import lead_bulk_assign_ids

User = get_user_model()

# key: (label, sortable). "company" is always the first column.
COLUMNS: dict[str, tuple] = {
    "contact_name": (gettext_lazy("contact"), True),
    "title": (gettext_lazy("job title"), False),
    "mobile": (gettext_lazy("mobile"), False),
    "phone": (gettext_lazy("phone"), False),
    "email": (gettext_lazy("email"), False),
    "wechat": (gettext_lazy("WeChat"), False),
    "status": (gettext_lazy("status"), True),
    "owner": (gettext_lazy("owner"), False),
    "department": (gettext_lazy("department"), False),
    "source": (gettext_lazy("source"), True),
    "channel": (gettext_lazy("channel"), False),
    "campaign": (gettext_lazy("campaign"), False),
    "province": (gettext_lazy("province"), True),
    "city": (gettext_lazy("city"), False),
    "industry": (gettext_lazy("industry"), False),
    "created_at": (gettext_lazy("created at"), True),
    "assigned_at": (gettext_lazy("assigned at"), True),
    "last_contacted_at": (gettext_lazy("last contacted"), True),
}
DEFAULT_COLUMNS = ["contact_name", "mobile", "status", "owner", "source", "campaign", "created_at"]
PREF_KEY = "sales.leads.list.columns"
DATE_COLUMNS = {"created_at", "assigned_at", "last_contacted_at"}
CHOICE_COLUMNS = {"status", "source", "channel", "industry"}
MULTI_FILTERS = ("status", "source", "channel", "industry")


class _MultiDict(dict):
    def getlist(self, key, default=None):
        value = self.get(key, default)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


LIST = ListColumns(
    model=Lead,
    columns=COLUMNS,
    default=DEFAULT_COLUMNS,
    pref_key=PREF_KEY,
    orderings=LEAD_ORDERINGS,
    first_sort="company",
    date_columns=DATE_COLUMNS,
    choice_columns=CHOICE_COLUMNS,
    cells={"campaign": lambda lead: lead.campaign.name if lead.campaign_id else ""},
)
available_columns = LIST.available
chosen_columns = LIST.chosen
sort_options = LIST.sort_options
table_rows = LIST.rows


def filtered_leads(request):
    """The list's queryset (scoped, filtered, sorted) and the sort key and filter errors."""
    data = _MultiDict({k: v for k, v in request.GET.items() if k not in ("page", "sort") and v})
    for key in MULTI_FILTERS:
        values = [v for v in request.GET.getlist(key) if v]
        if values:
            data[key] = values
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in sort_options(request.user):
        sort = ""
    try:
        qs = selectors.lead_list(user=request.user, filters=data, ordering=sort or None)
    except ValidationError as exc:
        return Lead.objects.none(), sort, exc.message_dict
    return qs.select_related("department"), sort, {}


@login_required
@permission_required("sales.view_lead", raise_exception=True)
def lead_list(request):
    qs, sort, errors = filtered_leads(request)
    columns = chosen_columns(request.user)
    labels = dict(available_columns(request.user))
    sortable = set(sort_options(request.user))
    page = page_of(request, qs)
    user = request.user
    can_assign = user.has_perm("sales.assign_lead") and user.has_perm("sales.change_lead")
    context = {
        "page": page,
        "rows": table_rows(page.object_list, columns),
        "columns": [(c, labels.get(c, c), c in sortable) for c in columns],
        "company_sortable": "company" in sortable,
        "sort": sort,
        "f": request.GET,
        "filter_errors": errors,
        "statuses": Lead.Status.choices,
        "sources": LeadSource.choices,
        "campaigns": Campaign.objects.only("pk", "name").order_by("-start_date", "name")[:100],
        "can_import": user.has_perm("sales.import_lead"),
        "can_export": user.has_perm("sales.export_lead"),
        "can_assign": can_assign,
        "available_columns": available_columns(user),
        "chosen": columns,
        "bulk_actions": LeadBulkForm.ACTIONS,
        "users": User.objects.filter(is_active=True).order_by("username") if can_assign else [],
    }
    template = "sales/leads/_list_results.html" if is_htmx(request) else "sales/leads/list.html"
    return render(request, template, context)


@login_required
@require_POST
@permission_required("sales.view_lead", raise_exception=True)
def lead_columns(request):
    allowed = [k for k, _label in available_columns(request.user)]
    chosen = [c for c in request.POST.getlist("columns") if c in allowed]
    if request.POST.get("reset"):
        clear_preference(request.user, PREF_KEY)
    else:
        set_preference(request.user, PREF_KEY, chosen)
    messages.success(request, _("Columns saved."))
    return redirect(safe_next(request, reverse("sales:lead-list")))


@login_required
@require_GET
@permission_required("sales.view_lead", raise_exception=True)
def lead_export(request):
    if not request.user.has_perm("sales.export_lead"):
        raise PermissionDenied
    qs, _sort, _errors = filtered_leads(request)
    return export_leads(request.user, qs)


@login_required
@require_POST
@permission_required("sales.view_lead", raise_exception=True)
def lead_bulk(request):
    form = LeadBulkForm(request.POST)
    back = safe_next(request, reverse("sales:lead-list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    ids = form.cleaned_data["ids"]
    if form.cleaned_data["action"] == "export":
        if not request.user.has_perm("sales.export_lead"):
            raise PermissionDenied
        qs = selectors.lead_list_base(request.user).filter(pk__in=ids).order_by("-created_at")
        return export_leads(request.user, qs)
    owner = form.cleaned_data["owner"]
    try:
        leads = lead_bulk_assign_ids(ids=ids, owner=owner, by=request.user)
    except ServiceError as exc:
        for msgs in exc.errors.values():
            for m in msgs:
                messages.error(request, m)
        return redirect(back)
    messages.success(
        request, _("%(n)s leads assigned to %(owner)s.") % {"n": len(leads), "owner": owner}
    )
    return redirect(back)
