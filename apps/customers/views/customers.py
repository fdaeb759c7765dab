"""Customer pages: the list (filters, sorting, columns, bulk actions, export), the create and
edit forms with duplicate hints and territory linkage, and the 360° page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.org.errors import ServiceError
from apps.org.fields import field_access
from apps.org.models import Department
from apps.org.scopes import prefetch_grants
from apps.studio.layout import detail_sections
from apps.studio.list_columns import ListColumns
from apps.studio.registry import definitions_for

from .. import selectors
from ..forms import BulkForm, CustomerForm, FollowUpForm, ReleaseForm
from ..models import PROVINCE_CHOICES, Customer, Tag
from ..selectors import CUSTOMER_ORDERINGS
from ..services.customers import (
    customer_check_duplicates,
    customer_create,
    customer_set_tags,
    customer_tag,
    customer_update,
)
from ..services.pool import claim_limit_for, customer_assign, customer_release
from ..services.territories import territory_for_province
from ._common import (
    clear_preference,
    flash_service_error,
    is_htmx,
    page_of,
    require_perm,
    safe_next,
    set_preference,
    visible_customer,
)
from ._export import export_customers

User = get_user_model()

# key: (label, sort expression or None). "name" is always shown first.
COLUMNS: dict[str, tuple] = {
    "owner": (gettext_lazy("owner"), None),
    "department": (gettext_lazy("department"), None),
    "level": (gettext_lazy("level"), "level"),
    "status": (gettext_lazy("status"), "status"),
    "industry": (gettext_lazy("industry"), None),
    "source": (gettext_lazy("source"), None),
    "province": (gettext_lazy("province"), "province"),
    "city": (gettext_lazy("city"), None),
    "region": (gettext_lazy("region"), None),
    "phone": (gettext_lazy("phone"), None),
    "email": (gettext_lazy("email"), None),
    "tags": (gettext_lazy("tags"), None),
    "last_contacted_at": (gettext_lazy("last contacted"), "last_contacted_at"),
    "next_follow_up_at": (gettext_lazy("next follow-up"), "next_follow_up_at"),
    "created_at": (gettext_lazy("created at"), "created_at"),
    "updated_at": (gettext_lazy("updated at"), "updated_at"),
}
DEFAULT_COLUMNS = ["owner", "level", "status", "province", "phone", "last_contacted_at"]
PREF_KEY = "customers.list.columns"
DATE_COLUMNS = {"last_contacted_at", "next_follow_up_at", "created_at", "updated_at"}
CHOICE_COLUMNS = {"level", "status", "industry", "source"}

PROFILE_FIELDS = [
    "name",
    "level",
    "status",
    "industry",
    "source",
    "phone",
    "email",
    "website",
    "province",
    "city",
    "region",
    "address",
    "description",
]


LIST = ListColumns(
    model=Customer,
    columns=COLUMNS,
    default=DEFAULT_COLUMNS,
    pref_key=PREF_KEY,
    orderings=CUSTOMER_ORDERINGS,
    first_sort="name",
    date_columns=DATE_COLUMNS,
    choice_columns=CHOICE_COLUMNS,
    cells={"tags": lambda c: ", ".join(t.name for t in c.tags.all())},
)
available_columns = LIST.available
chosen_columns = LIST.chosen
sort_options = LIST.sort_options
table_rows = LIST.rows


def list_filters(request, *, pool: bool = False) -> dict:
    """The GET parameters as the selectors' filters; the list shows owned customers unless
    the owner filter asks for the pool (the pool has its own page)."""
    data = {k: v for k, v in request.GET.items() if k not in ("page", "sort") and v != ""}
    for key in ("level", "status", "industry", "source"):
        values = [v for v in request.GET.getlist(key) if v]
        if values:
            data[key] = values
    if not pool:
        owner = data.get("owner")
        if owner == "pool":
            data.pop("owner")
            data["in_pool"] = "true"
        elif "in_pool" not in data:
            data["in_pool"] = "false"
    return data


def filter_errors(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"filters": exc.messages}


class _MultiDict(dict):
    """A dict django-filter reads like a QueryDict (lists for the multiple choice filters)."""

    def getlist(self, key, default=None):
        value = self.get(key, default)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


def filtered_customers(request, *, pool: bool = False):
    """The list's queryset (scoped, filtered, sorted) or, for bad filter input, none and the
    errors to show."""
    filters = _MultiDict(list_filters(request, pool=pool))
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in sort_options(request.user) and not pool:
        sort = ""
    select = selectors.pool_list if pool else selectors.customer_list
    try:
        qs = select(user=request.user, filters=filters, ordering=sort or None)
    except ValidationError as exc:
        return Customer.objects.none(), sort, filter_errors(exc)
    return qs, sort, {}


def list_context(request, qs, columns: list[str], sort: str) -> dict:
    page = page_of(request, qs)
    labels = dict(available_columns(request.user))
    sortable = set(sort_options(request.user))
    return {
        "page": page,
        "rows": table_rows(page.object_list, columns),
        "columns": [(c, labels.get(c, c), c in sortable) for c in columns],
        "sort": sort,
    }


def custom_filter_options(request, access) -> list[dict]:
    """Select boxes for choice and yes/no custom fields (other types filter through the API)."""
    out = []
    for d in definitions_for(Customer):
        if not access.can_view(d.key) or d.type not in ("choice", "boolean"):
            continue
        name = f"custom__{d.key}"
        current = request.GET.get(name, "")
        if d.type == "boolean":
            pairs = [("true", _("Yes")), ("false", _("No"))]
        else:
            pairs = [(c["value"], c["label"]) for c in d.choices]
        out.append(
            {
                "name": name,
                "label": d.label,
                "options": [(v, label, v == current) for v, label in pairs],
            }
        )
    return out


def _filter_choices() -> dict:
    return {
        "levels": Customer.Level.choices,
        "statuses": Customer.Status.choices,
        "industries": Customer.Industry.choices,
        "sources": Customer.Source.choices,
        "provinces": PROVINCE_CHOICES,
    }


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request):
    qs, sort, errors = filtered_customers(request)
    columns = chosen_columns(request.user)
    context = list_context(request, qs, columns, sort)
    access = field_access(request.user, Customer)
    context.update(_filter_choices())
    context.update(
        {
            "filter_errors": errors,
            "f": request.GET,
            "available_columns": available_columns(request.user),
            "chosen": columns,
            "users": User.objects.filter(is_active=True).order_by("username"),
            "departments": Department.objects.order_by("order", "name"),
            "custom_filters": custom_filter_options(request, access),
            "bulk_actions": BulkForm.ACTIONS,
            "can_export": request.user.has_perm("customers.export_customer"),
            "can_assign": request.user.has_perm("customers.assign_customer"),
            "advanced_open": any(
                request.GET.get(k) for k in ("department", "industry", "source", "tags", "province")
            )
            or any(k.startswith("custom__") and v for k, v in request.GET.items()),
        }
    )
    template = "customers/_list_results.html" if is_htmx(request) else "customers/list.html"
    return render(request, template, context)


@login_required
@require_POST
@permission_required("customers.view_customer", raise_exception=True)
def choose_columns(request):
    allowed = [k for k, _label in available_columns(request.user)]
    chosen = [c for c in request.POST.getlist("columns") if c in allowed]
    if request.POST.get("reset"):
        clear_preference(request.user, PREF_KEY)
    else:
        set_preference(request.user, PREF_KEY, chosen)
    messages.success(request, _("Columns saved."))
    return redirect(safe_next(request, reverse("customers:list")))


@login_required
@require_GET
@permission_required("customers.view_customer", raise_exception=True)
def export(request):
    require_perm(request, "customers.export_customer")
    qs, _sort, _errors = filtered_customers(request)
    return export_customers(request.user, qs)


@login_required
@require_POST
@permission_required("customers.view_customer", raise_exception=True)
def bulk(request):
    form = BulkForm(request.POST)
    back = safe_next(request, reverse("customers:list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    action = form.cleaned_data["action"]
    ids = form.cleaned_data["ids"]
    customers = list(
        Customer.objects.visible_to(request.user).filter(pk__in=ids).select_related("owner")
    )
    if action == "export":
        require_perm(request, "customers.export_customer")
        qs = Customer.objects.visible_to(request.user).filter(pk__in=[c.pk for c in customers])
        return export_customers(request.user, qs.select_related("owner", "department"))
    prefetch_grants(request.user, customers)
    try:
        if action == "assign":
            changed = customer_assign(
                customers=customers, owner=form.cleaned_data["owner"], by=request.user
            )
            messages.success(
                request,
                _("%(n)s customers assigned to %(owner)s.")
                % {"n": len(changed), "owner": form.cleaned_data["owner"]},
            )
        elif action in ("tag", "untag"):
            names = form.tag_names()
            kwargs = {"add": names} if action == "tag" else {"remove": names}
            changed = customer_tag(customers=customers, by=request.user, **kwargs)
            messages.success(request, _("Tags changed on %(n)s customers.") % {"n": changed})
        elif action == "release":
            with transaction.atomic():  # all of them or none
                for c in customers:
                    customer_release(
                        customer=c, by=request.user, reason=form.cleaned_data["reason"]
                    )
            messages.success(
                request, _("%(n)s customers released to the pool.") % {"n": len(customers)}
            )
    except PermissionDenied:
        messages.error(request, _("You are not allowed to do this with every selected customer."))
    except ServiceError as exc:
        flash_service_error(request, exc)
    return redirect(back)


# --- create / edit ------------------------------------------------------------------------


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def create(request):
    can_assign = request.user.has_perm("customers.assign_customer")
    form = CustomerForm(request.POST or None, user=request.user, can_assign=can_assign)
    if request.method == "POST" and form.is_valid():
        kwargs = {}
        if "owner" in form.fields:
            kwargs["owner"] = form.cleaned_data.get("owner")
        try:
            obj = customer_create(
                by=request.user,
                data=form.service_data(),
                tags=form.cleaned_data.get("tags") or None,
                **kwargs,
            )
        except (ServiceError, ValidationError) as exc:
            from ..forms import add_service_errors

            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error("owner", _("You may not give customers to other people."))
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": obj.name})
            return redirect(obj)
    return render(request, "customers/form.html", {"form": form, "obj": None})


@login_required
def edit(request, pk: int):
    obj = visible_customer(request, pk)
    require_perm(request, "customers.change_customer", obj)
    form = CustomerForm(request.POST or None, instance=obj, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                obj = customer_update(customer=obj, by=request.user, data=form.service_data())
                if "tags" in form.fields:
                    customer_set_tags(customer=obj, by=request.user, tags=form.cleaned_data["tags"])
        except (ServiceError, ValidationError) as exc:
            from ..forms import add_service_errors

            obj.refresh_from_db()
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Customer saved."))
            return redirect(obj)
    return render(request, "customers/form.html", {"form": form, "obj": obj})


@login_required
@require_GET
def check_duplicates(request):
    """Likely duplicates while typing (htmx): visible ones in full, others by name and owner."""
    if not (
        request.user.has_perm("customers.add_customer")
        or request.user.has_perm("customers.change_customer")
    ):
        raise PermissionDenied
    exclude = request.GET.get("exclude") or None
    exclude = int(exclude) if exclude and exclude.isdigit() else None
    candidates = customer_check_duplicates(
        name=request.GET.get("name", "")[:200],
        phone=request.GET.get("phone", "")[:50],
        email=request.GET.get("email", "")[:200],
        exclude_pk=exclude,
    )
    ids = [c.customer.pk for c in candidates]
    visible = set(
        Customer.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True)
    )
    rows = [
        {
            "customer": c.customer,
            "reasons": c.reason_labels,
            "visible": c.customer.pk in visible,
            "exact": "name" in c.reasons,
        }
        for c in candidates
    ]
    return render(request, "customers/_duplicates.html", {"rows": rows})


@login_required
@require_GET
def territory_lookup(request):
    """Province chosen on the form (htmx): fill region, suggest the territory's owner."""
    if not (
        request.user.has_perm("customers.add_customer")
        or request.user.has_perm("customers.change_customer")
    ):
        raise PermissionDenied
    match = territory_for_province(request.GET.get("province", "")[:30])
    can_assign = request.user.has_perm("customers.assign_customer")
    initial = {"region": match.region if match else ""}
    if match and match.owner_id and can_assign:
        initial["owner"] = match.owner_id
    form = CustomerForm(initial=initial, user=request.user, can_assign=can_assign)
    if "region" in form.fields:
        form.fields["region"].widget.attrs["hx-swap-oob"] = "true"
    if "owner" in form.fields:
        form.fields["owner"].widget.attrs["hx-swap-oob"] = "true"
        if not (match and match.owner_id):
            form.fields.pop("owner")  # no suggestion: leave the user's choice alone
    return render(request, "customers/_territory_hint.html", {"match": match, "form": form})


