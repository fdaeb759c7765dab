"""Products, quotes (lines, discounts, totals, discount approval) and the quote → contract
hand-off. Imported through `apps.sales.services.deals`.

Quote lifecycle: draft → submit → approved (at once, or through the `discount` approval when
the largest line discount exceeds `SalesSettings.discount_approval_threshold`, status pending
meanwhile) → sent → accepted / declined; an accepted quote becomes a draft contract with
`quote_to_contract`. A rejected quote can be edited (back to draft) and submitted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.customers.services._common import apply, refuse_restricted, require
from apps.org.errors import ServiceError
from apps.studio.validation import drop_unique_values, sync_unique_values, validate_custom_or_raise

from ..models import (
    ZERO,
    Contract,
    ContractEvent,
    Opportunity,
    Product,
    ProductCategory,
    Quote,
    QuoteEvent,
    QuoteLine,
    SalesSettings,
)
from ..numbering import save_numbered

__all__ = [
    "CONTRACT_PREFIX",
    "PRODUCT_FIELDS",
    "QUOTE_FIELDS",
    "QUOTE_PREFIX",
    "product_create",
    "product_delete",
    "product_update",
    "quote_accept",
    "quote_approval_outcome",
    "quote_create",
    "quote_decline",
    "quote_delete",
    "quote_send",
    "quote_submit",
    "quote_to_contract",
    "quote_update",
]

QUOTE_PREFIX = "BJ"  # 报价
CONTRACT_PREFIX = "HT"  # 合同
CENT = Decimal("0.01")
PRODUCT_FIELDS = ("sku", "name", "category", "unit", "price", "cost", "description", "is_active")
QUOTE_FIELDS = ("title", "customer", "opportunity", "contact", "valid_until", "terms")
EDITABLE = (Quote.Status.DRAFT, Quote.Status.REJECTED)


def _record(quote: Quote, kind: str, by, /, **payload) -> QuoteEvent:
    return QuoteEvent.objects.create(quote=quote, kind=kind, actor=by, payload=payload)


# --- products ------------------------------------------------------------------------------


def _product_data(data: Mapping) -> dict:
    data = dict(data)
    category = data.get("category")
    if category not in (None, "") and not isinstance(category, ProductCategory):
        found = (
            ProductCategory.objects.filter(pk=category).first() if str(category).isdigit() else None
        )
        if found is None:
            raise ServiceError(_("Choose a valid category."), field="category")
        data["category"] = found
    return data


def _save_product(product: Product) -> None:
    product.full_clean(exclude=["custom"], validate_unique=False, validate_constraints=False)
    clash = Product.objects.filter(sku=product.sku).exclude(pk=product.pk).exists()
    if clash:
        raise ServiceError(_("Another product has this SKU."), field="sku")
    product.save()
    sync_unique_values(product)


@transaction.atomic
def product_create(*, by, data: Mapping) -> Product:
    require(by, "sales.add_product")
    refuse_restricted(by, Product, [k for k in data if k in PRODUCT_FIELDS or k == "custom"])
    product = Product()
    apply(product, _product_data(data), PRODUCT_FIELDS)
    product.custom = validate_custom_or_raise(Product, data.get("custom"), instance=None)
    _save_product(product)
    return product


@transaction.atomic
def product_update(*, product: Product, by, data: Mapping) -> Product:
    require(by, "sales.change_product", product)
    product = Product.objects.select_for_update().get(pk=product.pk)
    refuse_restricted(
        by, Product, [k for k in data if k in PRODUCT_FIELDS or k == "custom"], product
    )
    apply(product, _product_data(data), PRODUCT_FIELDS)
    if "custom" in data:
        product.custom = validate_custom_or_raise(
            Product, data["custom"], instance=product, partial=True
        )
    _save_product(product)
    return product


@transaction.atomic
def product_delete(*, product: Product, by) -> None:
    """Delete a product no quote uses; a used one is deactivated instead (kept for history)."""
    require(by, "sales.delete_product", product)
    if QuoteLine.objects.filter(product=product).exists():
        raise ServiceError(
            _("Quotes use this product: deactivate it instead of deleting it."), field="product"
        )
    drop_unique_values(product)
    product.delete()


# --- quote lines and totals ----------------------------------------------------------------


def _decimal(value, field: str, index: int, default=None) -> Decimal:
    if value in (None, ""):
        if default is not None:
            return default
        raise ServiceError(
            _("Line %(n)s: %(field)s is required.") % {"n": index, "field": field}, field="lines"
        )
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ServiceError(
            _("Line %(n)s: %(field)s must be a number.") % {"n": index, "field": field},
            field="lines",
        ) from None
    if not number.is_finite():
        raise ServiceError(
            _("Line %(n)s: %(field)s must be a number.") % {"n": index, "field": field},
            field="lines",
        )
    return number


def _build_lines(raw_lines: Iterable[Mapping]) -> list[QuoteLine]:
    """Clean line dicts ({product, description, quantity, unit, unit_price, discount}) into
    unsaved QuoteLine rows with their amounts; errors name the line."""
    raw_lines = list(raw_lines or [])
    if not raw_lines:
        raise ServiceError(_("A quote needs at least one line."), field="lines")
    if len(raw_lines) > 200:
        raise ServiceError(_("A quote has at most 200 lines."), field="lines")
    product_ids = {
        (r.get("product").pk if isinstance(r.get("product"), Product) else r.get("product"))
        for r in raw_lines
        if r.get("product") not in (None, "")
    }
    try:
        products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids)}
    except (TypeError, ValueError):
        raise ServiceError(_("Choose valid products."), field="lines") from None
    lines = []
    for index, raw in enumerate(raw_lines, start=1):
        ref = raw.get("product")
        pk = ref.pk if isinstance(ref, Product) else ref
        product = None
        if pk not in (None, ""):
            try:
                product = products.get(int(pk))
            except (TypeError, ValueError):
                product = None
            if product is None:
                raise ServiceError(
                    _("Line %(n)s: choose a valid product.") % {"n": index}, field="lines"
                )
        description = str(raw.get("description") or "").strip()[:300]
        if product is None and not description:
            raise ServiceError(
                _("Line %(n)s: choose a product or describe the item.") % {"n": index},
                field="lines",
            )
        quantity = _decimal(raw.get("quantity"), _("quantity"), index, default=Decimal(1))
        unit_price = _decimal(
            raw.get("unit_price"),
            _("unit price"),
            index,
            default=product.price if product is not None else None,
        )
        discount = _decimal(raw.get("discount"), _("discount"), index, default=ZERO)
        if quantity <= 0 or quantity >= Decimal("1e10"):
            raise ServiceError(
                _("Line %(n)s: the quantity must be above zero.") % {"n": index}, field="lines"
            )
        if unit_price < 0 or unit_price >= Decimal("1e12"):
            raise ServiceError(
                _("Line %(n)s: the unit price must be zero or more.") % {"n": index},
                field="lines",
            )
        if not (0 <= discount <= 100):
            raise ServiceError(
                _("Line %(n)s: the discount is a percentage from 0 to 100.") % {"n": index},
                field="lines",
            )
        line = QuoteLine(
            product=product,
            description=description or (product.name if product else ""),
            quantity=quantity.quantize(CENT),
            unit=str(raw.get("unit") or (product.unit if product else ""))[:20],
            unit_price=unit_price.quantize(CENT),
            discount=discount.quantize(CENT),
            order=index,
        )
        line.amount = line.compute_amount()
        lines.append(line)
    return lines


def totals(lines: Iterable[QuoteLine]) -> dict:
    """subtotal (list prices), total (after line discounts), discount amount, largest discount."""
    lines = list(lines)
    subtotal = sum((li.list_amount for li in lines), ZERO)
    total = sum((li.amount for li in lines), ZERO)
    return {
        "subtotal": subtotal,
        "total": total,
        "discount_amount": subtotal - total,
        "max_discount": max((li.discount for li in lines), default=ZERO),
    }


def _store_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    QuoteLine.objects.filter(quote=quote).delete()
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines)
    for key, value in totals(lines).items():
        setattr(quote, key, value)
    if quote.total > Decimal("999999999999.99"):
        raise ServiceError(_("The quote total is too large."), field="lines")


# --- quotes --------------------------------------------------------------------------------


def _quote_refs(data: Mapping, by, customer=None) -> dict:
    from apps.customers.models import Contact, Customer

    from .deals import _resolve

    data = dict(data)
    if "customer" in data:
        data["customer"] = _resolve(Customer, data["customer"], "customer", user=by)
    if "opportunity" in data:
        data["opportunity"] = _resolve(Opportunity, data["opportunity"], "opportunity", user=by)
    if "contact" in data:
        data["contact"] = _resolve(Contact, data["contact"], "contact")
    return data


def _check_quote(quote: Quote) -> None:
    if not quote.customer_id:
        raise ServiceError(_("Choose a customer."), field="customer")
    if quote.opportunity_id and quote.opportunity.customer_id != quote.customer_id:
        raise ServiceError(_("The opportunity belongs to another customer."), field="opportunity")
    if quote.contact_id and quote.contact.customer_id != quote.customer_id:
        raise ServiceError(_("The contact does not belong to this customer."), field="contact")
    quote.full_clean(
        exclude=["custom", "number", "approval"], validate_unique=False, validate_constraints=False
    )


@transaction.atomic
def quote_create(*, by, data: Mapping, lines: Iterable[Mapping], owner=None) -> Quote:
    """A draft quote numbered BJ-<year>-<n>; the customer defaults to the opportunity's."""
    require(by, "sales.add_quote")
    owner = owner or by
    if by is not None and owner.pk != by.pk:
        require(by, "sales.assign_opportunity")
    refuse_restricted(by, Quote, [k for k in data if k in QUOTE_FIELDS or k == "custom"])
    data = _quote_refs(data, by)
    if data.get("customer") is None and data.get("opportunity") is not None:
        data["customer"] = data["opportunity"].customer
    now = timezone.now()
    quote = Quote(
        owner=owner,
        department_id=owner.department_id,
        created_by=by,
        created_at=now,
        status=Quote.Status.DRAFT,
    )
    if data.get("customer") is None:
        raise ServiceError(_("Choose a customer."), field="customer")
    quote.customer = data["customer"]
    apply(quote, data, QUOTE_FIELDS)
    if not quote.title and quote.customer_id:
        quote.title = _("Quote for %(customer)s") % {"customer": quote.customer.name}
    quote.custom = validate_custom_or_raise(Quote, data.get("custom"), instance=None)
    _check_quote(quote)
    built = _build_lines(lines)
    for key, value in totals(built).items():
        setattr(quote, key, value)
    save_numbered(quote, QUOTE_PREFIX)
    _store_lines(quote, built)
    sync_unique_values(quote)
    _record(quote, QuoteEvent.Kind.CREATED, by, total=str(quote.total), lines=len(built))
    if quote.opportunity_id:
        from .deals import opportunity_touch

        opportunity_touch(opportunity_id=quote.opportunity_id)
    return quote


