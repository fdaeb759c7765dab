"""Pages of products (price list) and quotes: list, detail, forms with lines, the printable
quote, and the quote actions (submit for approval, send, accept, decline, make the contract)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.customers.models import Customer
from apps.customers.views._common import flash_service_error, is_htmx, page_of
from apps.customers.views.customers import _MultiDict, filter_errors
from apps.org.errors import ServiceError
from apps.studio.layout import detail_sections

from ..forms_deals import (
    DeclineForm,
    ProductForm,
    QuoteForm,
    QuoteLineFormSet,
    add_service_errors,
    product_choices,
)
from ..models import Opportunity, Product, ProductCategory, Quote, SalesSettings
from ..resources_deals import ProductResource, QuoteResource, xlsx_response
from ..selectors import deals as selectors
from ..services import deals as services

PRODUCT_FIELDS = ["sku", "name", "category", "unit", "price", "cost", "is_active", "description"]


def _filters(request) -> _MultiDict:
    data = {k: v for k, v in request.GET.items() if v != "" and k not in ("page", "sort")}
    if request.GET.getlist("status"):
        data["status"] = [v for v in request.GET.getlist("status") if v]
    return _MultiDict(data)


# --- products ------------------------------------------------------------------------------


@login_required
@permission_required("sales.view_product", raise_exception=True)
def product_list(request):
    errors = {}
    try:
        qs = selectors.product_list(user=request.user, filters=_filters(request))
    except ValidationError as exc:
        qs, errors = Product.objects.none(), filter_errors(exc)
    if request.GET.get("export") == "xlsx":
        dataset = ProductResource(user=request.user).export(queryset=qs)
        return xlsx_response(dataset, "products")
    context = {
        "page": page_of(request, qs),
        "f": request.GET,
        "filter_errors": errors,
        "categories": ProductCategory.objects.order_by("order", "name"),
    }
    return render(request, "sales/deals/product_list.html", context)


def _product(request, pk) -> Product:
    obj = Product.objects.select_related("category").filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


@login_required
@permission_required("sales.view_product", raise_exception=True)
def product_detail(request, pk: int):
    obj = _product(request, pk)
    context = {
        "obj": obj,
        "fields": detail_sections(request.user, obj, builtin=PRODUCT_FIELDS),
        "can_change": request.user.has_perm("sales.change_product"),
    }
    return render(request, "sales/deals/product_detail.html", context)


@login_required
@permission_required("sales.add_product", raise_exception=True)
def product_create(request):
    form = ProductForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.product_create(by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect(obj)
    return render(request, "sales/deals/product_form.html", {"form": form, "obj": None})


@login_required
@permission_required("sales.change_product", raise_exception=True)
def product_edit(request, pk: int):
    obj = _product(request, pk)
    form = ProductForm(request.POST or None, instance=obj, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.product_update(product=obj, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect(obj)
    return render(request, "sales/deals/product_form.html", {"form": form, "obj": obj})


# --- quotes --------------------------------------------------------------------------------


@login_required
@permission_required("sales.view_quote", raise_exception=True)
def quote_list(request):
    errors = {}
    try:
        qs = selectors.quote_list(user=request.user, filters=_filters(request))
    except ValidationError as exc:
        qs, errors = Quote.objects.none(), filter_errors(exc)
    if request.GET.get("export") == "xlsx":
        if not request.user.has_perm("sales.export_opportunity"):
            raise PermissionDenied
        return xlsx_response(
            QuoteResource(user=request.user).export(queryset=qs[:50_000]), "quotes"
        )
    context = {
        "page": page_of(request, qs),
        "f": request.GET,
        "filter_errors": errors,
        "statuses": Quote.Status.choices,
    }
    template = (
        "sales/deals/_quote_results.html" if is_htmx(request) else "sales/deals/quote_list.html"
    )
    return render(request, template, context)


def _quote_context(request, quote: Quote) -> dict:
    user = request.user
    can_change = user.has_perm("sales.change_quote", quote)
    S = Quote.Status
    contracts = (
        list(quote.contracts.only("pk", "number")) if user.has_perm("sales.view_contract") else []
    )
    return {
        "obj": quote,
        "lines": list(quote.lines.all()),
        "events": selectors.quote_events(quote=quote),
        "fields": detail_sections(user, quote, builtin=[]),
        "contracts": contracts,
        "can_change": can_change,
        "can_edit": can_change and quote.status in (S.DRAFT, S.REJECTED),
        "can_submit": can_change and quote.status in (S.DRAFT, S.REJECTED),
        "can_send": can_change and quote.status == S.APPROVED,
        "can_accept": can_change and quote.status in (S.APPROVED, S.SENT),
        "can_contract": can_change
        and quote.status == S.ACCEPTED
        and not contracts
        and user.has_perm("sales.add_contract"),
        "threshold": SalesSettings.load().discount_approval_threshold,
        "decline_form": DeclineForm(),
    }


@login_required
def quote_detail(request, pk: int):
    quote = selectors.quote_get(user=request.user, pk=pk)
    return render(request, "sales/deals/quote_detail.html", _quote_context(request, quote))


@login_required
def quote_print(request, pk: int):
    """The printable quote (the browser prints it or saves it as PDF)."""
    quote = selectors.quote_get(user=request.user, pk=pk)
    return render(request, "sales/deals/quote_print.html", _quote_context(request, quote))


def _quote_form_page(request, quote: Quote | None):
    customers = Customer.objects.visible_to(request.user)
    opportunities = Opportunity.objects.visible_to(request.user)
    initial, opportunity, customer = {}, None, None
    if quote is None:
        if request.GET.get("opportunity", "").isdigit():
            opportunity = (
                opportunities.select_related("customer")
                .filter(pk=int(request.GET["opportunity"]))
                .first()
            )
        if opportunity is not None:
            customer = opportunity.customer
            initial = {
                "opportunity": opportunity.pk,
                "customer": customer.pk,
                "title": opportunity.name,
            }
        elif request.GET.get("customer", "").isdigit():
            customer = customers.filter(pk=int(request.GET["customer"])).first()
            initial = {"customer": customer.pk} if customer else {}
    else:
        customer, opportunity = quote.customer, quote.opportunity
    choices = product_choices()
    if quote is not None:  # keep lines whose product was deactivated since
        known = {c[0] for c in choices}
        for line in quote.lines.all():
            if line.product_id and line.product_id not in known:
                choices.append((line.product_id, str(line.product)))
    form = QuoteForm(
        request.POST or None,
        instance=quote,
        user=request.user,
        customers=customers,
        opportunities=opportunities,
        initial=initial,
    )
    line_initial = None
    if quote is not None:
        line_initial = [
            {
                "product": li.product_id,
                "description": li.description,
                "quantity": li.quantity,
                "unit_price": li.unit_price,
                "discount": li.discount,
            }
            for li in quote.lines.all()
        ]
    formset = QuoteLineFormSet(
        request.POST or None, initial=line_initial, prefix="lines", product_choices=choices
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            if quote is None:
                saved = services.quote_create(
                    by=request.user, data=form.service_data(), lines=formset.lines()
                )
            else:
                saved = services.quote_update(
                    quote=quote, by=request.user, data=form.service_data(), lines=formset.lines()
                )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not change this quote."))
        else:
            messages.success(request, _("Quote %(number)s saved.") % {"number": saved.number})
            return redirect(saved)
    if form.is_bound and str(form.data.get("customer", "")).isdigit() and quote is None:
        customer = customers.filter(pk=int(form.data["customer"])).first()
    context = {
        "form": form,
        "formset": formset,
        "obj": quote,
        "customer": customer,
        "opportunity": opportunity,
        "threshold": SalesSettings.load().discount_approval_threshold,
    }
    return render(request, "sales/deals/quote_form.html", context)


@login_required
@permission_required("sales.add_quote", raise_exception=True)
def quote_create(request):
    return _quote_form_page(request, None)


@login_required
def quote_edit(request, pk: int):
    quote = selectors.quote_get(user=request.user, pk=pk)
    if not request.user.has_perm("sales.change_quote", quote):
        raise PermissionDenied
    if quote.status not in (Quote.Status.DRAFT, Quote.Status.REJECTED):
        messages.error(request, _("Only a draft or rejected quote can be changed."))
        return redirect(quote)
    return _quote_form_page(request, quote)


ACTIONS = {
    "submit": (services.quote_submit, _("Quote submitted.")),
    "send": (services.quote_send, _("Quote marked as sent.")),
    "accept": (services.quote_accept, _("Quote accepted.")),
    "decline": (services.quote_decline, _("Quote declined.")),
    "delete": (services.quote_delete, _("Quote deleted.")),
}


@login_required
@require_POST
def quote_action(request, pk: int, action: str):
    quote = selectors.quote_get(user=request.user, pk=pk)
    if action == "contract":
        try:
            contract = services.quote_to_contract(quote=quote, by=request.user)
        except ServiceError as exc:
            flash_service_error(request, exc)
            return redirect(quote)
        messages.success(
            request, _("Draft contract %(number)s created.") % {"number": contract.number}
        )
        return redirect(contract.get_absolute_url() or quote.get_absolute_url())
    if action not in ACTIONS:
        raise Http404
    run, done = ACTIONS[action]
    kwargs = {}
    if action == "decline":
        form = DeclineForm(request.POST)
        kwargs["reason"] = form.data.get("reason", "")[:300]
    try:
        result = run(quote=quote, by=request.user, **kwargs)
    except ServiceError as exc:
        flash_service_error(request, exc)
        return redirect(quote)
    if action == "delete":
        messages.success(request, done)
        return redirect("sales:quote-list")
    if action == "submit" and result.status == Quote.Status.PENDING:
        messages.info(request, _("The discount needs approval; the quote waits for it."))
    else:
        messages.success(request, done)
    return redirect(quote)
