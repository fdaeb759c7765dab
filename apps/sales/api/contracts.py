"""API of the sales app, contracts part (DESIGN §5): contracts/, payment-plans/, payments/,
invoices/.

Scoped like every Weft viewset (outside the caller's scope: 404). Writes go through the
services in `apps.sales.services.contracts*`, so the API refuses what the pages refuse:
overpayment and over-invoicing are a 400 naming `amount`. Field security: restricted fields
are absent from responses, refused as filters, sort keys and writes; `receivable_amount` is
shown only to whoever sees both `amount` and `received_amount`.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import filters, permissions, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.customers.api import (
    ActiveUserField,
    MemoScopedMixin,
    QueryParamFilterBackend,
    ServiceSerializerMixin,
    VisibleRelatedField,
)
from apps.customers.models import Customer
from apps.org.api_base import FieldSecuredSerializerMixin, ScopedModelViewSet
from apps.org.api_support import FieldSecureSearchFilter
from apps.studio.serializers import CustomFieldsSerializerMixin

from .. import resources_contracts as exports
from ..filters_contracts import ContractFilter, InvoiceFilter, PaymentFilter
from ..models import Contract, Invoice, Opportunity, Payment, PaymentPlan, Quote
from ..selectors import contracts as selectors
from ..services import contracts as services
from ..services import contracts_invoices as invoices
from ..services import contracts_payments as payments

XLSX_RESPONSE = {
    (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY
}
MONEY = {"max_digits": 14, "decimal_places": 2}


class ActsInService(permissions.BasePermission):
    """Signed in and the record visible (the queryset makes anything else a 404); the service
    checks the specific permission (`deliver_contract`, `issue_invoice`)."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        return True


def _body(serializer_class, data) -> dict:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return ser.validated_data


# --- contracts ----------------------------------------------------------------------------


class ContractSerializer(
    ServiceSerializerMixin, CustomFieldsSerializerMixin, serializers.ModelSerializer
):
    customer = VisibleRelatedField(Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    opportunity = VisibleRelatedField(Opportunity, allow_null=True, required=False)
    quote = VisibleRelatedField(Quote, allow_null=True, required=False)
    owner = ActiveUserField(required=False)
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)
    amount = serializers.DecimalField(**MONEY, min_value=0)
    receivable_amount = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "opportunity",
            "quote",
            "title",
            "amount",
            "signed_date",
            "start_date",
            "end_date",
            "status",
            "delivery_status",
            "terms",
            "owner",
            "owner_name",
            "department",
            "approval",
            "received_amount",
            "receivable_amount",
            "invoiced_amount",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "number",
            "status",
            "delivery_status",
            "department",
            "approval",
            "received_amount",
            "invoiced_amount",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        access = self.field_access(instance)
        if not (access.can_view("amount") and access.can_view("received_amount")):
            data.pop("receivable_amount", None)
        return data

    def create(self, validated_data):
        return services.contract_create(by=self.by, data=validated_data)

    def update(self, instance, validated_data):
        return services.contract_update(contract=instance, by=self.by, data=validated_data)


