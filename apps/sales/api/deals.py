"""API of the sales app, deals part (DESIGN §5): pipelines/, stages/, opportunities/ (+ move,
forecast), products/, quotes/ (+ submit, send, accept, decline, contract).

Opportunities and quotes are scoped (`visible_to`: outside scope is 404); reading needs the
view permission, changing the change permission on the record. Pipelines, stages and products
are company-wide: any signed-in user with the view permission of opportunities (pipelines,
stages) or products reads them, writing needs the model permissions (admins). Every write goes
through `apps.sales.services.deals`.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import filters, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.customers.api import (
    ActiveUserField,
    EstimatedCountPagination,
    MemoScopedMixin,
    QueryParamFilterBackend,
    ServiceSerializerMixin,
    VisibleRelatedField,
)
from apps.customers.models import Contact, Customer
from apps.org.api_base import HiddenFieldQueryGuard, ScopedModelViewSet, ShareActionsMixin
from apps.org.api_support import FieldSecureSearchFilter
from apps.studio.serializers import CustomFieldsSerializerMixin

from ..filters_deals import OpportunityFilter, ProductFilter, QuoteFilter
from ..models import Opportunity, Pipeline, Product, ProductCategory, Quote, QuoteLine, Stage
from ..selectors import deals as selectors
from ..services import deals as services

# --- permissions ---------------------------------------------------------------------------


class ReadWithPermWriteWithModelPerms(permissions.DjangoModelPermissions):
    """Reads need `read_perm`; writes the model's add/change/delete permissions."""

    read_perm = ""
    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": [],
        "HEAD": [],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return request.user.has_perm(view.read_perm)
        return super().has_permission(request, view)


# --- pipelines and stages ------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = [
            "id",
            "pipeline",
            "name",
            "order",
            "probability",
            "is_won",
            "is_lost",
            "stalled_days",
        ]

    def validate(self, attrs):
        is_won = attrs.get("is_won", getattr(self.instance, "is_won", False))
        is_lost = attrs.get("is_lost", getattr(self.instance, "is_lost", False))
        if is_won and is_lost:
            raise serializers.ValidationError({"is_lost": [_("A stage is won or lost, not both.")]})
        return attrs


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "order", "is_default", "is_active", "stages"]

    def validate_is_default(self, value):
        if value:
            others = Pipeline.objects.filter(is_default=True)
            if self.instance is not None:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise serializers.ValidationError(_("Another pipeline is the default."))
        return value


class PipelineViewSet(viewsets.ModelViewSet):
    serializer_class = PipelineSerializer
    permission_classes = [ReadWithPermWriteWithModelPerms]
    read_perm = "sales.view_opportunity"
    filterset_fields = ["is_active", "is_default"]
    ordering_fields = ["id", "name", "order"]
    ordering = ["order", "id"]

    def get_queryset(self):
        from django.db.models import Prefetch

        return Pipeline.objects.prefetch_related(
            Prefetch("stages", queryset=Stage.objects.order_by("order", "id"))
        ).order_by("order", "id")

    def perform_destroy(self, instance):
        if instance.opportunities.exists():
            raise serializers.ValidationError(
                {"detail": [_("Deals use this pipeline: deactivate it instead.")]}
            )
        instance.delete()


class StageViewSet(viewsets.ModelViewSet):
    serializer_class = StageSerializer
    permission_classes = [ReadWithPermWriteWithModelPerms]
    read_perm = "sales.view_opportunity"
    queryset = Stage.objects.order_by("pipeline", "order", "id")
    filterset_fields = ["pipeline", "is_won", "is_lost"]
    ordering_fields = ["id", "order", "probability"]
    ordering = ["pipeline", "order", "id"]

    def perform_destroy(self, instance):
        if instance.opportunities.exists():
            raise serializers.ValidationError(
                {"detail": [_("Deals are in this stage: move them first.")]}
            )
        instance.delete()


# --- opportunities -------------------------------------------------------------------------


