"""API (DESIGN §5): customers/, contacts/, follow-ups/, territories/, tickets/.

Viewsets are scoped (`visible_to`): a record outside the caller's scope is a 404; reading needs
the view permission, changing the change permission on the record (403 otherwise). Every
write goes through `apps.customers.services`, so the API enforces the same rules as the pages.
`?search=` on customers and contacts matches name, phone, email, pinyin and initials.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import InvalidPage
from django.core.paginator import Paginator as DjangoPaginator
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import filters, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.org.api_base import (
    FieldSecuredSerializerMixin,
    PrototypeListSerializer,
    ScopedModelViewSet,
    ShareActionsMixin,
    SharedFieldsMixin,
)
from apps.org.api_support import FieldSecureSearchFilter, PageNumberPagination
from apps.org.fields import field_access
from apps.org.models import Department
from apps.studio.serializers import CustomFieldsSerializerMixin

from . import services
from .filters import ContactFilter, CustomerFilter, FollowUpFilter, TicketFilter
from .models import Contact, Customer, FollowUp, Tag, Territory, Ticket
from .search import contact_search_q, customer_search_q
from .selectors import customer_timeline

User = get_user_model()


# --- shared pieces -----------------------------------------------------------------------------


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to a record the caller can see (anything else: "Invalid pk")."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None:
            return self.model.objects.none()
        return self.model.objects.visible_to(user)


class ActiveUserField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return User.objects.filter(is_active=True)


class ScopedSearchFilter(filters.SearchFilter):
    """`?search=` through the view's `search_q(text, field_access)` (indexed, pinyin-aware)."""

    def filter_queryset(self, request, queryset, view):
        text = request.query_params.get(self.search_param, "")
        if not text.strip():
            return queryset
        access = field_access(request.user, view.model)
        return queryset.filter(view.search_q(text, access))


class TagNamesField(serializers.ListField):
    """Tags as a list of names (read from the prefetched, name-ordered tags)."""

    child = serializers.CharField(max_length=50)

    def to_representation(self, value):
        return [t.name for t in value.all()]


class EstimatedCountPagination(PageNumberPagination):
    """Exact counts up to `WEFT_EXACT_COUNT_LIMIT` rows (default 20,000); above that, on
    PostgreSQL, the planner's estimate (never below the limit), and `count_estimated` is true.

    Counting a million visible rows costs tens of milliseconds on every page; nobody reads
    "1,000,000" differently from "about 1,000,000". Counting stops at the limit (a LIMIT inside
    the COUNT), so small lists — every test, most users — get exact counts cheaply.
    """

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_estimated"] = getattr(self.page.paginator, "estimated", False)
        return response

    def paginate_queryset(self, queryset, request, view=None):
        """A search (`?search=`) reads the ordered ids of its matches once, capped at the exact
        count limit: that list gives the count and the page, and only the page's rows are then
        loaded by id. Otherwise the count and the page would run the search (a trigram index
        scan, the costly part) twice. Past the limit, the ordinary path with an estimate."""
        text = request.query_params.get("search", "") if request is not None else ""
        if not text.strip() or connection.vendor != "postgresql" or not hasattr(queryset, "query"):
            return super().paginate_queryset(queryset, request, view)
        limit = getattr(settings, "WEFT_EXACT_COUNT_LIMIT", 20_000)
        ids = list(queryset.values_list("pk", flat=True)[: limit + 1])
        if len(ids) > limit:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        paginator = DjangoPaginator(ids, page_size)
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=page_number, message=str(exc))
            ) from None
        wanted = list(self.page.object_list)
        by_id = {obj.pk: obj for obj in queryset.order_by().filter(pk__in=wanted)}
        self.page.object_list = [by_id[pk] for pk in wanted if pk in by_id]
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page.object_list)

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count_estimated"] = {"type": "boolean"}
        return schema

    class django_paginator_class(DjangoPaginator):  # noqa: N801 - DRF's attribute name
        estimated = False

        @cached_property
        def count(self):
            qs = self.object_list
            if connection.vendor != "postgresql" or not hasattr(qs, "query"):
                return super().count
            limit = getattr(settings, "WEFT_EXACT_COUNT_LIMIT", 20_000)
            capped = qs.order_by().values("pk")[: limit + 1].count()
            if capped <= limit:
                return capped
            self.estimated = True
            return max(_planner_rows(qs) or 0, limit + 1)


