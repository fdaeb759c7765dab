"""API of leads and campaigns (DESIGN §5): `leads/`, `campaigns/`, `public/leads/`.

Scoped viewsets (outside scope: 404), model permissions (403), field security and custom
fields through the studio serializer mixin; every write calls `apps.sales.services.leads`.

* `leads/` — create (owner left out: the assignment rules route the lead; source defaults to
  "api"), change, delete; actions `POST {id}/assign/ {"owner"}`, `contact/ {"note"}`,
  `qualify/`, `disqualify/ {"reason"}`, `reopen/`, and `convert/` →
  `{"customer", "contact", "opportunity"}` (ids; opportunity null unless asked for with
  `"opportunity": true` or an object / top-level `pipeline`, `stage`, `amount`, `name`,
  `expected_close_date`; `"customer": id` links an existing customer);
  `?search=` matches company (and its pinyin / initials), contact name, mobile and e-mail.
* `campaigns/` — with read-only results: leads, converted, opportunities, won_amount,
  cost_per_lead, roi.
* `public/leads/` — unauthenticated `POST` with `form_key` + lead fields (see
  `services.leads_public`): 201 with a thank-you message, 400 with field errors, 429 when the
  address used up the form's hourly submissions.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import filters, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.customers.api import (
    ActiveUserField,
    EstimatedCountPagination,
    MemoScopedMixin,
    QueryParamFilterBackend,
    ScopedSearchFilter,
)
from apps.customers.models import Customer
from apps.org.api_base import (
    FieldSecuredSerializerMixin,
    ScopedModelViewSet,
    ShareActionsMixin,
)
from apps.studio.serializers import CustomFieldsSerializerMixin

from ..filters_leads import CampaignFilter, LeadFilter, lead_search_q
from ..models import Campaign, Lead, LeadForm, LeadSource, Pipeline, Stage
from ..selectors.leads import CAMPAIGN_ORDERINGS, LEAD_ORDERINGS
from ..services import leads as services
from ..services.leads_bulk import MAX_BULK, lead_bulk_assign_ids
from ..services.leads_campaigns import stats_of, with_results
from ..services.leads_public import HONEYPOT

User = get_user_model()


class _By:
    @property
    def by(self):
        return self.context["request"].user


# --- leads -----------------------------------------------------------------------------------


class LeadSerializer(_By, CustomFieldsSerializerMixin, serializers.ModelSerializer):
    owner = ActiveUserField(allow_null=True, required=False)
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), allow_null=True, required=False
    )
    campaign_name = serializers.StringRelatedField(source="campaign", read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "company",
            "contact_name",
            "title",
            "mobile",
            "phone",
            "email",
            "wechat",
            "source",
            "channel",
            "campaign",
            "campaign_name",
            "form",
            "province",
            "city",
            "territory",
            "industry",
            "description",
            "status",
            "disqualified_reason",
            "owner",
            "owner_name",
            "department",
            "duplicate_of",
            "duplicate_customer",
            "converted_customer",
            "converted_contact",
            "converted_opportunity",
            "custom",
            "created_at",
            "updated_at",
            "assigned_at",
            "contacted_at",
            "last_contacted_at",
            "qualified_at",
            "converted_at",
        ]
        read_only_fields = [
            "form",
            "territory",
            "status",
            "disqualified_reason",
            "department",
            "duplicate_of",
            "duplicate_customer",
            "converted_customer",
            "converted_contact",
            "converted_opportunity",
            "created_at",
            "updated_at",
            "assigned_at",
            "contacted_at",
            "last_contacted_at",
            "qualified_at",
            "converted_at",
        ]

    def create(self, validated_data):
        owner = validated_data.pop("owner", None)
        validated_data.setdefault("source", LeadSource.API)
        return services.lead_create(by=self.by, data=validated_data, owner=owner)

    def update(self, instance, validated_data):
        owner_given = "owner" in validated_data
        owner = validated_data.pop("owner", None)
        if owner_given and owner is None and instance.owner_id is not None:
            raise ValidationError({"owner": [_("A lead keeps an owner once it has one.")]})
        with transaction.atomic():  # the fields and the new owner, or neither
            lead = services.lead_update(lead=instance, by=self.by, data=validated_data)
            if owner_given and owner is not None and owner.pk != lead.owner_id:
                lead = services.lead_assign(lead=lead, owner=owner, by=self.by)
        return Lead.objects.select_related("owner", "campaign").get(pk=lead.pk)


class LeadAssignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class LeadNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class LeadReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class LeadBulkAssignSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=MAX_BULK
    )
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class LeadBulkAssignResultSerializer(serializers.Serializer):
    assigned = serializers.ListField(child=serializers.IntegerField())
    owner = serializers.IntegerField()


class LeadOpportunitySpecSerializer(serializers.Serializer):
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.filter(is_active=True), required=False, allow_null=True
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.select_related("pipeline"), required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class LeadConvertSerializer(LeadOpportunitySpecSerializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, allow_null=True
    )
    create_opportunity = serializers.BooleanField(required=False, default=False)
    opportunity = serializers.JSONField(required=False)

    SPEC_KEYS = ("pipeline", "stage", "amount", "name", "expected_close_date")

    def validate_customer(self, value):
        if value is None:
            return None
        user = self.context["request"].user
        if not Customer.objects.visible_to(user).filter(pk=value.pk).exists():
            raise serializers.ValidationError(_("No such customer."))
        return value

    def validate(self, attrs):
        raw = attrs.pop("opportunity", None)
        spec = None
        if isinstance(raw, dict):
            nested = LeadOpportunitySpecSerializer(data=raw)
            if not nested.is_valid():
                raise serializers.ValidationError({"opportunity": nested.errors})
            spec = {k: v for k, v in nested.validated_data.items() if v is not None}
        elif raw not in (None, False, True):
            raise serializers.ValidationError(
                {"opportunity": [_("Give true, false or an object.")]}
            )
        flat = {k: attrs.pop(k) for k in self.SPEC_KEYS if attrs.get(k) not in (None, "")}
        for k in self.SPEC_KEYS:
            attrs.pop(k, None)
        if spec is None and (raw is True or attrs.get("create_opportunity") or flat):
            spec = {}
        if spec is not None:
            spec = {**flat, **spec}
        attrs["opportunity_spec"] = spec
        return attrs


class LeadConvertResultSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    contact = serializers.IntegerField(allow_null=True)
    opportunity = serializers.IntegerField(allow_null=True)


class LeadViewSet(MemoScopedMixin, ShareActionsMixin, ScopedModelViewSet):
    model = Lead
    pagination_class = EstimatedCountPagination
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    filter_backends = [QueryParamFilterBackend, ScopedSearchFilter, filters.OrderingFilter]
    search_q = staticmethod(lead_search_q)
    ordering_fields = ["id", *LEAD_ORDERINGS]
    ordering = ["-created_at", "-id"]

    def base_queryset(self):
        return Lead.objects.select_related("owner", "campaign")

    def perform_destroy(self, instance):
        services.lead_delete(lead=instance, by=self.request.user)

    def _fresh(self, lead):
        return self.get_serializer(self.base_queryset().get(pk=lead.pk)).data

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
        """The filtered list as .xlsx (`sales.export_lead`), without hidden fields."""
        if not request.user.has_perm("sales.export_lead"):
            raise PermissionDenied
        from ..resources_leads import export_leads

        return export_leads(request.user, self.filter_queryset(self.get_queryset()))

    @extend_schema(request=LeadBulkAssignSerializer, responses=LeadBulkAssignResultSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk-assign",
        permission_classes=[permissions.IsAuthenticated],
    )
    def bulk_assign(self, request):
        """Give the leads `ids` to `owner`, all or none (`sales.assign_lead`); 400 names the
        ids that are unknown, outside the caller's scope or closed."""
        if not (
            request.user.has_perm("sales.assign_lead")
            and request.user.has_perm("sales.change_lead")
        ):
            raise PermissionDenied
        ser = LeadBulkAssignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        owner = ser.validated_data["owner"]
        leads = lead_bulk_assign_ids(ids=ser.validated_data["ids"], owner=owner, by=request.user)
        return Response({"assigned": [lead.pk for lead in leads], "owner": owner.pk})

    @extend_schema(request=LeadAssignSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        lead = self.get_object()
        ser = LeadAssignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lead = services.lead_assign(
            lead=lead,
            owner=ser.validated_data["owner"],
            by=request.user,
            note=ser.validated_data.get("note", ""),
        )
        return Response(self._fresh(lead))

    @extend_schema(request=LeadNoteSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        lead = self.get_object()
        ser = LeadNoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lead = services.lead_contact(
            lead=lead, by=request.user, note=ser.validated_data.get("note", "")
        )
        return Response(self._fresh(lead))

    @extend_schema(request=LeadNoteSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def qualify(self, request, pk=None):
        lead = self.get_object()
        ser = LeadNoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lead = services.lead_qualify(
            lead=lead, by=request.user, note=ser.validated_data.get("note", "")
        )
        return Response(self._fresh(lead))

    @extend_schema(request=LeadReasonSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def disqualify(self, request, pk=None):
        lead = self.get_object()
        ser = LeadReasonSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lead = services.lead_disqualify(
            lead=lead, by=request.user, reason=ser.validated_data["reason"]
        )
        return Response(self._fresh(lead))

    @extend_schema(request=None, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        lead = services.lead_reopen(lead=self.get_object(), by=request.user)
        return Response(self._fresh(lead))

    @extend_schema(request=LeadConvertSerializer, responses=LeadConvertResultSerializer)
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        """Customer + contact (+ opportunity) from the lead, in one atomic step."""
        lead = self.get_object()
        ser = LeadConvertSerializer(data=request.data, context=self.get_serializer_context())
        ser.is_valid(raise_exception=True)
        customer, contact, opp = services.lead_convert(
            lead=lead,
            by=request.user,
            customer=ser.validated_data.get("customer"),
            opportunity=ser.validated_data["opportunity_spec"],
        )
        return Response(
            {
                "customer": customer.pk,
                "contact": getattr(contact, "pk", None),
                "opportunity": getattr(opp, "pk", None),
            }
        )


# --- campaigns ---------------------------------------------------------------------------------


class CampaignSerializer(_By, FieldSecuredSerializerMixin, serializers.ModelSerializer):
    owner = ActiveUserField(required=False)
    owner_name = serializers.StringRelatedField(source="owner", read_only=True)
    leads = serializers.SerializerMethodField()
    converted = serializers.SerializerMethodField()
    opportunities = serializers.SerializerMethodField()
    won_amount = serializers.SerializerMethodField()
    cost_per_lead = serializers.SerializerMethodField()
    roi = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "status",
            "start_date",
            "end_date",
            "budget",
            "cost",
            "description",
            "owner",
            "owner_name",
            "department",
            "created_at",
            "leads",
            "converted",
            "opportunities",
            "won_amount",
            "cost_per_lead",
            "roi",
        ]
        read_only_fields = ["created_at"]

    def _stats(self, obj):
        # Annotated by the viewset's queryset (one query for the page): no per-row query.
        if not hasattr(obj, "n_leads"):
            obj = with_results(Campaign.objects.filter(pk=obj.pk)).get()
        return stats_of(obj)

    def get_leads(self, obj) -> int:
        return self._stats(obj).leads

    def get_converted(self, obj) -> int:
        return self._stats(obj).converted

    def get_opportunities(self, obj) -> int:
        return self._stats(obj).opportunities

    def get_won_amount(self, obj) -> str:
        return str(self._stats(obj).won_amount)

    def get_cost_per_lead(self, obj) -> str | None:
        value = self._stats(obj).cost_per_lead
        return None if value is None else str(value)

    def get_roi(self, obj) -> str | None:
        value = self._stats(obj).roi
        return None if value is None else str(value)

    def create(self, validated_data):
        owner = validated_data.pop("owner", None)
        if owner is not None and owner != self.by:
            if not self.by.has_perm("sales.change_campaign"):
                raise ValidationError({"owner": [_("You may not give campaigns to others.")]})
        return services.campaign_create(by=self.by, data=validated_data, owner=owner)

    def update(self, instance, validated_data):
        validated_data.pop("owner", None)
        return services.campaign_update(campaign=instance, by=self.by, data=validated_data)


class CampaignViewSet(MemoScopedMixin, ScopedModelViewSet):
    model = Campaign
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    filter_backends = [QueryParamFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["id", *CAMPAIGN_ORDERINGS]
    ordering = ["-start_date", "-id"]

    def base_queryset(self):
        return with_results(Campaign.objects.select_related("owner"))

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance, by=self.request.user)


# --- public web form -------------------------------------------------------------------------


class PublicLeadSerializer(serializers.Serializer):
    form_key = serializers.CharField(max_length=64)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    mobile = serializers.CharField(max_length=50, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=200, required=False, allow_blank=True)
    wechat = serializers.CharField(max_length=100, required=False, allow_blank=True)
    province = serializers.CharField(max_length=30, required=False, allow_blank=True)
    city = serializers.CharField(max_length=50, required=False, allow_blank=True)
    industry = serializers.ChoiceField(
        choices=Lead.Industry.choices, required=False, allow_blank=True
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    custom = serializers.DictField(required=False)
    # The honeypot: hidden from people, filled by bots.
    website = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate_form_key(self, value):
        form = LeadForm.objects.select_related("campaign").filter(key=value, is_active=True).first()
        if form is None:
            raise serializers.ValidationError(_("Unknown or closed form."))
        return form


class PublicLeadViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """`POST /api/v1/public/leads/`: a lead from a public web form (no login)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    serializer_class = PublicLeadSerializer
    queryset = Lead.objects.none()

    @extend_schema(
        responses={
            201: inline_serializer("PublicLeadAccepted", {"detail": serializers.CharField()})
        }
    )
    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        form = data.pop("form_key")
        address = request.META.get("REMOTE_ADDR", "")
        if services.rate_limited(form=form, address=address):
            return Response(
                {"detail": _("Too many submissions; please try again later.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        thanks = form.success_message or _("Thank you! We will contact you soon.")
        if data.pop(HONEYPOT, ""):
            return Response({"detail": thanks}, status=status.HTTP_201_CREATED)
        services.public_lead_submit(form=form, data=data)
        return Response({"detail": thanks}, status=status.HTTP_201_CREATED)


def register(router) -> None:
    """Add the leads viewsets to the /api/v1/ router."""
    router.register("leads", LeadViewSet, basename="lead")
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("public/leads", PublicLeadViewSet, basename="public-lead")