class OpportunitySerializer(
    ServiceSerializerMixin, CustomFieldsSerializerMixin, serializers.ModelSerializer
):
    customer = VisibleRelatedField(Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), allow_null=True, required=False
    )
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.filter(is_active=True), required=False
    )
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    owner = ActiveUserField(required=False)
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)
    weighted_amount = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)
    reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="The reason, when `stage` is a lost stage.",
    )

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "customer",
            "customer_name",
            "contact",
            "campaign",
            "name",
            "amount",
            "pipeline",
            "stage",
            "stage_name",
            "probability",
            "weighted_amount",
            "expected_close_date",
            "owner",
            "owner_name",
            "department",
            "status",
            "lost_reason",
            "description",
            "custom",
            "reason",
            "created_at",
            "updated_at",
            "stage_changed_at",
            "last_activity_at",
            "closed_at",
            "stalled_warned_at",
        ]
        read_only_fields = [
            "probability",
            "department",
            "status",
            "lost_reason",
            "created_at",
            "updated_at",
            "stage_changed_at",
            "last_activity_at",
            "closed_at",
            "stalled_warned_at",
        ]

    def create(self, validated_data):
        pipeline = validated_data.pop("pipeline", None)
        stage = validated_data.pop("stage", None)
        owner = validated_data.pop("owner", None)
        reason = validated_data.pop("reason", "")
        if reason:
            validated_data["lost_reason"] = reason
        return services.opportunity_create(
            by=self.by, data=validated_data, owner=owner, pipeline=pipeline, stage=stage
        )

    def update(self, instance, validated_data):
        stage = validated_data.pop("stage", None)
        pipeline = validated_data.pop("pipeline", None)
        owner = validated_data.pop("owner", None)
        reason = validated_data.pop("reason", "")
        if pipeline is not None and pipeline.pk != instance.pipeline_id:
            raise serializers.ValidationError(
                {"pipeline": [_("A deal stays in its pipeline; create a new one instead.")]}
            )
        opp = instance
        if validated_data:
            opp = services.opportunity_update(opportunity=opp, by=self.by, data=validated_data)
        if stage is not None and stage.pk != opp.stage_id:
            opp = services.opportunity_move(opportunity=opp, stage=stage, by=self.by, reason=reason)
        if owner is not None and owner.pk != opp.owner_id:
            opp = services.opportunity_assign(opportunity=opp, owner=owner, by=self.by)
        return opp


class MoveSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


def _cell(cell) -> dict:
    amount, weighted, n = cell
    return {"amount": str(amount), "weighted": str(weighted), "count": n}


