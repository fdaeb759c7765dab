"""Pages of the money area: contracts (list, form, detail with the status flow, payment plan,
payments and invoices), payments and invoices lists, invoice detail, receivables aging and the
finance exports. Views are thin: a selector or a service call each."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.customers.models import Customer, Ticket
from apps.org.errors import ConflictError, ServiceError
from apps.org.fields import field_access
from apps.studio.layout import detail_sections

from .. import resources_contracts as exports
from ..forms_contracts import (
    ContractForm,
    DeliveryForm,
    InvoiceIssueForm,
    InvoiceRejectForm,
    InvoiceRequestForm,
    PaymentForm,
    PlanForm,
    SignForm,
    TerminateForm,
    add_service_errors,
)
from ..models import Contract, Invoice, Opportunity, Payment, PaymentPlan
from ..selectors import contracts as selectors
from ..services import contracts as services
from ..services import contracts_invoices as invoices
from ..services import contracts_payments as payments

User = get_user_model()
S = Contract.Status
PAGE_SIZE = 25
DETAIL_FIELDS = ["number", "title", "signed_date", "start_date", "end_date", "terms"]


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _flash(request, exc: ServiceError) -> None:
    (messages.warning if isinstance(exc, ConflictError) else messages.error)(request, exc.message)


def _filters(request, model) -> QueryDict:
    """The page's GET filters without paging and without fields the user may not see."""
    access = field_access(request.user, model)
    data = request.GET.copy()
    for key in list(data):
        base = key.split("__")[1] if key.startswith("custom__") else key.split("__")[0]
        if key == "page" or not access.can_view(base) or data.get(key) == "":
            del data[key]
    return data


def _listed(request, selector, model):
    errors = {}
    try:
        qs = selector(user=request.user, filters=_filters(request, model))
    except ValidationError as exc:
        qs = model.objects.none()
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    return qs, errors


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _money_access(user) -> dict:
    access = field_access(user, Contract)
    amount = access.can_view("amount")
    received = access.can_view("received_amount")
    return {
        "show_amount": amount,
        "show_received": received,
        "show_receivable": amount and received,
        "show_invoiced": access.can_view("invoiced_amount"),
    }


# --- contracts ----------------------------------------------------------------------------


@login_required
@permission_required("sales.view_contract", raise_exception=True)
def contract_list(request):
    qs, errors = _listed(request, selectors.contract_list, Contract)
    context = {
        "page": _page(request, qs),
        "filter_errors": errors,
        "f": request.GET,
        "statuses": S.choices,
        "deliveries": Contract.Delivery.choices,
        "query": request.GET.urlencode(),
        **_money_access(request.user),
    }
    template = "sales/contracts/_results.html" if _is_htmx(request) else "sales/contracts/list.html"
    return render(request, template, context)


@login_required
def contract_export(request):
    if not request.user.has_perm("sales.export_contract"):
        raise PermissionDenied
    qs, errors = _listed(request, selectors.contract_list, Contract)
    if errors:
        messages.error(request, _("Check the filters."))
        return redirect("sales:contract-list")
    return exports.export_contracts(request.user, qs)


