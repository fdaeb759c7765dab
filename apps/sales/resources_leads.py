"""Excel import/export of leads (django-import-export through `apps.studio`).

Upload → preview with per-row errors → commit, all or nothing (`apps.studio.imports`). Headers
are the field labels (English or Chinese) or the field names. Choice columns take the value or
a label; `owner` a username (empty: the assignment rules route the row); `campaign` a
campaign's name. A row needs a company or a contact name, and a mobile, phone or e-mail.
Duplicates (of existing leads or customers, or of an earlier row of the file) are imported
*flagged* as duplicates, not refused: cleaning never loses an inquiry. Rows are inserted by
`services.leads_import.lead_bulk_import` (bulk: history, routing, notifications included).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, widgets

from apps.customers.resources import ChoiceWidget, UserWidget, _LabelledResource

from .models import Campaign, Channel, Lead, LeadSource
from .services.leads import _validate
from .services.leads_import import lead_bulk_import


class CampaignByNameWidget(widgets.Widget):
    def __init__(self):
        super().__init__()
        self._cache: dict[str, Campaign | None] = {}

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        key = str(value).strip()
        if key not in self._cache:
            self._cache[key] = Campaign.objects.filter(name=key).order_by("-start_date").first()
        if self._cache[key] is None:
            raise ValueError(_("No campaign '%(name)s'.") % {"name": key})
        return self._cache[key]

    def render(self, value, obj=None, **kwargs):
        return value.name if value is not None else ""


class LeadResource(_LabelledResource):
    id = fields.Field(attribute="id", column_name="id", readonly=True)
    source = fields.Field(
        attribute="source", column_name="source", widget=ChoiceWidget(LeadSource.choices)
    )
    channel = fields.Field(
        attribute="channel", column_name="channel", widget=ChoiceWidget(Channel.choices)
    )
    industry = fields.Field(
        attribute="industry", column_name="industry", widget=ChoiceWidget(Lead.Industry.choices)
    )
    status = fields.Field(
        attribute="status",
        column_name="status",
        readonly=True,
        widget=ChoiceWidget(Lead.Status.choices),
    )
    owner = fields.Field(attribute="owner", column_name="owner", widget=UserWidget())
    campaign = fields.Field(
        attribute="campaign", column_name="campaign", widget=CampaignByNameWidget()
    )
    created_at = fields.Field(
        attribute="created_at",
        column_name="created_at",
        readonly=True,
        widget=widgets.DateTimeWidget(),
    )

    class Meta:
        model = Lead
        fields = (
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
            "province",
            "city",
            "industry",
            "owner",
            "description",
            "status",
            "created_at",
        )
        export_order = fields
        import_id_fields = ()
        force_init_instance = True  # an import creates leads; it never updates one
        use_bulk = True
        batch_size = 1000
        skip_diff = True

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if not instance.source or not row.get(self.fields["source"].column_name):
            instance.source = LeadSource.IMPORT
        if instance.campaign_id and not instance.channel:
            instance.channel = instance.campaign.channel
        instance.refresh_keys()
        try:
            _validate(instance)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name not in errors:
                    errors[name] = messages
        if errors:
            raise ValidationError(errors)

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.create_instances and (using_transactions or not dry_run):
            try:
                lead_bulk_import(
                    by=self.user,
                    leads=list(self.create_instances),
                    batch_size=batch_size or 1000,
                    notify_owners=not dry_run,
                )
            except Exception as exc:  # noqa: BLE001 - reported per import, like import-export
                self.handle_import_error(result, exc, raise_errors)
            finally:
                self.create_instances.clear()

    def get_export_queryset(self, *args, **kwargs):
        return super().get_export_queryset(*args, **kwargs).select_related("owner", "campaign")


def export_leads(user, queryset):
    """The leads of `queryset` (already scoped and filtered by the caller) as an .xlsx
    response: `LeadResource` leaves out the columns field security hides from `user` (custom
    fields included) and neutralises cells a spreadsheet would run as formulas."""
    from apps.customers.views._export import xlsx_response

    return xlsx_response(LeadResource(user=user), queryset, "leads")