def _planner_rows(qs) -> int | None:
    """PostgreSQL's estimate of how many rows `qs` returns (EXPLAIN, no execution)."""
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


class MemoScopedMixin:
    """`get_queryset` once per request: DRF's permission class asks for it too, and building
    the scope filter is not free."""

    def get_queryset(self):
        cached = getattr(self, "_scoped_queryset", None)
        if cached is None:
            cached = self._scoped_queryset = super().get_queryset()
        return cached.all()


class QueryParamFilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request names none of the FilterSet's parameters:
    building the filter form costs milliseconds on every plain list request."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None:
            known = set(filterset_class.base_filters)
            if not any(k in known or k.startswith("custom__") for k in request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)


class ServiceSerializerMixin:
    """Serializers whose create/update call services with the caller as `by`."""

    @property
    def by(self):
        return self.context["request"].user


# --- customers ---------------------------------------------------------------------------------


class CustomerSerializer(
    SharedFieldsMixin,
    ServiceSerializerMixin,
    CustomFieldsSerializerMixin,
    serializers.ModelSerializer,
):
    owner = ActiveUserField(allow_null=True, required=False)
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), allow_null=True, required=False
    )
    territory = serializers.PrimaryKeyRelatedField(
        queryset=Territory.objects.all(), allow_null=True, required=False
    )
    tags = TagNamesField(required=False, allow_empty=True)

    class Meta:
        model = Customer
        list_serializer_class = PrototypeListSerializer
        fields = [
            "id",
            "name",
            "industry",
            "source",
            "level",
            "status",
            "province",
            "city",
            "region",
            "address",
            "phone",
            "email",
            "website",
            "description",
            "tags",
            "owner",
            "owner_name",
            "department",
            "territory",
            "custom",
            "created_by",
            "created_at",
            "updated_at",
            "last_contacted_at",
            "next_follow_up_at",
            "pool_entered_at",
            "pool_reason",
            "previous_owner",
            "satisfaction_avg",
            "satisfaction_count",
            "last_satisfaction",
        ]
        read_only_fields = [
            "created_by",
            "created_at",
            "updated_at",
            "last_contacted_at",
            "pool_entered_at",
            "pool_reason",
            "previous_owner",
            "satisfaction_avg",
            "satisfaction_count",
            "last_satisfaction",
        ]

    def create(self, validated_data):
        tags = validated_data.pop("tags", None)
        kwargs = {}
        if "owner" in validated_data:
            kwargs["owner"] = validated_data.pop("owner")
        return services.customer_create(by=self.by, data=validated_data, tags=tags, **kwargs)

    def update(self, instance, validated_data):
        tags = validated_data.pop("tags", None)
        owner_given = "owner" in validated_data
        owner = validated_data.pop("owner", None)
        customer = services.customer_update(customer=instance, by=self.by, data=validated_data)
        if owner_given and owner != customer.owner:
            if owner is None:
                raise ValidationError({"owner": [_("Release the customer to the pool instead.")]})
            services.customer_assign(customers=[customer], owner=owner, by=self.by)
        if tags is not None:
            services.customer_set_tags(customer=customer, by=self.by, tags=tags)
        customer.refresh_from_db()
        return customer


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class MergeSerializer(serializers.Serializer):
    duplicate = serializers.IntegerField()


class AssignSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
    owner = ActiveUserField()


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    owner = serializers.IntegerField(allow_null=True)
    owner_name = serializers.CharField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    reason_labels = serializers.ListField(child=serializers.CharField())
    visible = serializers.BooleanField()


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    source = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    actor = serializers.IntegerField(source="actor.pk", allow_null=True, default=None)
    actor_name = serializers.CharField(allow_null=True)
    object_id = serializers.IntegerField(allow_null=True)
    payload = serializers.JSONField()

    def to_representation(self, item):
        return {
            "at": serializers.DateTimeField().to_representation(item.at),
            "kind": item.kind,
            "source": item.source,
            "title": str(item.title),
            "body": str(item.body or ""),
            "actor": getattr(item.actor, "pk", None),
            "actor_name": str(item.actor) if item.actor is not None else None,
            "object_id": item.object_id,
            "url": item.url,
            "payload": item.payload,
        }


class ClaimPermission(permissions.BasePermission):
    """Claiming a pool customer: signed in and able to see it (the queryset decides, so an
    invisible customer is a 404); the service checks `customers.claim_customer` and limits."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        return True


class CustomerViewSet(MemoScopedMixin, ShareActionsMixin, ScopedModelViewSet):
    """Customers in the caller's scope plus the public pool (owner null)."""

    model = Customer
    pagination_class = EstimatedCountPagination
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    filter_backends = [QueryParamFilterBackend, ScopedSearchFilter, filters.OrderingFilter]
    search_q = staticmethod(customer_search_q)
    ordering_fields = [
        "id",
        "name",
        "level",
        "status",
        "province",
        "created_at",
        "updated_at",
        "last_contacted_at",
        "next_follow_up_at",
        "pool_entered_at",
    ]
    ordering = ["-updated_at", "-id"]

    def base_queryset(self):
        from django.db.models import Prefetch

        return Customer.objects.select_related("owner", "department", "territory").prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name"))
        )

    def perform_destroy(self, instance):
        services.customer_delete(customer=instance, by=self.request.user)

    def _customer(self, instance):
        return self.base_queryset().get(pk=instance.pk)

    @extend_schema(request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ClaimPermission])
    def claim(self, request, pk=None):
        customer = services.customer_claim(customer=self.get_object(), by=request.user)
        return Response(self.get_serializer(self._customer(customer)).data)

    @extend_schema(request=ReleaseSerializer, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        customer = self.get_object()
        ser = ReleaseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        customer = services.customer_release(
            customer=customer, by=request.user, reason=ser.validated_data["reason"]
        )
        return Response(self.get_serializer(self._customer(customer)).data)

    @extend_schema(request=MergeSerializer, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        survivor = self.get_object()
        ser = MergeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        duplicate = (
            Customer.objects.visible_to(request.user)
            .filter(pk=ser.validated_data["duplicate"])
            .first()
        )
        if duplicate is None:
            raise ValidationError({"duplicate": [_("No such customer.")]})
        customer = services.customer_merge(survivor=survivor, duplicate=duplicate, by=request.user)
        return Response(self.get_serializer(self._customer(customer)).data)

    @extend_schema(request=AssignSerializer, responses=CustomerSerializer(many=True))
    @action(detail=False, methods=["post"])
    def assign(self, request):
        """Give several customers to one owner (`customers.assign_customer`)."""
        ser = AssignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ids = ser.validated_data["ids"]
        found = list(self.get_queryset().filter(pk__in=ids))
        if len(found) != len(set(ids)):
            raise ValidationError({"ids": [_("Some of these customers do not exist.")]})
        services.customer_assign(
            customers=found, owner=ser.validated_data["owner"], by=request.user
        )
        rows = self.base_queryset().filter(pk__in=ids).order_by("pk")
        return Response(self.get_serializer(rows, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR),
            OpenApiParameter("phone", OpenApiTypes.STR),
            OpenApiParameter("email", OpenApiTypes.STR),
            OpenApiParameter("exclude", OpenApiTypes.INT, description="id of the edited customer"),
        ],
        responses=inline_serializer("DuplicateCheck", {"results": DuplicateSerializer(many=True)}),
    )
    @action(detail=False, methods=["get"], url_path="check-duplicates")
    def check_duplicates(self, request):
        """Likely duplicates among all customers; ones outside the caller's scope are named with
        their owner but without id (anti-collision: who already works this account)."""
        params = request.query_params
        exclude = params.get("exclude")
        candidates = services.customer_check_duplicates(
            name=params.get("name", "")[:200],
            phone=params.get("phone", "")[:50],
            email=params.get("email", "")[:200],
            exclude_pk=int(exclude) if exclude and exclude.isdigit() else None,
        )
        visible = set(
            Customer.objects.visible_to(request.user)
            .filter(pk__in=[c.customer.pk for c in candidates])
            .values_list("pk", flat=True)
        )
        results = [
            {
                "id": c.customer.pk if c.customer.pk in visible else None,
                "name": c.customer.name,
                "owner": c.customer.owner_id,
                "owner_name": str(c.customer.owner) if c.customer.owner else None,
                "reasons": c.reasons,
                "reason_labels": c.reason_labels,
                "visible": c.customer.pk in visible,
            }
            for c in candidates
        ]
        return Response({"results": results})

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("before", OpenApiTypes.DATETIME),
        ],
        responses=inline_serializer("Timeline", {"results": TimelineItemSerializer(many=True)}),
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        """The 360° feed, newest first; page back with `?before=<at of the last item>`."""
        customer = self.get_object()
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 200))
        except ValueError:
            raise ValidationError({"limit": [_("Give a number.")]}) from None
        before = request.query_params.get("before")
        before_at = parse_datetime(before) if before else None
        if before and before_at is None:
            raise ValidationError({"before": [_("Give a date and time (ISO 8601).")]})
        if before_at is not None and timezone.is_naive(before_at):
            before_at = timezone.make_aware(before_at)
        items = customer_timeline(
            user=request.user, customer=customer, limit=limit, before=before_at
        )
        return Response({"results": [TimelineItemSerializer(i).data for i in items]})

    @extend_schema(
        responses={
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiTypes.BINARY
        }
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as .xlsx (`customers.export_customer`), without hidden fields."""
        if not request.user.has_perm("customers.export_customer"):
            raise PermissionDenied
        from .resources import CustomerResource, xlsx_response

        qs = self.filter_queryset(self.get_queryset())
        dataset = CustomerResource(user=request.user).export(queryset=qs)
        return xlsx_response(dataset, "customers")


# --- contacts ----------------------------------------------------------------------------------


class ContactSerializer(
    SharedFieldsMixin,
    ServiceSerializerMixin,
    CustomFieldsSerializerMixin,
    serializers.ModelSerializer,
):
    customer = VisibleRelatedField(Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    reports_to = VisibleRelatedField(Contact, allow_null=True, required=False)

    class Meta:
        model = Contact
        list_serializer_class = PrototypeListSerializer
        fields = [
            "id",
            "customer",
            "customer_name",
            "name",
            "title",
            "department_name",
            "mobile",
            "phone",
            "email",
            "wechat",
            "is_primary",
            "reports_to",
            "notes",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def create(self, validated_data):
        customer = validated_data.pop("customer")
        return services.contact_create(customer=customer, by=self.by, data=validated_data)

    def update(self, instance, validated_data):
        return services.contact_update(contact=instance, by=self.by, data=validated_data)


class ContactViewSet(MemoScopedMixin, ShareActionsMixin, ScopedModelViewSet):
    model = Contact
    pagination_class = EstimatedCountPagination
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    filter_backends = CustomerViewSet.filter_backends
    search_q = staticmethod(contact_search_q)
    ordering_fields = ["id", "name", "created_at", "updated_at"]
    ordering = ["customer_id", "-is_primary", "name", "id"]

    def base_queryset(self):
        return Contact.objects.select_related("customer")

    def perform_destroy(self, instance):
        services.contact_delete(contact=instance, by=self.request.user)


# --- follow-ups --------------------------------------------------------------------------------


class FollowUpSerializer(
    ServiceSerializerMixin, FieldSecuredSerializerMixin, serializers.ModelSerializer
):
    customer = VisibleRelatedField(Customer)
    contact = VisibleRelatedField(Contact, allow_null=True, required=False)
    opportunity = serializers.IntegerField(
        source="opportunity_id", allow_null=True, required=False, min_value=1
    )
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer",
            "contact",
            "opportunity",
            "kind",
            "content",
            "occurred_at",
            "next_step",
            "next_follow_up_at",
            "owner",
            "owner_name",
            "created_at",
        ]
        read_only_fields = ["owner", "created_at"]

    def create(self, validated_data):
        customer = validated_data.pop("customer")
        return services.follow_up_log(customer=customer, by=self.by, data=validated_data)

    def update(self, instance, validated_data):
        return services.follow_up_update(follow_up=instance, by=self.by, data=validated_data)


class FollowUpViewSet(MemoScopedMixin, ScopedModelViewSet):
    model = FollowUp
    pagination_class = EstimatedCountPagination
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    search_fields = ["content", "next_step"]
    ordering_fields = ["id", "occurred_at", "next_follow_up_at", "created_at"]
    ordering = ["-occurred_at", "-id"]

    def base_queryset(self):
        return FollowUp.objects.select_related("owner")

    def perform_destroy(self, instance):
        services.follow_up_delete(follow_up=instance, by=self.request.user)


# --- territories -------------------------------------------------------------------------------


class TerritorySerializer(ServiceSerializerMixin, serializers.ModelSerializer):
    provinces = serializers.ListField(child=serializers.CharField(max_length=30), allow_empty=True)
    owner = ActiveUserField(allow_null=True, required=False)

    class Meta:
        model = Territory
        fields = ["id", "name", "region", "provinces", "owner", "order", "active"]

    def create(self, validated_data):
        return services.territory_save(territory=Territory(**validated_data), by=self.by)

    def update(self, instance, validated_data):
        for key, value in validated_data.items():
            setattr(instance, key, value)
        return services.territory_save(territory=instance, by=self.by)


class ReadForSignedInWriteWithPerms(permissions.DjangoModelPermissions):
    """Everyone signed in reads territories (forms and lead routing need them); writing needs
    the model permissions."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)


class TerritoryViewSet(viewsets.ModelViewSet):
    serializer_class = TerritorySerializer
    permission_classes = [ReadForSignedInWriteWithPerms]
    queryset = Territory.objects.all()
    filterset_fields = ["active", "owner", "region"]
    search_fields = ["name", "region"]
    ordering_fields = ["id", "name", "order"]
    ordering = ["order", "name"]

    @extend_schema(
        parameters=[OpenApiParameter("province", OpenApiTypes.STR, required=True)],
        responses=inline_serializer(
            "TerritoryMatch",
            {
                "territory": serializers.IntegerField(allow_null=True),
                "region": serializers.CharField(),
                "owner": serializers.IntegerField(allow_null=True),
            },
        ),
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request):
        """province → territory, region and suggested owner (field linkage on forms)."""
        match = services.territory_for_province(request.query_params.get("province", ""))
        if match is None:
            return Response({"territory": None, "region": "", "owner": None})
        return Response(
            {"territory": match.territory.pk, "region": match.region, "owner": match.owner_id}
        )

    def perform_destroy(self, instance):
        services.territory_delete(territory=instance, by=self.request.user)


# --- tickets -----------------------------------------------------------------------------------


class TicketSerializer(
    SharedFieldsMixin,
    ServiceSerializerMixin,
    CustomFieldsSerializerMixin,
    serializers.ModelSerializer,
):
    customer = VisibleRelatedField(Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    contract = serializers.IntegerField(
        source="contract_id", allow_null=True, required=False, min_value=1
    )
    kb_article = serializers.IntegerField(
        source="kb_article_id", allow_null=True, required=False, min_value=1
    )
    assignee = ActiveUserField(allow_null=True, required=False)
    assignee_name = serializers.StringRelatedField(source="assignee", read_only=True)

    class Meta:
        model = Ticket
        list_serializer_class = PrototypeListSerializer
        fields = [
            "id",
            "customer",
            "customer_name",
            "contract",
            "kb_article",
            "title",
            "description",
            "priority",
            "status",
            "assignee",
            "assignee_name",
            "department",
            "created_by",
            "created_at",
            "updated_at",
            "response_due_at",
            "sla_due_at",
            "started_at",
            "resolved_at",
            "closed_at",
            "resolution",
            "satisfaction",
            "satisfaction_comment",
            "is_overdue",
            "reopen_count",
            "custom",
        ]
        read_only_fields = [
            "status",
            "department",
            "created_by",
            "created_at",
            "updated_at",
            "response_due_at",
            "sla_due_at",
            "started_at",
            "resolved_at",
            "closed_at",
            "resolution",
            "satisfaction",
            "satisfaction_comment",
            "is_overdue",
            "reopen_count",
        ]

    def create(self, validated_data):
        customer = validated_data.pop("customer")
        assignee = validated_data.pop("assignee", None)
        return services.ticket_create(
            customer=customer, by=self.by, data=validated_data, assignee=assignee
        )

    def update(self, instance, validated_data):
        if "assignee" in validated_data:
            assignee = validated_data.pop("assignee")
            if assignee is not None and assignee.pk != instance.assignee_id:
                instance = services.ticket_assign(ticket=instance, assignee=assignee, by=self.by)
        return services.ticket_update(ticket=instance, by=self.by, data=validated_data)


class TicketAssignSerializer(serializers.Serializer):
    assignee = ActiveUserField()


class TicketResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=5000)


class TicketReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class TicketRateSerializer(serializers.Serializer):
    satisfaction = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True)