# --- the 360° page -------------------------------------------------------------------------


def _contact_tree(contacts) -> list[tuple[object, int]]:
    """Contacts in reporting-line order with their depth (bosses before their reports)."""
    by_boss: dict = {}
    ids = {c.pk for c in contacts}
    for c in contacts:
        boss = c.reports_to_id if c.reports_to_id in ids else None
        by_boss.setdefault(boss, []).append(c)
    out, seen = [], set()

    def walk(boss, depth):
        for c in by_boss.get(boss, []):
            if c.pk in seen:
                continue
            seen.add(c.pk)
            out.append((c, min(depth, 5)))
            walk(c.pk, depth + 1)

    walk(None, 0)
    out.extend((c, 0) for c in contacts if c.pk not in seen)  # a loop left by old data
    return out


TIMELINE_LIMIT = 30


def detail_context(request, obj, follow_up_form=None) -> dict:
    """The 360° page: the selector's sections (contacts, tickets, other apps' panels) and the
    timeline feed (follow-ups, history, registered sources) in a fixed number of queries."""
    user = request.user
    data = selectors.customer_360(user=user, customer=obj, follow_up_limit=0, event_limit=0)
    items = selectors.customer_timeline(user=user, customer=obj, limit=TIMELINE_LIMIT)
    for item in items:
        raw = (item.payload or {}).get("next_follow_up_at") if item.source == "follow_up" else None
        item.next_at = parse_datetime(raw) if isinstance(raw, str) else None
    can_change = data.can_change
    context = {
        "obj": obj,
        "data": data,
        "tags": list(obj.tags.all()),
        "profile": detail_sections(user, obj, builtin=PROFILE_FIELDS),
        "contacts": _contact_tree(data.contacts),
        "timeline": items,
        "history": [i for i in items if i.source == "event"][:10],
        "tickets": data.tickets,
        "panels": data.panels,
        "now": timezone.now(),
        "can_change": can_change,
        "can_log": can_change and user.has_perm("customers.add_followup"),
        "can_add_contact": can_change and user.has_perm("customers.add_contact"),
        "can_edit_contact": user.has_perm("customers.change_contact"),
        "can_add_ticket": user.has_perm("customers.add_ticket"),
        "can_claim": obj.owner_id is None and user.has_perm("customers.claim_customer"),
        "can_release": obj.owner_id is not None and can_change,
        "can_share": can_change,
        "release_form": ReleaseForm(),
    }
    if context["can_log"]:
        context["follow_up_form"] = follow_up_form or FollowUpForm(
            customer=obj, contacts=data.contacts, user=request.user
        )
    return context


