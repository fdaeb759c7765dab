"""Admin of the customers app: the settings an admin edits (territories, pool rules, claim
limits, ticket SLAs) and the records, with their history read-only.

Status changes, pool moves and merges belong to the services (pages, API); the admin shows
those fields read-only so no rule is bypassed here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.studio.forms import CustomFieldsFormMixin

from .models import (
    ClaimLimit,
    Contact,
    Customer,
    CustomerEvent,
    FollowUp,
    PoolRule,
    SLARule,
    Tag,
    Territory,
    Ticket,
    TicketEvent,
)
from .normalize import normalize_name


class InPoolFilter(admin.SimpleListFilter):
    title = _("public pool")
    parameter_name = "pool"

    def lookups(self, request, model_admin):
        return [("yes", _("In the pool")), ("no", _("Owned"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(owner__isnull=True)
        if self.value() == "no":
            return queryset.filter(owner__isnull=False)
        return queryset


class _UserFormAdmin(admin.ModelAdmin):
    """Passes the admin user to forms that apply field security and custom fields."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **kw):
                kw.setdefault("user", request.user)
                super().__init__(*args, **kw)

        return WithUser


CUSTOMER_FORM_FIELDS = [
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
    "department",
    "territory",
    "next_follow_up_at",
]


class CustomerAdminForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Customer
        fields = CUSTOMER_FORM_FIELDS

    def clean_name(self):
        name = self.cleaned_data["name"]
        key = normalize_name(name)
        if not key:
            raise forms.ValidationError(_("Enter a name with letters or digits."))
        clash = Customer.objects.filter(name_normalized=key).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise forms.ValidationError(
                _("A customer with this name already exists: %(name)s.") % {"name": clash.name}
            )
        return name


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["name", "title", "mobile", "email", "is_primary"]
    readonly_fields = ["is_primary"]
    extra = 0
    show_change_link = True


class CustomerEventInline(admin.TabularInline):
    model = CustomerEvent
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-at"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Customer)
class CustomerAdmin(_UserFormAdmin):
    form = CustomerAdminForm
    list_display = [
        "name",
        "owner",
        "department",
        "level",
        "status",
        "province",
        "region",
        "last_contacted_at",
        "updated_at",
    ]
    list_select_related = ["owner", "department"]
    list_filter = [InPoolFilter, "level", "status", "industry", "source", "region", "territory"]
    search_fields = ["name", "name_normalized", "name_pinyin", "name_initials", "phone", "email"]
    date_hierarchy = "created_at"
    raw_id_fields = ["owner", "department", "territory", "created_by", "previous_owner"]
    filter_horizontal = ["tags"]
    readonly_fields = [
        "owner",
        "previous_owner",
        "name_normalized",
        "name_pinyin",
        "name_initials",
        "created_by",
        "created_at",
        "updated_at",
        "owned_since",
        "last_contacted_at",
        "pool_entered_at",
        "pool_reason",
        "satisfaction_avg",
        "satisfaction_count",
        "last_satisfaction",
        "last_satisfaction_comment",
    ]
    inlines = [ContactInline, CustomerEventInline]
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over every customer on each page


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


class ContactAdminForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "customer",
            "name",
            "title",
            "department_name",
            "mobile",
            "phone",
            "email",
            "wechat",
            "reports_to",
            "notes",
        ]


@admin.register(Contact)
class ContactAdmin(_UserFormAdmin):
    form = ContactAdminForm
    list_display = ["name", "customer", "title", "mobile", "email", "is_primary"]
    list_select_related = ["customer"]
    list_filter = ["is_primary"]
    search_fields = ["name", "name_pinyin", "name_initials", "mobile", "email", "customer__name"]
    raw_id_fields = ["customer", "reports_to", "created_by"]
    readonly_fields = ["is_primary", "name_pinyin", "name_initials", "created_at", "updated_at"]
    show_full_result_count = False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "occurred_at", "owner", "next_follow_up_at", "reminded_at"]
    list_select_related = ["customer", "owner"]
    list_filter = ["kind"]
    search_fields = ["customer__name", "content"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["customer", "contact", "owner"]
    readonly_fields = ["reminded_at", "created_at"]
    show_full_result_count = False


@admin.register(CustomerEvent)
class CustomerEventAdmin(admin.ModelAdmin):
    list_display = ["at", "customer", "kind", "actor"]
    list_select_related = ["customer", "actor"]
    list_filter = ["kind"]
    search_fields = ["customer__name"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TerritoryForm(forms.ModelForm):
    provinces = forms.CharField(
        label=_("provinces"),
        help_text=_("Province names separated by commas, e.g. 上海, 江苏, 浙江."),
        widget=forms.TextInput(attrs={"size": 60}),
    )

    class Meta:
        model = Territory
        fields = ["name", "region", "provinces", "owner", "order", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["provinces"] = ", ".join(self.instance.provinces or [])

    def clean_provinces(self):
        raw = self.cleaned_data["provinces"]
        return [
            p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",") if p.strip()
        ]


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    form = TerritoryForm
    list_display = ["name", "region", "province_list", "owner", "order", "active"]
    list_editable = ["order", "active"]
    list_select_related = ["owner"]
    search_fields = ["name", "region"]
    raw_id_fields = ["owner"]

    @admin.display(description=_("provinces"))
    def province_list(self, obj) -> str:
        return "、".join(obj.provinces or [])


@admin.register(PoolRule)
class PoolRuleAdmin(admin.ModelAdmin):
    list_display = ["level", "days", "warn_days", "active"]
    list_editable = ["days", "warn_days", "active"]


@admin.register(ClaimLimit)
class ClaimLimitAdmin(admin.ModelAdmin):
    list_display = ["role", "max_customers"]
    list_editable = ["max_customers"]
    list_select_related = ["role"]


@admin.register(SLARule)
class SLARuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "response_hours", "resolve_hours"]
    list_editable = ["response_hours", "resolve_hours"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class TicketAdminForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Ticket
        fields = [
            "customer",
            "contract_id",
            "kb_article_id",
            "title",
            "description",
            "priority",
            "department",
        ]


@admin.register(Ticket)
class TicketAdmin(_UserFormAdmin):
    form = TicketAdminForm
    list_display = [
        "title",
        "customer",
        "priority",
        "status",
        "assignee",
        "sla_due_at",
        "is_overdue",
        "satisfaction",
        "created_at",
    ]
    list_select_related = ["customer", "assignee"]
    list_filter = ["status", "priority", "is_overdue", "satisfaction"]
    search_fields = ["title", "customer__name", "description"]
    date_hierarchy = "created_at"
    raw_id_fields = ["customer", "assignee", "department", "created_by"]
    readonly_fields = [
        "status",
        "assignee",
        "response_due_at",
        "sla_due_at",
        "started_at",
        "resolved_at",
        "closed_at",
        "resolution",
        "satisfaction",
        "satisfaction_comment",
        "rated_at",
        "is_overdue",
        "overdue_notified_at",
        "reopen_count",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [TicketEventInline]
    show_full_result_count = False
