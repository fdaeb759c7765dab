"""Forms of the lead and campaign pages and of the public web form. They validate shape; the
services (`apps.sales.services.leads`) validate meaning."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from apps.customers.forms import add_service_errors  # noqa: F401 - re-exported for the views
from apps.customers.models import PROVINCE_CHOICES
from apps.studio.forms import CustomFieldsFormMixin

from .models import Campaign, Lead, Pipeline, Stage

User = get_user_model()

LEAD_FORM_FIELDS = [
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
    "source",
    "channel",
    "campaign",
    "description",
]


def active_users():
    return User.objects.filter(is_active=True).order_by("username")


class LeadForm(CustomFieldsFormMixin, forms.ModelForm):
    """Create/edit a lead. On create, people who may assign choose the owner (or the rules)."""

    province = forms.ChoiceField(
        label=_("province"), choices=[("", "---------"), *PROVINCE_CHOICES], required=False
    )
    owner = forms.ModelChoiceField(
        label=_("owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("By the assignment rules"),
    )

    class Meta:
        model = Lead
        fields = LEAD_FORM_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user=None, can_assign=False, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        if "campaign" in self.fields:
            self.fields["campaign"].queryset = Campaign.objects.order_by("-start_date", "name")
        if not self.instance.pk and "owner" in self.fields:
            if can_assign:
                self.fields["owner"].queryset = active_users()
            else:
                # Not allowed to give leads away: own it, or let the rules route it.
                self.fields["owner"].queryset = User.objects.filter(pk=getattr(user, "pk", None))
            if user is not None and not self.is_bound:
                self.initial.setdefault("owner", user.pk)
        else:
            self.fields.pop("owner", None)

    def service_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in LEAD_FORM_FIELDS if k in self.cleaned_data}
        data = {k: v for k, v in data.items() if k in self.fields and not self.fields[k].disabled}
        if "custom" in self.cleaned_data:
            data["custom"] = self.cleaned_data["custom"]
        return data


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("new owner"), queryset=User.objects.none())
    note = forms.CharField(label=_("note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_users()
        self.fields["owner"].widget.attrs["class"] = "form-select"
        self.fields["note"].widget.attrs["class"] = "form-control"


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("note"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class ConvertForm(forms.Form):
    customer = forms.ModelChoiceField(
        label=_("existing customer"),
        queryset=None,
        required=False,
        empty_label=_("Create a customer from the lead"),
        help_text=_("Leave empty to create the customer (or link the one with the same name)."),
    )
    create_opportunity = forms.BooleanField(label=_("create an opportunity"), required=False)
    name = forms.CharField(label=_("opportunity name"), max_length=200, required=False)
    stage = forms.ModelChoiceField(
        label=_("stage"),
        queryset=Stage.objects.none(),
        required=False,
        empty_label=_("First stage of the default pipeline"),
    )
    amount = forms.DecimalField(
        label=_("amount"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    expected_close_date = forms.DateField(
        label=_("expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.customers.models import Customer

        self.fields["customer"].queryset = (
            Customer.objects.visible_to(user, "change").order_by("name")
            if user is not None
            else Customer.objects.none()
        )
        self.fields["customer"].widget.attrs["class"] = "form-select"
        pipelines = Pipeline.objects.filter(is_active=True)
        self.fields["stage"].queryset = (
            Stage.objects.filter(pipeline__in=pipelines, is_won=False, is_lost=False)
            .select_related("pipeline")
            .order_by("pipeline__order", "pipeline_id", "order")
        )
        for name in ("name", "amount", "expected_close_date"):
            self.fields[name].widget.attrs["class"] = "form-control"
        self.fields["stage"].widget.attrs["class"] = "form-select"
        self.fields["create_opportunity"].widget.attrs["class"] = "form-check-input"

    def opportunity_spec(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("create_opportunity"):
            return None
        spec = {}
        for key in ("name", "stage", "amount", "expected_close_date"):
            if data.get(key) not in (None, ""):
                spec[key] = data[key]
        if "stage" in spec:
            spec["pipeline"] = spec["stage"].pipeline
        return spec


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "channel",
            "status",
            "start_date",
            "end_date",
            "budget",
            "cost",
            "description",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The campaign cannot end before it starts."))
        return cleaned

    def _post_clean(self):
        # The service validates and saves; the model's own checks would need the owner.
        pass


class PublicLeadForm(forms.Form):
    """The public web form (no login). `website` is the honeypot, hidden by CSS."""

    company = forms.CharField(label=_("company"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("your name"), max_length=100)
    mobile = forms.CharField(label=_("mobile"), max_length=50, required=False)
    email = forms.EmailField(label=_("email"), max_length=200, required=False)
    province = forms.ChoiceField(
        label=_("province"), choices=[("", "---------"), *PROVINCE_CHOICES], required=False
    )
    description = forms.CharField(
        label=_("how can we help?"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    website = forms.CharField(label=_("leave this empty"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("mobile") or cleaned.get("email")):
            self.add_error("mobile", _("Give a mobile number or an e-mail address."))
        return cleaned


class LeadBulkForm(forms.Form):
    """The list page's bulk actions on the checked leads."""

    ACTIONS = [
        ("assign", _("Assign owner")),
        ("export", _("Export selected")),
    ]
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("leads"))
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("owner"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
        self.fields["ids"].choices = [(v, v) for v in self.data.getlist("ids")] if self.data else []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "assign" and not cleaned.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        return cleaned