class OpportunityViewSet(MemoScopedMixin, ShareActionsMixin, ScopedModelViewSet):
    model = Opportunity
    pagination_class = EstimatedCountPagination
    serializer_class = OpportunitySerializer
    filterset_class = OpportunityFilter
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    search_fields = ["name", "customer__name"]
    ordering_fields = ["id", *selectors.OPPORTUNITY_ORDERINGS]
    ordering = ["-updated_at", "-id"]

    def base_queryset(self):
        return Opportunity.objects.select_related("customer", "stage", "owner")

    def _done(self, opp):
        return Response(self.get_serializer(self.base_queryset().get(pk=opp.pk)).data)

    def perform_destroy(self, instance):
        services.opportunity_delete(opportunity=instance, by=self.request.user)

    @extend_schema(request=MoveSerializer, responses=OpportunitySerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the deal to a stage of its pipeline; a lost stage needs `reason`."""
        opp = self.get_object()
        ser = MoveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        opp = services.opportunity_move(
            opportunity=opp,
            stage=ser.validated_data["stage"],
            by=request.user,
            reason=ser.validated_data.get("reason", ""),
        )
        return self._done(opp)

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, description="owner (default) or department"),
            OpenApiParameter("start", str, description="first month, YYYY-MM (default: this one)"),
            OpenApiParameter("months", int, description="how many months (1–24, default 6)"),
        ],
        responses=inline_serializer(
            "Forecast",
            {
                "months": serializers.ListField(child=serializers.CharField()),
                "by": serializers.CharField(),
                "rows": serializers.ListField(child=serializers.DictField()),
                "totals": serializers.ListField(child=serializers.DictField()),
                "amount": serializers.CharField(),
                "weighted": serializers.CharField(),
                "count": serializers.IntegerField(),
            },
        ),
    )
    @action(detail=False, methods=["get"])
    def forecast(self, request):
        """Weighted forecast of the open deals in scope (same numbers as the forecast page)."""
        import datetime as dt

        params = request.query_params
        by = params.get("by", "owner")
        if by not in ("owner", "department"):
            raise serializers.ValidationError({"by": [_("Use owner or department.")]})
        start = None
        if params.get("start"):
            try:
                start = dt.datetime.strptime(params["start"], "%Y-%m").date()  # noqa: DTZ007
            except ValueError:
                raise serializers.ValidationError({"start": [_("Use YYYY-MM.")]}) from None
        try:
            months = int(params.get("months", "6"))
        except ValueError:
            raise serializers.ValidationError({"months": [_("A whole number.")]}) from None
        filters_data = {
            k: v
            for k, v in params.items()
            if k not in ("by", "start", "months", "page", "page_size")
        }
        data = selectors.forecast(
            user=request.user, filters=filters_data, start=start, months=months, by=by
        )
        return Response(
            {
                "months": [m.strftime("%Y-%m") for m in data.months],
                "by": data.by,
                "rows": [
                    {
                        "key": r.key,
                        "label": r.label,
                        "cells": [_cell(c) for c in r.cells],
                        "amount": str(r.amount),
                        "weighted": str(r.weighted),
                        "count": r.count,
                    }
                    for r in data.rows
                ],
                "totals": [_cell(c) for c in data.totals],
                "amount": str(data.amount),
                "weighted": str(data.weighted),
                "count": data.count,
            }
        )


# --- products ------------------------------------------------------------------------------


class ProductSerializer(
    ServiceSerializerMixin, CustomFieldsSerializerMixin, serializers.ModelSerializer
):
    category = serializers.PrimaryKeyRelatedField(
        queryset=ProductCategory.objects.all(), allow_null=True, required=False
    )
    category_name = serializers.CharField(source="category.name", read_only=True, default=None)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "category",
            "category_name",
            "unit",
            "price",
            "cost",
            "description",
            "is_active",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"sku": {"validators": []}}

    def create(self, validated_data):
        return services.product_create(by=self.by, data=validated_data)

    def update(self, instance, validated_data):
        return services.product_update(product=instance, by=self.by, data=validated_data)


class ProductViewSet(HiddenFieldQueryGuard, viewsets.ModelViewSet):
    serializer_class = ProductSerializer
    permission_classes = [ReadWithPermWriteWithModelPerms]
    read_perm = "sales.view_product"
    model = Product
    filterset_class = ProductFilter
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    search_fields = ["sku", "name"]
    ordering_fields = ["id", "sku", "name", "price"]
    ordering = ["category__order", "name", "id"]

    def get_queryset(self):
        return Product.objects.select_related("category")

    def perform_destroy(self, instance):
        services.product_delete(product=instance, by=self.request.user)


# --- quotes --------------------------------------------------------------------------------


class QuoteLineSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), allow_null=True, required=False
    )
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    discount = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        default=Decimal(0),
    )
    quantity = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), default=Decimal(1)
    )

    class Meta:
        model = QuoteLine
        fields = [
            "id",
            "product",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "discount",
            "amount",
        ]
        read_only_fields = ["id", "amount"]
        extra_kwargs = {"description": {"required": False}, "unit": {"required": False}}


class QuoteSerializer(
    ServiceSerializerMixin, CustomFieldsSerializerMixin, serializers.ModelSerializer
):
    customer = VisibleRelatedField(Customer, required=False)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    opportunity = VisibleRelatedField(Opportunity, allow_null=True, required=False)
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), allow_null=True, required=False
    )
    lines = QuoteLineSerializer(many=True)
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "title",
            "customer",
            "customer_name",
            "opportunity",
            "contact",
            "lines",
            "subtotal",
            "discount_amount",
            "total",
            "max_discount",
            "status",
            "valid_until",
            "terms",
            "approval",
            "owner",
            "owner_name",
            "department",
            "custom",
            "created_at",
            "updated_at",
            "sent_at",
            "accepted_at",
        ]
        read_only_fields = [
            "number",
            "subtotal",
            "discount_amount",
            "total",
            "max_discount",
            "status",
            "approval",
            "owner",
            "department",
            "created_at",
            "updated_at",
            "sent_at",
            "accepted_at",
        ]
        extra_kwargs = {"title": {"required": False}}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None and not attrs.get("customer") and not attrs.get("opportunity"):
            raise serializers.ValidationError({"customer": [_("Choose a customer.")]})
        return attrs

    def create(self, validated_data):
        lines = validated_data.pop("lines")
        return services.quote_create(by=self.by, data=validated_data, lines=lines)

    def update(self, instance, validated_data):
        lines = validated_data.pop("lines", None)
        return services.quote_update(quote=instance, by=self.by, data=validated_data, lines=lines)


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ContractCreatedSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    number = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class QuoteViewSet(MemoScopedMixin, ShareActionsMixin, ScopedModelViewSet):
    model = Quote
    serializer_class = QuoteSerializer
    filterset_class = QuoteFilter
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    search_fields = ["number", "title", "customer__name"]
    ordering_fields = ["id", *selectors.QUOTE_ORDERINGS]
    ordering = ["-created_at", "-id"]

    def base_queryset(self):
        from django.db.models import Prefetch

        return Quote.objects.select_related("customer", "owner").prefetch_related(
            Prefetch("lines", queryset=QuoteLine.objects.order_by("order", "id"))
        )

    def _done(self, quote):
        return Response(self.get_serializer(self.base_queryset().get(pk=quote.pk)).data)

    def perform_destroy(self, instance):
        services.quote_delete(quote=instance, by=self.request.user)

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Approve the quote, or start the `discount` approval when a line's discount is above
        the company's threshold (status pending until it is decided)."""
        return self._done(services.quote_submit(quote=self.get_object(), by=request.user))

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._done(services.quote_send(quote=self.get_object(), by=request.user))

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._done(services.quote_accept(quote=self.get_object(), by=request.user))

    @extend_schema(request=DeclineSerializer, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        ser = DeclineSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        quote = services.quote_decline(
            quote=self.get_object(), by=request.user, reason=ser.validated_data.get("reason", "")
        )
        return self._done(quote)

    @extend_schema(request=None, responses={201: ContractCreatedSerializer})
    @action(detail=True, methods=["post"])
    def contract(self, request, pk=None):
        """Make the draft contract of an accepted quote (once)."""
        contract = services.quote_to_contract(quote=self.get_object(), by=request.user)
        return Response(
            {"contract": contract.pk, "number": contract.number, "amount": str(contract.amount)},
            status=201,
        )


def register(router) -> None:
    """Add the deals viewsets to the /api/v1/ router."""
    router.register("pipelines", PipelineViewSet, basename="pipeline")
    router.register("stages", StageViewSet, basename="stage")
    router.register("opportunities", OpportunityViewSet, basename="opportunity")
    router.register("products", ProductViewSet, basename="product")
    router.register("quotes", QuoteViewSet, basename="quote")