class SignSerializer(serializers.Serializer):
    signed_date = serializers.DateField(required=False, allow_null=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class DeliverySerializer(serializers.Serializer):
    delivery_status = serializers.ChoiceField(choices=Contract.Delivery.choices)


class ContractViewSet(MemoScopedMixin, ScopedModelViewSet):
    """Contracts; `POST {id}/submit/` starts the `contract` approval."""

    model = Contract
    serializer_class = ContractSerializer
    filterset_class = ContractFilter
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    search_fields = ["number", "title", "customer__name"]
    ordering_fields = [
        "id",
        "number",
        "amount",
        "signed_date",
        "status",
        "created_at",
        "updated_at",
    ]
    ordering = ["-created_at", "-id"]

    def base_queryset(self):
        return Contract.objects.select_related("customer", "owner")

    def perform_destroy(self, instance):
        services.contract_delete(contract=instance, by=self.request.user)

    def _done(self, contract):
        return Response(self.get_serializer(self.base_queryset().get(pk=contract.pk)).data)

    @extend_schema(request=None, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._done(services.contract_submit(contract=self.get_object(), by=request.user))

    @extend_schema(request=SignSerializer, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        data = _body(SignSerializer, request.data)
        return self._done(
            services.contract_sign(
                contract=self.get_object(), by=request.user, signed_date=data.get("signed_date")
            )
        )

    @extend_schema(request=None, responses=ContractSerializer)
    @action(detail=True, methods=["post"], url_path="start")
    def start_execution(self, request, pk=None):
        return self._done(services.contract_start(contract=self.get_object(), by=request.user))

    @extend_schema(request=None, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._done(services.contract_complete(contract=self.get_object(), by=request.user))

    @extend_schema(request=ReasonSerializer, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        data = _body(ReasonSerializer, request.data)
        return self._done(
            services.contract_terminate(
                contract=self.get_object(), by=request.user, reason=data["reason"]
            )
        )

    @extend_schema(request=DeliverySerializer, responses=ContractSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ActsInService])
    def delivery(self, request, pk=None):
        """Change the delivery status (`sales.deliver_contract`)."""
        data = _body(DeliverySerializer, request.data)
        return self._done(
            services.contract_set_delivery(
                contract=self.get_object(),
                by=request.user,
                delivery_status=data["delivery_status"],
            )
        )

    @extend_schema(responses=XLSX_RESPONSE)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as .xlsx (`sales.export_contract`), without hidden fields."""
        if not request.user.has_perm("sales.export_contract"):
            raise PermissionDenied
        return exports.export_contracts(request.user, self.filter_queryset(self.get_queryset()))

    @extend_schema(
        parameters=[OpenApiParameter("by", OpenApiTypes.STR, enum=["customer", "owner"])],
        responses=inline_serializer(
            "ReceivablesAging",
            {
                "by": serializers.CharField(),
                "buckets": serializers.ListField(child=serializers.DictField()),
                "results": serializers.ListField(child=serializers.DictField()),
                "total": serializers.DictField(),
            },
        ),
    )
    @action(detail=False, methods=["get"])
    def aging(self, request):
        """Receivables by customer or owner in 0–30 / 31–60 / 61–90 / 90+ days overdue."""
        by = request.query_params.get("by", "customer")
        if by not in ("customer", "owner"):
            raise ValidationError({"by": [_("Give “customer” or “owner”.")]})
        rows, total = selectors.receivables_aging(user=request.user, by=by)

        def row(r):
            return {
                "key": r.key,
                "label": r.label,
                "contracts": r.contracts,
                "buckets": {k: f"{v:.2f}" for k, v in r.buckets.items()},
                "overdue": f"{r.overdue:.2f}",
                "total": f"{r.total:.2f}",
            }

        return Response(
            {
                "by": by,
                "buckets": [{"key": k, "label": str(label)} for k, label in selectors.BUCKETS],
                "results": [row(r) for r in rows],
                "total": row(total),
            }
        )


# --- payment plans ------------------------------------------------------------------------


class PaymentPlanSerializer(
    ServiceSerializerMixin, FieldSecuredSerializerMixin, serializers.ModelSerializer
):
    contract = VisibleRelatedField(Contract)
    amount = serializers.DecimalField(**MONEY)

    class Meta:
        model = PaymentPlan
        fields = ["id", "contract", "seq", "due_date", "amount", "note"]
        read_only_fields = ["seq"]

    def validate(self, attrs):
        if self.instance is not None and "contract" in attrs:
            if attrs["contract"].pk != self.instance.contract_id:
                raise ValidationError(
                    {"contract": [_("An instalment cannot move to another contract.")]}
                )
        return attrs

    def create(self, validated_data):
        contract = validated_data.pop("contract")
        return payments.plan_save(contract=contract, by=self.by, data=validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("contract", None)
        data = {
            "due_date": validated_data.get("due_date", instance.due_date),
            "amount": validated_data.get("amount", instance.amount),
            "note": validated_data.get("note", instance.note),
        }
        return payments.plan_save(contract=instance.contract, by=self.by, data=data, plan=instance)


class PaymentPlanViewSet(MemoScopedMixin, ScopedModelViewSet):
    model = PaymentPlan
    serializer_class = PaymentPlanSerializer
    filterset_fields = ["contract"]
    ordering_fields = ["id", "due_date", "seq"]
    ordering = ["contract_id", "due_date", "seq"]

    def base_queryset(self):
        return PaymentPlan.objects.all()

    def perform_destroy(self, instance):
        payments.plan_delete(plan=instance, by=self.request.user)


# --- payments -----------------------------------------------------------------------------


class PaymentSerializer(
    ServiceSerializerMixin, FieldSecuredSerializerMixin, serializers.ModelSerializer
):
    contract = VisibleRelatedField(Contract)
    contract_number = serializers.CharField(source="contract.number", read_only=True)
    plan = VisibleRelatedField(PaymentPlan, allow_null=True, required=False)
    amount = serializers.DecimalField(**MONEY)
    received_at = serializers.DateField(required=False)

    class Meta:
        model = Payment
        fields = [
            "id",
            "contract",
            "contract_number",
            "plan",
            "amount",
            "received_at",
            "method",
            "reference",
            "note",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = ["recorded_by", "created_at"]

    def create(self, validated_data):
        contract = validated_data.pop("contract")
        return payments.payment_record(contract=contract, by=self.by, data=validated_data)


class PaymentViewSet(MemoScopedMixin, ScopedModelViewSet):
    """Payments received are recorded and, when wrong, deleted — never edited."""

    model = Payment
    serializer_class = PaymentSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]
    filterset_class = PaymentFilter
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    search_fields = ["contract__number", "reference", "contract__customer__name"]
    ordering_fields = ["id", "received_at", "amount", "created_at"]
    ordering = ["-received_at", "-id"]

    def base_queryset(self):
        return Payment.objects.select_related("contract")

    def perform_destroy(self, instance):
        payments.payment_delete(payment=instance, by=self.request.user)

    @extend_schema(responses=XLSX_RESPONSE)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as .xlsx (`sales.export_payment`)."""
        if not request.user.has_perm("sales.export_payment"):
            raise PermissionDenied
        return exports.export_payments(request.user, self.filter_queryset(self.get_queryset()))


# --- invoices -----------------------------------------------------------------------------


class InvoiceSerializer(
    ServiceSerializerMixin, FieldSecuredSerializerMixin, serializers.ModelSerializer
):
    contract = VisibleRelatedField(Contract)
    contract_number = serializers.CharField(source="contract.number", read_only=True)
    amount = serializers.DecimalField(**MONEY)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "contract",
            "contract_number",
            "kind",
            "title",
            "tax_number",
            "amount",
            "status",
            "address_phone",
            "bank_account",
            "note",
            "invoice_number",
            "issued_date",
            "reject_reason",
            "approval",
            "requested_by",
            "issued_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "invoice_number",
            "issued_date",
            "reject_reason",
            "approval",
            "requested_by",
            "issued_by",
            "created_at",
            "updated_at",
        ]

    def create(self, validated_data):
        contract = validated_data.pop("contract")
        return invoices.invoice_request(contract=contract, by=self.by, data=validated_data)


class IssueSerializer(serializers.Serializer):
    invoice_number = serializers.CharField(max_length=50)
    issued_date = serializers.DateField(required=False, allow_null=True)


class InvoiceRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class InvoiceViewSet(MemoScopedMixin, ScopedModelViewSet):
    """Invoice requests; finance issues or rejects them (`sales.issue_invoice`)."""

    model = Invoice
    serializer_class = InvoiceSerializer
    http_method_names = ["get", "post", "head", "options"]
    filterset_class = InvoiceFilter
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    search_fields = ["contract__number", "title", "invoice_number"]
    ordering_fields = ["id", "created_at", "issued_date", "amount", "status"]
    ordering = ["-created_at", "-id"]

    def base_queryset(self):
        return Invoice.objects.select_related("contract")

    def _done(self, invoice):
        return Response(self.get_serializer(self.base_queryset().get(pk=invoice.pk)).data)

    @extend_schema(request=IssueSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ActsInService])
    def issue(self, request, pk=None):
        data = _body(IssueSerializer, request.data)
        return self._done(
            invoices.invoice_issue(
                invoice=self.get_object(),
                by=request.user,
                invoice_number=data["invoice_number"],
                issued_date=data.get("issued_date"),
            )
        )

    @extend_schema(request=InvoiceRejectSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ActsInService])
    def reject(self, request, pk=None):
        data = _body(InvoiceRejectSerializer, request.data)
        return self._done(
            invoices.invoice_reject(
                invoice=self.get_object(), by=request.user, reason=data["reason"]
            )
        )

    @extend_schema(responses=XLSX_RESPONSE)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as .xlsx (`sales.export_invoice`)."""
        if not request.user.has_perm("sales.export_invoice"):
            raise PermissionDenied
        return exports.export_invoices(request.user, self.filter_queryset(self.get_queryset()))


def register(router) -> None:
    """Add the contracts viewsets to the /api/v1/ router."""
    router.register("contracts", ContractViewSet, basename="contract")
    router.register("payment-plans", PaymentPlanViewSet, basename="payment-plan")
    router.register("payments", PaymentViewSet, basename="payment")
    router.register("invoices", InvoiceViewSet, basename="invoice")
