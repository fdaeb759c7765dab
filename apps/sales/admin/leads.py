"""Admin of the sales app, leads part: the settings an admin edits (assignment rules, web
forms, campaigns, the company's sales settings) and the leads with their history.

A lead's owner and status move through the services (pages, API); here they are read-only, and
the contact fields are saved through `lead_update` so cleaning and history apply. The action
"route by the assignment rules" hands unowned leads to the rules.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.customers.models import PROVINCE_CHOICES, Industry

from ..models import AssignmentRule, Campaign, Lead, LeadEvent, LeadForm, LeadSource, SalesSettings


class AssignmentRuleForm(forms.ModelForm):
    provinces = forms.MultipleChoiceField(
        label=_("provinces"),
        choices=PROVINCE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Empty: any province."),
    )
    industries = forms.MultipleChoiceField(
        label=_("industries"),
        choices=Industry.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Empty: any industry."),
    )
    sources = forms.MultipleChoiceField(
        label=_("sources"),
        choices=LeadSource.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Empty: any source."),
    )

    class Meta:
        model = AssignmentRule
        fields = [
            "name",
            "order",
            "is_active",
            "provinces",
            "territory",
            "industries",
            "sources",
            "campaign",
            "strategy",
            "users",
        ]

    def clean(self):
        cleaned = super().clean()
        strategy = cleaned.get("strategy")
        users = cleaned.get("users")
        S = AssignmentRule.Strategy
        if strategy in (S.SINGLE, S.ROUND_ROBIN, S.LEAST_LOADED) and not users:
            self.add_error("users", _("Choose the user(s) this rule gives leads to."))
        if strategy == S.SINGLE and users and len(users) > 1:
            self.add_error("users", _("“One user” takes exactly one user."))
        return cleaned


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    form = AssignmentRuleForm
    list_display = ["order", "name", "strategy", "territory", "campaign", "is_active", "last_user"]
    list_display_links = ["name"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", "strategy"]
    filter_horizontal = ["users"]
    readonly_fields = ["last_user"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("territory", "campaign", "last_user")


@admin.register(LeadForm)
class LeadFormAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "source", "channel", "is_active", "public_link"]
    list_filter = ["is_active", "source", "channel"]
    search_fields = ["name", "key"]
    readonly_fields = ["public_link", "created_at"]
    fields = [
        "name",
        "key",
        "public_link",
        "campaign",
        "source",
        "channel",
        "is_active",
        "success_message",
        "rate_limit_per_hour",
        "created_at",
    ]

    @admin.display(description=_("public page"))
    def public_link(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("sales:lead-public-form", args=[obj.key])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("campaign")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "channel",
        "status",
        "start_date",
        "end_date",
        "budget",
        "cost",
        "owner",
    ]
    list_filter = ["channel", "status"]
    search_fields = ["name"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["owner"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner")


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


EDITABLE = [
    "company",
    "contact_name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "industry",
    "description",
]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "contact_name",
        "status",
        "owner",
        "source",
        "campaign",
        "created_at",
    ]
    list_filter = ["status", "source", "channel", "industry"]
    search_fields = ["company", "company_normalized", "contact_name", "mobile_digits", "email"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "campaign"]
    inlines = [LeadEventInline]
    actions = ["route_by_rules"]
    fields = [
        *EDITABLE,
        "source",
        "channel",
        "campaign",
        "form",
        "status",
        "disqualified_reason",
        "owner",
        "department",
        "territory",
        "assignment_rule",
        "duplicate_of",
        "duplicate_customer",
        "converted_customer",
        "converted_contact",
        "converted_opportunity",
        "custom",
        "created_by",
        "created_at",
        "assigned_at",
        "contacted_at",
        "escalated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for f in self.fields if f not in EDITABLE]

    def has_add_permission(self, request):
        return False  # captured through the pages, the API, the import or a web form

    def save_model(self, request, obj, form, change):
        from ..services.leads import lead_update

        data = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if data:
            lead_update(lead=Lead.objects.get(pk=obj.pk), by=request.user, data=data)

    @admin.action(description=_("Route unassigned leads by the assignment rules"))
    def route_by_rules(self, request, queryset):
        from django.db import transaction

        from ..services.leads_assign import active_rules, lead_route

        rules = active_rules()
        done = 0
        with transaction.atomic():
            for lead in queryset.filter(owner__isnull=True, status=Lead.Status.NEW):
                if lead_route(lead=lead, by=request.user, rules=rules) is not None:
                    done += 1
        self.message_user(request, _("%(n)s leads routed.") % {"n": done}, messages.SUCCESS)


@admin.register(SalesSettings)
class SalesSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "fallback_owner", "lead_contact_hours"]

    def has_add_permission(self, request):
        return not SalesSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