class TicketViewSet(MemoScopedMixin, ShareActionsMixin, ScopedModelViewSet):
    model = Ticket
    filter_backends = [QueryParamFilterBackend, FieldSecureSearchFilter, filters.OrderingFilter]
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    search_fields = ["title", "customer__name"]
    ordering_fields = ["id", "created_at", "updated_at", "sla_due_at", "priority", "status"]
    ordering = ["-created_at", "-id"]

    def base_queryset(self):
        return Ticket.objects.select_related("customer", "assignee")

    def perform_destroy(self, instance):
        services.ticket_delete(ticket=instance, by=self.request.user)

    def _done(self, ticket):
        return Response(self.get_serializer(self.base_queryset().get(pk=ticket.pk)).data)

    def _body(self, serializer_class):
        ser = serializer_class(data=self.request.data)
        ser.is_valid(raise_exception=True)
        return ser.validated_data

    @extend_schema(request=TicketAssignSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = self._body(TicketAssignSerializer)
        return self._done(
            services.ticket_assign(
                ticket=self.get_object(), assignee=data["assignee"], by=request.user
            )
        )

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._done(services.ticket_start(ticket=self.get_object(), by=request.user))

    @extend_schema(request=TicketResolveSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        data = self._body(TicketResolveSerializer)
        return self._done(
            services.ticket_resolve(
                ticket=self.get_object(), by=request.user, resolution=data["resolution"]
            )
        )

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._done(services.ticket_close(ticket=self.get_object(), by=request.user))

    @extend_schema(request=TicketReopenSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        data = self._body(TicketReopenSerializer)
        return self._done(
            services.ticket_reopen(
                ticket=self.get_object(), by=request.user, reason=data.get("reason", "")
            )
        )

    @extend_schema(request=TicketRateSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        data = self._body(TicketRateSerializer)
        return self._done(
            services.ticket_rate(
                ticket=self.get_object(),
                by=request.user,
                satisfaction=data["satisfaction"],
                comment=data.get("comment", ""),
            )
        )


def register(router) -> None:
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("contacts", ContactViewSet, basename="contact")
    router.register("follow-ups", FollowUpViewSet, basename="follow-up")
    router.register("territories", TerritoryViewSet, basename="territory")
    router.register("tickets", TicketViewSet, basename="ticket")