@login_required
@permission_required("sales.add_contract", raise_exception=True)
def contract_create(request):
    customers = Customer.objects.visible_to(request.user)
    customer = None
    raw = request.POST.get("customer") or request.GET.get("customer") or ""
    if raw.isdigit():
        customer = customers.filter(pk=int(raw)).first()
    initial = {"customer": customer.pk} if customer else {}
    deal_raw = request.GET.get("opportunity", "") if request.method == "GET" else ""
    if deal_raw.isdigit():
        # "New contract" on a deal's page: the deal's customer, name and amount to start from.
        deal = Opportunity.objects.visible_to(request.user).filter(pk=int(deal_raw)).first()
        if deal is not None and customer is None:
            customer = customers.filter(pk=deal.customer_id).first()
        if deal is not None and customer is not None and deal.customer_id == customer.pk:
            initial = {
                "customer": customer.pk,
                "opportunity": deal.pk,
                "title": deal.name,
                "amount": deal.amount,
            }
    form = ContractForm(
        request.POST or None,
        user=request.user,
        customers=customers,
        customer=customer,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create(by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not make contracts for this customer."))
        else:
            messages.success(
                request, _("Contract %(number)s created.") % {"number": contract.number}
            )
            return redirect(contract)
    return render(request, "sales/contracts/form.html", {"form": form, "customer": customer})


@login_required
def contract_edit(request, pk: int):
    contract = selectors.contract_get(user=request.user, pk=pk)
    if not request.user.has_perm("sales.change_contract", contract):
        raise PermissionDenied
    form = ContractForm(request.POST or None, instance=contract, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_update(contract=contract, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Contract saved."))
            return redirect(contract)
    return render(
        request,
        "sales/contracts/form.html",
        {"form": form, "obj": contract, "customer": contract.customer},
    )


@login_required
def contract_detail(request, pk: int):
    user = request.user
    contract = selectors.contract_get(user=user, pk=pk)
    can_change = user.has_perm("sales.change_contract", contract)
    money_ok = contract.status in services.MONEY_STATUSES
    plans = selectors.plans_with_state(contract)
    access = _money_access(user)
    tickets = []
    if user.has_perm("customers.view_ticket"):
        tickets = list(
            Ticket.objects.visible_to(user)
            .filter(contract_id=contract.pk)
            .only("pk", "title", "status", "priority")
            .order_by("-created_at")[:10]
        )
    context = {
        "obj": contract,
        "profile": detail_sections(user, contract, builtin=DETAIL_FIELDS),
        "plans": plans,
        "payments": list(
            Payment.objects.filter(contract=contract)
            .select_related("recorded_by", "plan")
            .order_by("-received_at", "-id")
        )
        if user.has_perm("sales.view_payment")
        else None,
        "invoices": list(
            Invoice.objects.filter(contract=contract)
            .select_related("requested_by")
            .order_by("-created_at")
        )
        if user.has_perm("sales.view_invoice")
        else None,
        "events": list(contract.events.select_related("actor").order_by("-at", "-id")[:30]),
        "tickets": tickets,
        "can_change": can_change,
        "can_delete": user.has_perm("sales.delete_contract", contract)
        and contract.status in (S.DRAFT, S.REJECTED),
        "can_submit": can_change and contract.status in (S.DRAFT, S.REJECTED),
        "can_sign": can_change and contract.status == S.APPROVED,
        "can_start": can_change and contract.status == S.SIGNED,
        "can_complete": can_change and contract.status in (S.SIGNED, S.EXECUTING),
        "can_terminate": can_change and contract.status in (S.APPROVED, S.SIGNED, S.EXECUTING),
        "can_deliver": money_ok and user.has_perm("sales.deliver_contract"),
        "can_plan": user.has_perm("sales.add_paymentplan")
        and contract.status not in (S.COMPLETED, S.TERMINATED),
        "can_delete_plan": user.has_perm("sales.delete_paymentplan")
        and contract.status not in (S.COMPLETED, S.TERMINATED),
        "can_edit_plan": user.has_perm("sales.change_paymentplan")
        and contract.status not in (S.COMPLETED, S.TERMINATED),
        "can_pay": money_ok
        and user.has_perm("sales.add_payment")
        and contract.receivable_amount > 0,
        "can_delete_payment": user.has_perm("sales.delete_payment"),
        "can_invoice": money_ok
        and user.has_perm("sales.add_invoice")
        and contract.invoiceable_amount > 0,
        "sign_form": SignForm(
            initial={"signed_date": contract.signed_date or timezone.localdate()}
        ),
        "terminate_form": TerminateForm(),
        "delivery_form": DeliveryForm(initial={"delivery_status": contract.delivery_status}),
        "plan_form": PlanForm(),
        "today": timezone.localdate(),
        "payment_form": PaymentForm(contract=contract),
        **access,
    }
    return render(request, "sales/contracts/detail.html", context)


@login_required
@require_POST
def contract_action(request, pk: int, action: str):
    contract = selectors.contract_get(user=request.user, pk=pk)
    by = request.user
    try:
        if action == "submit":
            contract = services.contract_submit(contract=contract, by=by)
            done = _("Sent for approval.") if contract.status == S.PENDING else _("Approved.")
        elif action == "sign":
            form = SignForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Give a valid date."), field="signed_date")
            services.contract_sign(
                contract=contract, by=by, signed_date=form.cleaned_data["signed_date"]
            )
            done = _("Contract signed.")
        elif action == "start":
            services.contract_start(contract=contract, by=by)
            done = _("Execution started.")
        elif action == "complete":
            services.contract_complete(contract=contract, by=by)
            done = _("Contract completed.")
        elif action == "terminate":
            form = TerminateForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Say why the contract is terminated."), field="reason")
            services.contract_terminate(
                contract=contract, by=by, reason=form.cleaned_data["reason"]
            )
            done = _("Contract terminated.")
        elif action == "delivery":
            form = DeliveryForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Choose a delivery status."), field="delivery_status")
            services.contract_set_delivery(
                contract=contract, by=by, delivery_status=form.cleaned_data["delivery_status"]
            )
            done = _("Delivery status saved.")
        elif action == "delete":
            services.contract_delete(contract=contract, by=by)
            messages.success(request, _("Contract deleted."))
            return redirect("sales:contract-list")
        else:
            raise Http404
    except ServiceError as exc:
        _flash(request, exc)
    else:
        messages.success(request, done)
    return redirect(contract)


# --- plans and payments -------------------------------------------------------------------


@login_required
@require_POST
def plan_add(request, pk: int):
    contract = selectors.contract_get(user=request.user, pk=pk)
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            payments.plan_save(contract=contract, by=request.user, data=form.cleaned_data)
        except ServiceError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Instalment added."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(contract)


@login_required
def plan_edit(request, pk: int):
    """Change one instalment's due date, amount or note (the total stays within the amount)."""
    plan = (
        PaymentPlan.objects.visible_to(request.user)
        .select_related("contract", "contract__customer")
        .filter(pk=pk)
        .first()
    )
    if plan is None:
        raise Http404
    if not request.user.has_perm("sales.change_paymentplan"):
        raise PermissionDenied
    contract = plan.contract
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            payments.plan_save(
                contract=contract,
                by=request.user,
                data=form.cleaned_data,
                plan=PaymentPlan.objects.get(pk=plan.pk),  # the form changed `plan` in memory
            )
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Instalment saved."))
            return redirect(contract)
    return render(
        request,
        "sales/contracts/plan_form.html",
        {"form": form, "obj": contract, "plan": plan, **_money_access(request.user)},
    )


@login_required
@require_POST
def plan_delete(request, pk: int):
    plan = PaymentPlan.objects.visible_to(request.user).filter(pk=pk).first()
    if plan is None:
        raise Http404
    try:
        payments.plan_delete(plan=plan, by=request.user)
    except ServiceError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("Instalment removed."))
    return redirect("sales:contract-detail", plan.contract_id)


@login_required
def payment_add(request, pk: int):
    contract = selectors.contract_get(user=request.user, pk=pk)
    if not request.user.has_perm("sales.add_payment"):
        raise PermissionDenied
    form = PaymentForm(request.POST or None, contract=contract)
    if request.method == "POST" and form.is_valid():
        try:
            payments.payment_record(contract=contract, by=request.user, data=form.cleaned_data)
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect(contract)
    return render(
        request,
        "sales/contracts/payment_form.html",
        {"form": form, "obj": contract, **_money_access(request.user)},
    )


@login_required
@require_POST
def payment_delete(request, pk: int):
    payment = Payment.objects.visible_to(request.user).filter(pk=pk).first()
    if payment is None:
        raise Http404
    try:
        payments.payment_delete(payment=payment, by=request.user)
    except ServiceError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("Payment removed."))
    return redirect("sales:contract-detail", payment.contract_id)


@login_required
@permission_required("sales.view_payment", raise_exception=True)
def payment_list(request):
    qs, errors = _listed(request, selectors.payment_list, Payment)
    context = {
        "page": _page(request, qs),
        "filter_errors": errors,
        "f": request.GET,
        "methods": Payment.Method.choices,
        "query": request.GET.urlencode(),
        "show_amount": field_access(request.user, Payment).can_view("amount"),
    }
    return render(request, "sales/contracts/payments.html", context)


@login_required
def payment_export(request):
    if not request.user.has_perm("sales.export_payment"):
        raise PermissionDenied
    qs, errors = _listed(request, selectors.payment_list, Payment)
    if errors:
        messages.error(request, _("Check the filters."))
        return redirect("sales:payment-list")
    return exports.export_payments(request.user, qs)


# --- invoices -----------------------------------------------------------------------------


@login_required
def invoice_request(request, pk: int):
    contract = selectors.contract_get(user=request.user, pk=pk)
    if not request.user.has_perm("sales.add_invoice"):
        raise PermissionDenied
    form = InvoiceRequestForm(request.POST or None, contract=contract)
    if request.method == "POST" and form.is_valid():
        try:
            invoice = invoices.invoice_request(
                contract=contract, by=request.user, data=form.cleaned_data
            )
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Invoice requested."))
            return redirect("sales:invoice-detail", invoice.pk)
    return render(
        request,
        "sales/contracts/invoice_form.html",
        {"form": form, "obj": contract, **_money_access(request.user)},
    )


@login_required
@permission_required("sales.view_invoice", raise_exception=True)
def invoice_list(request):
    qs, errors = _listed(request, selectors.invoice_list, Invoice)
    context = {
        "page": _page(request, qs),
        "filter_errors": errors,
        "f": request.GET,
        "statuses": Invoice.Status.choices,
        "kinds": Invoice.Kind.choices,
        "query": request.GET.urlencode(),
        "show_amount": field_access(request.user, Invoice).can_view("amount"),
    }
    return render(request, "sales/contracts/invoices.html", context)


@login_required
def invoice_detail(request, pk: int):
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    may_issue = request.user.has_perm("sales.issue_invoice")
    is_open = invoice.status in (Invoice.Status.REQUESTED, Invoice.Status.APPROVED)
    context = {
        "obj": invoice,
        "can_issue": may_issue and is_open,
        "issue_form": InvoiceIssueForm(initial={"issued_date": timezone.localdate()}),
        "reject_form": InvoiceRejectForm(),
        "show_amount": field_access(request.user, Invoice).can_view("amount"),
    }
    return render(request, "sales/contracts/invoice_detail.html", context)


@login_required
@require_POST
def invoice_action(request, pk: int, action: str):
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    try:
        if action == "issue":
            form = InvoiceIssueForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Give the invoice number."), field="invoice_number")
            invoices.invoice_issue(
                invoice=invoice,
                by=request.user,
                invoice_number=form.cleaned_data["invoice_number"],
                issued_date=form.cleaned_data["issued_date"],
            )
            done = _("Invoice issued.")
        elif action == "reject":
            form = InvoiceRejectForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Say why the invoice is rejected."), field="reason")
            invoices.invoice_reject(
                invoice=invoice, by=request.user, reason=form.cleaned_data["reason"]
            )
            done = _("Invoice request rejected.")
        else:
            raise Http404
    except ServiceError as exc:
        _flash(request, exc)
    else:
        messages.success(request, done)
    return redirect("sales:invoice-detail", invoice.pk)


@login_required
def invoice_export(request):
    if not request.user.has_perm("sales.export_invoice"):
        raise PermissionDenied
    qs, errors = _listed(request, selectors.invoice_list, Invoice)
    if errors:
        messages.error(request, _("Check the filters."))
        return redirect("sales:invoice-list")
    return exports.export_invoices(request.user, qs)


# --- receivables aging --------------------------------------------------------------------


@login_required
@permission_required("sales.view_contract", raise_exception=True)
def aging(request):
    by = request.GET.get("by", "customer")
    if by not in ("customer", "owner"):
        by = "customer"
    rows, total = selectors.receivables_aging(user=request.user, by=by)
    context = {
        "rows": rows,
        "total": total,
        "by": by,
        "buckets": selectors.BUCKETS,
        "today": timezone.localdate(),
        "list_url": reverse("sales:contract-list"),
    }
    return render(request, "sales/contracts/aging.html", context)