@login_required
def detail(request, pk: int):
    obj = selectors.customer_get(user=request.user, pk=pk)
    return render(request, "customers/detail.html", detail_context(request, obj))


@login_required
def timeline(request, pk: int):
    """The timeline card alone (htmx refresh; the JSON feed is the API's)."""
    obj = visible_customer(request, pk)
    context = detail_context(request, obj)
    return render(request, "customers/_timeline.html", context)


@login_required
@require_POST
def claim(request, pk: int):
    from ..services.pool import customer_claim

    obj = visible_customer(request, pk)
    require_perm(request, "customers.claim_customer")
    try:
        customer_claim(customer=obj, by=request.user)
    except ServiceError as exc:
        flash_service_error(request, exc)
        limit = claim_limit_for(request.user)
        if limit is not None and getattr(exc, "code", "") == "claim_limit":
            messages.info(request, _("Release a customer you no longer work to claim another."))
    else:
        messages.success(request, _("%(name)s is now yours.") % {"name": obj.name})
    return redirect(safe_next(request, obj.get_absolute_url()))


@login_required
def release(request, pk: int):
    obj = visible_customer(request, pk)
    require_perm(request, "customers.change_customer", obj)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer_release(customer=obj, by=request.user, reason=form.cleaned_data["reason"])
        except ServiceError as exc:
            if exc.field == "reason":
                form.add_error("reason", exc.message)
            else:
                flash_service_error(request, exc)
                return redirect(obj)
        else:
            messages.success(request, _("%(name)s went back to the pool.") % {"name": obj.name})
            return redirect(obj)
    return render(request, "customers/release.html", {"obj": obj, "form": form})


def tag_names() -> list[str]:
    return list(Tag.objects.order_by("name").values_list("name", flat=True)[:200])