@transaction.atomic
def quote_update(
    *, quote: Quote, by, data: Mapping, lines: Iterable[Mapping] | None = None
) -> Quote:
    """Change a draft (or rejected: it goes back to draft) quote and, with `lines`, replace its
    lines; totals are recomputed."""
    require(by, "sales.change_quote", quote)
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status not in EDITABLE:
        raise ServiceError(_("Only a draft or rejected quote can be changed."), field="status")
    refuse_restricted(by, Quote, [k for k in data if k in QUOTE_FIELDS or k == "custom"], quote)
    data = _quote_refs(data, by)
    changes = apply(quote, data, QUOTE_FIELDS)
    if "custom" in data:
        quote.custom = validate_custom_or_raise(Quote, data["custom"], instance=quote, partial=True)
        changes["custom"] = True
    _check_quote(quote)
    if lines is not None:
        before = str(quote.total)
        _store_lines(quote, _build_lines(lines))
        changes["total"] = [before, str(quote.total)]
    if quote.status == Quote.Status.REJECTED:
        quote.status = Quote.Status.DRAFT
        changes["status"] = [Quote.Status.REJECTED, Quote.Status.DRAFT]
    quote.save()
    sync_unique_values(quote)
    if changes:
        _record(quote, QuoteEvent.Kind.UPDATED, by, changes=sorted(changes))
    return quote


@transaction.atomic
def quote_delete(*, quote: Quote, by) -> None:
    require(by, "sales.delete_quote", quote)
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status not in EDITABLE:
        raise ServiceError(_("Only a draft or rejected quote can be deleted."), field="status")
    drop_unique_values(quote)
    quote.delete()


def _lock(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().get(pk=quote.pk)


@transaction.atomic
def quote_submit(*, quote: Quote, by) -> Quote:
    """Ask for the quote's approval: when its largest line discount exceeds the company's
    threshold, the `discount` approval starts (status pending until the outcome handler moves
    it); otherwise the quote is approved at once."""
    require(by, "sales.change_quote", quote)
    quote = _lock(quote)
    if quote.status not in EDITABLE:
        raise ServiceError(_("Only a draft or rejected quote can be submitted."), field="status")
    if not QuoteLine.objects.filter(quote=quote).exists():
        raise ServiceError(_("A quote needs at least one line."), field="lines")
    threshold = SalesSettings.load().discount_approval_threshold
    if quote.max_discount <= threshold:
        quote.status = Quote.Status.APPROVED
        quote.save(update_fields=["status", "updated_at"])
        _record(
            quote,
            QuoteEvent.Kind.APPROVED,
            by,
            automatic=True,
            max_discount=str(quote.max_discount),
            threshold=str(threshold),
        )
        return quote
    from apps.approvals import services as approvals

    # Pending first: a chain whose steps all don't apply decides inside approval_start, and
    # the outcome handler then finds the quote waiting.
    quote.status = Quote.Status.PENDING
    quote.save(update_fields=["status", "updated_at"])
    _record(
        quote,
        QuoteEvent.Kind.SUBMITTED,
        by,
        max_discount=str(quote.max_discount),
        threshold=str(threshold),
    )
    request = approvals.approval_start(
        template="discount",
        by=by,
        title=_("Quote %(number)s: discount %(discount)s%%")
        % {"number": quote.number, "discount": quote.max_discount.normalize()},
        amount=quote.total,
        data={"discount": str(quote.max_discount), "quote_no": quote.number},
        subject=quote,
    )
    Quote.objects.filter(pk=quote.pk).update(approval=request)
    quote.refresh_from_db()
    return quote


def quote_approval_outcome(request, outcome: str) -> None:
    """Outcome handler of the `discount` approval (apps.approvals.hooks): runs inside the
    decision's transaction and moves the quote's own status."""
    quote = Quote.objects.select_for_update().filter(pk=request.subject_id).first()
    if quote is None:
        return
    by = None
    if outcome == "approved" and quote.status == Quote.Status.PENDING:
        quote.status = Quote.Status.APPROVED
        kind = QuoteEvent.Kind.APPROVED
    elif outcome == "rejected" and quote.status == Quote.Status.PENDING:
        quote.status = Quote.Status.REJECTED
        kind = QuoteEvent.Kind.REJECTED
    elif outcome in ("withdrawn", "returned") and quote.status == Quote.Status.PENDING:
        quote.status = Quote.Status.DRAFT
        kind = QuoteEvent.Kind.UPDATED
    elif outcome == "resubmitted" and quote.status in EDITABLE:
        quote.status = Quote.Status.PENDING
        kind = QuoteEvent.Kind.SUBMITTED
    else:
        return
    quote.approval_id = request.pk
    quote.save(update_fields=["status", "approval", "updated_at"])
    _record(quote, kind, by, approval=request.pk, outcome=outcome)


def _transition(quote, by, allowed, status, kind, *, message, **payload) -> Quote:
    require(by, "sales.change_quote", quote)
    quote = _lock(quote)
    if quote.status not in allowed:
        raise ServiceError(message, field="status")
    quote.status = status
    fields = ["status", "updated_at"]
    now = timezone.now()
    if status == Quote.Status.SENT:
        quote.sent_at = now
        fields.append("sent_at")
    if status == Quote.Status.ACCEPTED:
        quote.accepted_at = now
        fields.append("accepted_at")
    quote.save(update_fields=fields)
    _record(quote, kind, by, **payload)
    if quote.opportunity_id:
        from .deals import opportunity_touch

        opportunity_touch(opportunity_id=quote.opportunity_id, at=now)
    return quote


@transaction.atomic
def quote_send(*, quote: Quote, by) -> Quote:
    """Mark an approved quote as sent to the customer."""
    return _transition(
        quote,
        by,
        (Quote.Status.APPROVED,),
        Quote.Status.SENT,
        QuoteEvent.Kind.SENT,
        message=_("Only an approved quote can be sent."),
    )


@transaction.atomic
def quote_accept(*, quote: Quote, by) -> Quote:
    """The customer accepted an approved or sent quote."""
    return _transition(
        quote,
        by,
        (Quote.Status.APPROVED, Quote.Status.SENT),
        Quote.Status.ACCEPTED,
        QuoteEvent.Kind.ACCEPTED,
        message=_("Only an approved or sent quote can be accepted."),
    )


@transaction.atomic
def quote_decline(*, quote: Quote, by, reason: str = "") -> Quote:
    """The customer declined an approved or sent quote."""
    reason = (reason or "").strip()[:300]
    return _transition(
        quote,
        by,
        (Quote.Status.APPROVED, Quote.Status.SENT),
        Quote.Status.DECLINED,
        QuoteEvent.Kind.DECLINED,
        message=_("Only an approved or sent quote can be declined."),
        reason=reason,
    )


@transaction.atomic
def quote_to_contract(*, quote: Quote, by) -> Contract:
    """The accepted quote becomes a draft contract (the money area takes it from there):
    number HT-<year>-<n>, amount = the quote's total, customer, opportunity, owner and terms
    copied, a ContractEvent CREATED row (payload: the quote) and a QuoteEvent CONTRACTED row.
    Needs `sales.add_contract` and the change permission on the quote; once per quote."""
    require(by, "sales.add_contract")
    require(by, "sales.change_quote", quote)
    quote = _lock(quote)
    if quote.status != Quote.Status.ACCEPTED:
        raise ServiceError(_("Only an accepted quote becomes a contract."), field="status")
    existing = Contract.objects.filter(quote=quote).first()
    if existing is not None:
        raise ServiceError(
            _("Contract %(number)s was already made from this quote.")
            % {"number": existing.number},
            field="status",
        )
    contract = Contract(
        title=quote.title,
        customer_id=quote.customer_id,
        opportunity_id=quote.opportunity_id,
        quote=quote,
        amount=quote.total,
        terms=quote.terms,
        status=Contract.Status.DRAFT,
        owner_id=quote.owner_id,
        department_id=quote.department_id,
        created_by=by,
        created_at=timezone.now(),
    )
    save_numbered(contract, CONTRACT_PREFIX)
    ContractEvent.objects.create(
        contract=contract,
        kind=ContractEvent.Kind.CREATED,
        actor=by,
        payload={"quote": quote.pk, "quote_number": quote.number, "amount": str(contract.amount)},
    )
    _record(quote, QuoteEvent.Kind.CONTRACTED, by, contract=contract.pk, number=contract.number)
    return contract
